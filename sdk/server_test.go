package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/sdktest"
	"github.com/hubhq/hub/sdk/wire"
)

type orderIn struct {
	Ref   string `json:"ref"`
	Lines []struct {
		SKU string `json:"sku"`
		Qty int    `json:"qty"`
	} `json:"lines"`
	Channel string `json:"channel"`
}

type orderOut struct {
	ID string `json:"id"`
}

// shop is a small connector whose handlers record what they were given.
func shop(calls *[]string) *sdk.Connector {
	return &sdk.Connector{
		Name: "shop", Version: "2.1.0", Description: "test shop",
		Auth: []schema.AuthScheme{{Type: schema.AuthAPIKey, Description: "key",
			APIKey: &schema.APIKeySpec{In: schema.InHeader, Name: "X-Shop-Key"}}},
		Properties: []schema.Field{
			{Name: "domain", Type: schema.String, Required: true, Description: "shop domain"},
			{Name: "region", Type: schema.String, Default: sdk.JSON("eu"), Description: "data region"},
		},
		Check: func(_ context.Context, c *sdk.Conn) (string, error) {
			var p struct{ Domain, Region string }
			if err := c.Properties(&p); err != nil {
				return "", err
			}
			return p.Domain + " in " + p.Region, nil
		},
		Actions: []sdk.Action{sdk.NewAction(schema.Action{
			Name: "create_order", Kind: schema.KindCreate, Description: "creates an order",
			Input: sdk.Object(
				schema.Field{Name: "ref", Type: schema.String, Required: true, Description: "reference"},
				schema.Field{Name: "channel", Type: schema.String, Default: sdk.JSON("web"), Description: "sales channel"},
				schema.Field{Name: "lines", Type: schema.List, Required: true, Description: "lines", Items: sdk.Object(
					schema.Field{Name: "sku", Type: schema.String, Required: true, Description: "sku"},
					schema.Field{Name: "qty", Type: schema.Integer, Required: true, Description: "quantity"},
				)},
			),
			Output:        sdk.Object(schema.Field{Name: "id", Type: schema.String, Description: "order id"}),
			ExampleInput:  sdk.JSON(map[string]any{"ref": "A", "lines": []any{map[string]any{"sku": "S", "qty": 1}}}),
			ExampleOutput: sdk.JSON(map[string]any{"id": "o-1"}),
		}, func(_ context.Context, c *sdk.Conn, in orderIn, call sdk.ActionCall) (orderOut, error) {
			*calls = append(*calls, in.Ref+"/"+in.Channel+"/"+call.IdempotencyKey)
			return orderOut{ID: "o-" + in.Ref}, nil
		})},
		Triggers: []sdk.Trigger{{
			Spec: schema.Trigger{Name: "orders", Description: "orders", Output: sdk.Object(), Example: sdk.JSON(map[string]any{})},
			Poll: func(context.Context, *sdk.Conn, sdk.PollRequest) (sdk.PollResult, error) {
				return sdk.PollResult{Events: []sdk.Event{{ID: ""}}}, nil
			},
		}},
	}
}

func conn() wire.Connection { return sdktest.Connection(map[string]any{"domain": "acme"}) }

func TestServer_InputIsValidatedBeforeTheHandlerRuns(t *testing.T) {
	var calls []string
	h := sdktest.New(t, shop(&calls))
	_, err := h.Execute("create_order", conn(), map[string]any{"lines": []any{map[string]any{"sku": "S", "qty": 1.5}, map[string]any{"qty": 1}}})
	e := fault.As(err)
	if e.Kind != fault.InvalidInput {
		t.Fatalf("err = %v", err)
	}
	var paths []string
	for _, v := range e.Violations {
		paths = append(paths, v.Path)
	}
	if strings.Join(paths, " ") != "ref lines[0].qty lines[1].sku" {
		t.Fatalf("violation paths = %v", paths)
	}
	if len(calls) != 0 {
		t.Fatalf("handler ran with invalid input: %v", calls)
	}
}

func TestServer_HandlerGetsTypedInputWithDefaultsAndTheIdempotencyKey(t *testing.T) {
	var calls []string
	h := sdktest.New(t, shop(&calls))
	out, err := h.Execute("create_order", conn(), map[string]any{"ref": "A7", "lines": []any{map[string]any{"sku": "S", "qty": 2}}})
	if err != nil || string(out) != `{"id":"o-A7"}` {
		t.Fatalf("out = %s, err = %v", out, err)
	}
	if len(calls) != 1 || calls[0] != "A7/web/sdktest-create_order" {
		t.Fatalf("calls = %v", calls)
	}
}

func TestServer_ConnectionPropertiesAreValidatedWithDefaults(t *testing.T) {
	h := sdktest.New(t, shop(new([]string)))
	account, err := h.Check(conn())
	if err != nil || account != "acme in eu" {
		t.Fatalf("check = %q, %v", account, err)
	}
	_, err = h.Check(sdktest.Connection(map[string]any{"region": "us"}))
	if e := fault.As(err); e.Kind != fault.InvalidInput || e.Violations[0].Path != "properties.domain" {
		t.Fatalf("err = %v", err)
	}
}

func TestServer_EventsWithoutIDAreRefused(t *testing.T) {
	_, err := sdktest.New(t, shop(new([]string))).Poll("orders", conn(), nil, nil)
	if e := fault.As(err); e.Kind != fault.Permanent || !strings.Contains(e.Message, "has no id") {
		t.Fatalf("err = %v", err)
	}
}

func TestServer_UnknownTriggerIsInvalidAndNamesTheKnownOnes(t *testing.T) {
	_, err := sdktest.New(t, shop(new([]string))).Poll("refunds", conn(), nil, nil)
	if e := fault.As(err); e.Kind != fault.InvalidInput || !strings.Contains(e.Violations[0].Message, "orders") {
		t.Fatalf("err = %v", err)
	}
}

