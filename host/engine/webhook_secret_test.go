package engine

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/host/secrets"
	"github.com/hubhq/hub/host/server"
	"github.com/hubhq/hub/host/store"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/wire"
)

// signingConnector is the fake connector with a webhook that checks an
// X-Signature header: the hex HMAC-SHA256 of the body under the
// subscription's signing secret, as a real connector would.
type signingConnector struct{ *fakeConnector }

func (c signingConnector) HandleWebhook(ctx context.Context, req wire.WebhookRequest) (wire.WebhookResult, error) {
	if req.Secret == "" || !hmac.Equal([]byte(req.HTTP.Header.Get("X-Signature")), []byte(sign(req.Secret, req.HTTP.Body))) {
		return wire.WebhookResult{}, fault.Permanentf("bad signature")
	}
	return c.fakeConnector.HandleWebhook(ctx, req)
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// vault opens the secret store in dir and returns its Sealer.
func vault(t *testing.T, dir string) (*secrets.Store, *secrets.Sealer) {
	t.Helper()
	vs, err := secrets.Open(dir, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	k, err := vs.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	return vs, k
}

// openSigning starts an engine on the store in dir running the orders
// webhook workflow, with sealer (none when nil).
func openSigning(t *testing.T, dir string, sealer Sealer) *host {
	t.Helper()
	fc := signingConnector{&fakeConnector{}}
	return open(t, dir, compile(t, oneStep(""), nil), fc.fakeConnector, func(o *Options) {
		o.Connector = func(registry.Installed) wire.Connector { return fc }
		if sealer != nil {
			o.Sealer = sealer
		}
	})
}

// webhookSecret is the signing secret hub webhooks shows for orders.
func (h *host) webhookSecret() string {
	h.t.Helper()
	hooks, err := h.e.Webhooks(context.Background(), store.DefaultTenant)
	if err != nil || len(hooks) != 1 {
		h.t.Fatalf("Webhooks = %+v, %v", hooks, err)
	}
	return hooks[0].Secret
}

// rawSubscription is the orders subscription's record as Badger holds it.
func (h *host) rawSubscription() []byte {
	h.t.Helper()
	b, ok, err := h.st.Get(store.DefaultTenant, kindSubscription, "orders")
	if err != nil || !ok {
		h.t.Fatalf("no stored subscription: %v", err)
	}
	return b
}

// post delivers body signed with secret and returns the status.
func (h *host) post(secret, id string, body []byte) int {
	h.t.Helper()
	res, _ := h.e.Webhook(context.Background(), server.WebhookRequest{
		Tenant: store.DefaultTenant, Workflow: "orders", Method: http.MethodPost, URL: "/webhooks/orders",
		Header: http.Header{"X-Event-Id": {id}, "X-Signature": {sign(secret, body)}}, Body: body,
	})
	if res == nil {
		h.t.Fatalf("delivery %s: no response", id)
	}
	return res.Status
}

func TestWebhookSecret_IsSealedInTheStoreAndStillVerifies(t *testing.T) {
	dir := t.TempDir()
	_, k := vault(t, filepath.Join(dir, "vault"))
	h := openSigning(t, filepath.Join(dir, "data"), k)
	secret := h.webhookSecret()
	if len(secret) < 32 {
		t.Fatalf("hub webhooks shows secret %q", secret)
	}
	raw := h.rawSubscription()
	if bytes.Contains(raw, []byte(secret)) || !bytes.Contains(raw, []byte(`"sealed_secret":"sealed:v1:`)) {
		t.Fatalf("the stored subscription holds the secret in the clear:\n%s", raw)
	}
	if st := h.post(secret, "e1", []byte(order)); st != http.StatusOK {
		t.Fatalf("a delivery signed with the secret: status %d", st)
	}
	if st := h.post("forged", "e2", []byte(order)); st != http.StatusBadRequest {
		t.Fatalf("a forged delivery: status %d", st)
	}
	// A restart reads the sealed record back: same secret, no new one.
	h.stop(0)
	h2 := openSigning(t, filepath.Join(dir, "data"), k)
	if got := h2.webhookSecret(); got != secret {
		t.Fatalf("after a restart the secret is %q, was %q", got, secret)
	}
}

func TestWebhookSecret_ClearRecordIsReadAndSealedOnStart(t *testing.T) {
	dir := t.TempDir()
	// A hub without sealing left the secret in the clear.
	old := openSigning(t, filepath.Join(dir, "data"), nil)
	secret := old.webhookSecret()
	if raw := old.rawSubscription(); !bytes.Contains(raw, []byte(`"secret":"`+secret+`"`)) {
		t.Fatalf("the test needs a clear record, got:\n%s", raw)
	}
	old.stop(0)

	_, k := vault(t, filepath.Join(dir, "vault"))
	h := openSigning(t, filepath.Join(dir, "data"), k)
	if got := h.webhookSecret(); got != secret {
		t.Fatalf("the clear record's secret became %q, was %q", got, secret)
	}
	if raw := h.rawSubscription(); bytes.Contains(raw, []byte(secret)) || !bytes.Contains(raw, []byte("sealed_secret")) {
		t.Fatalf("the clear record was not sealed on start:\n%s", raw)
	}
	if st := h.post(secret, "e1", []byte(order)); st != http.StatusOK {
		t.Fatalf("a delivery signed with the old secret: status %d", st)
	}
}

func TestWebhookSecret_StillVerifiesAfterAMasterKeyRotation(t *testing.T) {
	dir := t.TempDir()
	vs, k := vault(t, filepath.Join(dir, "vault"))
	h := openSigning(t, filepath.Join(dir, "data"), k)
	secret := h.webhookSecret()
	raw := h.rawSubscription()
	h.stop(0)

	newKey, err := secrets.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := vs.Rotate(newKey); err != nil {
		t.Fatal(err)
	}
	// A hub serve started after hub secrets rotate-key.
	_, k2 := vault(t, filepath.Join(dir, "vault"))
	h2 := openSigning(t, filepath.Join(dir, "data"), k2)
	if got := h2.webhookSecret(); got != secret {
		t.Fatalf("after rotation the secret is %q, was %q", got, secret)
	}
	if !bytes.Equal(h2.rawSubscription(), raw) {
		t.Fatal("the rotation rewrote the subscription record")
	}
	if st := h2.post(secret, "e1", []byte(order)); st != http.StatusOK {
		t.Fatalf("a delivery signed with the secret after rotation: status %d", st)
	}
}

func TestWebhookSecret_ASealedSecretThatDoesNotOpenIsKeptNotReplaced(t *testing.T) {
	dir := t.TempDir()
	_, k := vault(t, filepath.Join(dir, "vault"))
	h := openSigning(t, filepath.Join(dir, "data"), k)
	secret := h.webhookSecret()
	raw := h.rawSubscription()
	h.stop(0)

	// Another secret store: its data key does not open the record.
	_, other := vault(t, filepath.Join(dir, "other-vault"))
	h2 := openSigning(t, filepath.Join(dir, "data"), other)
	if got := h2.webhookSecret(); got != "" {
		t.Fatalf("hub webhooks shows %q for a secret that does not open", got)
	}
	if !bytes.Equal(h2.rawSubscription(), raw) {
		t.Fatal("a record whose secret does not open was overwritten")
	}
	if st := h2.post(secret, "e1", []byte(order)); st == http.StatusOK {
		t.Fatal("a delivery was accepted without the signing secret")
	}
}
