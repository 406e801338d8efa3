package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubhq/hub/host/sandbox/shopify"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/sdktest"
	"github.com/hubhq/hub/sdk/wire"
)

// shop is a simulator served on loopback with a connector harness and a
// connection to it.
type shop struct {
	sim  *shopify.Sim
	srv  *httptest.Server
	h    *sdktest.Harness
	conn wire.Connection
}

func newShop(t *testing.T) *shop {
	t.Helper()
	sim := shopify.New(shopify.Options{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		sim.Wait()
		srv.Close()
	})
	return &shop{sim: sim, srv: srv, h: sdktest.New(t, connector()), conn: connTo(srv.URL, sim.Shop(), sim.AccessToken())}
}

// connTo is a connection to the shop at baseURL with token.
func connTo(baseURL, shopDomain, token string) wire.Connection {
	c := sdktest.Connection(map[string]any{"shop": shopDomain, "base_url": baseURL})
	c.Auth = wire.Auth{Type: schema.AuthAPIKey, APIKey: token,
		APIKeySpec: schema.APIKeySpec{In: schema.InHeader, Name: "X-Shopify-Access-Token"}}
	return c
}

// decode unmarshals raw keeping numbers exact.
func decode(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return m
}

func wantKind(t *testing.T, err error, k fault.Kind) *fault.Error {
	t.Helper()
	e := fault.As(err)
	if e == nil || e.Kind != k {
		t.Fatalf("err = %v, want %s", err, k)
	}
	return e
}

// fixtures returns the shared fixtures directory, skipping the test when a
// clean clone does not have it.
func fixtures(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("fixtures not found: no go.mod above the test")
		}
		dir = parent
	}
	fx := filepath.Join(dir, "..", "shared", "fixtures", "shopify")
	if _, err := os.Stat(fx); err != nil {
		t.Skipf("fixtures not found at %s", fx)
	}
	return fx
}

func readFixture(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, connector())
}

func TestSchema_TriggerModes(t *testing.T) {
	s := sdktest.New(t, connector()).Schema()
	for name, mode := range map[string]schema.Mode{"order_created": schema.ModeWebhook, "order_updated": schema.ModeWebhook,
		"order_fulfilled": schema.ModeWebhook, "inventory_level_updated": schema.ModeWebhook, "orders": schema.ModePoll} {
		tr, ok := s.Trigger(name)
		if !ok || !tr.HasMode(mode) {
			t.Errorf("trigger %s: %+v, want mode %s", name, tr, mode)
		}
	}
}

func TestCheck_ReportsTheShop(t *testing.T) {
	s := newShop(t)
	account, err := s.h.Check(s.conn)
	if err != nil || !strings.Contains(account, s.sim.Shop()) {
		t.Fatalf("Check = %q, %v", account, err)
	}
}

func TestShopDomain_AcceptsBareNamesAndURLs(t *testing.T) {
	for in, want := range map[string]string{"acme": "acme.myshopify.com", "acme.myshopify.com": "acme.myshopify.com",
		"https://Acme.myshopify.com/": "acme.myshopify.com"} {
		if got, err := shopDomain(in); err != nil || got != want {
			t.Errorf("shopDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "acme shop", "acme.myshopify.com/admin"} {
		if _, err := shopDomain(bad); err == nil {
			t.Errorf("shopDomain(%q) accepted", bad)
		}
	}
}

func TestCheck_BadPropertiesAreInvalid(t *testing.T) {
	h := sdktest.New(t, connector())
	_, err := h.Check(sdktest.Connection(map[string]any{"shop": "acme", "api_version": "july"}))
	e := wantKind(t, err, fault.InvalidInput)
	if e.Violations[0].Path != "api_version" {
		t.Fatalf("violations %v", e.Violations)
	}
}

// ---- errors are classified as the host needs them

func TestErrors_WrongTokenIsAuthExpired(t *testing.T) {
	s := newShop(t)
	_, err := s.h.Execute("get_order", connTo(s.srv.URL, s.sim.Shop(), "shpat_wrong"), map[string]any{"id": 450789469})
	e := wantKind(t, err, fault.AuthExpired)
	if !strings.Contains(e.Message, "Invalid API key or access token") {
		t.Fatalf("message %q", e.Message)
	}
}

func TestErrors_ThrottledIsRateLimitedWithRetryAfter(t *testing.T) {
	s := newShop(t)
	s.sim.Fail(shopify.Failure{Status: 429, RetryAfter: "2.0"})
	_, err := s.h.Execute("get_order", s.conn, map[string]any{"id": 450789469})
	e := wantKind(t, err, fault.RateLimited)
	if e.RetryAfter.Seconds() != 2 {
		t.Fatalf("retry after %s, want 2s", e.RetryAfter)
	}
	// The throttle passed: the next call succeeds.
	if _, err := s.h.Execute("get_order", s.conn, map[string]any{"id": 450789469}); err != nil {
		t.Fatal(err)
	}
}

func TestErrors_ServerErrorIsRetryable(t *testing.T) {
	s := newShop(t)
	s.sim.Fail(shopify.Failure{Status: 503})
	_, err := s.h.Poll("orders", s.conn, nil, nil)
	wantKind(t, err, fault.Retryable)
}

func TestErrors_MalformedAnswerIsRetryable(t *testing.T) {
	s := newShop(t)
	s.sim.Fail(shopify.Failure{Malformed: true})
	_, err := s.h.Poll("orders", s.conn, nil, nil)
	wantKind(t, err, fault.Retryable)
}

func TestCall_RefusesLinksToAnotherHost(t *testing.T) {
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Link", `<https://evil.example/admin/api/2025-07/orders.json?page_info=x>; rel="next"`)
		_, _ = w.Write([]byte(`{"orders":[{"id":1,"updated_at":"2025-04-02T11:29:59-05:00"}]}`))
	}))
	defer stub.Close()
	h := sdktest.New(t, connector())
	conn := connTo(stub.URL, "acme.myshopify.com", "t")
	res, err := h.Poll("orders", conn, nil, nil)
	if err != nil || !res.HasMore {
		t.Fatalf("first page: %+v, %v", res, err)
	}
	_, err = h.Poll("orders", conn, nil, res.NextCursor)
	if e := wantKind(t, err, fault.Permanent); !strings.Contains(e.Message, "evil.example") {
		t.Fatalf("message %q", e.Message)
	}
}

