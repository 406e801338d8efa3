package engine

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/host/server"
	"github.com/hubhq/hub/host/store"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/wire"
)

// configHookWorkspace has a webhook trigger whose config holds its
// signing secret, read with secret(), as the http connector's does.
const configHookWorkspace = `
connection "svc" {
  connector = "fake"
}
workflow "orders" {
  trigger "svc" "order_created" {
    mode   = "webhook"
    config = { secret = secret("hook_secret"), path = "/orders" }
  }
  action "create" {
    connection = "svc"
    action     = "create_order"
  }
}
`

// configSigner is the fake connector whose webhooks are signed with the
// secret in the trigger's config, and which counts its subscriptions.
type configSigner struct {
	*fakeConnector
	mu   sync.Mutex
	subs int
}

func (c *configSigner) HandleWebhook(ctx context.Context, req wire.WebhookRequest) (wire.WebhookResult, error) {
	var cfg struct{ Secret string }
	if err := json.Unmarshal(req.Config, &cfg); err != nil || cfg.Secret == "" ||
		!hmac.Equal([]byte(req.HTTP.Header.Get("X-Signature")), []byte(sign(cfg.Secret, req.HTTP.Body))) {
		return wire.WebhookResult{}, fault.Permanentf("bad signature")
	}
	return c.fakeConnector.HandleWebhook(ctx, req)
}

func (c *configSigner) SubscribeWebhook(ctx context.Context, req wire.SubscribeRequest) (wire.Subscription, error) {
	c.mu.Lock()
	c.subs++
	c.mu.Unlock()
	return c.fakeConnector.SubscribeWebhook(ctx, req)
}

func (c *configSigner) subscriptions() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.subs
}

// openConfigHook starts an engine on the store in dir running the
// config-signed orders workflow, secrets from sec, with sealer (none
// when nil).
func openConfigHook(t *testing.T, dir string, sec *fakeSecrets, cs *configSigner, sealer Sealer) *host {
	t.Helper()
	return open(t, dir, compileWith(t, configHookWorkspace, sec.get), cs.fakeConnector, func(o *Options) {
		o.Connector = func(registry.Installed) wire.Connector { return cs }
		if sealer != nil {
			o.Sealer = sealer
		}
	})
}

// A trigger config that reads a secret is kept sealed in the store, as
// the signing secret is, and its fingerprint is keyed: neither the value
// nor a plain hash of it can be read from the Badger directory.
func TestWebhookSubscription_ConfigIsSealedAndItsFingerprintKeyed(t *testing.T) {
	dir := t.TempDir()
	_, k := vault(t, filepath.Join(dir, "vault"))
	sec := newFakeSecrets("hook_secret", "hook-secret-one")
	cs := &configSigner{fakeConnector: &fakeConnector{}}
	h := openConfigHook(t, filepath.Join(dir, "data"), sec, cs, k)
	raw := h.rawSubscription()
	if bytes.Contains(raw, []byte("hook-secret-one")) || !bytes.Contains(raw, []byte(`"sealed_config":"sealed:v1:`)) {
		t.Fatalf("the stored subscription holds the trigger config in the clear:\n%s", raw)
	}
	f := h.e.rt.Load().flows["orders"]
	_, plain := h.e.fingerprint(f, h.e.rt.Load().conns["svc"])
	if bytes.Contains(raw, []byte(plain)) || !bytes.Contains(raw, []byte(`"fingerprint":"keyed:`)) {
		t.Fatalf("the stored fingerprint is not keyed:\n%s", raw)
	}
	// A restart opens the record: same subscription, not made again.
	h.stop(0)
	h2 := openConfigHook(t, filepath.Join(dir, "data"), sec, cs, k)
	if n := cs.subscriptions(); n != 1 {
		t.Fatalf("%d subscriptions after a restart, want 1", n)
	}
	if s := h2.e.subscription("orders"); s == nil || !bytes.Contains(s.Config, []byte("hook-secret-one")) {
		t.Fatalf("the config read back is %+v", s)
	}
}

