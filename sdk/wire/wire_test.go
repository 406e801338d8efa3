package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
)

// recorder is a Connector that records what it received and answers with
// canned values, so a test can check both directions of every call.
type recorder struct {
	got    any
	schema *schema.Schema
	err    error
	panic  bool
}

func (r *recorder) Schema(context.Context) (*schema.Schema, error) { return r.schema, r.err }

func (r *recorder) CheckConnection(_ context.Context, c Connection) (string, error) {
	r.got = c
	return "acct " + c.Name, r.err
}

func (r *recorder) ExecuteAction(_ context.Context, req ActionRequest) (json.RawMessage, error) {
	if r.panic {
		panic("handler bug")
	}
	r.got = req
	if r.err != nil {
		return nil, r.err
	}
	return json.RawMessage(`{"ok":true}`), nil
}

func (r *recorder) PollTrigger(_ context.Context, req PollRequest) (PollResult, error) {
	r.got = req
	return PollResult{Events: []Event{{ID: "e1", Type: "t", Payload: json.RawMessage(`{"n":1}`), OccurredAt: time.Unix(1700000000, 0).UTC()}},
		NextCursor: []byte("c2"), HasMore: true}, r.err
}

func (r *recorder) SubscribeWebhook(_ context.Context, req SubscribeRequest) (Subscription, error) {
	r.got = req
	return Subscription{ID: "sub-1", State: json.RawMessage(`{"hook":9}`), Secret: "theirs"}, r.err
}

func (r *recorder) UnsubscribeWebhook(_ context.Context, req UnsubscribeRequest) error {
	r.got = req
	return r.err
}

func (r *recorder) HandleWebhook(_ context.Context, req WebhookRequest) (WebhookResult, error) {
	r.got = req
	return WebhookResult{Events: []Event{{ID: "w1", Payload: json.RawMessage(`{}`)}},
		Response: &HTTPResponse{Status: 401, Header: http.Header{"X-Why": {"sig"}}, Body: []byte("no")}}, r.err
}

func (r *recorder) AuthStep(_ context.Context, req AuthStepRequest) (AuthStepResult, error) {
	r.got = req
	return AuthStepResult{Auth: Auth{Type: schema.AuthSession, Headers: map[string]string{"Authorization": "Bearer s"},
		Expiry: time.Unix(1800000000, 0).UTC()}, RefreshToken: "r2"}, r.err
}

func (r *recorder) OpenStream(ctx context.Context, req StreamRequest, sink StreamSink) error {
	r.got = req
	for i := 1; i <= 3; i++ {
		if err := sink.Batch(StreamBatch{Events: []Event{{ID: fmt.Sprint("s", i)}}, Position: []byte(fmt.Sprint(i))}); err != nil {
			return err
		}
	}
	if err := sink.Keepalive(time.Unix(1700000001, 0)); err != nil {
		return err
	}
	if r.err != nil {
		return r.err
	}
	<-ctx.Done()
	return nil
}

func (r *recorder) MigrateCursor(_ context.Context, req MigrateCursorRequest) ([]byte, error) {
	r.got = req
	return append([]byte("v2:"), req.Cursor...), r.err
}

