package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hubhq/hub/sdk/scaffold"
)

// sourceDir is the hub checkout this binary was built from (set by the
// Makefile); a new connector project points its hub module at it, so it
// builds before hub is published anywhere.
var sourceDir = ""

const connectorUsage = `Usage: hub connector new NAME [-dir DIR] [-module PATH] [-hub-source DIR]

Creates a new connector project that builds and passes its own test:
  cd DIR && go test ./... && go build`

func runConnector(e *env, args []string) error {
	if len(args) == 0 || args[0] != "new" {
		fmt.Fprintln(e.stdout, connectorUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "help") {
			return nil
		}
		return usageErr("want: hub connector new NAME")
	}
	fs := newFlags(e, "connector new")
	dir := fs.String("dir", "", "where to create the project (default ./hub-connector-NAME)")
	module := fs.String("module", "", "Go module path of the new connector (default example.com/hub-connector-NAME)")
	hubSource := fs.String("hub-source", sourceDir, "a local hub checkout to use through a replace directive")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("connector new takes one NAME")
	}
	name := pos[0]
	if *dir == "" {
		*dir = "hub-connector-" + name
	}
	if *module == "" {
		*module = "example.com/hub-connector-" + name
	}
	replace := ""
	if *hubSource != "" {
		if _, err := os.Stat(filepath.Join(*hubSource, "go.mod")); err != nil {
			return fmt.Errorf("-hub-source %s is not a hub checkout (no go.mod): %w", *hubSource, err)
		}
		replace, _ = filepath.Abs(*hubSource)
	}
	if replace == "" && strings.Contains(version, "dev") {
		// A development hub is published nowhere, so the project could
		// not fetch it: it must build against a checkout.
		return fmt.Errorf("this hub (%s) is a development build: pass -hub-source DIR, a hub checkout, so the new project can build against it", version)
	}
	opts := scaffold.Options{Name: name, Module: *module, HubModule: "github.com/hubhq/hub", HubVersion: hubModuleVersion(replace), HubReplace: replace}
	if err := scaffold.Generate(*dir, opts); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Created connector %q in %s.\nNext:\n  cd %s\n  go test ./...\n  go build -o hub-connector-%s .\n  hub connectors install ./hub-connector-%s\n",
		name, *dir, *dir, name, name)
	return nil
}

// hubModuleVersion is the module version a new project requires. With a
// replace directive the version is only a placeholder; a development build
// has no published version at all.
func hubModuleVersion(replace string) string {
	if replace != "" || strings.Contains(version, "dev") {
		return "v0.0.0"
	}
	return "v" + strings.TrimPrefix(version, "v")
}
