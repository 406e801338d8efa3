// Command wireecho is the benchmarks' middle case: a plugin served through
// hub's wire adapters whose ExecuteAction returns its input unchanged, so
// the host's own cost (supervisor handle, wire conversion, the plugin-side
// adapter) shows apart from the SDK's input validation.
package main

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/go-hclog"

	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

type echo struct{ wire.Connector }

func (echo) Schema(context.Context) (*schema.Schema, error) {
	return &schema.Schema{Name: "wireecho", Version: "1.0.0"}, nil
}

func (echo) ExecuteAction(_ context.Context, req wire.ActionRequest) (json.RawMessage, error) {
	if req.Action != "echo" {
		return nil, fault.Invalid("only echo")
	}
	return req.Input, nil
}

func main() { wire.Serve(echo{}, hclog.NewNullLogger()) }
