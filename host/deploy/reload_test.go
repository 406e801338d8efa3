package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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

// compileOAuth compiles a workspace of one oauth2 connection whose
// client_secret is a secret, resolved by secret.
func compileOAuth(t *testing.T, secret config.SecretFunc) *engine.Runtime {
	t.Helper()
	dir := t.TempDir()
	src := `
hub {
  required_connectors {
    fake = { source = "hub/fake", version = "1.0.0" }
  }
}
connection "api" {
  connector = "fake"
  auth "oauth2" {
    client_id     = "hub"
    client_secret = secret("client_secret")
    grant         = "client_credentials"
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o600); err != nil {
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

// A client_secret changed in the secret store reaches the OAuth client:
// after ReloadSecrets the next token request sends the new one, and the
// connection keeps its token meanwhile.
func TestReloadSecrets_RegistersTheOAuthClientWithTheNewSecret(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	noEnv := func(string) string { return "" }
	vault, err := secrets.Open(dir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if err := vault.Set("client_secret", "cs-one"); err != nil {
		t.Fatal(err)
	}
	ts := newTokenServer(t)
	conn := oauthConnector{tokenURL: ts.srv.URL + "/token"}

	st, err := store.Open(filepath.Join(dir, "badger"), nil)
	if err != nil {
		t.Fatal(err)
	}
	in := ingest.New(st, ingest.Options{})
	eng, err := engine.New(engine.Options{Store: st, Ingest: in, Connector: func(registry.Installed) wire.Connector { return conn }})
	if err != nil {
		t.Fatal(err)
	}
	m, err := oauth.New(oauth.Options{Store: TokenVault{Store: vault}, BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	eng.SetOAuth(EngineOAuth{M: m})
	d := New(Options{Store: st, Engine: eng, Connector: func(registry.Installed) wire.Connector { return conn }, OAuth: m})
	rt := compileOAuth(t, vault.Resolver(nil))
	if err := d.registerOAuth(ctx, rt); err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(rt); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		eng.Shutdown(time.Second)
		in.Close()
		st.Close()
	})

	tok, err := m.Token(ctx, "api")
	if err != nil {
		t.Fatal(err)
	}
	if got := ts.lastSecret(); got != "cs-one" {
		t.Fatalf("first token request sent %q, want cs-one", got)
	}

	// hub secrets set, as another process would.
	cli, err := secrets.Open(dir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Set("client_secret", "cs-two"); err != nil {
		t.Fatal(err)
	}
	res := d.ReloadSecrets(ctx)
	if len(res.OAuth) != 1 || res.OAuth[0] != "api" {
		t.Fatalf("reload: oauth %v, failed %v; want api", res.OAuth, res.Failed)
	}
	// The token stays usable: the client_id and token_url did not change.
	if again, err := m.Token(ctx, "api"); err != nil || again.AccessToken != tok.AccessToken {
		t.Fatalf("token after the reload: %v, %v; want the same token", again, err)
	}
	if err := m.Invalidate(ctx, "api", tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	if got := ts.lastSecret(); got != "cs-two" {
		t.Fatalf("the token request after the reload sent %q, want cs-two", got)
	}

	// A deleted client_secret leaves the client registered as it was.
	if _, err := cli.Delete("client_secret"); err != nil {
		t.Fatal(err)
	}
	if res := d.ReloadSecrets(ctx); res.Failed["api"] == nil {
		t.Fatalf("reload after delete: failed %v, want api", res.Failed)
	}
	tok2, err := m.Token(ctx, "api")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Invalidate(ctx, "api", tok2.AccessToken); err != nil {
		t.Fatal(err)
	}
	if got := ts.lastSecret(); got != "cs-two" {
		t.Fatalf("after the secret was deleted the client sent %q, want the last good cs-two", got)
	}
}
