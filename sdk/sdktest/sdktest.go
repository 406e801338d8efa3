// Package sdktest runs a connector in-process for `go test`: the
// declaration is served through the same gRPC adapters the host uses, over
// an in-memory connection, so a test sees exactly what the host would —
// validation errors, classified failures, events and cursors — without
// building a binary. Conformance checks what every connector must satisfy
// before it is published.
//
// The package is for tests only and must not import the host.
package sdktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	connectorv1 "github.com/hubhq/hub/proto/connector/v1"
	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// Harness is a connector served in-process. Its methods fail the test on a
// transport problem and return the connector's own errors as the host would
// receive them (classified, see package fault).
type Harness struct {
	t      testing.TB
	remote wire.Connector
	schema *schema.Schema
	// Timeout bounds each call; a hung handler fails the test instead of
	// hanging it.
	Timeout time.Duration
}

// New serves c in-process and returns a harness connected to it. An invalid
// declaration fails the test with every problem listed. Options are passed
// to sdk.Server (e.g. sdk.WithHTTPClient pointing at an httptest server).
func New(t testing.TB, c *sdk.Connector, opts ...sdk.Option) *Harness {
	t.Helper()
	impl, err := sdk.Server(c, opts...)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	return Serve(t, impl)
}

// Serve connects a harness to any wire.Connector, served through the gRPC
// adapters over an in-memory listener that is closed when the test ends.
func Serve(t testing.TB, impl wire.Connector) *Harness {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(wire.MaxMessageBytes), grpc.MaxSendMsgSize(wire.MaxMessageBytes))
	connectorv1.RegisterConnectorServer(srv, wire.NewGRPCServer(impl, nil))
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	opts := append(wire.GRPCDialOptions(),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	cc, err := grpc.NewClient("passthrough:///sdktest", opts...)
	if err != nil {
		t.Fatalf("sdktest: dial in-memory connector: %v", err)
	}
	t.Cleanup(func() {
		cc.Close()
		srv.Stop()
		<-served
	})
	h := &Harness{t: t, remote: wire.NewGRPCClient(connectorv1.NewConnectorClient(cc)), Timeout: 30 * time.Second}
	ctx, cancel := h.ctx()
	defer cancel()
	h.schema, err = h.remote.Schema(ctx)
	if err != nil {
		t.Fatalf("sdktest: get schema: %v", err)
	}
	return h
}

func (h *Harness) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), h.Timeout)
}

// Remote is the host's view of the connector, for calls the harness does not
// wrap.
func (h *Harness) Remote() wire.Connector { return h.remote }

// Schema is the schema as the host receives it.
func (h *Harness) Schema() *schema.Schema { return h.schema }

// Connection returns a connection named "test" with the given properties
// (any JSON-encodable value; nil for none) and no auth.
func Connection(properties any) wire.Connection {
	return wire.Connection{Name: "test", Properties: encode(properties), Environment: "sandbox", Tenant: "default"}
}

// encode turns a test's value into JSON: json.RawMessage, []byte and nil
// are taken as they are, anything else is marshalled.
func encode(v any) json.RawMessage {
	switch x := v.(type) {
	case nil:
		return nil
	case json.RawMessage:
		return x
	case []byte:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sdktest: encode %T: %v", v, err))
	}
	return b
}

// Check checks a connection, returning the account it reaches.
func (h *Harness) Check(conn wire.Connection) (string, error) {
	ctx, cancel := h.ctx()
	defer cancel()
	return h.remote.CheckConnection(ctx, conn)
}

// Execute runs the first attempt of an action with input (any
// JSON-encodable value) and the idempotency key "sdktest-" + action.
func (h *Harness) Execute(action string, conn wire.Connection, input any) (json.RawMessage, error) {
	return h.ExecuteCall(wire.ActionRequest{Action: action, Conn: conn, Input: encode(input),
		IdempotencyKey: "sdktest-" + action, Attempt: 1})
}

// ExecuteCall runs an action as req says (e.g. a later attempt). A
// successful output that does not match the action's declared output
// fails the test.
func (h *Harness) ExecuteCall(req wire.ActionRequest) (json.RawMessage, error) {
	h.t.Helper()
	ctx, cancel := h.ctx()
	defer cancel()
	out, err := h.remote.ExecuteAction(ctx, req)
	if err == nil {
		if a, ok := h.schema.Action(req.Action); ok && a.Output != nil {
			for _, v := range schema.ValidateJSON(a.Output, out) {
				h.t.Errorf("action %s output %s: %s (output %s)", req.Action, v.Path, v.Message, out)
			}
		}
	}
	return out, err
}

// checkEvents fails the test for events the host would not accept.
func (h *Harness) checkEvents(trigger string, events []wire.Event) {
	h.t.Helper()
	tr, ok := h.schema.Trigger(trigger)
	for _, e := range events {
		if e.ID == "" {
			h.t.Errorf("trigger %s: event without id", trigger)
		}
		if ok && tr.Output != nil {
			for _, v := range schema.ValidateJSON(tr.Output, e.Payload) {
				h.t.Errorf("trigger %s event %s payload %s: %s", trigger, e.ID, v.Path, v.Message)
			}
		}
	}
}

