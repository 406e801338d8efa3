package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// hubIn runs the hub binary with a private plugin directory and stdin as
// its input.
func hubIn(t *testing.T, pluginDir, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(hubBin, args...)
	cmd.Env = append(os.Environ(), "HUB_PLUGIN_DIR="+pluginDir)
	cmd.Stdin = strings.NewReader(stdin)
	return runHub(t, cmd)
}

// initialized writes src as a workspace, installs the example connector
// and runs hub init.
func initialized(t *testing.T, src string) (dir, plugins string) {
	t.Helper()
	dir, plugins = workspace(t, src)
	mustHub(t, plugins, "init", "-dir", dir)
	return dir, plugins
}

func rewrite(t *testing.T, dir, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func wantIn(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

func TestCLI_PlanShowsAddsAndDetailedExitcodeIsTwo(t *testing.T) {
	dir, plugins := initialized(t, helloWorkspace)
	r := mustHub(t, plugins, "plan", "-dir", dir)
	wantIn(t, "plan", r.stdout, `+ connection "demo"`, `+ properties.greeting: "hi"`, `+ workflow "ticks_to_echo"`,
		`+ action.echo.input.message: "tick ${event.seq}: ${event.message}"`, "Plan: 2 to add, 0 to change, 0 to remove.")
	r = hub(t, plugins, "plan", "-dir", dir, "-detailed-exitcode")
	if r.code != 2 || r.stderr != "" {
		t.Fatalf("plan -detailed-exitcode with changes: %+v", r)
	}
	var p struct {
		Summary  struct{ Add, Change, Remove int }
		Warnings []jsonDiag
	}
	if err := json.Unmarshal([]byte(mustHub(t, plugins, "plan", "-dir", dir, "-json").stdout), &p); err != nil || p.Summary.Add != 2 || p.Warnings == nil {
		t.Fatalf("plan -json: %+v, %v", p, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".hub", "data")); !os.IsNotExist(err) {
		t.Fatalf("plan created the data directory: %v", err)
	}
}

func TestCLI_ApplyAppliesOnlyAfterYesThenPlanHasNoChanges(t *testing.T) {
	dir, plugins := initialized(t, helloWorkspace)

	r := hubIn(t, plugins, "no\n", "apply", "-dir", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "Apply cancelled.") || !strings.Contains(r.stdout, "Apply these changes? Only 'yes' is accepted:") {
		t.Fatalf("apply answered no: %+v", r)
	}
	if r := hub(t, plugins, "plan", "-dir", dir, "-detailed-exitcode"); r.code != 2 {
		t.Fatalf("a cancelled apply stored something; plan: %+v", r)
	}

	r = mustHub(t, plugins, "apply", "-dir", dir, "-auto-approve")
	wantIn(t, "apply", r.stdout, `+ workflow "ticks_to_echo"`, "Apply complete: 2 added, 0 changed, 0 removed.")
	if strings.Contains(r.stdout, "Apply these changes?") {
		t.Fatalf("-auto-approve asked anyway:\n%s", r.stdout)
	}
	r = mustHub(t, plugins, "plan", "-dir", dir, "-detailed-exitcode")
	wantIn(t, "plan after apply", r.stdout, "No changes")

	rewrite(t, dir, strings.Replace(helloWorkspace, `greeting = "hi"`, `greeting = "hello"`, 1))
	r = mustHub(t, plugins, "plan", "-dir", dir)
	wantIn(t, "plan after a property change", r.stdout, `~ connection "demo"`, `~ properties.greeting: "hi" -> "hello"`,
		"Plan: 0 to add, 1 to change, 0 to remove.")

	r = hubIn(t, plugins, "yes\n", "apply", "-dir", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "Apply complete: 0 added, 1 changed, 0 removed.") {
		t.Fatalf("apply answered yes: %+v", r)
	}
	if r := hub(t, plugins, "plan", "-dir", dir, "-detailed-exitcode"); r.code != 0 {
		t.Fatalf("plan after the second apply: %+v", r)
	}
}

func TestCLI_PlanShowsASecretChangeAsSensitive(t *testing.T) {
	withKey := strings.Replace(helloWorkspace, `connector  = "example"`, `connector  = "example"
  auth "api_key" {
    key = secret("example_key")
  }`, 1)
	dir, plugins := initialized(t, withKey)
	data := filepath.Join(t.TempDir(), "data")
	mustHub(t, plugins, "apply", "-dir", dir, "-auto-approve", "-data-dir", data)

	rewrite(t, dir, strings.Replace(withKey, `secret("example_key")`, `secret("example_key_rotated")`, 1))
	r := hub(t, plugins, "plan", "-dir", dir, "-data-dir", data, "-detailed-exitcode")
	if r.code != 2 {
		t.Fatalf("plan after a secret change: %+v", r)
	}
	wantIn(t, "plan", r.stdout, `~ auth.key: (sensitive) -> (sensitive)`)
	if strings.Contains(r.stdout, "example_key") {
		t.Fatalf("the plan shows the secret's expression:\n%s", r.stdout)
	}
}

func TestCLI_ApplyRefusesAnInvalidWorkspaceAndStoresNothing(t *testing.T) {
	dir, plugins := initialized(t, helloWorkspace)
	broken := strings.Replace(helloWorkspace, `action     = "echo"`, `action     = "ech"`, 1)

	rewrite(t, dir, broken)
	r := hub(t, plugins, "apply", "-dir", dir, "-auto-approve")
	if r.code != 1 || !strings.Contains(r.stderr, `"ech"`) || !strings.Contains(r.stderr, "not valid") {
		t.Fatalf("apply of an invalid workspace: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, ".hub", "data")); !os.IsNotExist(err) {
		t.Fatalf("a refused apply created the store: %v", err)
	}

	rewrite(t, dir, helloWorkspace)
	mustHub(t, plugins, "apply", "-dir", dir, "-auto-approve")
	rewrite(t, dir, strings.Replace(broken, `greeting = "hi"`, `greeting = "hello"`, 1))
	if r := hub(t, plugins, "apply", "-dir", dir, "-auto-approve"); r.code != 1 {
		t.Fatalf("apply of an invalid workspace: %+v", r)
	}
	rewrite(t, dir, helloWorkspace)
	if r := hub(t, plugins, "plan", "-dir", dir, "-detailed-exitcode"); r.code != 0 {
		t.Fatalf("a refused apply changed the applied state; plan: %+v", r)
	}
}

func TestCLI_ApplyJSONNeedsAutoApprove(t *testing.T) {
	dir, plugins := initialized(t, helloWorkspace)
	if r := hub(t, plugins, "apply", "-dir", dir, "-json"); r.code != 2 || !strings.Contains(r.stderr, "-auto-approve") {
		t.Fatalf("apply -json without -auto-approve: %+v", r)
	}
	var out struct {
		Summary struct{ Add int }
		Applied bool
	}
	if err := json.Unmarshal([]byte(mustHub(t, plugins, "apply", "-dir", dir, "-json", "-auto-approve").stdout), &out); err != nil || !out.Applied || out.Summary.Add != 2 {
		t.Fatalf("apply -json: %+v, %v", out, err)
	}
}
