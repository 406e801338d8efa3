package config

import (
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"},
		{Name: "default"},
		{Name: "description"},
		{Name: "sensitive"},
	},
}

// decodeVariables decodes declarations, then sets each value from the
// sources in rising precedence: default, HUB_VAR_<name>, vars files in
// order, -var.
func (l *loader) decodeVariables(blocks []*hcl.Block) {
	seen := map[string]hcl.Range{}
	for _, b := range blocks {
		if !l.unique("variable", b, seen) {
			continue
		}
		l.ws.Variables = append(l.ws.Variables, l.decodeVariable(b))
	}
	set := map[string]bool{}
	getenv := l.opts.Getenv
	for _, v := range l.ws.Variables {
		if getenv == nil {
			break
		}
		if raw := getenv(VarEnvPrefix + v.Name); raw != "" {
			l.setFromString(v, raw, "environment variable "+VarEnvPrefix+v.Name)
			set[v.Name] = true
		}
	}
	for _, path := range l.opts.VarFiles {
		l.applyVarsFile(path, set)
	}
	names := make([]string, 0, len(l.opts.Vars))
	for name := range l.opts.Vars {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v, ok := l.ws.Variable(name)
		if !ok {
			l.errorf(nil, "Value for undeclared variable", "-var sets %q, but the workspace declares no variable %q.", name, name)
			continue
		}
		l.setFromString(v, l.opts.Vars[name], "-var "+name)
		set[name] = true
	}
	for _, v := range l.ws.Variables {
		if set[v.Name] {
			continue
		}
		if v.Default == cty.NilVal {
			l.errorf(v.DeclRange.Ptr(), "Missing required variable", "Variable %q has no default; set it with -var %s=..., a vars file, or the environment variable %s%s.", v.Name, v.Name, VarEnvPrefix, v.Name)
			continue
		}
		v.Value = v.Default
	}
	for _, v := range l.ws.Variables {
		if v.Sensitive {
			v.Value = v.Value.Mark(Sensitive)
		}
	}
}

func (l *loader) decodeVariable(b *hcl.Block) *Variable {
	v := &Variable{
		Name:      b.Labels[0],
		Type:      cty.DynamicPseudoType,
		Value:     cty.DynamicVal,
		DeclRange: b.DefRange,
	}
	content, diags := b.Body.Content(variableSchema)
	l.add(diags)
	if a, ok := content.Attributes["type"]; ok {
		ty, diags := typeexpr.TypeConstraint(a.Expr)
		l.add(diags)
		if !diags.HasErrors() {
			v.Type = ty
		}
	}
	if a, ok := content.Attributes["description"]; ok {
		v.Description, _ = l.literalString(a.Expr, "description")
	}
	if a, ok := content.Attributes["sensitive"]; ok {
		val, diags := a.Expr.Value(nil)
		if diags.HasErrors() || val.Type() != cty.Bool || val.IsNull() || !val.IsKnown() {
			l.errorf(a.Expr.Range().Ptr(), "Invalid sensitive", "sensitive must be true or false.")
		} else {
			v.Sensitive = val.True()
		}
	}
	if a, ok := content.Attributes["default"]; ok {
		// A default is a constant: it cannot depend on other variables or
		// the environment, or precedence would be circular.
		val, diags := a.Expr.Value(nil)
		l.add(diags)
		if !diags.HasErrors() {
			conv, err := convert.Convert(val, v.Type)
			if err != nil {
				l.errorf(a.Expr.Range().Ptr(), "Invalid default value", "The default of variable %q does not match its type: %s.", v.Name, err)
			} else {
				v.Default = conv
			}
		}
		if v.Default == cty.NilVal {
			// The variable is optional, its default broken: unknown keeps
			// it from also being reported as missing.
			v.Default = cty.DynamicVal
		}
	}
	return v
}

// setFromString sets v from a string source (-var, HUB_VAR_*). A string
// (or untyped) variable takes the text as is, so quoting is never needed
// on a command line; other types parse it as an HCL expression, e.g.
// -var 'skus=["a","b"]'.
func (l *loader) setFromString(v *Variable, raw, source string) {
	var val cty.Value
	if v.Type == cty.String || v.Type == cty.DynamicPseudoType || v.Type.IsPrimitiveType() {
		val = cty.StringVal(raw)
	} else {
		expr, diags := hclsyntax.ParseExpression([]byte(raw), source, hcl.InitialPos)
		if diags.HasErrors() {
			l.errorf(nil, "Invalid value for variable", "%s: the value of %q is not a valid expression: %s", source, v.Name, diags[0].Detail)
			v.Value = cty.DynamicVal
			return
		}
		val, diags = expr.Value(nil)
		if diags.HasErrors() {
			l.errorf(nil, "Invalid value for variable", "%s: %s", source, diags[0].Detail)
			v.Value = cty.DynamicVal
			return
		}
	}
	conv, err := convert.Convert(val, v.Type)
	if err != nil {
		l.errorf(nil, "Invalid value for variable", "%s: variable %q wants %s: %s.", source, v.Name, v.Type.FriendlyName(), err)
		v.Value = cty.DynamicVal
		return
	}
	v.Value = conv
}