// connect serves impl over an in-memory gRPC connection through the real
// go-plugin plugin set and returns the host's side.
func connect(t *testing.T, impl Connector) Connector {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{PluginName: &GRPCPlugin{Impl: impl}})
	t.Cleanup(func() { _ = client.Close() })
	c, err := Dispense(client)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func richSchema() *schema.Schema {
	return &schema.Schema{
		Name: "shop", Version: "1.2.3", DisplayName: "Shop", Description: "A shop", Homepage: "https://example.com",
		Categories: []string{"commerce"},
		Auth: []schema.AuthScheme{
			{Type: schema.AuthAPIKey, APIKey: &schema.APIKeySpec{In: schema.InHeader, Name: "X-Key", Prefix: "Token "}},
			{Type: schema.AuthOAuth2, OAuth2: &schema.OAuth2Spec{TokenURL: "https://t", Grants: []string{"client_credentials"}, PKCERequired: true}},
			{Type: schema.AuthSession, Fields: []schema.Field{{Name: "email", Type: schema.String, Required: true}}},
		},
		Properties: []schema.Field{{Name: "domain", Type: schema.String, Required: true, Format: "uri"}},
		Triggers: []schema.Trigger{{
			Name: "order_created", Modes: []schema.Mode{schema.ModeWebhook, schema.ModePoll, schema.ModeStream},
			Config:              []schema.Field{{Name: "status", Type: schema.String, Enum: []json.RawMessage{json.RawMessage(`"paid"`)}}},
			Output:              &schema.Field{Type: schema.Object, AdditionalProperties: true},
			DefaultPollInterval: time.Minute, ReconcileWith: "order_created",
			Deprecation: &schema.Deprecation{Message: "use orders", ReplacedBy: "orders"}, Example: json.RawMessage(`{"id":1}`),
		}},
		Actions: []schema.Action{{
			Name: "create_order", Kind: schema.KindCreate, Idempotent: true,
			Input: &schema.Field{Type: schema.Object, Properties: []schema.Field{
				{Name: "lines", Type: schema.List, Required: true, Items: &schema.Field{Type: schema.Object, Properties: []schema.Field{
					{Name: "sku", Type: schema.String, Secret: true, Default: json.RawMessage(`"x"`)},
				}}},
			}},
			Output:       &schema.Field{Type: schema.Object},
			ExampleInput: json.RawMessage(`{"lines":[]}`), ExampleOutput: json.RawMessage(`{}`),
		}},
		Deprecation: &schema.Deprecation{Message: "v1 ends in 2027"},
	}
}

func TestWire_SchemaRoundTripsEveryField(t *testing.T) {
	want := richSchema()
	c := connect(t, &recorder{schema: want})
	got, err := c.Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.MarshalIndent(got, "", " ")
		wj, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("schema changed crossing the wire:\n got %s\nwant %s", gj, wj)
	}
}

func TestWire_ActionCarriesConnectionKeyAndAttempt(t *testing.T) {
	r := &recorder{}
	c := connect(t, r)
	req := ActionRequest{
		Action: "create_order", Input: json.RawMessage(`{"a":1}`), IdempotencyKey: "run1/step2", Attempt: 3,
		Conn: Connection{Name: "shop", Properties: json.RawMessage(`{"domain":"d"}`), Env: map[string]string{"REGION": "eu"},
			Environment: "sandbox", Tenant: "default",
			Auth: Auth{Type: schema.AuthAPIKey, APIKey: "k", APIKeySpec: schema.APIKeySpec{In: schema.InQuery, Name: "key"}}},
	}
	out, err := c.ExecuteAction(context.Background(), req)
	if err != nil || string(out) != `{"ok":true}` {
		t.Fatalf("got %s, %v", out, err)
	}
	if !reflect.DeepEqual(r.got, req) {
		t.Fatalf("connector received %#v\nwant %#v", r.got, req)
	}
}

func TestWire_EveryAuthSchemeRoundTrips(t *testing.T) {
	exp := time.Unix(1900000000, 0).UTC()
	for _, a := range []Auth{
		{Type: schema.AuthBasic, Username: "u", Password: "p"},
		{Type: schema.AuthDigest, Username: "u", Password: "p"},
		{Type: schema.AuthAPIKey, APIKey: "k", APIKeySpec: schema.APIKeySpec{In: schema.InHeader, Name: "X-K", Prefix: "Bearer "}},
		{Type: schema.AuthBearer, Token: "t"},
		{Type: schema.AuthSession, Headers: map[string]string{"A": "b"}, Cookies: map[string]string{"sid": "1"}, Query: map[string]string{"q": "2"}, Expiry: exp},
		{Type: schema.AuthOAuth2, Token: "at", TokenType: "Bearer", Scopes: []string{"read"}, Expiry: exp},
		{},
	} {
		r := &recorder{}
		c := connect(t, r)
		if _, err := c.CheckConnection(context.Background(), Connection{Name: "x", Auth: a}); err != nil {
			t.Fatal(err)
		}
		if got := r.got.(Connection).Auth; !reflect.DeepEqual(got, a) {
			t.Errorf("auth %s changed crossing the wire: %+v", a.Type, got)
		}
	}
}

