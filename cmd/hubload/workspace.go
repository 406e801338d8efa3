package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/hubhq/hub/host/sandbox/warehouse"
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
` + deliverStep(sinkURL, "{ id = event.id, sent_at = event.sent_at }") + `
}
`
}

// deliverStep is the full mode's step: the example connector's deliver
// action POSTs body (an HCL object expression) to the sink, retried as a
// workflow delivering to a third party would be.
func deliverStep(sinkURL, body string) string {
	return `
  action "deliver" {
    connection = "load"
    action     = "deliver"
    input = {
      url  = ` + strconv.Quote(sinkURL+"/"+Workflow) + `
      body = ` + body + `
    }
    retry {
      attempts = 20
      backoff  = "exponential"
      initial  = "100ms"
      max      = "2s"
    }
    on_error = "dead_letter"
  }`
}

// streamWorkspaceHCL is the workspace of a stream run: the http
// connector's stream trigger (configured as in examples/stream) reads the
// warehouse simulator's event stream. The trigger's when is false, as in
// ingest mode, so what is measured is the stream stored durably; the
// deliver step is declared only because a workflow needs one. With stall
// the consumer is stalled instead: when is true and every event runs the
// full mode's deliver step, to a sink that holds every request, so hub
// serve's queue fills and its stream trigger has to stop reading.
func streamWorkspaceHCL(warehouseURL, sinkURL string, stall bool) string {
	when := "\n    when = false # store every event, run no step"
	step := `
  action "deliver" {
    connection = "load"
    action     = "deliver"
    input = {
      url  = ` + strconv.Quote(sinkURL+"/"+Workflow) + `
      body = { id = event.id }
    }
  }`
	if stall {
		when = "\n    when = true # a stalled consumer: every event runs the step, which the sink never answers"
		step = deliverStep(sinkURL, "{ id = event.id }")
	}
	return `# Written by hubload (cmd/hubload); rewritten on every run.

hub {
  required_connectors {
    http    = { source = "hub/http", version = "~> 1.0" }
    example = { source = "hub/example", version = "~> 1.0" }
  }
}

connection "warehouse" {
  connector = "http"
  auth "bearer" {
    token = ` + strconv.Quote(warehouse.DefaultToken) + ` # the simulator's, on loopback
  }
  properties = { base_url = ` + strconv.Quote(warehouseURL) + ` }
}

connection "load" {
  connector = "example"
}

workflow "` + Workflow + `" {
  trigger "warehouse" "stream" {
    mode = "stream"` + when + `
    config = {
      path          = "/api/stream"
      resume_param  = "since"
      type_path     = "type"
      event_type    = "event"
      events_path   = "event"
      id_path       = "id"
      kind_path     = "kind"
      time_path     = "at"
      position_path = "seq"
      error_path    = "code"
      expired_code  = "position_expired"
    }
  }
` + step + `
}
`
}

// writeWorkspace writes src as the workspace's main.hcl into dir, creating
// it, and returns its data directory (dir/.hub/data), which hubload passes
// to every hub command so HUB_DATA_DIR in the environment cannot point
// them elsewhere.
func writeWorkspace(dir, src string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create workspace %s: %w", dir, err)
	}
	path := filepath.Join(dir, "main.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return filepath.Join(dir, ".hub", "data"), nil
}
