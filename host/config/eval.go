package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Mark is a cty value mark set by this package.
type Mark string

// Sensitive marks a value that must be redacted wherever it is shown: the
// result of secret(), a sensitive variable, and anything computed from
// them (cty carries marks through operations and function calls).
const Sensitive Mark = "sensitive"

// SecretRef marks the value of secret("name") with the secret it stands
// for, so the engine can find which secrets an expression needs and
// resolve them when it runs; at load time the value is unknown.
type SecretRef struct {
	Name string
}

// IsSensitive reports whether v or any value nested in it is sensitive.
func IsSensitive(v cty.Value) bool {
	return v.HasMarkDeep(Sensitive)
}

// SecretNames returns the names of the secrets v was computed from, sorted
// and without duplicates.
func SecretNames(v cty.Value) []string {
	_, pvms := v.UnmarkDeepWithPaths()
	var names []string
	for _, pvm := range pvms {
		for m := range pvm.Marks {
			if ref, ok := m.(SecretRef); ok && !slices.Contains(names, ref.Name) {
				names = append(names, ref.Name)
			}
		}
	}
	slices.Sort(names)
	return names
}

// Functions returns the function table every workspace expression sees:
// go-cty's standard library, try/can, and hub's env and secret. getenv
// backs env(); it is injected so loading never depends on the process
// environment by accident.
func Functions(getenv func(string) string) map[string]function.Function {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return map[string]function.Function{
		// hub
		"env":    envFunc(getenv),
		"secret": secretFunc,
		// error handling (hcl ext)
		"try": tryfunc.TryFunc,
		"can": tryfunc.CanFunc,
		// strings
		"chomp":        stdlib.ChompFunc,
		"format":       stdlib.FormatFunc,
		"formatlist":   stdlib.FormatListFunc,
		"indent":       stdlib.IndentFunc,
		"join":         stdlib.JoinFunc,
		"lower":        stdlib.LowerFunc,
		"replace":      stdlib.ReplaceFunc,
		"split":        stdlib.SplitFunc,
		"strlen":       stdlib.StrlenFunc,
		"strrev":       stdlib.ReverseFunc,
		"substr":       stdlib.SubstrFunc,
		"title":        stdlib.TitleFunc,
		"trim":         stdlib.TrimFunc,
		"trimprefix":   stdlib.TrimPrefixFunc,
		"trimspace":    stdlib.TrimSpaceFunc,
		"trimsuffix":   stdlib.TrimSuffixFunc,
		"upper":        stdlib.UpperFunc,
		"regex":        stdlib.RegexFunc,
		"regexall":     stdlib.RegexAllFunc,
		"regexreplace": stdlib.RegexReplaceFunc,
		// collections
		"chunklist":       stdlib.ChunklistFunc,
		"coalesce":        stdlib.CoalesceFunc,
		"coalescelist":    stdlib.CoalesceListFunc,
		"compact":         stdlib.CompactFunc,
		"concat":          stdlib.ConcatFunc,
		"contains":        stdlib.ContainsFunc,
		"distinct":        stdlib.DistinctFunc,
		"element":         stdlib.ElementFunc,
		"flatten":         stdlib.FlattenFunc,
		"index":           stdlib.IndexFunc,
		"keys":            stdlib.KeysFunc,
		"length":          stdlib.LengthFunc,
		"lookup":          stdlib.LookupFunc,
		"merge":           stdlib.MergeFunc,
		"range":           stdlib.RangeFunc,
		"reverse":         stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setproduct":      stdlib.SetProductFunc,
		"setsubtract":     stdlib.SetSubtractFunc,
		"setunion":        stdlib.SetUnionFunc,
		"slice":           stdlib.SliceFunc,
		"sort":            stdlib.SortFunc,
		"values":          stdlib.ValuesFunc,
		"zipmap":          stdlib.ZipmapFunc,
		// numbers
		"abs":      stdlib.AbsoluteFunc,
		"ceil":     stdlib.CeilFunc,
		"floor":    stdlib.FloorFunc,
		"log":      stdlib.LogFunc,
		"max":      stdlib.MaxFunc,
		"min":      stdlib.MinFunc,
		"parseint": stdlib.ParseIntFunc,
		"pow":      stdlib.PowFunc,
		"signum":   stdlib.SignumFunc,
		"int":      stdlib.IntFunc,
		// encoding
		"jsonencode": stdlib.JSONEncodeFunc,
		"jsondecode": stdlib.JSONDecodeFunc,
		"csvdecode":  stdlib.CSVDecodeFunc,
		// type conversions
		"tobool":   stdlib.MakeToFunc(cty.Bool),
		"tonumber": stdlib.MakeToFunc(cty.Number),
		"tostring": stdlib.MakeToFunc(cty.String),
		"tolist":   stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":    stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"toset":    stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		// dates and times
		"formatdate": stdlib.FormatDateFunc,
		"timeadd":    stdlib.TimeAddFunc,
	}
}

