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
	// exampleV2Bin is plugins/example built as version 2.0.0, to move a
	// workspace between versions.
	exampleV2Bin string
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
	exampleV2Bin = filepath.Join(dir, "v2", "hub-connector-example")
	for _, b := range []struct{ out, pkg, ldflags string }{
		{hubBin, "./cmd/hub", "-X main.version=9.9.9-test -X main.sourceDir=" + root},
		{exampleBin, "./plugins/example", ""},
		{exampleV2Bin, "./plugins/example", "-X main.version=2.0.0"},
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

// runHub runs cmd, a hub command set up by the caller, and returns what
// it wrote and its exit code. Only a hub that could not be run at all
// fails the test.
func runHub(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("run hub %v: %v", cmd.Args[1:], err)
	}
	return result{out.String(), errb.String(), code}
}

// succeeded fails the test unless r, what hub args gave, exited 0.
func succeeded(t *testing.T, r result, args []string) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("hub %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// hub runs the hub binary with a private plugin directory and no input.
func hub(t *testing.T, pluginDir string, args ...string) result {
	t.Helper()
	return hubIn(t, pluginDir, "", args...)
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
	return succeeded(t, hub(t, pluginDir, args...), args)
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

const helloWorkspace = `hub {
  required_connectors {
    example = { source = "hub/example", version = "~> 1.0" }
  }
}

connection "demo" {
  connector  = "example"
  properties = { greeting = "hi" }
}

workflow "ticks_to_echo" {
  trigger "demo" "tick" {
    mode     = "poll"
    interval = "1m"
    config   = { count = 5 }
  }

  action "echo" {
    connection = "demo"
    action     = "echo"
    input      = { message = "tick ${event.seq}: ${event.message}", uppercase = true }
  }
}
`

// workspace writes a one-file workspace and installs the example connector
// into its own plugin directory.
func workspace(t *testing.T, src string) (dir, plugins string) {
	t.Helper()
	dir, plugins = t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	mustHub(t, plugins, "connectors", "install", exampleBin)
	return dir, plugins
}

func TestCLI_InitLocksThenValidateChecksAgainstTheSchemas(t *testing.T) {
	dir, plugins := workspace(t, helloWorkspace)

	r := hub(t, plugins, "validate", "-dir", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "Connector not locked") || !strings.Contains(r.stderr, "main.hcl:3") {
		t.Fatalf("validate before init: %+v", r)
	}

	r = mustHub(t, plugins, "init", "-dir", dir)
	if !strings.Contains(r.stdout, "- example: hub/example 1.0.0 (new)") {
		t.Fatalf("init: %q", r.stdout)
	}
	lockPath := filepath.Join(dir, "hub.lock.hcl")
	first, err := os.ReadFile(lockPath)
	if err != nil || !strings.Contains(string(first), `version     = "1.0.0"`) || !strings.Contains(string(first), "sha256:") {
		t.Fatalf("lock file: %s, %v", first, err)
	}
	mustHub(t, plugins, "init", "-dir", dir)
	if again, _ := os.ReadFile(lockPath); string(again) != string(first) {
		t.Fatalf("a second init changed the lock:\n%s\nthen\n%s", first, again)
	}

	r = mustHub(t, plugins, "validate", "-dir", dir)
	if !strings.Contains(r.stdout, "The workspace is valid (1 connections, 1 workflows)") {
		t.Fatalf("validate: %+v", r)
	}
}

func TestCLI_ValidateReportsEveryProblemWithFileLineAndColumn(t *testing.T) {
	broken := strings.Replace(helloWorkspace, `action     = "echo"`, `action     = "ech"`, 1)
	broken = strings.Replace(broken, `trigger "demo" "tick" {`, `trigger "demo" "tock" {`, 1)
	dir, plugins := workspace(t, broken)
	mustHub(t, plugins, "init", "-dir", dir)
	r := hub(t, plugins, "validate", "-dir", dir)
	if r.code != 1 {
		t.Fatalf("validate of a broken workspace: %+v", r)
	}
	for _, want := range []string{"main.hcl:13", "tock", "main.hcl:21", "ech"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, r.stderr)
		}
	}
	var diags []jsonDiag
	r = hub(t, plugins, "validate", "-dir", dir, "-json")
	if err := json.Unmarshal([]byte(r.stdout), &diags); err != nil || len(diags) < 2 || diags[0].Range == nil || diags[0].Range.Start.Line == 0 {
		t.Fatalf("validate -json: %v\n%s", err, r.stderr)
	}
}

