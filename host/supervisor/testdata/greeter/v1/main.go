// Command v1 is hub/greeter 1.0.0 for the supervisor's tests: it greets,
// logs, reports its PID, and has a slow action to kill mid-call.
package main

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/hubhq/hub/host/supervisor/testdata/unsupported"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

type greeter struct {
	unsupported.Connector
	log hclog.Logger
}

func (g *greeter) Schema(context.Context) (*schema.Schema, error) {
	return &schema.Schema{Name: "greeter", Version: "1.0.0"}, nil
}

func (g *greeter) ExecuteAction(ctx context.Context, req wire.ActionRequest) (json.RawMessage, error) {
	var in struct {
		Name    string `json:"name"`
		Started string `json:"started"`
		For     string `json:"for"`
	}
	if len(req.Input) > 0 {
		if err := json.Unmarshal(req.Input, &in); err != nil {
			return nil, fault.Invalid("input is not a JSON object: " + err.Error())
		}
	}
	switch req.Action {
	case "greet":
		return json.Marshal(map[string]string{"greeting": "hello, " + in.Name})
	case "log":
		g.log.Info("greeting someone", "name", in.Name)
		return json.Marshal(map[string]bool{"logged": true})
	case "pid":
		return json.Marshal(map[string]int{"pid": os.Getpid()})
	case "slow":
		// Tell the test the call is in progress, then take a long time.
		d, err := time.ParseDuration(in.For)
		if err != nil {
			return nil, fault.Invalid("for: " + err.Error())
		}
		if err := os.WriteFile(in.Started, nil, 0o644); err != nil {
			return nil, fault.Permanentf("mark started: %v", err)
		}
		select {
		case <-time.After(d):
			return json.Marshal(map[string]bool{"slept": true})
		case <-ctx.Done():
			return nil, fault.Retryablef("slow: %v", ctx.Err())
		}
	}
	return nil, fault.Permanentf("no action %q", req.Action)
}

func main() {
	log := hclog.New(&hclog.LoggerOptions{Name: "greeter", Level: hclog.Trace, JSONFormat: true, Output: os.Stderr})
	wire.Serve(&greeter{log: log}, log)
}