// secretFunc yields an unknown string: the value lives in the host's
// secret store and must never reach a plan, a log or a diagnostic. The
// marks let later stages find and redact it.
var secretFunc = function.New(&function.Spec{
	Description: "Refers to a secret in the host's secret store.",
	Params: []function.Parameter{{
		Name: "name",
		Type: cty.String,
	}},
	Type: function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		name := args[0].AsString()
		if name == "" {
			return cty.NilVal, function.NewArgErrorf(0, "secret name must not be empty")
		}
		return cty.UnknownVal(cty.String).WithMarks(cty.NewValueMarks(Sensitive, SecretRef{Name: name})), nil
	},
})

func envFunc(getenv func(string) string) function.Function {
	return function.New(&function.Spec{
		Description: "Reads a variable of the hub process's environment; unset reads as \"\".",
		Params: []function.Parameter{{
			Name: "name",
			Type: cty.String,
		}},
		Type: function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			if !isEnvName(name) {
				return cty.NilVal, function.NewArgErrorf(0, "%q is not an environment variable name", name)
			}
			return cty.StringVal(getenv(name)), nil
		},
	})
}

// isEnvName reports whether s is a portable environment variable name.
func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// scope is what an expression may refer to besides functions. Each
// expression site in the language allows a different set of roots.
type scope struct {
	vars      map[string]cty.Value // declared variables
	values    map[string]cty.Value // the selected environment's values
	envName   cty.Value
	event     bool     // the trigger's event is in scope
	steps     []string // earlier steps, in order
	allSteps  []string // every step of the workflow, for better messages
	getenv    func(string) string
	functions map[string]function.Function
}

// evalContext builds the context for an expression in scope s. Unknown
// inputs (the event, step outputs) are cty.DynamicVal so type checks see
// only what is knowable before a run.
func (s *scope) evalContext() *hcl.EvalContext {
	vars := map[string]cty.Value{
		"var":    objectOrEmpty(s.vars),
		"values": objectOrEmpty(s.values),
		"hub":    cty.ObjectVal(map[string]cty.Value{"environment": s.envName}),
	}
	if s.event {
		vars["event"] = cty.DynamicVal
	}
	if s.steps != nil {
		steps := make(map[string]cty.Value, len(s.steps))
		for _, name := range s.steps {
			steps[name] = cty.ObjectVal(map[string]cty.Value{"output": cty.DynamicVal})
		}
		vars["action"] = objectOrEmpty(steps)
	}
	return &hcl.EvalContext{Variables: vars, Functions: s.functions}
}

func objectOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

// checkRefs reports references in expr that scope s does not offer. It
// reads the traversals (not values) so a mistake is reported at the exact
// reference, once, and before evaluation could produce a vaguer error.
func (s *scope) checkRefs(expr hcl.Expression) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, tr := range expr.Variables() {
		diags = append(diags, s.checkRef(tr)...)
	}
	return diags
}