func TestWire_ClassifiedErrorsKeepKindRetryAfterAndViolations(t *testing.T) {
	for _, want := range []*fault.Error{
		fault.RateLimitedf(7*time.Second, "slow down"),
		fault.Retryablef("try later"),
		fault.AuthExpiredf("token expired"),
		fault.CursorExpiredf("position 9 is gone"),
		fault.Invalid("bad", fault.Violation{Path: "lines[0].sku", Message: "required"}),
		{Kind: fault.Permanent, Message: "gone", HTTPStatus: 410},
	} {
		c := connect(t, &recorder{err: want})
		_, err := c.ExecuteAction(context.Background(), ActionRequest{Action: "a"})
		got := fault.As(err)
		if got.Kind != want.Kind || got.Message != want.Message || got.RetryAfter != want.RetryAfter ||
			got.HTTPStatus != want.HTTPStatus || !reflect.DeepEqual(got.Violations, want.Violations) {
			t.Errorf("error changed crossing the wire: got %+v, want %+v", got, want)
		}
	}
}

func TestWire_UnclassifiedErrorArrivesPermanent(t *testing.T) {
	c := connect(t, &recorder{err: errors.New("plain")})
	_, err := c.ExecuteAction(context.Background(), ActionRequest{Action: "a"})
	if fault.KindOf(err) != fault.Permanent || !strings.Contains(err.Error(), "plain") {
		t.Fatalf("got %v", err)
	}
}

func TestWire_HandlerPanicBecomesPermanentErrorAndPluginSurvives(t *testing.T) {
	r := &recorder{panic: true}
	c := connect(t, r)
	_, err := c.ExecuteAction(context.Background(), ActionRequest{Action: "a"})
	if fault.KindOf(err) != fault.Permanent || !strings.Contains(err.Error(), "panicked in ExecuteAction a: handler bug") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("got %q, want one line naming the call and the panic", err)
	}
	r.panic = false
	if _, err := c.ExecuteAction(context.Background(), ActionRequest{Action: "a"}); err != nil {
		t.Fatalf("server did not survive the panic: %v", err)
	}
}

func TestWire_PollWebhookSubscribeAuthMigrate(t *testing.T) {
	ctx := context.Background()
	r := &recorder{}
	c := connect(t, r)

	res, err := c.PollTrigger(ctx, PollRequest{Trigger: "t", Cursor: []byte("c1"), Limit: 50, Config: json.RawMessage(`{"x":1}`)})
	if err != nil || len(res.Events) != 1 || string(res.NextCursor) != "c2" || !res.HasMore ||
		!res.Events[0].OccurredAt.Equal(time.Unix(1700000000, 0)) || string(res.Events[0].Payload) != `{"n":1}` {
		t.Fatalf("poll: %+v, %v", res, err)
	}
	if got := r.got.(PollRequest); string(got.Cursor) != "c1" || got.Limit != 50 || string(got.Config) != `{"x":1}` {
		t.Fatalf("poll request: %+v", got)
	}

	sub, err := c.SubscribeWebhook(ctx, SubscribeRequest{Trigger: "t", URL: "https://hub/h", Secret: "ours"})
	if err != nil || sub.ID != "sub-1" || string(sub.State) != `{"hook":9}` || sub.Secret != "theirs" {
		t.Fatalf("subscribe: %+v, %v", sub, err)
	}
	if err := c.UnsubscribeWebhook(ctx, UnsubscribeRequest{Trigger: "t", Subscription: sub}); err != nil {
		t.Fatal(err)
	}
	if got := r.got.(UnsubscribeRequest); got.Subscription.ID != "sub-1" || string(got.Subscription.State) != `{"hook":9}` {
		t.Fatalf("unsubscribe request: %+v", got)
	}

	r.err = fault.Invalid("signature mismatch")
	wh, err := c.HandleWebhook(ctx, WebhookRequest{Trigger: "t", Secret: "s",
		HTTP: HTTPRequest{Method: "POST", URL: "/hooks/x?a=1", Header: http.Header{"X-Sig": {"a", "b"}}, Body: []byte(`{}`)}})
	if fault.KindOf(err) != fault.InvalidInput || wh.Response == nil || wh.Response.Status != 401 || wh.Response.Header.Get("X-Why") != "sig" {
		t.Fatalf("webhook: %+v, %v", wh, err)
	}
	if got := r.got.(WebhookRequest); !reflect.DeepEqual(got.HTTP.Header["X-Sig"], []string{"a", "b"}) || got.HTTP.URL != "/hooks/x?a=1" {
		t.Fatalf("webhook request: %+v", got)
	}
	r.err = nil

	as, err := c.AuthStep(ctx, AuthStepRequest{Step: StepLogin, Credentials: map[string]string{"email": "e"}})
	if err != nil || as.RefreshToken != "r2" || as.Auth.Headers["Authorization"] != "Bearer s" || as.Auth.Type != schema.AuthSession {
		t.Fatalf("auth step: %+v, %v", as, err)
	}

	cur, err := c.MigrateCursor(ctx, MigrateCursorRequest{Trigger: "t", FromVersion: "1.0.0", Cursor: []byte("7")})
	if err != nil || string(cur) != "v2:7" {
		t.Fatalf("migrate: %q, %v", cur, err)
	}
}