func TestCLI_InitAndValidateRefuseABinaryChangedSinceTheLock(t *testing.T) {
	dir, plugins := workspace(t, helloWorkspace)
	mustHub(t, plugins, "init", "-dir", dir)
	installed := filepath.Join(plugins, "hub", "example", "1.0.0", runtime.GOOS+"_"+runtime.GOARCH, "hub-connector-example")
	// Reinstalling a different build of the same version changes its
	// checksum; the lock must notice.
	other := filepath.Join(t.TempDir(), "hub-connector-example")
	data, err := os.ReadFile(exampleBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, append(data, "rebuilt"...), 0o755); err != nil {
		t.Fatal(err)
	}
	mustHub(t, plugins, "connectors", "install", other)
	if sum, _ := fileSHA256(installed); sum == nil {
		t.Fatal("reinstall failed")
	}
	r := hub(t, plugins, "init", "-dir", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "does not match hub.lock.hcl") {
		t.Fatalf("init after a rebuild: %+v", r)
	}
	r = hub(t, plugins, "validate", "-dir", dir)
	if r.code != 1 || !strings.Contains(strings.ToLower(r.stderr), "hash") && !strings.Contains(strings.ToLower(r.stderr), "checksum") {
		t.Fatalf("validate after a rebuild: %+v", r)
	}
	r = mustHub(t, plugins, "init", "-dir", dir, "-upgrade")
	if !strings.Contains(r.stdout, "rebuilt: new checksum accepted") {
		t.Fatalf("init -upgrade accepted a rebuilt binary silently: %q", r.stdout)
	}
	mustHub(t, plugins, "validate", "-dir", dir)
}

func TestCLI_FmtCheckListsThenFmtRewrites(t *testing.T) {
	dir := t.TempDir()
	ugly := "connection \"demo\" {\nconnector=\"example\"\n}\n"
	f := filepath.Join(dir, "main.hcl")
	if err := os.WriteFile(f, []byte(ugly), 0o644); err != nil {
		t.Fatal(err)
	}
	r := hub(t, dir, "fmt", "-check", dir)
	if r.code != 1 || !strings.Contains(r.stdout, "main.hcl") {
		t.Fatalf("fmt -check: %+v", r)
	}
	if got, _ := os.ReadFile(f); string(got) != ugly {
		t.Fatal("fmt -check wrote the file")
	}
	mustHub(t, dir, "fmt", dir)
	if got, _ := os.ReadFile(f); !strings.Contains(string(got), "  connector = \"example\"") {
		t.Fatalf("fmt did not format:\n%s", got)
	}
	mustHub(t, dir, "fmt", "-check", dir)
}

// examples/hello is what make run shows a new user: it must init and
// validate against the real example connector.
func TestCLI_ExampleHelloInitsAndValidates(t *testing.T) {
	src, err := os.ReadFile("../../examples/hello/main.hcl")
	if err != nil {
		t.Fatal(err)
	}
	dir, plugins := workspace(t, string(src))
	mustHub(t, plugins, "init", "-dir", dir)
	r := mustHub(t, plugins, "validate", "-dir", dir)
	if !strings.Contains(r.stdout, "valid") || r.stderr != "" {
		t.Fatalf("validate: %+v", r)
	}
}

func TestCLI_ValidateShowsLanguageAndSchemaProblemsInOneRun(t *testing.T) {
	broken := strings.Replace(helloWorkspace, `config   = { count = 5 }`, `config   = { count = 5 }
    when     = var.nope`, 1)
	broken = strings.Replace(broken, `action     = "echo"`, `action     = "ech"`, 1)
	dir, plugins := workspace(t, helloWorkspace)
	mustHub(t, plugins, "init", "-dir", dir)
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	r := hub(t, plugins, "validate", "-dir", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "nope") || !strings.Contains(r.stderr, `"ech"`) {
		t.Fatalf("want both the reference and the schema problem: %+v", r)
	}
}

func TestCLI_ValidateRefusesALockThatNoLongerMatchesTheWorkspace(t *testing.T) {
	dir, plugins := workspace(t, helloWorkspace)
	mustHub(t, plugins, "init", "-dir", dir)
	for _, edit := range []struct{ from, to, want string }{
		{`version = "~> 1.0"`, `version = ">= 2.0"`, `requires hub/example >= 2.0 but hub.lock.hcl locks 1.0.0`},
		{`source = "hub/example"`, `source = "acme/example"`, `requires acme/example but hub.lock.hcl locks hub/example`},
	} {
		src := strings.Replace(helloWorkspace, edit.from, edit.to, 1)
		if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		r := hub(t, plugins, "validate", "-dir", dir)
		if r.code != 1 || !strings.Contains(r.stderr, edit.want) || !strings.Contains(r.stderr, "run hub init") {
			t.Errorf("after %s: %+v", edit.to, r)
		}
	}
}
