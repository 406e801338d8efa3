package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSensitiveValues_NeverAppearInDiagnostics loads the sensitive_values
// workspace, whose sensitive variables all hold text starting with
// "hunter2": a sensitive map as a connection's env, tomap() of secrets,
// function errors on a sensitive argument and a schema violation inside a
// computed credentials object. It must not panic, and no diagnostic may
// quote a secret.
func TestSensitiveValues_NeverAppearInDiagnostics(t *testing.T) {
	dir := filepath.Join("testdata", "workspaces", "sensitive_values")
	ws, diags := loadAndValidate(dir, goldenOptions(), testSchemas())
	if ws == nil {
		t.Fatalf("Load returned no workspace: %v", diags)
	}
	if !diags.HasErrors() {
		t.Fatal("want the workspace's errors reported, got none")
	}
	for _, d := range diags {
		if strings.Contains(d.Summary, "hunter2") || strings.Contains(d.Detail, "hunter2") {
			t.Errorf("diagnostic quotes a sensitive value: %s: %s", d.Summary, d.Detail)
		}
	}
	for _, line := range strings.Split(render(t, ws.Files, diags), "\n") {
		if strings.Contains(line, "hunter2") && !strings.Contains(line, "default") {
			t.Errorf("rendered diagnostics quote a sensitive value: %s", line)
		}
	}
}

// TestConnectionEnv_SensitiveMapKeepsItsMarks checks that env = var.m with
// a sensitive map decodes (cty refuses to iterate a marked value) and that
// every element stays sensitive.
func TestConnectionEnv_SensitiveMapKeepsItsMarks(t *testing.T) {
	dir := filepath.Join("testdata", "workspaces", "sensitive_values")
	ws, diags := Load(dir, goldenOptions())
	if ws == nil {
		t.Fatalf("Load returned no workspace: %v", diags)
	}
	for _, c := range ws.Connections {
		if c.Name != "shop" && c.Name != "shop_secret_env" {
			continue
		}
		if len(c.Env) == 0 {
			t.Errorf("connection %s: env decoded to nothing", c.Name)
		}
		for name, v := range c.Env {
			if !IsSensitive(v) {
				t.Errorf("connection %s: env %s lost its sensitive mark", c.Name, name)
			}
		}
	}
}
