package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"runtime"

	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/sdk/wire"
)

type versionInfo struct {
	Version   string `json:"version"`
	Protocols []int  `json:"plugin_protocols"`
	Platform  string `json:"platform"`
	Go        string `json:"go"`
}

func runVersion(e *env, args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	asJSON := fs.Bool("json", false, "print as JSON")
	if err := fs.Parse(args); err != nil {
		return usageErr("%v", err)
	}
	info := versionInfo{Version: version, Protocols: []int{wire.ProtocolVersion}, Platform: registry.Platform(), Go: runtime.Version()}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	fmt.Fprintf(e.stdout, "hub %s (plugin protocol %d, %s, %s)\n", info.Version, wire.ProtocolVersion, info.Platform, info.Go)
	return nil
}
