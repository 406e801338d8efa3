package engine

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hubhq/hub/host/server"
	"github.com/hubhq/hub/host/store"
	"github.com/hubhq/hub/sdk/wire"
)

// A third party that checks the URL with a challenge before it confirms
// the subscription (Microsoft Graph, Zoom, Dropbox) must reach the
// connector while the subscription is being made.
func TestWebhookSubscribe_ChallengeDuringTheSubscriptionReachesTheConnector(t *testing.T) {
	fc := &fakeConnector{}
	h := open(t, t.TempDir(), nil, fc, nil)
	var status int
	var body string
	fc.subscribe = func(ctx context.Context, req wire.SubscribeRequest) (wire.Subscription, error) {
		res, err := h.e.Webhook(ctx, server.WebhookRequest{
			Tenant: store.DefaultTenant, Workflow: "orders", Method: http.MethodPost, URL: "/webhooks/orders",
			Header: http.Header{"X-Event-Id": {"challenge-1"}}, Body: []byte(`{"challenge":"abc"}`),
		})
		if err != nil {
			t.Errorf("challenge during the subscription: %v", err)
		} else {
			status, body = res.Status, string(res.Body)
		}
		return wire.Subscription{ID: "sub-1"}, nil
	}
	if err := h.e.Apply(compile(t, oneStep(""), nil)); err != nil {
		t.Fatal(err)
	}
	if status != http.StatusOK {
		t.Fatalf("the challenge sent while subscribing got %d (%s), want it to reach the connector", status, body)
	}
	if s := h.e.subscription("orders"); s == nil || s.ID != "sub-1" || s.Secret == "" {
		t.Fatalf("subscription after apply: %v; want sub-1 with its secret", s != nil && s.ID == "sub-1")
	}
}

// A change cut short by the host stopping must not drop the live
// registration's id: the old subscription stays as it was.
func TestWebhookSubscribe_ChangeCutShortKeepsTheLiveSubscription(t *testing.T) {
	fc := &fakeConnector{}
	h := open(t, t.TempDir(), compile(t, oneStep(""), nil), fc, nil)
	before := h.e.subscription("orders")
	if before == nil || before.ID != "sub-1" {
		t.Fatalf("subscription at start = %+v, want sub-1", before)
	}
	// The third party is reached through the context, as a real
	// connector is.
	fc.subscribe = func(ctx context.Context, _ wire.SubscribeRequest) (wire.Subscription, error) {
		if err := ctx.Err(); err != nil {
			return wire.Subscription{}, err
		}
		return wire.Subscription{ID: "sub-2"}, nil
	}
	// The trigger's config changes, so its fingerprint does: a reload
	// would subscribe again, but the host is stopping.
	changed := strings.Replace(oneStep(""), `mode = "webhook"`, "mode = \"webhook\"\n    config = { status = \"paid\" }", 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.e.applyMu.Lock()
	h.e.apply(ctx, compile(t, changed, nil))
	h.e.applyMu.Unlock()

	after := h.e.subscription("orders")
	if after == nil {
		t.Fatal("no subscription after a cut-short change, want sub-1 kept")
	}
	if after.ID != "sub-1" || !after.Subscribed || after.Secret != before.Secret {
		t.Fatalf("subscription after a cut-short change: id %q, subscribed %t, same secret %t; want sub-1 kept, subscribed, same secret",
			after.ID, after.Subscribed, after.Secret == before.Secret)
	}
	var stored subscription
	raw, ok, err := h.st.Get(store.DefaultTenant, kindSubscription, "orders")
	if err != nil || !ok {
		t.Fatalf("stored subscription: %v, %v", ok, err)
	}
	if err := json.Unmarshal(raw, &stored); err != nil || stored.ID != "sub-1" || !stored.Subscribed {
		t.Fatalf("stored subscription: id %q, subscribed %t (%v); want sub-1 still subscribed", stored.ID, stored.Subscribed, err)
	}
}
