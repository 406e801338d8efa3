// Command v2 is hub/greeter 2.0.0 for the supervisor's tests: the same
// connector as v1 with a changed output shape, to run beside it.
package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/hubhq/hub/host/supervisor/testdata/unsupported"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

type greeter struct{ unsupported.Connector }

func (greeter) Schema(context.Context) (*schema.Schema, error) {
	return &schema.Schema{Name: "greeter", Version: "2.0.0"}, nil
}

type message struct {
	Text    string `json:"text"`
	Version int    `json:"version"`
}

func (greeter) ExecuteAction(_ context.Context, req wire.ActionRequest) (json.RawMessage, error) {
	var in struct {
		Name string `json:"name"`
	}
	if len(req.Input) > 0 {
		if err := json.Unmarshal(req.Input, &in); err != nil {
			return nil, fault.Invalid("input is not a JSON object: " + err.Error())
		}
	}
	switch req.Action {
	case "greet":
		return json.Marshal(map[string]message{"message": {Text: "Hello, " + strings.ToUpper(in.Name) + "!", Version: 2}})
	case "pid":
		return json.Marshal(map[string]int{"pid": os.Getpid()})
	}
	return nil, fault.Permanentf("no action %q", req.Action)
}

func main() {
	log := hclog.New(&hclog.LoggerOptions{Name: "greeter", Level: hclog.Trace, JSONFormat: true, Output: os.Stderr})
	wire.Serve(greeter{}, log)
}
