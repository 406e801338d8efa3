package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-version"

	"github.com/hubhq/hub/host/config"
	"github.com/hubhq/hub/host/engine"
	"github.com/hubhq/hub/host/ingest"
	"github.com/hubhq/hub/host/lockfile"
	"github.com/hubhq/hub/host/oauth"
	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/secrets"
	"github.com/hubhq/hub/host/store"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
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

// twoOAuthWorkspace has two oauth2 connections of the token server, each
// with its own client_secret secret.
const twoOAuthWorkspace = `
connection "api" {
  connector = "fake"
  auth "oauth2" {
    client_id     = "hub"
    client_secret = secret("client_secret")
    grant         = "client_credentials"
  }
}
connection "other" {
  connector = "fake"
  auth "oauth2" {
    client_id     = "hub-other"
    client_secret = secret("other_secret")
    grant         = "client_credentials"
  }
}
`

// compileSource compiles the workspace src (after the hub block).
func compileSource(t *testing.T, src string, secret config.SecretFunc) *engine.Runtime {
	t.Helper()
	dir := t.TempDir()
	hub := `
hub {
  required_connectors {
    fake = { source = "hub/fake", version = "1.0.0" }
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(hub+src), 0o600); err != nil {
		t.Fatal(err)
	}
	ws, diags := config.Load(dir, config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("load workspace: %s", diags.Error())
	}
	v := version.Must(version.NewVersion("1.0.0"))
	sum := sha256.Sum256([]byte("fake connector binary"))
	inst := registry.Installed{Source: "hub/fake", Name: "fake", Version: v, Platform: registry.Platform(),
		Path: "/nonexistent/hub-connector-fake", SHA256: sum[:]}
	lock := lockfile.New()
	lock.Connectors["fake"] = &lockfile.Entry{Name: "fake", Source: "hub/fake", Version: v,
		Hashes: map[string]string{registry.Platform(): "sha256:" + hex.EncodeToString(sum[:])}}
	rt, err := engine.Compile(ws, lock, []registry.Installed{inst}, nil, secret, store.DefaultTenant)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return rt
}

// oauthHost is an engine, an OAuth manager and a deployer over one
// secret store, as hub serve wires them.
type oauthHost struct {
	t     *testing.T
	vault *secrets.Store
	cli   *secrets.Store // another process: hub secrets set
	eng   *engine.Engine
	m     *oauth.Manager
	d     *Deployer
}

// startOAuthHost registers src's oauth2 connections through conn (the
// error of that first registration is returned, not fatal) and starts
// the engine.
func startOAuthHost(t *testing.T, conn wire.Connector, src string, secretsKV ...string) (*oauthHost, error) {
	t.Helper()
	dir := t.TempDir()
	noEnv := func(string) string { return "" }
	vs, err := secrets.Open(dir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(secretsKV); i += 2 {
		if err := vs.Set(secretsKV[i], secretsKV[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	cli, err := secrets.Open(dir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "badger"), nil)
	if err != nil {
		t.Fatal(err)
	}
	in := ingest.New(st, ingest.Options{})
	connector := func(registry.Installed) wire.Connector { return conn }
	eng, err := engine.New(engine.Options{Store: st, Ingest: in, Connector: connector})
	if err != nil {
		t.Fatal(err)
	}
	m, err := oauth.New(oauth.Options{Store: TokenVault{Store: vs}, BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	eng.SetOAuth(EngineOAuth{M: m})
	d := New(Options{Store: st, Engine: eng, Connector: connector, OAuth: m, OAuthRetry: 5 * time.Millisecond})
	rt := compileSource(t, src, vs.Resolver(nil))
	d.mu.Lock()
	regErr := d.registerOAuth(context.Background(), rt)
	d.mu.Unlock()
	if err := eng.Start(rt); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		eng.Shutdown(time.Second)
		in.Close()
		st.Close()
	})
	return &oauthHost{t: t, vault: vs, cli: cli, eng: eng, m: m, d: d}, regErr
}

// sentAfterRefresh forces a new token for connection and returns the
// client secret the token server received.
func (h *oauthHost) sentAfterRefresh(ts *tokenServer, connection string) string {
	h.t.Helper()
	ctx := context.Background()
	tok, err := h.m.Token(ctx, connection)
	if err != nil {
		h.t.Fatalf("token of %s: %v", connection, err)
	}
	if err := h.m.Invalidate(ctx, connection, tok.AccessToken); err != nil {
		h.t.Fatalf("refresh %s: %v", connection, err)
	}
	return ts.lastSecret()
}

// connection is connection name as hub connections shows it.
func (h *oauthHost) connection(name string) runs.Connection {
	h.t.Helper()
	conns, err := h.eng.ListConnections(context.Background(), store.DefaultTenant)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, c := range conns {
		if c.Name == name {
			return c
		}
	}
	h.t.Fatalf("no connection %s in %+v", name, conns)
	return runs.Connection{}
}

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
