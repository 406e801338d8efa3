package wire

import (
	"context"
	"encoding/json"
	"errors"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	connectorv1 "github.com/hubhq/hub/proto/connector/v1"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
)

// grpcClient is the host's Connector over a plugin's gRPC connection.
type grpcClient struct {
	stub connectorv1.ConnectorClient
}

// NewGRPCClient wraps a generated stub as a Connector.
func NewGRPCClient(stub connectorv1.ConnectorClient) Connector {
	return &grpcClient{stub: stub}
}

// transportError classifies a gRPC failure: the plugin crashed, hung up or
// timed out, so the call may succeed once the plugin is back. The caller's
// own deadline or cancellation is retryable too, and still matches the
// context's error with errors.Is.
func transportError(ctx context.Context, call string, err error) error {
	if ctx.Err() != nil {
		// The call did not finish in time (or the host is stopping): it
		// may well succeed when tried again. errors.Is still finds the
		// context's error through Cause.
		e := fault.Retryablef("%s: %v", call, ctx.Err())
		e.Cause = ctx.Err()
		return e
	}
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.DeadlineExceeded, codes.Canceled:
		// gRPC can report the deadline (the peer's RST_STREAM) a moment
		// before the caller's context marks itself done: classify it the
		// same way so errors.Is finds the context's error either way.
		cause := context.DeadlineExceeded
		if st.Code() == codes.Canceled {
			cause = context.Canceled
		}
		e := fault.Retryablef("%s: %v", call, cause)
		e.Cause = cause
		return e
	case codes.Unimplemented:
		return fault.Permanentf("%s: the connector does not implement this call (built against an older protocol?)", call)
	case codes.ResourceExhausted:
		return fault.Permanentf("%s: message too large: %s", call, st.Message())
	case codes.Unknown:
		return fault.Permanentf("%s: %s", call, st.Message())
	}
	e := fault.Retryablef("%s: connector unavailable: %s", call, st.Message())
	e.Cause = err
	return e
}

func (c *grpcClient) Schema(ctx context.Context) (*schema.Schema, error) {
	resp, err := c.stub.GetSchema(ctx, &connectorv1.GetSchemaRequest{})
	if err != nil {
		return nil, transportError(ctx, "GetSchema", err)
	}
	if resp.GetSchema() == nil {
		return nil, fault.Permanentf("GetSchema: connector returned no schema")
	}
	return SchemaFromPB(resp.GetSchema()), nil
}

func (c *grpcClient) CheckConnection(ctx context.Context, conn Connection) (string, error) {
	resp, err := c.stub.CheckConnection(ctx, &connectorv1.CheckConnectionRequest{Connection: connToPB(conn)})
	if err != nil {
		return "", transportError(ctx, "CheckConnection", err)
	}
	return resp.GetAccount(), errorFromPB(resp.GetError())
}

func (c *grpcClient) ExecuteAction(ctx context.Context, req ActionRequest) (json.RawMessage, error) {
	resp, err := c.stub.ExecuteAction(ctx, &connectorv1.ExecuteActionRequest{
		Action: req.Action, Connection: connToPB(req.Conn), InputJson: req.Input,
		IdempotencyKey: req.IdempotencyKey, Attempt: int32(req.Attempt),
	})
	if err != nil {
		return nil, transportError(ctx, "ExecuteAction "+req.Action, err)
	}
	if e := errorFromPB(resp.GetError()); e != nil {
		return nil, e
	}
	return rawJSON(resp.GetOutputJson()), nil
}

func (c *grpcClient) PollTrigger(ctx context.Context, req PollRequest) (PollResult, error) {
	resp, err := c.stub.PollTrigger(ctx, &connectorv1.PollTriggerRequest{
		Trigger: req.Trigger, Connection: connToPB(req.Conn), ConfigJson: req.Config, Cursor: req.Cursor, Limit: int32(req.Limit),
	})
	if err != nil {
		return PollResult{}, transportError(ctx, "PollTrigger "+req.Trigger, err)
	}
	if e := errorFromPB(resp.GetError()); e != nil {
		return PollResult{}, e
	}
	return PollResult{Events: eventsFromPB(resp.GetEvents()), NextCursor: resp.GetNextCursor(), HasMore: resp.GetHasMore()}, nil
}

