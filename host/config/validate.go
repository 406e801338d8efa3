package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/hubhq/hub/sdk/schema"
)

// Validate checks ws against the connectors' schemas, keyed by the local
// names of hub.required_connectors: connectors, auth types, properties,
// triggers and their modes and config, actions and their input. It
// reports deprecations as warnings. Problems Load already reported are not
// repeated, so a caller shows Load's and Validate's diagnostics together.
func Validate(ws *Workspace, schemas map[string]*schema.Schema) hcl.Diagnostics {
	v := &validator{ws: ws, schemas: schemas, base: ws.base}
	if v.base == nil {
		v.base = &scope{vars: map[string]cty.Value{}, values: map[string]cty.Value{}, envName: cty.UnknownVal(cty.String), functions: Functions(nil)}
	}
	for _, r := range ws.Requirements {
		if r.Source == "" {
			continue // Load reported the requirement itself.
		}
		s, ok := schemas[r.Name]
		if !ok || s == nil {
			v.errorf(r.Range.Ptr(), "Connector not installed", "No schema for connector %q (%s); run hub init.", r.Name, r.Source)
			continue
		}
		if s.Deprecation != nil {
			v.warnf(r.Range.Ptr(), "Deprecated connector version", "%s %s is deprecated: %s", s.Name, s.Version, deprecation(s.Deprecation))
		}
	}
	for _, c := range ws.Connections {
		v.connection(c)
	}
	for _, w := range ws.Workflows {
		v.workflow(w)
	}
	return v.diags
}

type validator struct {
	ws      *Workspace
	schemas map[string]*schema.Schema
	base    *scope
	diags   hcl.Diagnostics
}

func (v *validator) errorf(rng *hcl.Range, summary, format string, args ...any) {
	v.diags = append(v.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: rng})
}

func (v *validator) warnf(rng *hcl.Range, summary, format string, args ...any) {
	v.diags = append(v.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: rng})
}

func deprecation(d *schema.Deprecation) string {
	msg := strings.TrimSuffix(d.Message, ".")
	if d.ReplacedBy != "" {
		msg += "; use " + d.ReplacedBy + " instead"
	}
	return msg + "."
}

// schemaOf returns the schema of a connection's connector; problems with
// the connector itself were reported by Load or at the requirement.
func (v *validator) schemaOf(connection string) (*schema.Schema, bool) {
	c, ok := v.ws.Connection(connection)
	if !ok {
		return nil, false
	}
	return v.connector(c.Connector)
}

// connector returns the schema of a required connector by local name;
// a name missing from required_connectors was reported by Load.
func (v *validator) connector(local string) (*schema.Schema, bool) {
	if _, ok := v.ws.Requirement(local); !ok {
		return nil, false
	}
	s, ok := v.schemas[local]
	return s, ok && s != nil
}

func (v *validator) connection(c *Connection) {
	s, ok := v.connector(c.Connector)
	if !ok {
		return
	}
	v.auth(c, s)
	props := schema.ObjectOf(s.Properties)
	if c.Properties == nil {
		v.missing(props, "properties", c.DeclRange.Ptr())
		return
	}
	v.check(props, c.Properties.Expr, v.base, "properties")
}

