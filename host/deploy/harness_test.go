package deploy

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/host/config"
	"github.com/hubhq/hub/host/engine"
	"github.com/hubhq/hub/host/ingest"
	"github.com/hubhq/hub/host/internal/enginetest"
	"github.com/hubhq/hub/host/oauth"
	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/secrets"
	"github.com/hubhq/hub/host/store"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// tokenServer is an authorization server for the client credentials
// grant that records the client secret of every token request.
type tokenServer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	secrets []string
}

func newTokenServer(t *testing.T) *tokenServer {
	ts := &tokenServer{}
	ts.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, secret, ok := r.BasicAuth()
		if !ok {
			secret = r.PostFormValue("client_secret")
		}
		ts.mu.Lock()
		ts.secrets = append(ts.secrets, secret)
		n := len(ts.secrets)
		ts.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"at-%d","token_type":"Bearer","expires_in":3600}`, n)
	}))
	t.Cleanup(ts.srv.Close)
	return ts
}

func (ts *tokenServer) lastSecret() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.secrets) == 0 {
		return ""
	}
	return ts.secrets[len(ts.secrets)-1]
}

// oauthConnector is a connector whose schema declares oauth2 with the
// token server's endpoint; it is never called otherwise.
type oauthConnector struct {
	wire.Connector
	tokenURL string
}

func (c oauthConnector) Schema(context.Context) (*schema.Schema, error) {
	return &schema.Schema{Name: "fake", Version: "1.0.0", Auth: []schema.AuthScheme{{Type: schema.AuthOAuth2,
		OAuth2: &schema.OAuth2Spec{TokenURL: c.tokenURL, Grants: []string{oauth.GrantClientCredentials}}}}}, nil
}

// oauthWorkspace has one oauth2 connection of the token server whose
// client_secret is a secret.
const oauthWorkspace = `
connection "api" {
  connector = "fake"
  auth "oauth2" {
    client_id     = "hub"
    client_secret = secret("client_secret")
    grant         = "client_credentials"
  }
}
`

// compileSource compiles the workspace src (after the hub block).
func compileSource(t *testing.T, src string, secret config.SecretFunc) *engine.Runtime {
	t.Helper()
	lock, installed := enginetest.Lock()
	rt, err := engine.Compile(enginetest.Workspace(t, src), lock, installed, nil, secret, store.DefaultTenant)
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
