// Package enginetest holds the fixture that the engine's tests and the
// tests of packages that run an engine compile workspaces against: one
// fake connector, "fake" (hub/fake 1.0.0), required by a hub block,
// locked, and installed at a path with no binary.
//
// It is for tests only. It must not import host/engine, whose own
// in-package tests use it.
package enginetest

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-version"

	"github.com/hubhq/hub/host/config"
	"github.com/hubhq/hub/host/lockfile"
	"github.com/hubhq/hub/host/registry"
)

// HubBlock requires the fake connector, used by every connection of the
// test workspaces.
const HubBlock = `
hub {
  required_connectors {
    fake = { source = "hub/fake", version = "1.0.0" }
  }
}
`

// Workspace loads src, written after HubBlock as main.hcl in a temporary
// directory, and fails the test if it does not load.
func Workspace(t testing.TB, src string) *config.Workspace {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(HubBlock+src), 0o600); err != nil {
		t.Fatal(err)
	}
	ws, diags := config.Load(dir, config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("load workspace: %s", diags.Error())
	}
	return ws
}

// Lock returns a lock of the fake connector and its installation on this
// platform, whose hashes agree. The installation's binary does not exist:
// a runtime compiled against them must be given its connectors in memory.
func Lock() (*lockfile.Lock, []registry.Installed) {
	v := version.Must(version.NewVersion("1.0.0"))
	sum := sha256.Sum256([]byte("fake connector binary"))
	inst := registry.Installed{Source: "hub/fake", Name: "fake", Version: v, Platform: registry.Platform(),
		Path: "/nonexistent/hub-connector-fake", SHA256: sum[:]}
	lock := lockfile.New()
	lock.Connectors["fake"] = &lockfile.Entry{Name: "fake", Source: "hub/fake", Version: v,
		Hashes: map[string]string{registry.Platform(): "sha256:" + hex.EncodeToString(sum[:])}}
	return lock, []registry.Installed{inst}
}
