package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/hubhq/hub/host/config"
	"github.com/hubhq/hub/sdk/schema"
)

// validate loads the workspace in dir and validates it against the http
// connector's schema as the host receives it, returning every diagnostic
// rendered as `hub validate` prints them.
func validate(t *testing.T, dir string) (hcl.Diagnostics, string) {
	t.Helper()
	s := harness(t, fixedNow).Schema()
	ws, diags := config.Load(dir, config.LoadOptions{})
	if ws != nil {
		diags = append(diags, config.Validate(ws, map[string]*schema.Schema{"http": s})...)
	}
	var buf bytes.Buffer
	var files map[string]*hcl.File
	if ws != nil {
		files = ws.Files
	}
	if err := hcl.NewDiagnosticTextWriter(&buf, files, 0, false).WriteDiagnostics(diags); err != nil {
		t.Fatal(err)
	}
	return diags, buf.String()
}

// examples are the workspaces docs/no-code.md quotes.
var examples = []string{filepath.Join("testdata", "warehouse"), filepath.Join("testdata", "session")}

func TestNoCodeExample_Validates(t *testing.T) {
	for _, dir := range examples {
		diags, text := validate(t, dir)
		if len(diags) > 0 {
			t.Errorf("%s, quoted by docs/no-code.md, does not validate:\n%s", dir, text)
		}
	}
}

func TestNoCodeExample_MatchesTheGuide(t *testing.T) {
	var example []byte
	for _, dir := range examples {
		b, err := os.ReadFile(filepath.Join(dir, "main.hcl"))
		if err != nil {
			t.Fatal(err)
		}
		example = append(example, b...)
	}
	guide, err := os.ReadFile(filepath.Join("..", "..", "docs", "no-code.md"))
	if err != nil {
		t.Skipf("docs/no-code.md not found: %v", err)
	}
	// Every block the guide shows is in a validated file, word for word.
	blocks := strings.Split(string(guide), "```hcl\n")
	if len(blocks) < 2 {
		t.Fatal("the guide has no hcl blocks")
	}
	for _, b := range blocks[1:] {
		code, _, _ := strings.Cut(b, "```")
		if !strings.Contains(string(example), code) {
			t.Errorf("this block of docs/no-code.md is in no testdata workspace:\n%s", code)
		}
	}
}

func TestValidate_CatchesMistakesAgainstTheSchema(t *testing.T) {
	dir := t.TempDir()
	ws := `
hub {
  required_connectors {
    http = { source = "hub/http", version = "~> 1.0" }
  }
}
connection "wms" {
  connector = "http"
  auth "bearer" { token = "t" }
  properties = { base_url = "http://127.0.0.1:1", timeout = 30 }
}
workflow "w" {
  trigger "wms" "poll" {
    config = { path = "/api/shipments", id_fields = "id" }
  }
  action "a" {
    connection = "wms"
    action     = "create"
    input      = { body = {}, expect = ["201"] , method = "GET" }
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(ws), 0o600); err != nil {
		t.Fatal(err)
	}
	diags, text := validate(t, dir)
	if !diags.HasErrors() {
		t.Fatal("a broken workspace validated")
	}
	for _, want := range []string{"timeout", "id_fields", "id_field", "path", "method"} {
		if !strings.Contains(text, want) {
			t.Errorf("diagnostics do not mention %s:\n%s", want, text)
		}
	}
}
