package supervisor

import (
	"context"
	"encoding/json"

	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// handle is the wire.Connector the supervisor hands out: each call goes to
// the live process of its connector, launching it first if needed. Errors
// from the connector come back as they are, already classified by wire.
type handle struct {
	p *proc
}

var _ wire.Connector = (*handle)(nil)

func (h *handle) Schema(ctx context.Context) (*schema.Schema, error) {
	c, err := h.p.connector(ctx)
	if err != nil {
		return nil, err
	}
	return c.Schema(ctx)
}

func (h *handle) CheckConnection(ctx context.Context, conn wire.Connection) (string, error) {
	c, err := h.p.connector(ctx)
	if err != nil {
		return "", err
	}
	return c.CheckConnection(ctx, conn)
}

func (h *handle) ExecuteAction(ctx context.Context, req wire.ActionRequest) (json.RawMessage, error) {
	c, err := h.p.connector(ctx)
	if err != nil {
		return nil, err
	}
	return c.ExecuteAction(ctx, req)
}

func (h *handle) PollTrigger(ctx context.Context, req wire.PollRequest) (wire.PollResult, error) {
	c, err := h.p.connector(ctx)
	if err != nil {
		return wire.PollResult{}, err
	}
	return c.PollTrigger(ctx, req)
}

func (h *handle) SubscribeWebhook(ctx context.Context, req wire.SubscribeRequest) (wire.Subscription, error) {
	c, err := h.p.connector(ctx)
	if err != nil {
		return wire.Subscription{}, err
	}
	return c.SubscribeWebhook(ctx, req)
}

func (h *handle) UnsubscribeWebhook(ctx context.Context, req wire.UnsubscribeRequest) error {
	c, err := h.p.connector(ctx)
	if err != nil {
		return err
	}
	return c.UnsubscribeWebhook(ctx, req)
}

func (h *handle) HandleWebhook(ctx context.Context, req wire.WebhookRequest) (wire.WebhookResult, error) {
	c, err := h.p.connector(ctx)
	if err != nil {
		return wire.WebhookResult{}, err
	}
	return c.HandleWebhook(ctx, req)
}

func (h *handle) AuthStep(ctx context.Context, req wire.AuthStepRequest) (wire.AuthStepResult, error) {
	c, err := h.p.connector(ctx)
	if err != nil {
		return wire.AuthStepResult{}, err
	}
	return c.AuthStep(ctx, req)
}

func (h *handle) OpenStream(ctx context.Context, req wire.StreamRequest, sink wire.StreamSink) error {
	c, err := h.p.connector(ctx)
	if err != nil {
		return err
	}
	return c.OpenStream(ctx, req, sink)
}

func (h *handle) MigrateCursor(ctx context.Context, req wire.MigrateCursorRequest) ([]byte, error) {
	c, err := h.p.connector(ctx)
	if err != nil {
		return nil, err
	}
	return c.MigrateCursor(ctx, req)
}
