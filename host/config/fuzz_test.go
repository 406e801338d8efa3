package config

import (
	"os"

	"github.com/hashicorp/hcl/v2/hclparse"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadAndValidate feeds arbitrary single-file workspaces through Load
// and Validate: whatever the input, they must return diagnostics, never
// panic.
func FuzzLoadAndValidate(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "workspaces", "*", "*.hcl"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(src))
	}
	schemas := testSchemas()
	f.Fuzz(func(t *testing.T, src string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		ws, diags := loadAndValidate(dir, goldenOptions(), schemas)
		if ws == nil {
			t.Fatalf("Load returned no workspace: %v", diags)
		}
		_ = render(t, ws.Files, diags)
	})
}

// TestDocs_EveryExampleLoads loads each ```hcl block of
// docs/configuration.md as its own workspace, so the documentation cannot
// drift from the language.
func TestDocs_EveryExampleLoads(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := hclBlocks(string(doc))
	if len(blocks) < 10 {
		t.Fatalf("found %d hcl examples in docs/configuration.md, want at least 10", len(blocks))
	}
	for i, src := range blocks {
		if strings.HasPrefix(src, "# vars file") {
			// A vars file is assignments only; it must parse as one.
			f, diags := hclparse.NewParser().ParseHCL([]byte(src), "example.hubvars.hcl")
			if !diags.HasErrors() {
				_, diags = f.Body.JustAttributes()
			}
			if diags.HasErrors() {
				t.Errorf("example %d is not a vars file: %v", i+1, diags)
			}
			continue
		}
		dir := writeWorkspace(t, map[string]string{"main.hcl": src})
		ws, diags := Load(dir, LoadOptions{Getenv: exampleEnv})
		if diags.HasErrors() {
			t.Errorf("example %d does not load:\n%s\n%s", i+1, src, render(t, ws.Files, diags))
		}
	}
}

// hclBlocks returns the bodies of the ```hcl fences in a markdown text.
func hclBlocks(md string) []string {
	var out []string
	var cur *strings.Builder
	for line := range strings.Lines(md) {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && trimmed == "```hcl":
			cur = &strings.Builder{}
		case cur != nil && trimmed == "```":
			out = append(out, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line)
		}
	}
	return out
}

// TestExamples_EveryWorkspaceLoads loads each directory under examples/.
func TestExamples_EveryWorkspaceLoads(t *testing.T) {
	dirs, err := os.ReadDir(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join("..", "..", "examples", d.Name())
		if hcl, _ := filepath.Glob(filepath.Join(dir, "*.hcl")); len(hcl) == 0 {
			continue // not a workspace (e.g. Go code)
		}
		n++
		t.Run(d.Name(), func(t *testing.T) {
			ws, diags := Load(dir, LoadOptions{Getenv: exampleEnv})
			if diags.HasErrors() {
				t.Errorf("%s", render(t, ws.Files, diags))
			}
		})
	}
	if n == 0 {
		t.Fatal("no workspaces under examples/")
	}
}

// exampleEnv sets every variable env() may read, but no HUB_VAR_*, so
// examples load with their defaults.
func exampleEnv(name string) string {
	if strings.HasPrefix(name, VarEnvPrefix) {
		return ""
	}
	return "x"
}
