package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// helloVarWorkspace is helloWorkspace with its greeting from a variable.
const helloVarWorkspace = `hub {
  required_connectors {
    example = { source = "hub/example", version = "~> 1.0" }
  }
}

variable "greeting" {
  type    = string
  default = "hi"
}

connection "demo" {
  connector  = "example"
  properties = { greeting = var.greeting }
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
    input      = { message = "tick ${event.seq}: ${event.message}" }
  }
}
`

func exists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// hub apply without a running host creates a secret store (and its
// master.key) only when it has -var values to seal: a fresh data
// directory applied without them stays without a key that a hub serve
// given HUB_MASTER_KEY would then not match.
func TestApply_WithoutVarsCreatesNoMasterKey(t *testing.T) {
	ws := appliedWorkspace(t, helloVarWorkspace)
	for _, name := range []string{"master.key", "secrets.json"} {
		if exists(t, filepath.Join(ws.data, name)) {
			t.Fatalf("hub apply without -var values created %s", name)
		}
	}
	ws.mustCLI(t, "apply", "-dir", ws.dir, "-data-dir", ws.data, "-auto-approve", "-var", "greeting=hello")
	if !exists(t, filepath.Join(ws.data, "master.key")) {
		t.Fatal("hub apply with a -var value did not create the key that seals it")
	}
}
