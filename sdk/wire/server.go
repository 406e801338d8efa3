package wire

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"google.golang.org/protobuf/types/known/timestamppb"

	connectorv1 "github.com/hubhq/hub/proto/connector/v1"
	"github.com/hubhq/hub/sdk/fault"
)

// grpcServer adapts a Connector to the generated gRPC service. Connector
// errors travel in each response's Error field; a handler that panics is
// reported as a permanent error instead of taking the plugin down.
type grpcServer struct {
	connectorv1.UnimplementedConnectorServer
	impl   Connector
	logger hclog.Logger
}

// NewGRPCServer wraps impl as the gRPC connector service; a handler's panic
// is logged with its stack to logger (nil discards it).
func NewGRPCServer(impl Connector, logger hclog.Logger) connectorv1.ConnectorServer {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &grpcServer{impl: impl, logger: logger}
}

// maxPanicValue bounds how much of a panic value reaches the host.
const maxPanicValue = 200

// guard turns a panic in fn into a one-line permanent error naming the
// call. The stack stays in the plugin's log: it is for the connector's
// author, and the error travels into run history.
func (s *grpcServer) guard(call string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.logger.Error("connector panicked", "call", call, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			v := strings.Join(strings.Fields(fmt.Sprint(r)), " ")
			if len(v) > maxPanicValue {
				v = v[:maxPanicValue] + "…"
			}
			err = fault.Permanentf("connector panicked in %s: %s", call, v)
		}
	}()
	return fn()
}

func (s *grpcServer) GetSchema(ctx context.Context, _ *connectorv1.GetSchemaRequest) (*connectorv1.GetSchemaResponse, error) {
	var resp connectorv1.GetSchemaResponse
	err := s.guard("GetSchema", func() error {
		sc, err := s.impl.Schema(ctx)
		if err == nil {
			resp.Schema = SchemaToPB(sc)
		}
		return err
	})
	if err != nil {
		// A connector that cannot describe itself is unusable: say so
		// at the transport level so the host refuses it.
		return nil, fmt.Errorf("schema: %w", err)
	}
	return &resp, nil
}

func (s *grpcServer) CheckConnection(ctx context.Context, req *connectorv1.CheckConnectionRequest) (*connectorv1.CheckConnectionResponse, error) {
	var resp connectorv1.CheckConnectionResponse
	err := s.guard("CheckConnection", func() (err error) {
		resp.Account, err = s.impl.CheckConnection(ctx, connFromPB(req.GetConnection()))
		return err
	})
	resp.Error = errorToPB(err)
	return &resp, nil
}

func (s *grpcServer) ExecuteAction(ctx context.Context, req *connectorv1.ExecuteActionRequest) (*connectorv1.ExecuteActionResponse, error) {
	var resp connectorv1.ExecuteActionResponse
	err := s.guard("ExecuteAction "+req.GetAction(), func() (err error) {
		resp.OutputJson, err = s.impl.ExecuteAction(ctx, ActionRequest{
			Action: req.GetAction(), Conn: connFromPB(req.GetConnection()), Input: rawJSON(req.GetInputJson()),
			IdempotencyKey: req.GetIdempotencyKey(), Attempt: int(req.GetAttempt()),
		})
		return err
	})
	resp.Error = errorToPB(err)
	return &resp, nil
}

func (s *grpcServer) PollTrigger(ctx context.Context, req *connectorv1.PollTriggerRequest) (*connectorv1.PollTriggerResponse, error) {
	var resp connectorv1.PollTriggerResponse
	err := s.guard("PollTrigger "+req.GetTrigger(), func() error {
		res, err := s.impl.PollTrigger(ctx, PollRequest{
			Trigger: req.GetTrigger(), Conn: connFromPB(req.GetConnection()), Config: rawJSON(req.GetConfigJson()),
			Cursor: req.GetCursor(), Limit: int(req.GetLimit()),
		})
		resp.Events, resp.NextCursor, resp.HasMore = eventsToPB(res.Events), res.NextCursor, res.HasMore
		return err
	})
	resp.Error = errorToPB(err)
	return &resp, nil
}

func (s *grpcServer) SubscribeWebhook(ctx context.Context, req *connectorv1.SubscribeWebhookRequest) (*connectorv1.SubscribeWebhookResponse, error) {
	var resp connectorv1.SubscribeWebhookResponse
	err := s.guard("SubscribeWebhook "+req.GetTrigger(), func() error {
		sub, err := s.impl.SubscribeWebhook(ctx, SubscribeRequest{
			Trigger: req.GetTrigger(), Conn: connFromPB(req.GetConnection()), Config: rawJSON(req.GetConfigJson()),
			URL: req.GetUrl(), Secret: req.GetSecret(),
		})
		resp.SubscriptionId, resp.StateJson, resp.Secret = sub.ID, sub.State, sub.Secret
		return err
	})
	resp.Error = errorToPB(err)
	return &resp, nil
}