// A record an earlier hub wrote (config in the clear, a plain
// fingerprint) is sealed and keyed on start without subscribing again.
func TestWebhookSubscription_OldClearRecordIsSealedWithoutSubscribingAgain(t *testing.T) {
	dir := t.TempDir()
	sec := newFakeSecrets("hook_secret", "hook-secret-one")
	cs := &configSigner{fakeConnector: &fakeConnector{}}
	old := openConfigHook(t, filepath.Join(dir, "data"), sec, cs, nil)
	if raw := old.rawSubscription(); !bytes.Contains(raw, []byte("hook-secret-one")) || bytes.Contains(raw, []byte("keyed:")) {
		t.Fatalf("the test needs a clear record with a plain fingerprint, got:\n%s", raw)
	}
	old.stop(0)

	_, k := vault(t, filepath.Join(dir, "vault"))
	h := openConfigHook(t, filepath.Join(dir, "data"), sec, cs, k)
	if n := cs.subscriptions(); n != 1 {
		t.Fatalf("%d subscriptions, want 1: an old fingerprint must not subscribe again", n)
	}
	raw := h.rawSubscription()
	if bytes.Contains(raw, []byte("hook-secret-one")) || !bytes.Contains(raw, []byte(`"fingerprint":"keyed:`)) {
		t.Fatalf("the old record was not sealed and keyed on start:\n%s", raw)
	}
	// And the keyed fingerprint matches from then on.
	h.stop(0)
	openConfigHook(t, filepath.Join(dir, "data"), sec, cs, k)
	if n := cs.subscriptions(); n != 1 {
		t.Fatalf("%d subscriptions after another restart, want 1", n)
	}
}

// After hub secrets set changes the secret a webhook trigger's config
// reads, the reload makes deliveries signed with the new secret verify
// at once; the old one no longer does.
func TestReloadCredentials_WebhookConfigSecretIsUsedAtOnce(t *testing.T) {
	sec := newFakeSecrets("hook_secret", "hook-secret-one")
	cs := &configSigner{fakeConnector: &fakeConnector{}}
	h := openConfigHook(t, t.TempDir(), sec, cs, nil)
	if st := h.post("hook-secret-one", "e1", []byte(`{"id":"e1"}`)); st != http.StatusOK {
		t.Fatalf("a delivery signed with the first secret: status %d", st)
	}
	sec.set("hook_secret", "hook-secret-two")
	res := h.e.ReloadCredentials(context.Background())
	if !reflect.DeepEqual(res.Triggers, []string{"orders"}) {
		t.Fatalf("reload: triggers %v, want orders", res.Triggers)
	}
	if st := h.post("hook-secret-two", "e2", []byte(`{"id":"e2"}`)); st != http.StatusOK {
		t.Fatalf("a delivery signed with the new secret after the reload: status %d", st)
	}
	if st := h.post("hook-secret-one", "e3", []byte(`{"id":"e3"}`)); st == http.StatusOK {
		t.Fatal("a delivery signed with the old secret is still accepted")
	}
}

// A trigger config whose secret is deleted keeps the config it had; the
// error names the secret and is logged once.
func TestReloadCredentials_TriggerConfigThatCannotBeReadKeepsTheOldOne(t *testing.T) {
	sec := newFakeSecrets("hook_secret", "hook-secret-one")
	cs := &configSigner{fakeConnector: &fakeConnector{}}
	var logs logBuffer
	h := open(t, t.TempDir(), compileWith(t, configHookWorkspace, sec.get), cs.fakeConnector, func(o *Options) {
		o.Connector = func(registry.Installed) wire.Connector { return cs }
		withLog(&logs)(o)
	})
	sec.remove("hook_secret")
	res := h.e.ReloadCredentials(context.Background())
	if res.FailedTriggers["orders"] == nil || !strings.Contains(res.FailedTriggers["orders"].Error(), "hook_secret") {
		t.Fatalf("failed triggers %v, want orders naming the secret", res.FailedTriggers)
	}
	h.e.ReloadCredentials(context.Background())
	if n := strings.Count(logs.String(), "cannot evaluate a trigger config"); n != 1 {
		t.Fatalf("logged %d times, want once:\n%s", n, logs.String())
	}
	if st := h.post("hook-secret-one", "e1", []byte(`{"id":"e1"}`)); st != http.StatusOK {
		t.Fatalf("a delivery signed with the secret the trigger had: status %d", st)
	}
}

