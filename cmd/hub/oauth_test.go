package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubhq/hub/host/runs"
)

// authServer is a small OAuth 2.0 authorization server for the tests
// (RFC 6749 code and client credentials grants, RFC 7636 S256): each
// token it issues is "at-<n>".
type authServer struct {
	*httptest.Server
	secret  string
	issued  atomic.Int32
	mu      sync.Mutex
	codes   map[string]string // code -> S256 challenge
	granted map[string]bool   // valid access tokens
	refresh map[string]bool   // valid refresh tokens
}

func newAuthServer(t *testing.T, clientSecret string) *authServer {
	a := &authServer{secret: clientSecret, codes: map[string]string{}, granted: map[string]bool{}, refresh: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
			http.Error(w, "PKCE S256 required", http.StatusBadRequest)
			return
		}
		code := fmt.Sprintf("code-%d", time.Now().UnixNano())
		a.mu.Lock()
		a.codes[code] = q.Get("code_challenge")
		a.mu.Unlock()
		u, _ := url.Parse(q.Get("redirect_uri"))
		v := u.Query()
		v.Set("code", code)
		v.Set("state", q.Get("state"))
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		fail := func(code string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":%q}`, code)
		}
		switch r.Form.Get("grant_type") {
		case "client_credentials":
			id, sec, ok := r.BasicAuth()
			if !ok {
				id, sec = r.Form.Get("client_id"), r.Form.Get("client_secret")
			}
			if id != "hub" || sec != a.secret {
				fail("invalid_client")
				return
			}
		case "authorization_code":
			a.mu.Lock()
			challenge, ok := a.codes[r.Form.Get("code")]
			delete(a.codes, r.Form.Get("code"))
			a.mu.Unlock()
			sum := sha256.Sum256([]byte(r.Form.Get("code_verifier")))
			if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
				fail("invalid_grant")
				return
			}
		case "refresh_token":
			a.mu.Lock()
			ok := a.refresh[r.Form.Get("refresh_token")]
			delete(a.refresh, r.Form.Get("refresh_token"))
			a.mu.Unlock()
			if !ok {
				fail("invalid_grant")
				return
			}
		default:
			fail("unsupported_grant_type")
			return
		}
		tok := fmt.Sprintf("at-%d", a.issued.Add(1))
		rt := ""
		a.mu.Lock()
		a.granted[tok] = true
		if r.Form.Get("grant_type") != "client_credentials" {
			rt = "rt-" + tok
			a.refresh[rt] = true
		}
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if rt != "" {
			fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600,"refresh_token":%q}`, tok, rt)
			return
		}
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, tok)
	})
	a.Server = httptest.NewServer(mux)
	t.Cleanup(a.Close)
	return a
}

// revoke makes the third party refuse tok from now on, as when a token
// expires early.
func (a *authServer) revoke(tok string) {
	a.mu.Lock()
	delete(a.granted, tok)
	a.mu.Unlock()
}

// revokeAll ends every grant: access and refresh tokens alike, as when a
// user disconnects the app at the provider.
func (a *authServer) revokeAll() {
	a.mu.Lock()
	clear(a.granted)
	clear(a.refresh)
	a.mu.Unlock()
}

func (a *authServer) valid(tok string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.granted[tok]
}

const oauthServeWorkspace = `
hub {
  required_connectors {
    example = { source = "hub/example", version = "~> 1.0" }
  }
}

connection "api" {
  connector = "example"
  auth "oauth2" {
    client_id     = "hub"
    client_secret = secret("api_client_secret")
    grant         = "client_credentials"
    token_url     = "%[1]s/token"
  }
}

connection "app" {
  connector = "example"
  auth "oauth2" {
    client_id         = "hub"
    grant             = "authorization_code"
    authorization_url = "%[1]s/authorize"
    token_url         = "%[1]s/token"
  }
}

workflow "app_orders" {
  trigger "app" "incoming" {
    mode = "webhook"
  }
  action "ship" {
    connection = "app"
    action     = "deliver"
    input      = { url = "%[2]s", body = { id = event.id } }
  }
}

