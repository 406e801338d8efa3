package oauth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

// authServer is a small authorization server for tests: RFC 6749
// (authorization code, client credentials, refresh with rotation),
// RFC 7636 (S256 only) and RFC 8628 (device authorization).
type authServer struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	clients   map[string]*asClient
	codes     map[string]*asCode
	refresh   map[string]*asRefresh // refresh token -> record
	devices   map[string]*asDevice  // device code -> record
	expiresIn int
	// issued holds every secret value the server handed out or accepted,
	// so tests can check none reached a log line.
	issued []string
	// requests counts token requests by grant type.
	requests map[string]int
	// challenges records the code_challenge of each authorization request.
	challenges []string
	// deviceScript is what a device code's polls answer in turn before
	// the token is issued: an RFC 6749 error code, "!503" for a server
	// error without one, or "!drop" to close the connection unanswered.
	deviceScript []string
	// deviceAuths counts device authorization requests.
	deviceAuths int
	// bodyOnly refuses HTTP Basic client authentication, as a server
	// that reads only client_id and client_secret from the body does.
	bodyOnly bool
	// deviceAuthenticates makes the device authorization endpoint
	// authenticate confidential clients, as RFC 8628 §3.1 requires.
	deviceAuthenticates bool
	// echoRefresh makes a refused refresh request's error_description
	// repeat the refresh token, wrapped in terminal escapes, as some
	// providers do (without the escapes).
	echoRefresh bool
	// exchangeError makes an authorization code request from an
	// authenticated client spend the code and answer this error code,
	// "code_verifier does not match", as a server that says
	// invalid_request for a bad verifier does.
	exchangeError string
	// refreshError makes a refresh request from an authenticated client
	// answer this error code, the refresh token still valid.
	refreshError string
	// noDeviceCode leaves device_code out of the device authorization
	// answer.
	noDeviceCode bool
	// verificationURI and userCode replace the device authorization
	// answer's when set.
	verificationURI, userCode string
	// authStyles records how each token request authenticated the
	// client: "basic", "body" or "none".
	authStyles []string
}

type asClient struct {
	secret    string // empty for a public client
	redirects []string
}

type asCode struct {
	client, redirect, challenge string
	used                        bool
}

type asRefresh struct {
	client string
	active bool
}

type asDevice struct {
	client string
	// script is the answer to each poll in turn; "" issues the token.
	script []string
}