func (c *grpcClient) SubscribeWebhook(ctx context.Context, req SubscribeRequest) (Subscription, error) {
	resp, err := c.stub.SubscribeWebhook(ctx, &connectorv1.SubscribeWebhookRequest{
		Trigger: req.Trigger, Connection: connToPB(req.Conn), ConfigJson: req.Config, Url: req.URL, Secret: req.Secret,
	})
	if err != nil {
		return Subscription{}, transportError(ctx, "SubscribeWebhook "+req.Trigger, err)
	}
	if e := errorFromPB(resp.GetError()); e != nil {
		return Subscription{}, e
	}
	return Subscription{ID: resp.GetSubscriptionId(), State: rawJSON(resp.GetStateJson()), Secret: resp.GetSecret()}, nil
}

func (c *grpcClient) UnsubscribeWebhook(ctx context.Context, req UnsubscribeRequest) error {
	resp, err := c.stub.UnsubscribeWebhook(ctx, &connectorv1.UnsubscribeWebhookRequest{
		Trigger: req.Trigger, Connection: connToPB(req.Conn), ConfigJson: req.Config,
		SubscriptionId: req.Subscription.ID, StateJson: req.Subscription.State,
	})
	if err != nil {
		return transportError(ctx, "UnsubscribeWebhook "+req.Trigger, err)
	}
	return errorFromPB(resp.GetError())
}

func (c *grpcClient) HandleWebhook(ctx context.Context, req WebhookRequest) (WebhookResult, error) {
	resp, err := c.stub.HandleWebhook(ctx, &connectorv1.HandleWebhookRequest{
		Trigger: req.Trigger, Connection: connToPB(req.Conn), ConfigJson: req.Config,
		Request: &connectorv1.HTTPRequest{Method: req.HTTP.Method, Url: req.HTTP.URL, Headers: headerToPB(req.HTTP.Header),
			Body: req.HTTP.Body, RemoteAddr: req.HTTP.RemoteAddr},
		Secret: req.Secret, SubscriptionStateJson: req.SubscriptionState,
	})
	if err != nil {
		return WebhookResult{}, transportError(ctx, "HandleWebhook "+req.Trigger, err)
	}
	res := WebhookResult{Events: eventsFromPB(resp.GetEvents()), Response: responseFromPB(resp.GetResponse())}
	return res, errorFromPB(resp.GetError())
}

func (c *grpcClient) AuthStep(ctx context.Context, req AuthStepRequest) (AuthStepResult, error) {
	resp, err := c.stub.AuthStep(ctx, &connectorv1.AuthStepRequest{Step: req.Step, Connection: connToPB(req.Conn), Credentials: req.Credentials})
	if err != nil {
		return AuthStepResult{}, transportError(ctx, "AuthStep "+req.Step, err)
	}
	if e := errorFromPB(resp.GetError()); e != nil {
		return AuthStepResult{}, e
	}
	return AuthStepResult{Auth: authFromPB(resp.GetAuth()), RefreshToken: resp.GetRefreshToken()}, nil
}

func (c *grpcClient) OpenStream(ctx context.Context, req StreamRequest, sink StreamSink) error {
	call := "OpenStream " + req.Trigger
	stream, err := c.stub.OpenStream(ctx, &connectorv1.OpenStreamRequest{
		Trigger: req.Trigger, Connection: connToPB(req.Conn), ConfigJson: req.Config, Position: req.Position,
	})
	if err != nil {
		return transportError(ctx, call, err)
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return transportError(ctx, call, err)
		}
		switch k := msg.GetKind().(type) {
		case *connectorv1.StreamMessage_Batch:
			err = sink.Batch(StreamBatch{Events: eventsFromPB(k.Batch.GetEvents()), Position: k.Batch.GetPosition()})
		case *connectorv1.StreamMessage_Keepalive:
			err = sink.Keepalive(tsFromPB(k.Keepalive.GetAt()))
		case *connectorv1.StreamMessage_Error:
			return errorFromPB(k.Error)
		}
		if err != nil {
			return err
		}
	}
}

func (c *grpcClient) MigrateCursor(ctx context.Context, req MigrateCursorRequest) ([]byte, error) {
	resp, err := c.stub.MigrateCursor(ctx, &connectorv1.MigrateCursorRequest{Trigger: req.Trigger, FromVersion: req.FromVersion, Cursor: req.Cursor})
	if err != nil {
		return nil, transportError(ctx, "MigrateCursor "+req.Trigger, err)
	}
	if e := errorFromPB(resp.GetError()); e != nil {
		return nil, e
	}
	return resp.GetCursor(), nil
}