workflow "orders" {
  trigger "api" "incoming" {
    mode = "webhook"
  }
  action "ship" {
    connection = "api"
    action     = "deliver"
    input      = { url = "%[2]s", body = { id = event.id } }
  }
}
`

// OAuth 2.0 through the real host: client credentials fetched by hub
// connect; a token the third party stops accepting mid-run is refreshed
// exactly once for 50 calls that meet it at once; the authorization code
// grant with PKCE completes through the host's callback; and no secret
// or token appears in any output.
func TestServe_OAuthClientCredentialsRefreshAndCodeLogin(t *testing.T) {
	const clientSecret = "cs-very-secret-1234"
	as := newAuthServer(t, clientSecret)
	var sinkCalls atomic.Int32
	sinkSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sinkCalls.Add(1)
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !as.valid(tok) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}))
	defer sinkSrv.Close()

	dir, plugins := workspace(t, fmt.Sprintf(oauthServeWorkspace, as.URL, sinkSrv.URL))
	mustHub(t, plugins, "init", "-dir", dir)
	mustHubSecrets(t, clientSecret+"\n", nil, "secrets", "set", "-dir", dir, "api_client_secret")
	mustHub(t, plugins, "apply", "-dir", dir, "-auto-approve")
	h := appliedAt(dir, plugins).start(t, "")

	// Client credentials: connected at once.
	out := mustHub(t, plugins, "connect", "-dir", dir, "api")
	if !strings.Contains(out.stdout, "connected") || as.issued.Load() != 1 {
		t.Fatalf("hub connect api: %s (tokens issued: %d)", out.stdout, as.issued.Load())
	}

	// The token stops working; 50 runs meet it together.
	as.revoke("at-1")
	secret := h.secret("orders")
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.deliver("orders", secret, fmt.Sprintf(`{"id":"o-%d"}`, i))
		}()
	}
	wg.Wait()
	for i := range 50 {
		h.waitEvent("orders", fmt.Sprintf("o-%d", i), runs.Succeeded)
	}
	if n := as.issued.Load(); n != 2 {
		t.Errorf("%d tokens issued, want 2: one refresh for 50 calls that found the token expired", n)
	}

	// Authorization code with PKCE, through the host's callback.
	authURL, done := startConnect(t, dir, plugins, as.URL+"/authorize", "app")
	consent(t, authURL)
	connected := <-done
	if connected.err != nil || !strings.Contains(connected.out, "Connection app is connected") {
		t.Fatalf("hub connect app: %v\n%s", connected.err, connected.out)
	}
	list := mustHub(t, plugins, "connections", "list", "-dir", dir)
	for _, name := range []string{"api", "app"} {
		if !strings.Contains(grepLines(list.stdout, name+" "), " ok ") {
			t.Errorf("connection %s not ok:\n%s", name, list.stdout)
		}
	}

	// The user disconnects hub at the provider: the refresh fails, the
	// run waits in the dead-letter queue with an auth error, and the
	// connection shows it needs authorising again.
	as.revokeAll()
	if code := h.deliver("app_orders", h.secret("app_orders"), `{"id":"after-revoke"}`); code/100 != 2 {
		t.Fatalf("delivery: %d", code)
	}
	dead := h.waitEvent("app_orders", "after-revoke", runs.Dead)
	if last := dead.Steps[0].Attempts[len(dead.Steps[0].Attempts)-1]; last.ErrorKind != "auth_expired" || !strings.Contains(last.Error, "hub connect app") {
		t.Fatalf("dead run's error: %s: %s", last.ErrorKind, last.Error)
	}
	relist := mustHub(t, plugins, "connections", "list", "-dir", dir)
	if !strings.Contains(grepLines(relist.stdout, "app "), "needs_reauth") {
		t.Errorf("app after the grant was revoked:\n%s", relist.stdout)
	}
	list.stdout += relist.stdout

	// No secret anywhere: the host's log, the CLI's output, the API.
	var st json.RawMessage
	h.api("GET", "/v1/state", &st)
	var everything strings.Builder
	everything.WriteString(h.log() + out.stdout + out.stderr + connected.out + list.stdout + string(st))
	for _, s := range []string{clientSecret, "at-1", "at-2", "at-3"} {
		if strings.Contains(everything.String(), s) {
			t.Errorf("%q appears in the output", s)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, ".hub", "data", "secrets.json"))
	if strings.Contains(string(raw), "at-2") || strings.Contains(string(raw), clientSecret) {
		t.Error("the secret store holds a token or secret in plain text")
	}
}
