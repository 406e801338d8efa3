package deploy

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/sdk/schema"
)

// flakyConnector is oauthConnector whose Schema fails while failures
// remain, as a plugin that is briefly unavailable.
type flakyConnector struct {
	oauthConnector
	mu       sync.Mutex
	failures int
}

func (c *flakyConnector) fail(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures = n
}

func (c *flakyConnector) Schema(ctx context.Context) (*schema.Schema, error) {
	c.mu.Lock()
	if c.failures > 0 {
		c.failures--
		c.mu.Unlock()
		return nil, errors.New("plugin unavailable")
	}
	c.mu.Unlock()
	return c.oauthConnector.Schema(ctx)
}

// twoOAuthWorkspace adds to oauthWorkspace a second oauth2 connection of
// the token server, with its own client_secret secret.
const twoOAuthWorkspace = oauthWorkspace + `
connection "other" {
  connector = "fake"
  auth "oauth2" {
    client_id     = "hub-other"
    client_secret = secret("other_secret")
    grant         = "client_credentials"
  }
}
`

// A client whose registration failed after a client_secret change (its
// connector's schema did not answer) is pending: its status says so, and
// the next reload registers it, though the secret store has not changed
// since.
func TestReloadSecrets_FailedRegistrationIsTriedAgainByTheNextReload(t *testing.T) {
	ctx := context.Background()
	ts := newTokenServer(t)
	conn := &flakyConnector{oauthConnector: oauthConnector{tokenURL: ts.srv.URL + "/token"}}
	h, err := startOAuthHost(t, conn, twoOAuthWorkspace, "client_secret", "cs-one", "other_secret", "os-one")
	if err != nil {
		t.Fatal(err)
	}
	if got := h.sentAfterRefresh(ts, "api"); got != "cs-one" {
		t.Fatalf("sent %q, want cs-one", got)
	}

	if err := h.cli.Set("client_secret", "cs-two"); err != nil {
		t.Fatal(err)
	}
	conn.fail(1)
	if res := h.d.ReloadSecrets(ctx); len(res.OAuth) != 1 {
		t.Fatalf("reload: oauth %v, want api", res.OAuth)
	}
	if c := h.connection("api"); c.State != "failing" || !strings.Contains(c.Reason, "could not be registered") || !strings.Contains(c.LastError, "plugin unavailable") {
		t.Fatalf("status of the pending connection: %+v", c)
	}
	if got := h.sentAfterRefresh(ts, "api"); got != "cs-one" {
		t.Fatalf("while pending the client sent %q, want the old cs-one", got)
	}

	h.d.ReloadSecrets(ctx) // nothing changed in the store
	if got := h.sentAfterRefresh(ts, "api"); got != "cs-two" {
		t.Fatalf("after the next reload the client sent %q, want cs-two", got)
	}
	if c := h.connection("api"); c.State != "ok" || c.Reason != "" {
		t.Fatalf("status once registered: %+v, want ok", c)
	}
}

// One oauth2 connection whose secret is missing does not keep another
// from being registered, at start or after a reload.
func TestReloadSecrets_ABrokenConnectionDoesNotBlockTheOthers(t *testing.T) {
	ctx := context.Background()
	ts := newTokenServer(t)
	conn := oauthConnector{tokenURL: ts.srv.URL + "/token"}
	h, err := startOAuthHost(t, conn, twoOAuthWorkspace, "client_secret", "cs-one")
	if err == nil || !strings.Contains(err.Error(), "other_secret") {
		t.Fatalf("first registration: %v, want other pending for its secret", err)
	}
	if got := h.sentAfterRefresh(ts, "api"); got != "cs-one" {
		t.Fatalf("sent %q, want cs-one", got)
	}
	if c := h.connection("other"); !strings.Contains(c.LastError, "other_secret") {
		t.Fatalf("status of the broken connection: %+v", c)
	}
	if err := h.cli.Set("client_secret", "cs-two"); err != nil {
		t.Fatal(err)
	}
	h.d.ReloadSecrets(ctx)
	if got := h.sentAfterRefresh(ts, "api"); got != "cs-two" {
		t.Fatalf("after the reload api sent %q, want cs-two", got)
	}
}

// While a client is pending, WatchSecrets tries it again on its timer,
// with no change to the secret store.
func TestWatchSecrets_RetriesAPendingClientOnATimer(t *testing.T) {
	ts := newTokenServer(t)
	conn := &flakyConnector{oauthConnector: oauthConnector{tokenURL: ts.srv.URL + "/token"}}
	conn.fail(1)
	h, err := startOAuthHost(t, conn, twoOAuthWorkspace, "client_secret", "cs-one", "other_secret", "os-one")
	if err == nil {
		t.Fatal("the first registration did not fail")
	}
	if _, err := h.m.Token(context.Background(), "api"); err == nil {
		t.Fatal("a connection whose schema could not be read was registered")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.d.WatchSecrets(ctx, make(chan struct{})) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(5 * time.Second)
	for h.d.hasPending() {
		if time.Now().After(deadline) {
			t.Fatal("the pending client was never registered")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if got := h.sentAfterRefresh(ts, "api"); got != "cs-one" {
		t.Fatalf("sent %q, want cs-one", got)
	}
}
