package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Workflow is the name of the one workflow hubload's workspace declares;
// events are posted to /webhooks/<Workflow>.
const Workflow = "load"

// workspaceHCL is the workspace hubload drives: the example connector's
// incoming webhook feeds its deliver action, which POSTs to the sink. In
// ingest mode the trigger's when is false, so each event is stored and
// routed and no step runs; the step is still declared because a workflow
// needs one.
func workspaceHCL(mode, sinkURL string) string {
	when := ""
	if mode == modeIngest {
		when = "\n    when = false # ingest only: store and route every event, run no step"
	}
	return `# Written by hubload (cmd/hubload); rewritten on every run.

hub {
  required_connectors {
    example = { source = "hub/example", version = "~> 1.0" }
  }
}

connection "load" {
  connector = "example"
}

workflow "` + Workflow + `" {
  trigger "load" "incoming" {
    mode = "webhook"` + when + `
  }

  action "deliver" {
    connection = "load"
    action     = "deliver"
    input = {
      url  = ` + strconv.Quote(sinkURL+"/"+Workflow) + `
      body = { id = event.id, sent_at = event.sent_at }
    }
    retry {
      attempts = 20
      backoff  = "exponential"
      initial  = "100ms"
      max      = "2s"
    }
    on_error = "dead_letter"
  }
}
`
}

// writeWorkspace writes the workspace into dir, creating it, and returns
// its data directory (dir/.hub/data), which hubload passes to every hub
// command so HUB_DATA_DIR in the environment cannot point them elsewhere.
func writeWorkspace(dir, mode, sinkURL string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create workspace %s: %w", dir, err)
	}
	path := filepath.Join(dir, "main.hcl")
	if err := os.WriteFile(path, []byte(workspaceHCL(mode, sinkURL)), 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return filepath.Join(dir, ".hub", "data"), nil
}