func (v *validator) auth(c *Connection, s *schema.Schema) {
	offered := make([]string, 0, len(s.Auth))
	var scheme *schema.AuthScheme
	for i := range s.Auth {
		offered = append(offered, string(s.Auth[i].Type))
		if c.Auth != nil && s.Auth[i].Type == c.Auth.Type {
			scheme = &s.Auth[i]
		}
	}
	if c.Auth == nil {
		if len(s.Auth) > 0 && !strings.Contains(","+strings.Join(offered, ",")+",", ",none,") {
			v.errorf(c.DeclRange.Ptr(), "Missing auth", "Connector %s needs an auth block (offers: %s).", s.Name, strings.Join(offered, ", "))
		}
		return
	}
	if scheme == nil {
		if _, known := authShapes[c.Auth.Type]; known {
			v.errorf(&c.Auth.TypeRange, "Unsupported auth type", "Connector %s does not offer %q auth (offers: %s).", s.Name, c.Auth.Type, orNone(offered))
		}
		return
	}
	if a, ok := c.Auth.Attributes["credentials"]; ok {
		v.check(schema.ObjectOf(scheme.Fields), a.Expr, v.base, "credentials")
	}
	if a, ok := c.Auth.Attributes["grant"]; ok && scheme.OAuth2 != nil && len(scheme.OAuth2.Grants) > 0 {
		if g, _ := a.Value.Unmark(); g.IsKnown() && !g.IsNull() && g.Type() == cty.String && !contains(scheme.OAuth2.Grants, g.AsString()) {
			v.errorf(a.Expr.Range().Ptr(), "Unsupported grant", "Connector %s supports the grants %s.", s.Name, strings.Join(scheme.OAuth2.Grants, ", "))
		}
	}
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (v *validator) workflow(w *Workflow) {
	if t := w.Trigger; t != nil {
		v.trigger(t)
	}
	names := make([]string, len(w.Steps))
	for i, st := range w.Steps {
		names[i] = st.Name
	}
	for i, st := range w.Steps {
		s := *v.base
		s.event = true
		s.steps = names[:i:i]
		s.allSteps = names
		v.step(st, &s)
	}
}

func (v *validator) trigger(t *Trigger) {
	s, ok := v.schemaOf(t.Connection)
	if !ok {
		return
	}
	tr, ok := s.Trigger(t.Name)
	if !ok {
		names := make([]string, len(s.Triggers))
		for i := range s.Triggers {
			names[i] = s.Triggers[i].Name
		}
		v.errorf(&t.NameRange, "Unknown trigger", "Connector %s %s has no trigger %q (has: %s).", s.Name, s.Version, t.Name, orNone(names))
		return
	}
	if tr.Deprecation != nil {
		v.warnf(&t.NameRange, "Deprecated trigger", "Trigger %q of %s is deprecated: %s", t.Name, s.Name, deprecation(tr.Deprecation))
	}
	modes := make([]string, len(tr.Modes))
	for i, m := range tr.Modes {
		modes[i] = string(m)
	}
	switch {
	case t.Mode == "" && t.ModeRange.Filename == "" && len(tr.Modes) > 1:
		v.errorf(t.DeclRange.Ptr(), "Missing mode", "Trigger %q offers several modes (%s); choose one with mode = \"...\".", t.Name, strings.Join(modes, ", "))
	case t.Mode != "" && !tr.HasMode(t.Mode):
		v.errorf(&t.ModeRange, "Unsupported mode", "Trigger %q offers %s, not %q.", t.Name, orNone(modes), t.Mode)
	}
	cfg := schema.ObjectOf(tr.Config)
	if t.Config == nil {
		v.missing(cfg, "config", t.DeclRange.Ptr())
		return
	}
	v.check(cfg, t.Config.Expr, v.base, "config")
}

func (v *validator) step(st *Step, sc *scope) {
	s, ok := v.schemaOf(st.Connection)
	if !ok || st.Action == "" {
		return
	}
	a, ok := s.Action(st.Action)
	if !ok {
		names := make([]string, len(s.Actions))
		for i := range s.Actions {
			names[i] = s.Actions[i].Name
		}
		v.errorf(&st.ActionRange, "Unknown action", "Connector %s %s has no action %q (has: %s).", s.Name, s.Version, st.Action, orNone(names))
		return
	}
	if a.Deprecation != nil {
		v.warnf(&st.ActionRange, "Deprecated action", "Action %q of %s is deprecated: %s", st.Action, s.Name, deprecation(a.Deprecation))
	}
	in := a.Input
	if in == nil {
		in = schema.ObjectOf(nil)
	}
	if st.Input == nil {
		v.missing(in, "input", st.DeclRange.Ptr())
		return
	}
	v.check(in, st.Input.Expr, sc, "input")
}

// missing reports the required fields of an object that is absent.
func (v *validator) missing(f *schema.Field, path string, rng *hcl.Range) {
	if f.Type != schema.Object {
		return
	}
	for i := range f.Properties {
		if f.Properties[i].Required {
			v.errorf(rng, "Missing required field", "%s.%s is required.", path, f.Properties[i].Name)
		}
	}
}

// check compares expr with f. Where expr is written out (object and tuple
// constructors, for expressions) it walks the syntax, so each problem
// points at its own key or value; elsewhere it evaluates expr with the
// event and step outputs unknown and checks whatever type or value is
// already known.
func (v *validator) check(f *schema.Field, expr hcl.Expression, sc *scope, path string) {
	if f == nil || f.Type == schema.Any {
		return
	}
	if diags := sc.checkRefs(expr); diags.HasErrors() {
		return // Load reported them.
	}
	switch e := expr.(type) {
	case *hclsyntax.ObjectConsExpr:
		if f.Type == schema.Object {
			v.checkObject(f, e, sc, path)
			return
		}
	case *hclsyntax.TupleConsExpr:
		if f.Type == schema.List {
			for i, item := range e.Exprs {
				v.check(f.Items, item, sc, fmt.Sprintf("%s[%d]", path, i))
			}
			return
		}
	case *hclsyntax.ForExpr:
		if f.Type == schema.List && e.KeyExpr == nil {
			// [for x in xs : {...}]: check the element template with the
			// iteration variables unknown.
			child := &forScope{scope: sc, names: []string{e.KeyVar, e.ValVar}}
			v.checkForValue(f.Items, e.ValExpr, child, path+"[*]")
			return
		}
	}
	val, diags := expr.Value(sc.evalContext())
	if diags.HasErrors() {
		return // Load reported evaluation errors.
	}
	v.checkValue(f, val, expr.Range(), path, false)
}

// forScope is a scope extended with a for expression's iteration
// variables.
type forScope struct {
	scope *scope
	names []string
}

func (v *validator) checkForValue(f *schema.Field, expr hcl.Expression, fs *forScope, path string) {
	if f == nil || f.Type == schema.Any {
		return
	}
	ctx := fs.scope.evalContext().NewChild()
	ctx.Variables = map[string]cty.Value{}
	for _, n := range fs.names {
		if n != "" {
			ctx.Variables[n] = cty.DynamicVal
		}
	}
	if obj, ok := expr.(*hclsyntax.ObjectConsExpr); ok && f.Type == schema.Object {
		present := map[string]bool{}
		for _, item := range obj.Items {
			name, ok := keyName(item.KeyExpr)
			if !ok {
				continue
			}
			present[name] = true
			p, known := v.field(f, name, item.KeyExpr.Range(), path)
			if known {
				v.checkForValue(p, item.ValueExpr, fs, joinPath(path, name))
			}
		}
		v.requireAll(f, present, obj.OpenRange, path)
		return
	}
	val, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return
	}
	v.checkValue(f, val, expr.Range(), path, false)
}