// A poll trigger whose config reads a changed secret restarts with the
// new config.
func TestReloadCredentials_PollTriggerRestartsWithTheNewConfig(t *testing.T) {
	sec := newFakeSecrets("feed_token", "token-one")
	cp := &configPoller{fakeConnector: &fakeConnector{}}
	rt := compileWith(t, `
connection "svc" {
  connector = "fake"
}
workflow "p" {
  trigger "svc" "feed" {
    mode     = "poll"
    interval = "10ms"
    config   = { token = secret("feed_token") }
  }
  action "a" {
    connection = "svc"
    action     = "a"
  }
}
`, sec.get)
	h := open(t, t.TempDir(), rt, nil, func(o *Options) {
		o.Connector = func(registry.Installed) wire.Connector { return cp }
	})
	waitFor(t, "a poll with the first token", func() bool { return cp.polledWith("token-one") })
	sec.set("feed_token", "token-two")
	if res := h.e.ReloadCredentials(context.Background()); !reflect.DeepEqual(res.Triggers, []string{"p"}) || len(res.Changed) != 0 {
		t.Fatalf("reload: triggers %v, changed %v; want only p's trigger", res.Triggers, res.Changed)
	}
	waitFor(t, "a poll with the new token", func() bool { return cp.polledWith("token-two") })
}

// configPoller records the token in the config of every poll.
type configPoller struct {
	*fakeConnector
	mu     sync.Mutex
	tokens []string
}

func (p *configPoller) PollTrigger(_ context.Context, req wire.PollRequest) (wire.PollResult, error) {
	var cfg struct{ Token string }
	_ = json.Unmarshal(req.Config, &cfg)
	p.mu.Lock()
	p.tokens = append(p.tokens, cfg.Token)
	p.mu.Unlock()
	return wire.PollResult{NextCursor: req.Cursor}, nil
}

func (p *configPoller) polledWith(token string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, tk := range p.tokens {
		if tk == token {
			return true
		}
	}
	return false
}

// A webhook whose sealed signing secret does not open is refused by the
// engine itself, with a generic answer, even when the connector would
// accept an unsigned delivery.
func TestWebhookSecret_UnreadableSecretIsRefusedByTheEngine(t *testing.T) {
	dir := t.TempDir()
	_, k := vault(t, filepath.Join(dir, "vault"))
	fc := &fakeConnector{} // accepts every delivery
	h := open(t, filepath.Join(dir, "data"), compile(t, oneStep(""), nil), fc, func(o *Options) { o.Sealer = k })
	h.stop(0)

	_, other := vault(t, filepath.Join(dir, "other-vault"))
	var logs logBuffer
	h2 := open(t, filepath.Join(dir, "data"), compile(t, oneStep(""), nil), fc, func(o *Options) {
		o.Sealer = other
		withLog(&logs)(o)
	})
	res, err := h2.e.Webhook(context.Background(), server.WebhookRequest{
		Tenant: store.DefaultTenant, Workflow: "orders", Method: http.MethodPost, URL: "/webhooks/orders",
		Header: http.Header{"X-Event-Id": {"e1"}}, Body: []byte(order),
	})
	if res == nil || res.Status != http.StatusServiceUnavailable || err == nil {
		t.Fatalf("delivery without a readable signing secret = %+v, %v; want 503", res, err)
	}
	if bytes.Contains(res.Body, []byte("secret")) {
		t.Fatalf("the sender is told why: %s", res.Body)
	}
	if !strings.Contains(logs.String(), "signing secret cannot be read") {
		t.Fatalf("the refusal is not logged:\n%s", logs.String())
	}
	if h2.jobCount() != 0 {
		t.Fatal("the refused delivery started a run")
	}
}