func (s *scope) checkRef(tr hcl.Traversal) hcl.Diagnostics {
	root := tr.RootName()
	rng := tr.SourceRange()
	errAt := func(summary, detail string) hcl.Diagnostics {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &rng}}
	}
	attr := func(i int) (string, bool) {
		if len(tr) <= i {
			return "", false
		}
		switch step := tr[i].(type) {
		case hcl.TraverseAttr:
			return step.Name, true
		case hcl.TraverseIndex:
			if step.Key.Type() == cty.String && step.Key.IsKnown() && !step.Key.IsMarked() {
				return step.Key.AsString(), true
			}
		}
		return "", false
	}
	switch root {
	case "var":
		name, ok := attr(1)
		if !ok {
			return errAt("Invalid variable reference", "Refer to a variable as var.<name>.")
		}
		if _, ok := s.vars[name]; !ok {
			return errAt("Reference to undeclared variable", fmt.Sprintf("No variable %q is declared; add a variable %q block.", name, name))
		}
	case "values":
		name, ok := attr(1)
		if !ok {
			return errAt("Invalid environment value reference", "Refer to an environment value as values.<name>.")
		}
		if _, ok := s.values[name]; !ok {
			return errAt("Reference to undeclared environment value", fmt.Sprintf("No environment block declares a value %q.", name))
		}
	case "hub":
		name, ok := attr(1)
		if !ok || name != "environment" {
			return errAt("Invalid hub reference", "The only hub attribute is hub.environment.")
		}
	case "event":
		if !s.event {
			return errAt("Event not available here", "event is the trigger's payload; it is available in a trigger's when and in actions, not here.")
		}
	case "action":
		if s.steps == nil {
			return errAt("Step outputs not available here", "action.<step>.output is available only in a workflow's actions.")
		}
		name, ok := attr(1)
		if !ok {
			return errAt("Invalid step reference", "Refer to a step's output as action.<step>.output.")
		}
		if !slices.Contains(s.steps, name) {
			switch {
			case !slices.Contains(s.allSteps, name):
				return errAt("Reference to unknown step", fmt.Sprintf("This workflow has no action %q.", name))
			case len(s.steps) < len(s.allSteps) && s.allSteps[len(s.steps)] == name:
				return errAt("Step refers to itself", fmt.Sprintf("Action %q cannot use its own output; a step sees only the outputs of earlier steps.", name))
			default:
				return errAt("Reference to a later step", fmt.Sprintf("Action %q runs after this one; a step sees only the outputs of earlier steps.", name))
			}
		}
		if out, ok := attr(2); !ok || out != "output" {
			return errAt("Invalid step reference", fmt.Sprintf("A step exposes only its output: action.%s.output.", name))
		}
	case "trigger":
		return errAt("Unknown variable", "The trigger's payload is called event, e.g. event.id.")
	default:
		return errAt("Unknown variable", fmt.Sprintf("There is no variable named %q; expressions may refer to var, values, hub, and in workflows event and action.", root))
	}
	return nil
}

// eval checks expr's references and, when they are sound, evaluates it.
// The value is cty.DynamicVal whenever it could not be computed, so
// callers can go on checking without cascading errors.
func (s *scope) eval(expr hcl.Expression) (cty.Value, hcl.Diagnostics) {
	if diags := s.checkRefs(expr); diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	ctx := s.evalContext()
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		if s.readsSensitive(expr, ctx) {
			diags = redactDetails(diags)
		}
		return cty.DynamicVal, diags
	}
	return v, diags
}

// readsSensitive reports whether expr calls secret() or refers to a value
// that is sensitive. Function errors quote their arguments ("cannot
// convert \"hunter2\" to number"), and an argument may be a secret.
func (s *scope) readsSensitive(expr hcl.Expression, ctx *hcl.EvalContext) bool {
	for _, tr := range expr.Variables() {
		if v, diags := tr.TraverseAbs(ctx); !diags.HasErrors() && v.HasMarkDeep(Sensitive) {
			return true
		}
	}
	if e, ok := expr.(hclsyntax.Expression); ok {
		found := false
		_ = hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
			if call, ok := n.(*hclsyntax.FunctionCallExpr); ok && call.Name == "secret" {
				found = true
			}
			return nil
		})
		return found
	}
	return false
}

// redactDetails replaces the detail of every error in diags, and drops the
// expression and context a diagnostic writer would print values from.
func redactDetails(diags hcl.Diagnostics) hcl.Diagnostics {
	out := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		c := *d
		// secret()'s own failure names the secret, never its value (its
		// argument is the name): keep it, it says what to set.
		if strings.HasPrefix(c.Detail, `Call to function "secret" failed:`) {
			c.Expression, c.EvalContext = nil, nil
			out[i] = &c
			continue
		}
		if c.Severity == hcl.DiagError {
			c.Detail = "The expression could not be evaluated (the value is sensitive and not shown)."
			c.Expression = nil
			c.EvalContext = nil
		}
		out[i] = &c
	}
	return out
}
