package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

func runContext(t *testing.T, secrets map[string]string) *RunContext {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(`variable "who" { default = "ops" }`), 0o600); err != nil {
		t.Fatal(err)
	}
	ws, diags := Load(dir, LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	rc, err := ws.NewRunContext(func(name string) (string, error) {
		if v, ok := secrets[name]; ok {
			return v, nil
		}
		return "", errors.New(`secret "` + name + `" is not set: hub secrets set ` + name)
	})
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func expr(t *testing.T, src string) hcl.Expression {
	t.Helper()
	e, diags := hclsyntax.ParseExpression([]byte(src), "x.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return e
}

func TestRunContext_ResolvesSecretsMarkedSensitive(t *testing.T) {
	rc := runContext(t, map[string]string{"pw": "hunter2"})
	v, diags := rc.Eval(expr(t, `{ user = var.who, pass = secret("pw"), seq = event.seq, prev = action.a.output.n }`),
		cty.ObjectVal(map[string]cty.Value{"seq": cty.NumberIntVal(7)}),
		map[string]cty.Value{"a": cty.ObjectVal(map[string]cty.Value{"n": cty.NumberIntVal(3)})})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if !v.GetAttr("pass").HasMark(Sensitive) || v.GetAttr("user").HasMark(Sensitive) {
		t.Fatal("only the secret is marked sensitive")
	}
	pass, _ := v.GetAttr("pass").Unmark()
	if pass.AsString() != "hunter2" || v.GetAttr("seq").AsBigFloat().String() != "7" || v.GetAttr("prev").AsBigFloat().String() != "3" {
		t.Fatalf("evaluated %#v", v)
	}
}

// A secret that is not set is reported with how to set it; an error in
// an expression over a secret's value never shows the value.
func TestRunContext_ErrorsNameMissingSecretsButNeverShowValues(t *testing.T) {
	rc := runContext(t, map[string]string{"n": "hunter2"})
	_, diags := rc.Eval(expr(t, `secret("pw")`), cty.NilVal, nil)
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "hub secrets set pw") {
		t.Fatalf("missing secret: %v", diags)
	}
	_, diags = rc.Eval(expr(t, `tonumber(secret("n"))`), cty.NilVal, nil)
	if !diags.HasErrors() || strings.Contains(diags.Error(), "hunter2") {
		t.Fatalf("a failing expression over a secret: %v", diags)
	}
}
