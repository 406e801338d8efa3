package config

import (
	"fmt"
	"maps"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// SecretFunc resolves secret("name") while a workflow runs.
type SecretFunc func(name string) (string, error)

// RunContext evaluates expressions while a workflow runs: the scope of
// EvalBase plus the trigger's event, earlier steps' outputs and secret()
// resolved to the secret's value (marked Sensitive). Build one per
// loaded workspace with NewRunContext; it is safe for concurrent use.
type RunContext struct {
	ws        *Workspace
	vars      map[string]cty.Value
	functions map[string]function.Function
}

// NewRunContext returns the run-time evaluator of ws, whose secret()
// calls secret.
func (ws *Workspace) NewRunContext(secret SecretFunc) (*RunContext, error) {
	if ws == nil || ws.base == nil {
		return nil, fmt.Errorf("run context: the workspace has no evaluation scope; load it with Load")
	}
	base := ws.base.evalContext()
	fns := maps.Clone(base.Functions)
	fns["secret"] = runSecretFunc(secret)
	return &RunContext{ws: ws, vars: base.Variables, functions: fns}, nil
}

func runSecretFunc(secret SecretFunc) function.Function {
	return function.New(&function.Spec{
		Description: "Returns a secret from the host's secret store.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			if name == "" {
				return cty.NilVal, function.NewArgErrorf(0, "secret name must not be empty")
			}
			if secret == nil {
				return cty.NilVal, fmt.Errorf("secret %q: this host has no secret store", name)
			}
			v, err := secret(name)
			if err != nil {
				// The resolver's error names the secret and says how to
				// set it.
				return cty.NilVal, err
			}
			return cty.StringVal(v).Mark(Sensitive), nil
		},
	})
}

// Eval evaluates expr with event (cty.NilVal when the expression has no
// event in scope) and outputs, the outputs of the steps that ran before,
// by step name (nil when no step is in scope). Errors of expressions that
// read sensitive values are reported without the values.
func (rc *RunContext) Eval(expr hcl.Expression, event cty.Value, outputs map[string]cty.Value) (cty.Value, hcl.Diagnostics) {
	vars := make(map[string]cty.Value, len(rc.vars)+2)
	maps.Copy(vars, rc.vars)
	if event != cty.NilVal {
		vars["event"] = event
	}
	if outputs != nil {
		steps := make(map[string]cty.Value, len(outputs))
		for name, out := range outputs {
			steps[name] = cty.ObjectVal(map[string]cty.Value{"output": out})
		}
		vars["action"] = objectOrEmpty(steps)
	}
	ctx := &hcl.EvalContext{Variables: vars, Functions: rc.functions}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		if rc.ws.base.readsSensitive(expr, ctx) {
			diags = redactDetails(diags)
		}
		return cty.DynamicVal, diags
	}
	return v, diags
}