func TestServer_APIKeyPlacementComesFromTheDeclarationWhenTheHostSendsOnlyTheKey(t *testing.T) {
	var seen string
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r.Header.Get("X-Shop-Key") }))
	defer srv.Close()
	c := shop(new([]string))
	c.Check = func(ctx context.Context, conn *sdk.Conn) (string, error) {
		return "", conn.HTTP().DoJSON(ctx, "GET", srv.URL, nil, nil)
	}
	wc := conn()
	wc.Auth = sdk.Auth{Type: schema.AuthAPIKey, APIKey: "k-123"}
	if _, err := sdktest.New(t, c).Check(wc); err != nil {
		t.Fatal(err)
	}
	if seen != "k-123" {
		t.Fatalf("X-Shop-Key = %q", seen)
	}
}

func TestServer_RefusesAnInvalidDeclarationListingEveryProblem(t *testing.T) {
	c := shop(new([]string))
	c.Version = "two"
	c.Actions = append(c.Actions, sdk.Action{Spec: schema.Action{Name: "bare", Kind: schema.KindRead, Input: sdk.Object(), Output: sdk.Object()}})
	c.Triggers[0].Spec.Modes = []schema.Mode{schema.ModePoll, schema.ModeWebhook}
	c.Auth = append(c.Auth, schema.AuthScheme{Type: schema.AuthSession})
	_, err := sdk.Server(c)
	var de *sdk.DeclarationError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v", err)
	}
	msg := de.Error()
	for _, want := range []string{"version:", "actions.bare: has no handler", `declares mode "webhook" but has no webhook handler`, "auth.session: a session scheme needs Connector.Login"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

func TestServer_LoginChecksRequiredCredentials(t *testing.T) {
	c := shop(new([]string))
	c.Auth = []schema.AuthScheme{{Type: schema.AuthSession, Description: "login", Fields: []schema.Field{
		{Name: "email", Type: schema.String, Required: true, Description: "email"},
		{Name: "password", Type: schema.String, Required: true, Secret: true, Description: "password"},
	}}}
	c.Login = func(_ context.Context, _ *sdk.Conn, creds map[string]string) (sdk.AuthResult, error) {
		return sdk.AuthResult{Auth: sdk.Auth{Type: schema.AuthSession, Headers: map[string]string{"Authorization": "Bearer " + creds["email"]},
			Expiry: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}}, nil
	}
	h := sdktest.New(t, c)
	_, err := h.Login(conn(), map[string]string{"email": "a@b.c"})
	if e := fault.As(err); e.Kind != fault.InvalidInput || e.Violations[0].Path != "credentials.password" {
		t.Fatalf("err = %v", err)
	}
	res, err := h.Login(conn(), map[string]string{"email": "a@b.c", "password": "p"})
	if err != nil || res.Auth.Headers["Authorization"] != "Bearer a@b.c" || res.Auth.Expiry.Year() != 2030 {
		t.Fatalf("login = %+v, %v", res, err)
	}
}

func TestServer_StreamFailureReachesTheHostClassified(t *testing.T) {
	c := shop(new([]string))
	c.Triggers = append(c.Triggers, sdk.Trigger{
		Spec: schema.Trigger{Name: "feed", Description: "feed", Output: sdk.Object(), Example: sdk.JSON(map[string]any{})},
		Stream: func(_ context.Context, _ *sdk.Conn, req sdk.StreamRequest, emit *sdk.Emitter) error {
			if err := emit.Batch([]sdk.Event{{ID: "e1", Payload: json.RawMessage(`{}`)}}, []byte("p1")); err != nil {
				return err
			}
			return sdk.CursorExpired("position %s is gone", req.Position)
		},
	})
	batches, err := sdktest.New(t, c).Stream(t.Context(), "feed", conn(), nil, []byte("p0"), 5)
	if len(batches) != 1 || string(batches[0].Position) != "p1" {
		t.Fatalf("batches = %+v", batches)
	}
	if e := fault.As(err); e.Kind != fault.CursorExpired || !strings.Contains(e.Message, "p0") {
		t.Fatalf("err = %v", err)
	}
}

func TestServer_PanickingHandlerIsAPermanentError(t *testing.T) {
	c := shop(new([]string))
	c.Actions = []sdk.Action{sdk.NewAction(c.Actions[0].Spec, func(context.Context, *sdk.Conn, orderIn, sdk.ActionCall) (orderOut, error) {
		panic("boom")
	})}
	_, err := sdktest.New(t, c).Execute("create_order", conn(), map[string]any{"ref": "A", "lines": []any{}})
	if e := fault.As(err); e.Kind != fault.Permanent || !strings.Contains(e.Message, "boom") {
		t.Fatalf("err = %v", err)
	}
}

// Properties are prepared once per distinct value and cached; the error of
// every call must still name the same path, also under concurrent calls.
func TestServer_InvalidPropertiesGiveTheSamePathsOnEveryCall(t *testing.T) {
	srv, err := sdk.Server(shop(new([]string)))
	if err != nil {
		t.Fatal(err)
	}
	bad := sdktest.Connection(map[string]any{"region": "us"})
	errs := make(chan error, 40)
	for range 40 {
		go func() {
			_, err := srv.CheckConnection(context.Background(), bad)
			errs <- err
		}()
	}
	for range 40 {
		e := fault.As(<-errs)
		if e.Kind != fault.InvalidInput || len(e.Violations) != 1 || e.Violations[0].Path != "properties.domain" {
			t.Fatalf("err = %v", e)
		}
	}
}
