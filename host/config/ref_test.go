package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

func TestEvalRef_ReadsVariablesValuesAndEnvInTheBaseScope(t *testing.T) {
	dir := t.TempDir()
	src := "variable \"greeting\" {}\nvariable \"pw\" {\n  default   = \"hunter2\"\n  sensitive = true\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, diags := Load(dir, LoadOptions{Vars: map[string]string{"greeting": "hello"}, Getenv: func(string) string { return "from-env" }})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	ref := func(s string) hcl.Traversal {
		tr, diags := hclsyntax.ParseTraversalAbs([]byte(s), "", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		return tr
	}
	if v, diags := ws.EvalRef(ref("var.greeting")); diags.HasErrors() || !v.RawEquals(cty.StringVal("hello")) {
		t.Errorf("var.greeting = %#v, %v", v, diags)
	}
	if v, diags := ws.EvalRef(ref("var.pw")); diags.HasErrors() || !IsSensitive(v) {
		t.Errorf("var.pw = %#v, %v; want it sensitive", v, diags)
	}
	if _, diags := ws.EvalRef(ref("event.id")); !diags.HasErrors() {
		t.Error("event.id evaluated outside a workflow")
	}
	call, _ := hclsyntax.ParseExpression([]byte(`env("X")`), "", hcl.InitialPos)
	if v, diags := ws.EvalBase(call); diags.HasErrors() || !v.RawEquals(cty.StringVal("from-env")) {
		t.Errorf(`env("X") = %#v, %v`, v, diags)
	}
}
