package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// These tests run the real hub binary and real connector binaries as
// processes, the way an operator or connector author does.

var (
	hubBin     string // the hub binary under test
	exampleBin string // plugins/example, built
)

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hub-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := filepath.Abs("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hubBin = filepath.Join(dir, "hub")
	exampleBin = filepath.Join(dir, "hub-connector-example")
	for _, b := range []struct{ out, pkg, ldflags string }{
		{hubBin, "./cmd/hub", "-X main.version=9.9.9-test -X main.sourceDir=" + root},
		{exampleBin, "./plugins/example", ""},
	} {
		cmd := exec.Command("go", "build", "-ldflags", b.ldflags, "-o", b.out, b.pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b.pkg, err, out)
			return 1
		}
	}
	return m.Run()
}

type result struct {
	stdout, stderr string
	code           int
}

// hub runs the hub binary with a private plugin directory.
func hub(t *testing.T, pluginDir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(hubBin, args...)
	cmd.Env = append(os.Environ(), "HUB_PLUGIN_DIR="+pluginDir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("run hub %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// oneLine fails unless stderr is exactly one line: bad input gets one
// clear error line, not a log dump.
func oneLine(t *testing.T, r result) {
	t.Helper()
	if lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n"); len(lines) != 1 {
		t.Fatalf("stderr has %d lines, want one:\n%s", len(lines), r.stderr)
	}
}

func mustHub(t *testing.T, pluginDir string, args ...string) result {
	t.Helper()
	r := hub(t, pluginDir, args...)
	if r.code != 0 {
		t.Fatalf("hub %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func TestCLI_Version(t *testing.T) {
	r := mustHub(t, t.TempDir(), "version")
	if !strings.Contains(r.stdout, "hub 9.9.9-test (plugin protocol 1") {
		t.Fatalf("version: %q", r.stdout)
	}
	var info versionInfo
	if err := json.Unmarshal([]byte(mustHub(t, t.TempDir(), "version", "-json").stdout), &info); err != nil || info.Version != "9.9.9-test" || info.Protocols[0] != 1 {
		t.Fatalf("version -json: %+v, %v", info, err)
	}
}

func TestCLI_UnknownCommandIsUsageError(t *testing.T) {
	r := hub(t, t.TempDir(), "frobnicate")
	if r.code != 2 || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Fatalf("got %+v", r)
	}
}

func TestCLI_InstallListSchemaCall(t *testing.T) {
	dir := t.TempDir()
	r := mustHub(t, dir, "connectors", "install", exampleBin)
	want := filepath.Join(dir, "hub", "example", "1.0.0", runtime.GOOS+"_"+runtime.GOARCH, "hub-connector-example")
	if !strings.Contains(r.stdout, "installed hub/example 1.0.0 -> "+want) {
		t.Fatalf("install: %q", r.stdout)
	}

	var rows []listed
	if err := json.Unmarshal([]byte(mustHub(t, dir, "connectors", "list", "-json").stdout), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Source != "hub/example" || rows[0].Version != "1.0.0" || rows[0].Protocol != 1 ||
		len(rows[0].SHA256) != 64 || rows[0].Path != want || rows[0].Error != "" {
		t.Fatalf("list: %+v", rows)
	}
	if r := mustHub(t, dir, "connectors", "list"); !strings.Contains(r.stdout, "hub/example  1.0.0    1") {
		t.Fatalf("list table: %q", r.stdout)
	}

	r = mustHub(t, dir, "connectors", "schema", "example@~> 1.0")
	for _, s := range []string{"hub/example 1.0.0", "Actions:", "echo [read, idempotent]", "message string (required)", "Triggers:", "tick [poll]"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("schema output lacks %q:\n%s", s, r.stdout)
		}
	}

	r = mustHub(t, dir, "connectors", "call", "example", "echo", `{"message":"hi","uppercase":true}`, "-idempotency-key", "k-1")
	var out map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("call output %q: %v", r.stdout, err)
	}
	if out["message"] != "HI" || out["idempotency_key"] != "k-1" || out["connector_version"] != "1.0.0" {
		t.Fatalf("echo: %v", out)
	}
}

func TestCLI_CallWithBadInputNamesTheField(t *testing.T) {
	dir := t.TempDir()
	mustHub(t, dir, "connectors", "install", exampleBin)
	r := hub(t, dir, "connectors", "call", "example", "echo", `{"uppercase":"yes"}`)
	if r.code != 1 || !strings.Contains(r.stderr, "invalid_input") || !strings.Contains(r.stderr, "message") || !strings.Contains(r.stderr, "uppercase") {
		t.Fatalf("got %+v", r)
	}
	oneLine(t, r)
}

func TestCLI_ConstraintMatchingNothingIsOneClearLine(t *testing.T) {
	dir := t.TempDir()
	mustHub(t, dir, "connectors", "install", exampleBin)
	r := hub(t, dir, "connectors", "schema", "example@~> 3.0")
	if r.code != 1 || !strings.Contains(r.stderr, "~> 3.0") || !strings.Contains(r.stderr, "1.0.0") {
		t.Fatalf("got %+v", r)
	}
	oneLine(t, r)
	r = hub(t, dir, "connectors", "schema", "nosuch")
	if r.code != 1 || !strings.Contains(r.stderr, "nosuch") {
		t.Fatalf("got %+v", r)
	}
}

func TestCLI_InstallRefusesAFileThatIsNotAPlugin(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(t.TempDir(), "not-a-plugin")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := hub(t, dir, "connectors", "install", script)
	if r.code != 1 || !strings.Contains(r.stderr, script) || !strings.Contains(r.stderr, "not a working hub connector") {
		t.Fatalf("got %+v", r)
	}
	oneLine(t, r)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a refused binary left files in the plugin dir: %v", entries)
	}
}

func TestCLI_TamperedBinaryIsRefusedAtLaunch(t *testing.T) {
	dir := t.TempDir()
	mustHub(t, dir, "connectors", "install", exampleBin)
	installed := filepath.Join(dir, "hub", "example", "1.0.0", runtime.GOOS+"_"+runtime.GOARCH, "hub-connector-example")
	f, err := os.OpenFile(installed, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("tampered")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r := hub(t, dir, "connectors", "call", "example", "echo", `{"message":"x"}`)
	if r.code != 1 || !strings.Contains(strings.ToLower(r.stderr), "checksum") {
		t.Fatalf("got %+v", r)
	}
	oneLine(t, r)
}

// The author's path end to end: generate, test, build, install, call.
func TestCLI_ConnectorNewBuildsTestsInstallsAndRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a new Go module (about a minute on 2 cores)")
	}
	work := t.TempDir()
	proj := filepath.Join(work, "warehouse")
	r := mustHub(t, work, "connector", "new", "warehouse", "-dir", proj)
	if !strings.Contains(r.stdout, "go test ./...") {
		t.Fatalf("new: %q", r.stdout)
	}
	bin := filepath.Join(work, "hub-connector-warehouse")
	for _, args := range [][]string{{"vet", "./..."}, {"test", "./..."}, {"build", "-o", bin, "."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = proj
		// Offline: the project's go.sum came from the checkout and every
		// module is in the cache.
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOPROXY=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s in the new project: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	plugins := filepath.Join(work, "plugins")
	mustHub(t, plugins, "connectors", "install", bin)
	var rows []listed
	if err := json.Unmarshal([]byte(mustHub(t, plugins, "connectors", "list", "-json").stdout), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Source != "hub/warehouse" || rows[0].Protocol != 1 {
		t.Fatalf("the new connector is not listed as working: %+v", rows)
	}
}

func TestCLI_HelpOnASubcommandExitsZero(t *testing.T) {
	if r := hub(t, t.TempDir(), "connectors", "list", "-h"); r.code != 0 || !strings.Contains(r.stderr, "-plugin-dir") {
		t.Fatalf("got %+v", r)
	}
}

func TestCLI_ConnectorNewRefusesAHubSourceThatIsNotACheckout(t *testing.T) {
	work := t.TempDir()
	r := hub(t, work, "connector", "new", "x", "-dir", filepath.Join(work, "x"), "-hub-source", work)
	if r.code != 1 || !strings.Contains(r.stderr, "not a hub checkout") {
		t.Fatalf("got %+v", r)
	}
	if _, err := os.Stat(filepath.Join(work, "x")); !os.IsNotExist(err) {
		t.Fatal("a project was written anyway")
	}
}

func TestCLI_InstallOfANonExecutableSaysHowToFixIt(t *testing.T) {
	f := filepath.Join(t.TempDir(), "hub-connector-x")
	if err := os.WriteFile(f, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := hub(t, t.TempDir(), "connectors", "install", f)
	if r.code != 1 || !strings.Contains(r.stderr, "not an executable file") || !strings.Contains(r.stderr, "chmod +x") {
		t.Fatalf("got %+v", r)
	}
	oneLine(t, r)
}