func (l *loader) applyVarsFile(path string, set map[string]bool) {
	if !strings.HasSuffix(path, ".hcl") {
		l.errorf(nil, "Invalid vars file", "%s: a vars file is HCL and is named *%s.", path, VarsFileSuffix)
		return
	}
	f, diags := l.parser.ParseHCLFile(path)
	l.add(diags)
	if f == nil || diags.HasErrors() {
		return
	}
	attrs, diags := f.Body.JustAttributes()
	l.add(diags)
	for _, a := range sortedAttrs(attrs) {
		v, ok := l.ws.Variable(a.Name)
		if !ok {
			l.errorf(a.NameRange.Ptr(), "Value for undeclared variable", "The workspace declares no variable %q.", a.Name)
			continue
		}
		val, diags := a.Expr.Value(nil)
		l.add(diags)
		if diags.HasErrors() {
			v.Value = cty.DynamicVal
			set[a.Name] = true
			continue
		}
		conv, err := convert.Convert(val, v.Type)
		if err != nil {
			l.errorf(a.Expr.Range().Ptr(), "Invalid value for variable", "Variable %q wants %s: %s.", v.Name, v.Type.FriendlyName(), err)
			conv = cty.DynamicVal
		}
		v.Value = conv
		set[a.Name] = true
	}
}

// decodeEnvironments evaluates every environment (so mistakes in one not
// selected are still reported) and puts the selected one's values in base.
func (l *loader) decodeEnvironments(blocks []*hcl.Block, base *scope) {
	seen := map[string]hcl.Range{}
	for _, b := range blocks {
		if l.unique("environment", b, seen) {
			l.ws.Environments = append(l.ws.Environments, l.decodeEnvironment(b, base))
		}
	}
	keys := map[string]bool{}
	for _, e := range l.ws.Environments {
		for k := range e.Values {
			keys[k] = true
		}
	}
	// Every environment must define the same names, or a workflow that
	// validates against one would fail when deployed to another.
	for _, e := range l.ws.Environments {
		var missing []string
		for k := range keys {
			if _, ok := e.Values[k]; !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			l.errorf(e.DeclRange.Ptr(), "Incomplete environment", "Environment %q does not set %s, which other environments set.", e.Name, strings.Join(missing, ", "))
		}
	}
	base.values = map[string]cty.Value{}
	for k := range keys {
		base.values[k] = cty.DynamicVal
	}
	if l.opts.Env == "" {
		return
	}
	l.ws.Environment = l.opts.Env
	base.envName = cty.StringVal(l.opts.Env)
	i := slices.IndexFunc(l.ws.Environments, func(e *Environment) bool { return e.Name == l.opts.Env })
	if i < 0 {
		names := make([]string, len(l.ws.Environments))
		for j, e := range l.ws.Environments {
			names[j] = e.Name
		}
		known := "none are declared"
		if len(names) > 0 {
			known = "declared: " + strings.Join(names, ", ")
		}
		l.errorf(nil, "Unknown environment", "Environment %q is not declared (%s).", l.opts.Env, known)
		return
	}
	for k, v := range l.ws.Environments[i].Values {
		base.values[k] = v
	}
}

func (l *loader) decodeEnvironment(b *hcl.Block, base *scope) *Environment {
	e := &Environment{
		Name:      b.Labels[0],
		Values:    map[string]cty.Value{},
		Ranges:    map[string]hcl.Range{},
		DeclRange: b.DefRange,
	}
	// Environment values may use variables but not each other's values.
	s := &scope{vars: base.vars, envName: cty.StringVal(e.Name), functions: base.functions}
	attrs, diags := b.Body.JustAttributes()
	l.add(diags)
	if a, ok := attrs["values"]; ok && len(attrs) == 1 {
		// The values = { ... } form: one entry per key of the object.
		pairs, diags := hcl.ExprMap(a.Expr)
		if diags.HasErrors() {
			l.errorf(a.Expr.Range().Ptr(), "Invalid environment values", "values must be an object, e.g. values = { region = \"eu\" }.")
			return e
		}
		for _, p := range pairs {
			name := hcl.ExprAsKeyword(p.Key)
			if name == "" {
				kv, diags := p.Key.Value(nil)
				if diags.HasErrors() || kv.Type() != cty.String || !kv.IsKnown() || kv.IsNull() {
					l.errorf(p.Key.Range().Ptr(), "Invalid environment value name", "Names of environment values are identifiers.")
					continue
				}
				name = kv.AsString()
			}
			l.setEnvValue(e, s, name, p.Value, hcl.RangeBetween(p.Key.Range(), p.Value.Range()))
		}
		return e
	}
	for _, a := range sortedAttrs(attrs) {
		l.setEnvValue(e, s, a.Name, a.Expr, a.Range)
	}
	return e
}

func (l *loader) setEnvValue(e *Environment, s *scope, name string, expr hcl.Expression, rng hcl.Range) {
	if !hclsyntax.ValidIdentifier(name) {
		l.errorf(&rng, "Invalid environment value name", "%q is not an identifier, so values.%s could not refer to it.", name, name)
		return
	}
	if prev, ok := e.Ranges[name]; ok {
		l.errorf(&rng, "Duplicate environment value", "%q was already set at %s.", name, prev)
		return
	}
	v, diags := s.eval(expr)
	l.add(diags)
	e.Values[name] = v
	e.Ranges[name] = rng
}
