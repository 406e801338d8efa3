// Package unsupported is the test plugins' answer to every call they do not
// implement: they embed Connector and override what they serve.
package unsupported

import (
	"context"
	"encoding/json"

	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// Connector answers every call with a permanent "not supported" error.
type Connector struct{}

func (Connector) Schema(context.Context) (*schema.Schema, error) {
	return nil, fault.Permanentf("not supported")
}

func (Connector) CheckConnection(context.Context, wire.Connection) (string, error) {
	return "", fault.Permanentf("not supported")
}

func (Connector) ExecuteAction(context.Context, wire.ActionRequest) (json.RawMessage, error) {
	return nil, fault.Permanentf("not supported")
}

func (Connector) PollTrigger(context.Context, wire.PollRequest) (wire.PollResult, error) {
	return wire.PollResult{}, fault.Permanentf("not supported")
}

func (Connector) SubscribeWebhook(context.Context, wire.SubscribeRequest) (wire.Subscription, error) {
	return wire.Subscription{}, fault.Permanentf("not supported")
}

func (Connector) UnsubscribeWebhook(context.Context, wire.UnsubscribeRequest) error {
	return fault.Permanentf("not supported")
}

func (Connector) HandleWebhook(context.Context, wire.WebhookRequest) (wire.WebhookResult, error) {
	return wire.WebhookResult{}, fault.Permanentf("not supported")
}

func (Connector) AuthStep(context.Context, wire.AuthStepRequest) (wire.AuthStepResult, error) {
	return wire.AuthStepResult{}, fault.Permanentf("not supported")
}

func (Connector) OpenStream(context.Context, wire.StreamRequest, wire.StreamSink) error {
	return fault.Permanentf("not supported")
}

func (Connector) MigrateCursor(context.Context, wire.MigrateCursorRequest) ([]byte, error) {
	return nil, fault.Permanentf("not supported")
}