func (v *validator) checkObject(f *schema.Field, obj *hclsyntax.ObjectConsExpr, sc *scope, path string) {
	present := map[string]bool{}
	for _, item := range obj.Items {
		name, ok := keyName(item.KeyExpr)
		if !ok {
			continue // a computed key: its name is unknown until run time
		}
		if present[name] {
			rng := item.KeyExpr.Range()
			v.errorf(&rng, "Duplicate field", "%s is set twice.", joinPath(path, name))
			continue
		}
		present[name] = true
		p, known := v.field(f, name, item.KeyExpr.Range(), path)
		if known {
			v.check(p, item.ValueExpr, sc, joinPath(path, name))
		}
	}
	v.requireAll(f, present, obj.OpenRange, path)
}

// field looks up an object's property, reporting unknown and deprecated
// ones at the key.
func (v *validator) field(f *schema.Field, name string, rng hcl.Range, path string) (*schema.Field, bool) {
	p, ok := f.Property(name)
	if !ok {
		if !f.AdditionalProperties {
			v.errorf(&rng, "Unknown field", "%s is not a field of %s (fields: %s).", joinPath(path, name), path, fieldNames(f))
		}
		return nil, false
	}
	if p.Deprecation != nil {
		v.warnf(&rng, "Deprecated field", "%s is deprecated: %s", joinPath(path, name), deprecation(p.Deprecation))
	}
	return p, true
}