func (s *grpcServer) UnsubscribeWebhook(ctx context.Context, req *connectorv1.UnsubscribeWebhookRequest) (*connectorv1.UnsubscribeWebhookResponse, error) {
	err := s.guard("UnsubscribeWebhook "+req.GetTrigger(), func() error {
		return s.impl.UnsubscribeWebhook(ctx, UnsubscribeRequest{
			Trigger: req.GetTrigger(), Conn: connFromPB(req.GetConnection()), Config: rawJSON(req.GetConfigJson()),
			Subscription: Subscription{ID: req.GetSubscriptionId(), State: rawJSON(req.GetStateJson())},
		})
	})
	return &connectorv1.UnsubscribeWebhookResponse{Error: errorToPB(err)}, nil
}

func (s *grpcServer) HandleWebhook(ctx context.Context, req *connectorv1.HandleWebhookRequest) (*connectorv1.HandleWebhookResponse, error) {
	var resp connectorv1.HandleWebhookResponse
	err := s.guard("HandleWebhook "+req.GetTrigger(), func() error {
		h := req.GetRequest()
		res, err := s.impl.HandleWebhook(ctx, WebhookRequest{
			Trigger: req.GetTrigger(), Conn: connFromPB(req.GetConnection()), Config: rawJSON(req.GetConfigJson()),
			HTTP: HTTPRequest{Method: h.GetMethod(), URL: h.GetUrl(), Header: headerFromPB(h.GetHeaders()),
				Body: h.GetBody(), RemoteAddr: h.GetRemoteAddr()},
			Secret: req.GetSecret(), SubscriptionState: rawJSON(req.GetSubscriptionStateJson()),
		})
		resp.Events, resp.Response = eventsToPB(res.Events), responseToPB(res.Response)
		return err
	})
	resp.Error = errorToPB(err)
	return &resp, nil
}

func (s *grpcServer) AuthStep(ctx context.Context, req *connectorv1.AuthStepRequest) (*connectorv1.AuthStepResponse, error) {
	var resp connectorv1.AuthStepResponse
	err := s.guard("AuthStep "+req.GetStep(), func() error {
		res, err := s.impl.AuthStep(ctx, AuthStepRequest{Step: req.GetStep(), Conn: connFromPB(req.GetConnection()), Credentials: req.GetCredentials()})
		if err == nil {
			resp.Auth, resp.RefreshToken = authToPB(res.Auth), res.RefreshToken
		}
		return err
	})
	resp.Error = errorToPB(err)
	return &resp, nil
}

// streamSender forwards a connector's stream to the host.
type streamSender struct {
	stream connectorv1.Connector_OpenStreamServer
}

func (s streamSender) Batch(b StreamBatch) error {
	return s.stream.Send(&connectorv1.StreamMessage{Kind: &connectorv1.StreamMessage_Batch{
		Batch: &connectorv1.EventBatch{Events: eventsToPB(b.Events), Position: b.Position},
	}})
}

func (s streamSender) Keepalive(at time.Time) error {
	return s.stream.Send(&connectorv1.StreamMessage{Kind: &connectorv1.StreamMessage_Keepalive{
		Keepalive: &connectorv1.Keepalive{At: timestamppb.New(at)},
	}})
}

func (s *grpcServer) OpenStream(req *connectorv1.OpenStreamRequest, stream connectorv1.Connector_OpenStreamServer) error {
	ctx := stream.Context()
	err := s.guard("OpenStream "+req.GetTrigger(), func() error {
		return s.impl.OpenStream(ctx, StreamRequest{
			Trigger: req.GetTrigger(), Conn: connFromPB(req.GetConnection()), Config: rawJSON(req.GetConfigJson()),
			Position: req.GetPosition(),
		}, streamSender{stream})
	})
	if err == nil || ctx.Err() != nil {
		// The host ended the stream, or the connector ended it cleanly.
		return nil
	}
	// The failure is the stream's last message, classified.
	if sendErr := stream.Send(&connectorv1.StreamMessage{Kind: &connectorv1.StreamMessage_Error{Error: errorToPB(err)}}); sendErr != nil {
		return fmt.Errorf("send stream error %v: %w", err, sendErr)
	}
	return nil
}

func (s *grpcServer) MigrateCursor(ctx context.Context, req *connectorv1.MigrateCursorRequest) (*connectorv1.MigrateCursorResponse, error) {
	var resp connectorv1.MigrateCursorResponse
	err := s.guard("MigrateCursor "+req.GetTrigger(), func() (err error) {
		resp.Cursor, err = s.impl.MigrateCursor(ctx, MigrateCursorRequest{Trigger: req.GetTrigger(), FromVersion: req.GetFromVersion(), Cursor: req.GetCursor()})
		return err
	})
	resp.Error = errorToPB(err)
	return &resp, nil
}