// Poll polls a trigger once from cursor (nil for the first poll) with
// config (any JSON-encodable value) and no limit.
func (h *Harness) Poll(trigger string, conn wire.Connection, config any, cursor []byte) (sdk.PollResult, error) {
	return h.PollLimit(trigger, conn, config, cursor, 0)
}

// PollLimit is Poll with the host's limit hint.
func (h *Harness) PollLimit(trigger string, conn wire.Connection, config any, cursor []byte, limit int) (sdk.PollResult, error) {
	h.t.Helper()
	ctx, cancel := h.ctx()
	defer cancel()
	res, err := h.remote.PollTrigger(ctx, wire.PollRequest{Trigger: trigger, Conn: conn, Config: encode(config), Cursor: cursor, Limit: limit})
	if err == nil {
		h.checkEvents(trigger, res.Events)
	}
	return res, err
}

// PollAll polls from cursor until the connector says no more are ready,
// returning every event and the final cursor. It stops after maxPages to
// catch a connector that always reports more.
func (h *Harness) PollAll(trigger string, conn wire.Connection, config any, cursor []byte, maxPages int) ([]wire.Event, []byte, error) {
	h.t.Helper()
	var all []wire.Event
	for range maxPages {
		res, err := h.Poll(trigger, conn, config, cursor)
		if err != nil {
			return all, cursor, err
		}
		all = append(all, res.Events...)
		cursor = res.NextCursor
		if !res.HasMore {
			return all, cursor, nil
		}
	}
	h.t.Errorf("trigger %s still had more events after %d pages", trigger, maxPages)
	return all, cursor, nil
}

// Subscribe registers a webhook subscription for url.
func (h *Harness) Subscribe(trigger string, conn wire.Connection, config any, url, secret string) (sdk.Subscription, error) {
	ctx, cancel := h.ctx()
	defer cancel()
	return h.remote.SubscribeWebhook(ctx, wire.SubscribeRequest{Trigger: trigger, Conn: conn, Config: encode(config), URL: url, Secret: secret})
}

// Unsubscribe removes a subscription made by Subscribe.
func (h *Harness) Unsubscribe(trigger string, conn wire.Connection, config any, sub sdk.Subscription) error {
	ctx, cancel := h.ctx()
	defer cancel()
	return h.remote.UnsubscribeWebhook(ctx, wire.UnsubscribeRequest{Trigger: trigger, Conn: conn, Config: encode(config), Subscription: sub})
}

// Webhook delivers req (e.g. from httptest.NewRequest) to a trigger with the
// subscription's signing secret and returns what the connector made of it.
func (h *Harness) Webhook(trigger string, conn wire.Connection, config any, req *http.Request, secret string) (sdk.WebhookResult, error) {
	h.t.Helper()
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		if err != nil {
			h.t.Fatalf("sdktest: read webhook body: %v", err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	ctx, cancel := h.ctx()
	defer cancel()
	res, err := h.remote.HandleWebhook(ctx, wire.WebhookRequest{Trigger: trigger, Conn: conn, Config: encode(config),
		HTTP:   wire.HTTPRequest{Method: req.Method, URL: req.URL.RequestURI(), Header: req.Header.Clone(), Body: body, RemoteAddr: req.RemoteAddr},
		Secret: secret})
	if err == nil {
		h.checkEvents(trigger, res.Events)
	}
	return res, err
}

// Stream opens a trigger's stream after position and collects batches until
// it has n, then closes the stream as the host would. It returns early with
// the stream's error if the stream fails, or with ctx's error if ctx ends
// first.
func (h *Harness) Stream(ctx context.Context, trigger string, conn wire.Connection, config any, position []byte, n int) ([]wire.StreamBatch, error) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sink := &collector{want: n, done: cancel}
	err := h.remote.OpenStream(ctx, wire.StreamRequest{Trigger: trigger, Conn: conn, Config: encode(config), Position: position}, sink)
	batches := sink.taken()
	for _, b := range batches {
		h.checkEvents(trigger, b.Events)
	}
	if len(batches) >= n {
		// The harness closed the stream itself; the cancellation that
		// comes back is not the connector's failure.
		return batches[:n], nil
	}
	return batches, err
}

type collector struct {
	mu      sync.Mutex
	batches []wire.StreamBatch
	want    int
	done    context.CancelFunc
}

func (c *collector) Batch(b wire.StreamBatch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches = append(c.batches, b)
	if len(c.batches) >= c.want {
		c.done()
	}
	return nil
}

func (c *collector) Keepalive(time.Time) error { return nil }

func (c *collector) taken() []wire.StreamBatch {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]wire.StreamBatch(nil), c.batches...)
}

// Login runs the connector's login step with credentials.
func (h *Harness) Login(conn wire.Connection, credentials map[string]string) (sdk.AuthResult, error) {
	ctx, cancel := h.ctx()
	defer cancel()
	return h.remote.AuthStep(ctx, wire.AuthStepRequest{Step: wire.StepLogin, Conn: conn, Credentials: credentials})
}

// MigrateCursor converts a cursor stored by fromVersion.
func (h *Harness) MigrateCursor(trigger, fromVersion string, cursor []byte) ([]byte, error) {
	ctx, cancel := h.ctx()
	defer cancel()
	return h.remote.MigrateCursor(ctx, wire.MigrateCursorRequest{Trigger: trigger, FromVersion: fromVersion, Cursor: cursor})
}
