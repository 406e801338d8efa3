package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// writeWorkspace writes files into a fresh directory and returns it.
func writeWorkspace(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mustLoad(t *testing.T, dir string, opts LoadOptions) *Workspace {
	t.Helper()
	ws, diags := Load(dir, opts)
	if diags.HasErrors() {
		t.Fatalf("load: %s", render(t, ws.Files, diags))
	}
	return ws
}

func varValue(t *testing.T, ws *Workspace, name string) cty.Value {
	t.Helper()
	v, ok := ws.Variable(name)
	if !ok {
		t.Fatalf("no variable %q", name)
	}
	return v.Value
}

func TestVariables_PrecedenceIsDefaultEnvFileFlag(t *testing.T) {
	dir := writeWorkspace(t, map[string]string{
		"main.hcl": `
variable "a" { default = "default" }
variable "b" { default = "default" }
variable "c" { default = "default" }
variable "d" { default = "default" }
`,
		"one.hubvars.hcl": "c = \"file1\"\nd = \"file1\"\n",
		"two.hubvars.hcl": "d = \"file2\"\n",
	})
	env := map[string]string{"HUB_VAR_b": "env", "HUB_VAR_c": "env", "HUB_VAR_d": "env"}
	ws := mustLoad(t, dir, LoadOptions{
		Vars:     map[string]string{"d": "flag"},
		VarFiles: []string{filepath.Join(dir, "one.hubvars.hcl"), filepath.Join(dir, "two.hubvars.hcl")},
		Getenv:   func(k string) string { return env[k] },
	})
	want := map[string]string{"a": "default", "b": "env", "c": "file1", "d": "flag"}
	for name, w := range want {
		if got := varValue(t, ws, name); !got.RawEquals(cty.StringVal(w)) {
			t.Errorf("var.%s = %#v, want %q", name, got, w)
		}
	}
	// Without the flag, the later vars file wins over the earlier one.
	ws = mustLoad(t, dir, LoadOptions{
		VarFiles: []string{filepath.Join(dir, "one.hubvars.hcl"), filepath.Join(dir, "two.hubvars.hcl")},
	})
	if got := varValue(t, ws, "d"); !got.RawEquals(cty.StringVal("file2")) {
		t.Errorf("var.d = %#v, want file2", got)
	}
}

func TestVariables_FlagValuesParseForTheDeclaredType(t *testing.T) {
	dir := writeWorkspace(t, map[string]string{"main.hcl": `
variable "n" { type = number }
variable "skus" { type = list(string) }
variable "o" { type = object({ max = number }) }
`})
	ws := mustLoad(t, dir, LoadOptions{Vars: map[string]string{"n": "42", "skus": `["a", "b"]`, "o": "{ max = 3 }"}})
	if got := varValue(t, ws, "n"); !got.RawEquals(cty.NumberIntVal(42)) {
		t.Errorf("n = %#v", got)
	}
	if got := varValue(t, ws, "skus"); !got.RawEquals(cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")})) {
		t.Errorf("skus = %#v", got)
	}
	if got := varValue(t, ws, "o"); !got.RawEquals(cty.ObjectVal(map[string]cty.Value{"max": cty.NumberIntVal(3)})) {
		t.Errorf("o = %#v", got)
	}
}

func TestVariables_MissingRequiredAndUndeclaredFlagAreErrors(t *testing.T) {
	dir := writeWorkspace(t, map[string]string{"main.hcl": `variable "shop" {}`})
	_, diags := Load(dir, LoadOptions{Vars: map[string]string{"nope": "x"}})
	var summaries []string
	for _, d := range diags {
		summaries = append(summaries, d.Summary)
	}
	got := strings.Join(summaries, "; ")
	if got != "Value for undeclared variable; Missing required variable" {
		t.Errorf("diagnostics = %q", got)
	}
}

func TestVariables_SensitiveValueIsMarked(t *testing.T) {
	dir := writeWorkspace(t, map[string]string{"main.hcl": `
variable "pw" {
  default   = "hunter2"
  sensitive = true
}`})
	ws := mustLoad(t, dir, LoadOptions{})
	if !IsSensitive(varValue(t, ws, "pw")) {
		t.Error("sensitive variable is not marked")
	}
}

const envWorkspace = `
environment "sandbox" {
  values = { base_url = "https://sandbox.example.com" }
}
environment "live" {
  base_url = "https://example.com"
}
hub {
  required_connectors {
    web = { source = "hub/http", version = "~> 1.0" }
  }
}
connection "web" {
  connector  = "web"
  properties = { base_url = values.base_url, env = hub.environment }
}
`

func TestEnvironments_SelectedValuesReachConnections(t *testing.T) {
	dir := writeWorkspace(t, map[string]string{"main.hcl": envWorkspace})
	for env, url := range map[string]string{"sandbox": "https://sandbox.example.com", "live": "https://example.com"} {
		ws := mustLoad(t, dir, LoadOptions{Env: env})
		c, _ := ws.Connection("web")
		want := cty.ObjectVal(map[string]cty.Value{"base_url": cty.StringVal(url), "env": cty.StringVal(env)})
		if !c.Properties.Value.RawEquals(want) {
			t.Errorf("env %s: properties = %#v", env, c.Properties.Value)
		}
	}
}

func TestEnvironments_NoneSelectedLeavesValuesUnknown(t *testing.T) {
	dir := writeWorkspace(t, map[string]string{"main.hcl": envWorkspace})
	ws := mustLoad(t, dir, LoadOptions{})
	c, _ := ws.Connection("web")
	if c.Properties.Value.IsWhollyKnown() {
		t.Errorf("properties = %#v, want unknown parts", c.Properties.Value)
	}
}

func TestEnvironments_UnknownSelectionIsAnError(t *testing.T) {
	dir := writeWorkspace(t, map[string]string{"main.hcl": envWorkspace})
	_, diags := Load(dir, LoadOptions{Env: "staging"})
	if !diags.HasErrors() || diags[0].Summary != "Unknown environment" {
		t.Errorf("diagnostics = %v", diags)
	}
}

// evalIn loads a workspace whose connection properties are expr and
// returns their value.
func evalIn(t *testing.T, expr string, opts LoadOptions) (cty.Value, hcl.Diagnostics) {
	t.Helper()
	dir := writeWorkspace(t, map[string]string{"main.hcl": `
hub {
  required_connectors {
    web = { source = "hub/http" }
  }
}
connection "web" {
  connector  = "web"
  properties = { v = ` + expr + ` }
}`})
	ws, diags := Load(dir, opts)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	c, _ := ws.Connection("web")
	return c.Properties.Value.GetAttr("v"), diags
}

func TestSecret_IsUnknownMarkedAndNamed(t *testing.T) {
	v, diags := evalIn(t, `"Bearer ${secret("api_token")}"`, LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if v.IsKnown() {
		t.Error("secret value is known at load time")
	}
	if !IsSensitive(v) {
		t.Error("value computed from a secret is not sensitive")
	}
	if got := SecretNames(v); len(got) != 1 || got[0] != "api_token" {
		t.Errorf("SecretNames = %v", got)
	}
}

func TestEnvFunc_ReadsInjectedGetenvOnly(t *testing.T) {
	t.Setenv("HUB_TEST_REGION", "from-process")
	v, diags := evalIn(t, `env("HUB_TEST_REGION")`, LoadOptions{Getenv: func(k string) string {
		return map[string]string{"HUB_TEST_REGION": "eu"}[k]
	}})
	if diags.HasErrors() || !v.RawEquals(cty.StringVal("eu")) {
		t.Errorf("env() = %#v, %v", v, diags)
	}
	v, _ = evalIn(t, `env("HUB_TEST_REGION")`, LoadOptions{})
	if !v.RawEquals(cty.StringVal("")) {
		t.Errorf("env() without Getenv = %#v, want empty", v)
	}
}

func TestFunctions_StandardLibraryIsAvailable(t *testing.T) {
	cases := map[string]cty.Value{
		`formatdate("YYYY-MM-DD", "2026-03-04T05:06:07Z")`:   cty.StringVal("2026-03-04"),
		`timeadd("2026-03-04T00:00:00Z", "36h")`:             cty.StringVal("2026-03-05T12:00:00Z"),
		`jsonencode({ a = 1 })`:                              cty.StringVal(`{"a":1}`),
		`jsondecode("[1]")[0]`:                               cty.NumberIntVal(1),
		`regex("[0-9]+", "order-123")`:                       cty.StringVal("123"),
		`regexreplace("a-b-c", "-", "_")`:                    cty.StringVal("a_b_c"),
		`try(jsondecode("{")["x"], "fallback")`:              cty.StringVal("fallback"),
		`can(regex("^x", "y"))`:                              cty.False,
		`coalesce(null, "b")`:                                cty.StringVal("b"),
		`lookup({ a = "x" }, "b", "dflt")`:                   cty.StringVal("dflt"),
		`upper(trimspace(" ok "))`:                           cty.StringVal("OK"),
		`length(distinct(concat(["a"], ["a", "b"])))`:        cty.NumberIntVal(2),
		`max(1, 5, 3)`:                                       cty.NumberIntVal(5),
		`tostring(12)`:                                       cty.StringVal("12"),
		`join(",", sort(keys(merge({ b = 1 }, { a = 2 }))))`: cty.StringVal("a,b"),
		`format("%s-%03d", "inv", 7)`:                        cty.StringVal("inv-007"),
	}
	for expr, want := range cases {
		got, diags := evalIn(t, expr, LoadOptions{})
		if diags.HasErrors() {
			t.Errorf("%s: %v", expr, diags)
			continue
		}
		if !got.RawEquals(want) {
			t.Errorf("%s = %#v, want %#v", expr, got, want)
		}
	}
}

func TestLoad_IgnoresLockAndVarsFiles(t *testing.T) {
	dir := writeWorkspace(t, map[string]string{
		"main.hcl":      `variable "a" { default = 1 }`,
		LockFileName:    `provider "x" {}`,
		"x.hubvars.hcl": `a = 2`,
	})
	ws := mustLoad(t, dir, LoadOptions{})
	if got := varValue(t, ws, "a"); !got.RawEquals(cty.NumberIntVal(1)) {
		t.Errorf("a = %#v", got)
	}
}

func TestLoad_MissingDirectoryIsADiagnostic(t *testing.T) {
	ws, diags := Load(filepath.Join(t.TempDir(), "nope"), LoadOptions{})
	if ws != nil || !diags.HasErrors() {
		t.Errorf("ws = %v, diags = %v", ws, diags)
	}
}