func (v *validator) requireAll(f *schema.Field, present map[string]bool, rng hcl.Range, path string) {
	for i := range f.Properties {
		p := &f.Properties[i]
		if p.Required && !present[p.Name] {
			v.errorf(&rng, "Missing required field", "%s is required.", joinPath(path, p.Name))
		}
	}
}

func fieldNames(f *schema.Field) string {
	names := make([]string, len(f.Properties))
	for i := range f.Properties {
		names[i] = f.Properties[i].Name
	}
	return orNone(names)
}

func joinPath(path, name string) string {
	return path + "." + name
}

// checkValue checks an evaluated value. A wholly known value is checked
// like a connector would check it (types, enums, formats); otherwise only
// the parts whose type is already known. sensitive says an enclosing value
// was marked sensitive: marks sit on the value that was marked, not on its
// elements, so the recursion carries it down and no message quotes a
// sensitive part.
func (v *validator) checkValue(f *schema.Field, val cty.Value, rng hcl.Range, path string, sensitive bool) {
	if f == nil || f.Type == schema.Any {
		return
	}
	val, marks := val.Unmark()
	sensitive = sensitive || len(marks) > 0
	ty := val.Type()
	if ty == cty.DynamicPseudoType || val.IsNull() {
		return // unknown until run time, or "not given"
	}
	if val.IsWhollyKnown() {
		plain, deep := val.UnmarkDeep()
		raw, err := ctyjson.Marshal(plain, ty)
		if err != nil {
			return
		}
		if sensitive || len(deep) > 0 {
			// A sensitive value must not be quoted in a diagnostic.
			f = secretCopy(f)
		}
		for _, viol := range schema.ValidateJSON(f, raw) {
			where := path
			if viol.Path != "" {
				where = path + "." + viol.Path
				if strings.HasPrefix(viol.Path, "[") {
					where = path + viol.Path
				}
			}
			v.errorf(&rng, "Invalid value", "%s: %s.", where, viol.Message)
		}
		return
	}
	want := typeOK(f.Type, ty)
	if !want {
		v.errorf(&rng, "Invalid value", "%s: expected %s, got %s.", path, f.Type, ty.FriendlyName())
		return
	}
	switch {
	case f.Type == schema.Object && (ty.IsObjectType() || ty.IsMapType()) && val.IsKnown():
		present := map[string]bool{}
		for it := val.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			name := k.AsString()
			present[name] = true
			if p, ok := v.field(f, name, rng, path); ok {
				v.checkValue(p, ev, rng, joinPath(path, name), sensitive)
			}
		}
		v.requireAll(f, present, rng, path)
	case f.Type == schema.List && val.IsKnown() && val.CanIterateElements():
		i := 0
		for it := val.ElementIterator(); it.Next(); i++ {
			_, ev := it.Element()
			v.checkValue(f.Items, ev, rng, fmt.Sprintf("%s[%d]", path, i), sensitive)
		}
	}
}

// typeOK reports whether a value of cty type ty can be a t; integer-ness
// of an unknown number is unknowable here.
func typeOK(t schema.Type, ty cty.Type) bool {
	switch t {
	case schema.String:
		return ty == cty.String
	case schema.Integer, schema.Number:
		return ty == cty.Number
	case schema.Boolean:
		return ty == cty.Bool
	case schema.Object:
		return ty.IsObjectType() || ty.IsMapType()
	case schema.List:
		return ty.IsListType() || ty.IsTupleType() || ty.IsSetType()
	}
	return true
}

// secretCopy returns f with every field secret, so validation messages
// never quote the value.
func secretCopy(f *schema.Field) *schema.Field {
	if f == nil {
		return nil
	}
	c := *f
	c.Secret = true
	c.Properties = make([]schema.Field, len(f.Properties))
	for i := range f.Properties {
		c.Properties[i] = *secretCopy(&f.Properties[i])
	}
	c.Items = secretCopy(f.Items)
	return &c
}
