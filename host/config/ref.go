package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// EvalBase evaluates expr in the scope connection-level expressions were
// evaluated in: variables, the selected environment's values, hub and
// env(), but no event or step outputs. A state uses it to record what a
// mapping that is only known during a run reads from the workspace
// (var.greeting in "${var.greeting} ${event.seq}"), so changing that input
// is a change. Sensitive results keep their marks.
func (ws *Workspace) EvalBase(expr hcl.Expression) (cty.Value, hcl.Diagnostics) {
	if ws == nil || ws.base == nil {
		return cty.DynamicVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Workspace not loaded", Detail: "The workspace has no evaluation scope; load it with Load."}}
	}
	return ws.base.eval(expr)
}

// EvalRef evaluates one reference (var.x, values.y, hub.environment) in
// the scope of EvalBase.
func (ws *Workspace) EvalRef(tr hcl.Traversal) (cty.Value, hcl.Diagnostics) {
	if ws == nil || ws.base == nil {
		return cty.DynamicVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Workspace not loaded", Detail: "The workspace has no evaluation scope; load it with Load."}}
	}
	if diags := ws.base.checkRef(tr); diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	v, diags := tr.TraverseAbs(ws.base.evalContext())
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	return v, diags
}