func newAuthServer(t *testing.T) *authServer {
	t.Helper()
	as := &authServer{
		t:            t,
		clients:      make(map[string]*asClient),
		codes:        make(map[string]*asCode),
		refresh:      make(map[string]*asRefresh),
		devices:      make(map[string]*asDevice),
		requests:     make(map[string]int),
		expiresIn:    3600,
		deviceScript: []string{"authorization_pending", "slow_down", "authorization_pending"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", as.authorize)
	mux.HandleFunc("POST /token", as.token)
	mux.HandleFunc("POST /device", as.device)
	as.srv = httptest.NewServer(mux)
	t.Cleanup(as.srv.Close)
	return as
}

func (as *authServer) addClient(id, secret string, redirects ...string) {
	as.mu.Lock()
	defer as.mu.Unlock()
	as.clients[id] = &asClient{secret: secret, redirects: redirects}
	if secret != "" {
		as.issued = append(as.issued, secret)
	}
}

// configure changes the server's behaviour while it runs.
func (as *authServer) configure(f func(as *authServer)) {
	as.mu.Lock()
	defer as.mu.Unlock()
	f(as)
}

func (as *authServer) count(grant string) int {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.requests[grant]
}

func (as *authServer) deviceAuthCount() int {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.deviceAuths
}

// authStyleOf says how a request authenticates its client.
func authStyleOf(r *http.Request) string {
	if _, _, ok := r.BasicAuth(); ok {
		return "basic"
	}
	if r.PostForm.Get("client_secret") != "" {
		return "body"
	}
	return "none"
}

// styles returns how each token request so far authenticated.
func (as *authServer) styles() []string {
	as.mu.Lock()
	defer as.mu.Unlock()
	return slices.Clone(as.authStyles)
}

func (as *authServer) secrets() []string {
	as.mu.Lock()
	defer as.mu.Unlock()
	return slices.Clone(as.issued)
}

// revokeAll revokes every refresh token, as a user removing the app's
// access at the provider would.
func (as *authServer) revokeAll() {
	as.mu.Lock()
	defer as.mu.Unlock()
	for _, r := range as.refresh {
		r.active = false
	}
}

func (as *authServer) refreshActive(token string) bool {
	as.mu.Lock()
	defer as.mu.Unlock()
	r, ok := as.refresh[token]
	return ok && r.active
}

func (as *authServer) random(prefix string) string {
	b := make([]byte, 16)
	rand.Read(b)
	v := prefix + base64.RawURLEncoding.EncodeToString(b)
	as.issued = append(as.issued, v)
	return v
}

func (as *authServer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	as.mu.Lock()
	defer as.mu.Unlock()
	c, ok := as.clients[q.Get("client_id")]
	if !ok {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	// RFC 6749 §4.1.2.1: never redirect to an unregistered URI.
	redirect := q.Get("redirect_uri")
	if !slices.Contains(c.redirects, redirect) {
		http.Error(w, "redirect_uri not registered", http.StatusBadRequest)
		return
	}
	back, _ := url.Parse(redirect)
	bq := back.Query()
	bq.Set("state", q.Get("state"))
	if q.Get("response_type") != "code" {
		bq.Set("error", "unsupported_response_type")
	} else if m := q.Get("code_challenge_method"); q.Get("code_challenge") != "" && m != "S256" {
		bq.Set("error", "invalid_request")
		bq.Set("error_description", "only S256")
	} else if c.secret == "" && q.Get("code_challenge") == "" {
		bq.Set("error", "invalid_request")
		bq.Set("error_description", "public clients must use PKCE")
	} else {
		code := as.random("code-")
		as.codes[code] = &asCode{client: q.Get("client_id"), redirect: redirect, challenge: q.Get("code_challenge")}
		as.challenges = append(as.challenges, q.Get("code_challenge"))
		bq.Set("code", code)
	}
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// authenticate returns the client for a token request: HTTP Basic or
// client_id (and client_secret) in the body.
func (as *authServer) authenticate(r *http.Request) (string, *asClient, bool) {
	id, secret, basic := r.BasicAuth()
	if basic && as.bodyOnly {
		return "", nil, false
	}
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	c, ok := as.clients[id]
	if !ok {
		return "", nil, false
	}
	if c.secret != "" && subtle.ConstantTimeCompare([]byte(c.secret), []byte(secret)) != 1 {
		return "", nil, false
	}
	return id, c, true
}

func (as *authServer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	grant := r.PostForm.Get("grant_type")
	as.requests[grant]++
	as.authStyles = append(as.authStyles, authStyleOf(r))
	id, c, ok := as.authenticate(r)
	if !ok {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	switch grant {
	case "authorization_code":
		code, ok := as.codes[r.PostForm.Get("code")]
		if !ok || code.used || code.client != id {
			tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown or used code")
			return
		}
		code.used = true
		if as.exchangeError != "" {
			tokenError(w, http.StatusBadRequest, as.exchangeError, "code_verifier does not match")
			return
		}
		if r.PostForm.Get("redirect_uri") != code.redirect {
			tokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match")
			return
		}
		verifier := r.PostForm.Get("code_verifier")
		if code.challenge != "" {
			sum := sha256.Sum256([]byte(verifier))
			if verifier == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != code.challenge {
				tokenError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match")
				return
			}
			as.issued = append(as.issued, verifier)
		} else if verifier != "" {
			tokenError(w, http.StatusBadRequest, "invalid_grant", "no challenge was sent")
			return
		}
		as.issue(w, id, true)
	case "refresh_token":
		old, ok := as.refresh[r.PostForm.Get("refresh_token")]
		if !ok || !old.active || old.client != id {
			desc := "refresh token revoked or unknown"
			if as.echoRefresh {
				desc = "Invalid refresh token: \x1b[31m" + r.PostForm.Get("refresh_token") + "\x1b]0;owned\x07\r\n" + strings.Repeat("x", 500)
			}
			tokenError(w, http.StatusBadRequest, "invalid_grant", desc)
			return
		}
		if as.refreshError != "" {
			tokenError(w, http.StatusBadRequest, as.refreshError, "scope parameter not allowed")
			return
		}
		old.active = false // rotation: the old one is spent
		as.issue(w, id, true)
	case "client_credentials":
		if c.secret == "" {
			tokenError(w, http.StatusUnauthorized, "unauthorized_client", "public client")
			return
		}
		as.issue(w, id, false)
	case deviceGrantType:
		d, ok := as.devices[r.PostForm.Get("device_code")]
		if !ok || d.client != id {
			tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown device code")
			return
		}
		if len(d.script) > 0 && d.script[0] != "" {
			next := d.script[0]
			d.script = d.script[1:]
			switch next {
			case "!503":
				http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
			case "!drop":
				conn, _, err := http.NewResponseController(w).Hijack()
				if err != nil {
					as.t.Errorf("hijack: %v", err)
					return
				}
				conn.Close()
			default:
				tokenError(w, http.StatusBadRequest, next, "")
			}
			return
		}
		delete(as.devices, r.PostForm.Get("device_code"))
		as.issue(w, id, true)
	default:
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", grant)
	}
}

// issue answers a token request; the caller holds as.mu.
func (as *authServer) issue(w http.ResponseWriter, client string, withRefresh bool) {
	resp := map[string]any{
		"access_token": as.random("at-"),
		"token_type":   "Bearer",
		"expires_in":   as.expiresIn,
	}
	if withRefresh {
		rt := as.random("rt-")
		as.refresh[rt] = &asRefresh{client: client, active: true}
		resp["refresh_token"] = rt
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(resp)
}

func (as *authServer) device(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	id := r.PostForm.Get("client_id")
	if as.deviceAuthenticates {
		var ok bool
		if id, _, ok = as.authenticate(r); !ok || (as.clients[id].secret != "" && authStyleOf(r) == "none") {
			tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
			return
		}
	}
	if _, ok := as.clients[id]; !ok {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return
	}
	as.deviceAuths++
	dc := as.random("dc-")
	uri, code := as.srv.URL+"/activate", "WDJB-MJHT"
	if as.verificationURI != "" {
		uri = as.verificationURI
	}
	if as.userCode != "" {
		code = as.userCode
	}
	as.devices[dc] = &asDevice{client: id, script: slices.Clone(as.deviceScript)}
	answer := map[string]any{
		"device_code":      dc,
		"user_code":        code,
		"verification_uri": uri,
		"expires_in":       600,
		"interval":         1,
	}
	if as.noDeviceCode {
		delete(answer, "device_code")
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(answer)
}
