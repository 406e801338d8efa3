package scaffold

import (
	"bytes"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the hub checkout these tests run in.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("hub checkout not found at %s: %v", root, err)
	}
	return root
}

func TestGenerate_ProjectBuildsAndPassesItsOwnTestOutOfTheBox(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated project with the go command")
	}
	dir := filepath.Join(t.TempDir(), "hub-connector-warehouse")
	if err := Generate(dir, Options{Name: "warehouse", Module: "example.com/acme/hub-connector-warehouse", HubReplace: repoRoot(t)}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"main.go", "main_test.go"} {
		src, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if formatted, err := format.Source(src); err != nil || !bytes.Equal(formatted, src) {
			t.Errorf("%s is not gofmt-clean (err %v)", name, err)
		}
	}
	// No network: everything must come from the go.mod and go.sum that
	// Generate wrote and the module cache.
	env := append(os.Environ(), "GOPROXY=off", "GOSUMDB=off", "GOFLAGS=-mod=readonly -buildvcs=false", "GOWORK=off")
	for _, args := range [][]string{{"vet", "./..."}, {"test", "./..."}, {"build", "-o", "hub-connector-warehouse", "."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Run by hand, outside hub, the connector explains itself and exits 1.
	out, err := exec.Command(filepath.Join(dir, "hub-connector-warehouse")).CombinedOutput()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 || !strings.Contains(string(out), "hub connector plugin") {
		t.Fatalf("running the binary by hand: %v\n%s", err, out)
	}
}

func TestGenerate_WritesEveryFileNamedForTheConnector(t *testing.T) {
	dir := t.TempDir()
	if err := Generate(dir, Options{Name: "ware_house", HubVersion: "0.3.0"}); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	gomod := read("go.mod")
	if !strings.Contains(gomod, "module example.com/hub-connector-ware-house\n") ||
		!strings.Contains(gomod, "require github.com/hubhq/hub v0.3.0\n") || strings.Contains(gomod, "replace") {
		t.Errorf("go.mod:\n%s", gomod)
	}
	if !strings.Contains(read("main.go"), `Name:        "ware_house"`) {
		t.Errorf("main.go does not declare the name")
	}
	readme := read("README.md")
	for _, want := range []string{"go test ./...", "go build -o hub-connector-ware_house .", "hub connectors install ./hub-connector-ware_house -source local/ware_house", "go mod tidy"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README lacks %q", want)
		}
	}
	if !strings.Contains(read(".gitignore"), "/hub-connector-ware_house") {
		t.Errorf(".gitignore does not ignore the binary")
	}
	if _, err := os.Stat(filepath.Join(dir, "go.sum")); err == nil {
		t.Errorf("go.sum written without a local hub to copy it from")
	}
}

func TestGenerate_RefusesAnInvalidName(t *testing.T) {
	for _, name := range []string{"", "Warehouse", "ware-house", "1shop", "shop!"} {
		dir := filepath.Join(t.TempDir(), "x")
		err := Generate(dir, Options{Name: name, HubVersion: "v1.0.0"})
		if err == nil || !strings.Contains(err.Error(), "invalid connector name") {
			t.Errorf("name %q: err = %v", name, err)
		}
		if _, statErr := os.Stat(dir); statErr == nil {
			t.Errorf("name %q: directory created anyway", name)
		}
	}
}

func TestGenerate_RefusesANonEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Generate(dir, Options{Name: "shop", HubVersion: "v1.0.0"})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "main.go")); string(b) != "package main\n" {
		t.Fatal("existing file overwritten")
	}
}

func TestGenerate_NeedsAHubVersionOrACheckout(t *testing.T) {
	err := Generate(filepath.Join(t.TempDir(), "x"), Options{Name: "shop"})
	if err == nil || !strings.Contains(err.Error(), "HubVersion") {
		t.Fatalf("err = %v", err)
	}
	err = Generate(filepath.Join(t.TempDir(), "x"), Options{Name: "shop", HubReplace: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "hub checkout") {
		t.Fatalf("err = %v", err)
	}
}