// ---- the sandbox's own delivery reaches the connector and verifies

func TestSimulatorDelivery_IsAcceptedByTheHandler(t *testing.T) {
	s := newShop(t)
	type received struct {
		res wire.WebhookResult
		err error
	}
	got := make(chan received, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := s.h.Webhook("order_created", s.conn, map[string]any{"client_secret": s.sim.ClientSecret()}, r, "")
		got <- received{res, err}
		w.WriteHeader(http.StatusOK)
	}))
	defer hook.Close()
	if _, err := s.h.Subscribe("order_created", s.conn, map[string]any{"client_secret": s.sim.ClientSecret()}, hook.URL, "hub-made-secret"); err != nil {
		t.Fatal(err)
	}
	placed, err := s.sim.PlaceOrder(context.Background(), shopify.NewOrder{Email: "ana@example.com", FirstName: "Ana",
		LineItems: []shopify.NewLineItem{{SKU: "IPOD2008RED", Quantity: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	s.sim.Wait()
	r := <-got
	if r.err != nil || len(r.res.Events) != 1 {
		t.Fatalf("webhook: %+v, %v", r.res, r.err)
	}
	ds := s.sim.Deliveries()
	if len(ds) != 1 || ds[0].Status != http.StatusOK || r.res.Events[0].ID != ds[0].WebhookID {
		t.Fatalf("deliveries %+v, event id %q", ds, r.res.Events[0].ID)
	}
	if p := decode(t, r.res.Events[0].Payload); p["name"] != placed.Name || r.res.Events[0].Type != "orders/create" {
		t.Fatalf("event %s payload %s", r.res.Events[0].Type, r.res.Events[0].Payload)
	}
}

func TestSubscription_RoundTrip(t *testing.T) {
	s := newShop(t)
	url := "https://hub.example/hooks/default/flow/shop/order_fulfilled"
	// Without the app's client secret Shopify's deliveries could never
	// be verified: refused before anything is registered.
	if _, err := s.h.Subscribe("order_fulfilled", s.conn, nil, url, "unused"); err == nil || len(s.sim.Webhooks()) != 0 {
		t.Fatalf("subscribed without a client secret: %v", err)
	}
	cfg := map[string]any{"client_secret": "app-secret"}
	sub, err := s.h.Subscribe("order_fulfilled", s.conn, cfg, url, "unused")
	if err != nil || sub.Secret != "app-secret" {
		t.Fatalf("subscribe: %+v, %v", sub, err)
	}
	hooks := s.sim.Webhooks()
	if len(hooks) != 1 || hooks[0].Topic != "orders/fulfilled" || hooks[0].Address != url || hooks[0].Format != "json" {
		t.Fatalf("webhooks %+v", hooks)
	}
	// Subscribing again (a lost answer, a restart) adopts the registration.
	again, err := s.h.Subscribe("order_fulfilled", s.conn, cfg, url, "unused")
	if err != nil || again.ID != sub.ID || len(s.sim.Webhooks()) != 1 {
		t.Fatalf("again: %+v, %v; webhooks %+v", again, err, s.sim.Webhooks())
	}
	if err := s.h.Unsubscribe("order_fulfilled", s.conn, cfg, sub); err != nil {
		t.Fatal(err)
	}
	if n := len(s.sim.Webhooks()); n != 0 {
		t.Fatalf("%d webhooks left", n)
	}
	// Already gone counts as done.
	if err := s.h.Unsubscribe("order_fulfilled", s.conn, cfg, sub); err != nil {
		t.Fatal(err)
	}
}

func TestSubscription_ClientSecretBecomesTheSubscriptionSecret(t *testing.T) {
	s := newShop(t)
	sub, err := s.h.Subscribe("order_created", s.conn, map[string]any{"client_secret": "cs"}, "https://hub.example/h", "generated")
	if err != nil || sub.Secret != "cs" {
		t.Fatalf("sub = %+v, %v", sub, err)
	}
}
