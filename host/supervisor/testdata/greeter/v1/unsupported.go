package main

import (
	"context"
	"encoding/json"

	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// unsupported answers every call a test plugin does not implement.
type unsupported struct{}

func (unsupported) Schema(context.Context) (*schema.Schema, error) {
	return nil, fault.Permanentf("not supported")
}

func (unsupported) CheckConnection(context.Context, wire.Connection) (string, error) {
	return "", fault.Permanentf("not supported")
}

func (unsupported) ExecuteAction(context.Context, wire.ActionRequest) (json.RawMessage, error) {
	return nil, fault.Permanentf("not supported")
}

func (unsupported) PollTrigger(context.Context, wire.PollRequest) (wire.PollResult, error) {
	return wire.PollResult{}, fault.Permanentf("not supported")
}

func (unsupported) SubscribeWebhook(context.Context, wire.SubscribeRequest) (wire.Subscription, error) {
	return wire.Subscription{}, fault.Permanentf("not supported")
}

func (unsupported) UnsubscribeWebhook(context.Context, wire.UnsubscribeRequest) error {
	return fault.Permanentf("not supported")
}

func (unsupported) HandleWebhook(context.Context, wire.WebhookRequest) (wire.WebhookResult, error) {
	return wire.WebhookResult{}, fault.Permanentf("not supported")
}

func (unsupported) AuthStep(context.Context, wire.AuthStepRequest) (wire.AuthStepResult, error) {
	return wire.AuthStepResult{}, fault.Permanentf("not supported")
}

func (unsupported) OpenStream(context.Context, wire.StreamRequest, wire.StreamSink) error {
	return fault.Permanentf("not supported")
}

func (unsupported) MigrateCursor(context.Context, wire.MigrateCursorRequest) ([]byte, error) {
	return nil, fault.Permanentf("not supported")
}