type collect struct {
	batches    []StreamBatch
	keepalives int
	stopAfter  int
}

func (c *collect) Batch(b StreamBatch) error {
	c.batches = append(c.batches, b)
	if c.stopAfter > 0 && len(c.batches) == c.stopAfter {
		return errors.New("enough")
	}
	return nil
}

func (c *collect) Keepalive(time.Time) error { c.keepalives++; return nil }

func TestWire_StreamDeliversBatchesThenClassifiedFailure(t *testing.T) {
	c := connect(t, &recorder{err: fault.CursorExpiredf("position 0 expired")})
	sink := &collect{}
	err := c.OpenStream(context.Background(), StreamRequest{Trigger: "t", Position: []byte("0")}, sink)
	if !fault.Is(err, fault.CursorExpired) {
		t.Fatalf("want cursor_expired, got %v", err)
	}
	if len(sink.batches) != 3 || string(sink.batches[2].Position) != "3" || sink.batches[2].Events[0].ID != "s3" || sink.keepalives != 1 {
		t.Fatalf("stream delivered %+v, %d keepalives", sink.batches, sink.keepalives)
	}
}

func TestWire_StreamStopsWhenSinkRefuses(t *testing.T) {
	c := connect(t, &recorder{})
	sink := &collect{stopAfter: 2}
	err := c.OpenStream(context.Background(), StreamRequest{Trigger: "t"}, sink)
	if err == nil || err.Error() != "enough" || len(sink.batches) != 2 {
		t.Fatalf("got %v after %d batches", err, len(sink.batches))
	}
}

func TestWire_StreamEndsCleanlyWhenHostCancels(t *testing.T) {
	c := connect(t, &recorder{})
	ctx, cancel := context.WithCancel(context.Background())
	sink := &collect{}
	done := make(chan error, 1)
	go func() { done <- c.OpenStream(ctx, StreamRequest{Trigger: "t"}, sink) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || fault.KindOf(err) != fault.Retryable {
			t.Fatalf("got %v, want the caller's cancellation, retryable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream did not end after cancel")
	}
}

func TestAuth_PrintingNeverShowsSecrets(t *testing.T) {
	a := Auth{Type: schema.AuthBasic, Username: "u", Password: "hunter2", Token: "tok-secret"}
	conn := Connection{Name: "c", Auth: a}
	js, err := json.Marshal(conn)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	hclog.New(&hclog.LoggerOptions{Output: &logged, JSONFormat: true}).Info("call", "auth", a, "conn", conn)
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%v", conn), fmt.Sprintf("%+v", conn), fmt.Sprintf("%#v", a), string(js), logged.String()} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "tok-secret") {
			t.Fatalf("secret printed: %s", s)
		}
	}
}

func TestTuneGC_LeavesOperatorSettingsAlone(t *testing.T) {
	env := map[string]string{"GOGC": "50"}
	if tuneGC(func(k string) string { return env[k] }) {
		t.Fatal("GOGC set by the operator was overridden")
	}
	env = map[string]string{"GOMEMLIMIT": "1GiB"}
	if tuneGC(func(k string) string { return env[k] }) {
		t.Fatal("GOMEMLIMIT set by the operator was overridden")
	}
}

type slow struct{ recorder }

func (slow) ExecuteAction(ctx context.Context, _ ActionRequest) (json.RawMessage, error) {
	<-ctx.Done()
	time.Sleep(50 * time.Millisecond)
	return nil, nil
}

func TestWire_CallPastItsDeadlineIsRetryable(t *testing.T) {
	c := connect(t, &slow{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.ExecuteAction(ctx, ActionRequest{Action: "slow"})
	if fault.KindOf(err) != fault.Retryable || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v (%s), want retryable wrapping the deadline", err, fault.KindOf(err))
	}
}
