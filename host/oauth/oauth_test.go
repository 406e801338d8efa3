package oauth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/oauth2"
)

// fakeClock is a Manager clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recordingStore is a MemoryStore that records every save in order and
// can be told to fail the next one.
type recordingStore struct {
	*MemoryStore
	mu       sync.Mutex
	saves    []oauth2.Token
	failNext bool
}

func (s *recordingStore) Save(ctx context.Context, connection string, t *oauth2.Token) error {
	return s.SaveBound(ctx, connection, t, Binding{})
}

func (s *recordingStore) SaveBound(ctx context.Context, connection string, t *oauth2.Token, b Binding) error {
	s.mu.Lock()
	if s.failNext {
		s.failNext = false
		s.mu.Unlock()
		return errors.New("disk full")
	}
	s.saves = append(s.saves, *t)
	s.mu.Unlock()
	return s.MemoryStore.SaveBound(ctx, connection, t, b)
}

func (s *recordingStore) saveCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.saves)
}

func (s *recordingStore) lastSave() oauth2.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves[len(s.saves)-1]
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type env struct {
	as    *authServer
	m     *Manager
	store *recordingStore
	clock *fakeClock
	hub   *httptest.Server
	logs  *syncBuffer
}

// newEnv starts an authorization server and a hub host serving the
// Manager's handler, both on loopback. On cleanup it checks that no secret
// the authorization server issued or accepted reached the log.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{
		as:    newAuthServer(t),
		store: &recordingStore{MemoryStore: NewMemoryStore()},
		clock: &fakeClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)},
		logs:  &syncBuffer{},
	}
	var h http.Handler
	e.hub = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(e.hub.Close)
	m, err := New(Options{
		Store:   e.store,
		BaseURL: e.hub.URL,
		Now:     e.clock.now,
		Logger:  hclog.New(&hclog.LoggerOptions{Output: e.logs, Level: hclog.Trace}),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	h = m.Handler()
	t.Cleanup(func() {
		logs := e.logs.String()
		for _, s := range e.as.secrets() {
			if strings.Contains(logs, s) {
				t.Errorf("log contains a secret value %.6s…:\n%s", s, logs)
			}
		}
	})
	return e
}

func (e *env) callback(name string) string { return e.hub.URL + "/oauth/" + name + "/callback" }

// codeClient registers a client for the authorization code grant at both
// ends; an empty secret makes it public.
func (e *env) codeClient(t *testing.T, name, secret string) Client {
	t.Helper()
	e.as.addClient(name+"-id", secret, e.callback(name))
	return Client{
		Name: name, ClientID: name + "-id", ClientSecret: secret, Grant: GrantAuthorizationCode,
		AuthURL: e.as.srv.URL + "/authorize", TokenURL: e.as.srv.URL + "/token", Scopes: []string{"repo"},
	}
}

func (e *env) register(t *testing.T, clients ...Client) {
	t.Helper()
	if err := e.m.Register(clients); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// login completes a login as a browser would: hub's login URL, the
// provider's consent (automatic here), hub's callback.
func (e *env) login(t *testing.T, name string) {
	t.Helper()
	code, body := get(t, http.DefaultClient, e.hub.URL+"/oauth/"+name+"/login")
	if code != http.StatusOK || !strings.Contains(body, "You can close this window") {
		t.Fatalf("login: %d %s", code, body)
	}
}

// authorize starts a login and follows it to the provider only, returning
// the callback URL the provider sent the browser to.
func (e *env) authorize(t *testing.T, name string) *url.URL {
	t.Helper()
	authURL, err := e.m.StartLogin(name)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("authorize answered %d without a redirect", resp.StatusCode)
	}
	return loc
}

func (e *env) stored(t *testing.T, name string) *oauth2.Token {
	t.Helper()
	tok, err := e.store.Load(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (e *env) status(t *testing.T, name string) State {
	t.Helper()
	s, err := e.m.Status(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLogin_PublicClientUsesPKCEEndToEnd(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "github", ""))
	if s := e.status(t, "github"); s.Status != StatusNeedsLogin {
		t.Fatalf("before login: %+v", s)
	}

	e.login(t, "github")

	tok := e.stored(t, "github")
	if tok == nil || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("stored token = %+v", tok)
	}
	if want := e.clock.now().Add(time.Hour); !tok.Expiry.Equal(want) {
		t.Errorf("expiry = %v, want %v (on the Manager's clock)", tok.Expiry, want)
	}
	if len(e.as.challenges) != 1 || e.as.challenges[0] == "" {
		t.Errorf("authorization requests' code_challenge = %q, want one S256 challenge", e.as.challenges)
	}
	if s := e.status(t, "github"); s.Status != StatusConnected || !s.LastRefresh.Equal(e.clock.now()) {
		t.Errorf("after login: %+v", s)
	}
	got, err := e.m.Token(context.Background(), "github")
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != tok.AccessToken || e.as.count("refresh_token") != 0 {
		t.Errorf("Token did not return the fresh stored token without refreshing")
	}
}

func TestLogin_StartLoginThenWaitLogin(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "github", ""))
	authURL, err := e.m.StartLogin("github")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.m.WaitLogin(context.Background(), "github") }()
	if code, body := get(t, http.DefaultClient, authURL); code != http.StatusOK {
		t.Fatalf("browser: %d %s", code, body)
	}
	if err := <-done; err != nil {
		t.Fatalf("WaitLogin: %v", err)
	}
	if e.stored(t, "github") == nil {
		t.Fatal("no token stored")
	}
	// A login that already finished reports its outcome at once.
	if err := e.m.WaitLogin(context.Background(), "github"); err != nil {
		t.Fatalf("WaitLogin after completion: %v", err)
	}
}

// RFC 9700 §2.1.1: PKCE for confidential clients too, and the server's
// check of the verifier passes.
func TestLogin_ConfidentialClientUsesPKCETooByDefault(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "salesforce", "s3cret-client-value"))
	e.login(t, "salesforce")
	if e.stored(t, "salesforce") == nil {
		t.Fatal("no token stored")
	}
	if len(e.as.challenges) != 1 || e.as.challenges[0] == "" {
		t.Errorf("code_challenge = %q, want one S256 challenge for a confidential client", e.as.challenges)
	}
}

func TestCallback_RejectsBadLoginsAndStoresNothing(t *testing.T) {
	tests := []struct {
		name string
		// callback returns the URL to hit, given a callback URL the
		// provider issued for a fresh login of "github".
		callback func(t *testing.T, e *env, issued *url.URL) string
		want     string
		// status is github's afterwards: a forged state leaves the real
		// login pending, anything else ends it.
		status Status
	}{{
		name: "unknown state",
		callback: func(t *testing.T, e *env, issued *url.URL) string {
			q := issued.Query()
			q.Set("state", "forged")
			return e.callback("github") + "?" + q.Encode()
		},
		want:   "not valid, was already used or has expired",
		status: StatusLoginPending,
	}, {
		name: "expired state",
		callback: func(t *testing.T, e *env, issued *url.URL) string {
			e.clock.advance(loginTTL + time.Second)
			return issued.String()
		},
		want:   "not valid, was already used or has expired",
		status: StatusLoginFailed,
	}, {
		name: "state of another connection",
		callback: func(t *testing.T, e *env, issued *url.URL) string {
			return e.callback("gitlab") + "?" + issued.RawQuery
		},
		want:   "not valid, was already used or has expired",
		status: StatusLoginFailed,
	}, {
		name: "missing verifier, rejected by the server",
		callback: func(t *testing.T, e *env, issued *url.URL) string {
			e.m.mu.Lock()
			e.m.logins[issued.Query().Get("state")].verifier = ""
			e.m.mu.Unlock()
			return issued.String()
		},
		want:   `invalid_grant: &#34;code_verifier does not match&#34;`,
		status: StatusLoginFailed,
	}, {
		name: "redirect URI differs from the authorization request's",
		callback: func(t *testing.T, e *env, issued *url.URL) string {
			e.m.mu.Lock()
			e.m.logins[issued.Query().Get("state")].redirect = e.callback("gitlab")
			e.m.mu.Unlock()
			return issued.String()
		},
		want:   `invalid_grant: &#34;redirect_uri does not match&#34;`,
		status: StatusLoginFailed,
	}, {
		name: "provider error",
		callback: func(t *testing.T, e *env, issued *url.URL) string {
			q := url.Values{"state": {issued.Query().Get("state")}, "error": {"access_denied"}, "error_description": {"the user said no"}}
			return e.callback("github") + "?" + q.Encode()
		},
		want:   `the provider refused the login: access_denied: &#34;the user said no&#34;`,
		status: StatusLoginFailed,
	}, {
		name: "no code",
		callback: func(t *testing.T, e *env, issued *url.URL) string {
			return e.callback("github") + "?state=" + url.QueryEscape(issued.Query().Get("state"))
		},
		want:   "no authorization code",
		status: StatusLoginFailed,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.register(t, e.codeClient(t, "github", ""), e.codeClient(t, "gitlab", ""))
			issued := e.authorize(t, "github")

			code, body := get(t, http.DefaultClient, tt.callback(t, e, issued))

			if code != http.StatusBadRequest || !strings.Contains(body, tt.want) {
				t.Errorf("callback = %d %q, want 400 containing %q", code, body, tt.want)
			}
			if e.store.saveCount() != 0 {
				t.Errorf("a token was stored")
			}
			if s := e.status(t, "github"); s.Status != tt.status {
				t.Errorf("status = %s, want %s", s.Status, tt.status)
			}
		})
	}
}

func TestCallback_StateIsSingleUse(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "github", ""))
	issued := e.authorize(t, "github")
	if code, body := get(t, http.DefaultClient, issued.String()); code != http.StatusOK {
		t.Fatalf("first callback: %d %s", code, body)
	}
	code, body := get(t, http.DefaultClient, issued.String())
	if code != http.StatusBadRequest || !strings.Contains(body, "already used") {
		t.Errorf("replayed callback = %d %q, want 400", code, body)
	}
	if n := e.store.saveCount(); n != 1 {
		t.Errorf("saves = %d, want 1", n)
	}
}

func TestLogin_ProviderErrorEndsWaitLogin(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "github", ""))
	issued := e.authorize(t, "github")
	q := url.Values{"state": {issued.Query().Get("state")}, "error": {"access_denied"}}
	get(t, http.DefaultClient, e.callback("github")+"?"+q.Encode())
	err := e.m.WaitLogin(context.Background(), "github")
	if err == nil || !strings.Contains(err.Error(), "access_denied") {
		t.Errorf("WaitLogin = %v, want the provider's access_denied", err)
	}
}

func TestRegister_RedirectMustBeAllowed(t *testing.T) {
	e := newEnv(t)
	c := e.codeClient(t, "github", "")
	c.RedirectURL = "https://attacker.example/cb"
	if err := e.m.Register([]Client{c}); err == nil || !strings.Contains(err.Error(), "neither the host's callback") {
		t.Fatalf("Register with an unlisted redirect = %v, want an error", err)
	}

	native := "com.example.hub:/oauth/callback"
	c.RedirectURL = native
	c.AllowedRedirects = []string{native}
	e.register(t, c)
	authURL, err := e.m.StartLogin("github")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	if got := u.Query().Get("redirect_uri"); got != native {
		t.Errorf("redirect_uri = %q, want %q", got, native)
	}
}

func TestRegister_RejectsIncompleteClients(t *testing.T) {
	e := newEnv(t)
	good := e.codeClient(t, "github", "")
	for _, c := range []Client{
		{Name: "cc", ClientID: "x", Grant: GrantClientCredentials, TokenURL: "https://p/token"},
		{Name: "dev", ClientID: "x", Grant: GrantDeviceCode, TokenURL: "https://p/token"},
		{Name: "what", ClientID: "x", Grant: "password", TokenURL: "https://p/token"},
		good, // twice
	} {
		if err := e.m.Register([]Client{good, c}); err == nil {
			t.Errorf("Register(%s) succeeded, want an error", c.Name)
		}
	}
	if _, err := e.m.Token(context.Background(), "github"); !errors.Is(err, ErrUnknownConnection) {
		t.Errorf("a failed Register changed the set: %v", err)
	}
}

func TestToken_ClientCredentials(t *testing.T) {
	e := newEnv(t)
	e.as.addClient("svc", "svc-secret-value")
	e.register(t, Client{Name: "svc", ClientID: "svc", ClientSecret: "svc-secret-value", Grant: GrantClientCredentials, TokenURL: e.as.srv.URL + "/token"})
	ctx := context.Background()

	first, err := e.m.Token(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.m.Token(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	if again.AccessToken != first.AccessToken || e.as.count("client_credentials") != 1 {
		t.Fatalf("a fresh client credentials token was not reused")
	}
	e.clock.advance(time.Hour)
	renewed, err := e.m.Token(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	if renewed.AccessToken == first.AccessToken || e.as.count("client_credentials") != 2 {
		t.Errorf("an expired client credentials token was not replaced")
	}
	if s := e.status(t, "svc"); s.Status != StatusConnected {
		t.Errorf("status = %s", s.Status)
	}
}

func TestDevice_HonoursPendingAndSlowDown(t *testing.T) {
	e := newEnv(t)
	e.as.addClient("tv", "")
	e.register(t, Client{Name: "tv", ClientID: "tv", Grant: GrantDeviceCode, TokenURL: e.as.srv.URL + "/token", DeviceURL: e.as.srv.URL + "/device"})
	var waits []time.Duration
	e.m.wait = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	var shownURI, shownCode string

	err := e.m.Device(context.Background(), "tv", func(uri, code string) { shownURI, shownCode = uri, code })

	if err != nil {
		t.Fatal(err)
	}
	if shownURI != e.as.srv.URL+"/activate" || shownCode != "WDJB-MJHT" {
		t.Errorf("shown %q %q", shownURI, shownCode)
	}
	// Server answers pending, slow_down, pending, then the token.
	want := []time.Duration{time.Second, time.Second, 6 * time.Second, 6 * time.Second}
	if !slicesEqual(waits, want) {
		t.Errorf("waits = %v, want %v", waits, want)
	}
	if tok := e.stored(t, "tv"); tok == nil || tok.RefreshToken == "" {
		t.Errorf("stored = %+v", tok)
	}
	if s := e.status(t, "tv"); s.Status != StatusConnected {
		t.Errorf("status = %s", s.Status)
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestToken_RefreshesBeforeExpiryAndSavesRotatedTokenFirst(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "github", ""))
	e.login(t, "github")
	old := e.stored(t, "github")
	ctx := context.Background()

	e.clock.advance(time.Hour - 59*time.Second) // inside the 1m skew
	tok, err := e.m.Token(ctx, "github")
	if err != nil {
		t.Fatal(err)
	}

	if e.as.count("refresh_token") != 1 || tok.AccessToken == old.AccessToken {
		t.Fatalf("no refresh inside the skew")
	}
	if tok.RefreshToken == old.RefreshToken || e.as.refreshActive(old.RefreshToken) || !e.as.refreshActive(tok.RefreshToken) {
		t.Fatalf("server did not rotate the refresh token")
	}
	if last := e.store.lastSave(); last.AccessToken != tok.AccessToken || last.RefreshToken != tok.RefreshToken {
		t.Errorf("the returned token is not the last one saved")
	}
	if s := e.status(t, "github"); !s.LastRefresh.Equal(e.clock.now()) {
		t.Errorf("last refresh = %v", s.LastRefresh)
	}
	e.clock.advance(time.Minute)
	if again, err := e.m.Token(ctx, "github"); err != nil || again.AccessToken != tok.AccessToken || e.as.count("refresh_token") != 1 {
		t.Errorf("a fresh refreshed token was refreshed again (err %v)", err)
	}
}

func TestToken_RotatedTokenIsNotHandedOutUntilSaved(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "github", ""))
	e.login(t, "github")
	ctx := context.Background()
	e.clock.advance(2 * time.Hour)

	e.store.failNext = true
	if _, err := e.m.Token(ctx, "github"); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Token with a failing store = %v, want the save error", err)
	}
	tok, err := e.m.Token(ctx, "github")
	if err != nil {
		t.Fatal(err)
	}
	if n := e.as.count("refresh_token"); n != 1 {
		t.Errorf("refreshes = %d, want 1: the rotated token kept in memory should be saved, not refreshed again", n)
	}
	if !e.as.refreshActive(tok.RefreshToken) || e.stored(t, "github").RefreshToken != tok.RefreshToken {
		t.Errorf("the stored refresh token is not the live one")
	}
}

func TestToken_ConcurrentCallersShareOneRefresh(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "github", ""))
	e.login(t, "github")
	e.clock.advance(2 * time.Hour)

	const callers = 50
	got := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			tok, err := e.m.Token(context.Background(), "github")
			errs[i] = err
			if err == nil {
				got[i] = tok.AccessToken
			}
		})
	}
	wg.Wait()

	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := e.as.count("refresh_token"); n != 1 {
		t.Errorf("refresh requests = %d, want 1", n)
	}
	for _, a := range got {
		if a != got[0] {
			t.Fatalf("callers got different tokens")
		}
	}
}

func TestInvalidate_RefreshesOnceEvenIfReportedTwice(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "github", ""))
	e.login(t, "github")
	ctx := context.Background()
	used, err := e.m.Token(ctx, "github")
	if err != nil {
		t.Fatal(err)
	}

	if err := e.m.Invalidate(ctx, "github", used.AccessToken); err != nil {
		t.Fatal(err)
	}
	renewed, err := e.m.Token(ctx, "github")
	if err != nil {
		t.Fatal(err)
	}
	if renewed.AccessToken == used.AccessToken || e.as.count("refresh_token") != 1 {
		t.Fatalf("Invalidate of the current token did not refresh it")
	}
	// A second caller that used the same old token reports it late.
	if err := e.m.Invalidate(ctx, "github", used.AccessToken); err != nil {
		t.Fatal(err)
	}
	if n := e.as.count("refresh_token"); n != 1 {
		t.Errorf("refresh requests = %d, want 1", n)
	}
	if now, _ := e.m.Token(ctx, "github"); now.AccessToken != renewed.AccessToken {
		t.Errorf("the late Invalidate replaced the token")
	}
}

func TestToken_RevokedRefreshTokenNeedsReauth(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "github", ""))
	e.login(t, "github")
	ctx := context.Background()
	revoked := e.stored(t, "github").RefreshToken
	e.as.revokeAll()
	e.clock.advance(2 * time.Hour)

	_, err := e.m.Token(ctx, "github")

	var reauth *ReauthRequired
	if !errors.As(err, &reauth) || reauth.Connection != "github" || !strings.Contains(reauth.Reason, "invalid_grant") {
		t.Fatalf("Token = %v, want *ReauthRequired for github with invalid_grant", err)
	}
	if strings.Contains(err.Error(), revoked) {
		t.Errorf("error shows the refresh token: %v", err)
	}
	if s := e.status(t, "github"); s.Status != StatusNeedsReauth || s.Reason == "" {
		t.Errorf("status = %+v, want needs_reauth", s)
	}
	if _, err := e.m.Token(ctx, "github"); !errors.As(err, &reauth) || e.as.count("refresh_token") != 1 {
		t.Errorf("a connection needing reauth asked the provider again (err %v)", err)
	}

	e.login(t, "github")
	if s := e.status(t, "github"); s.Status != StatusConnected {
		t.Errorf("status after a new login = %s", s.Status)
	}
	if _, err := e.m.Token(ctx, "github"); err != nil {
		t.Errorf("Token after a new login: %v", err)
	}
}

func TestToken_NeverLoggedInNeedsLogin(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "github", ""))
	_, err := e.m.Token(context.Background(), "github")
	var reauth *ReauthRequired
	if !errors.As(err, &reauth) {
		t.Fatalf("Token = %v, want *ReauthRequired", err)
	}
	if s := e.status(t, "github"); s.Status != StatusNeedsLogin {
		t.Errorf("status = %s, want needs_login", s.Status)
	}
}

func TestLogs_NeverContainSecrets(t *testing.T) {
	e := newEnv(t)
	e.as.addClient("svc", "svc-secret-value")
	e.register(t,
		e.codeClient(t, "github", ""),
		e.codeClient(t, "salesforce", "confidential-secret-value"),
		Client{Name: "svc", ClientID: "svc", ClientSecret: "svc-secret-value", Grant: GrantClientCredentials, TokenURL: e.as.srv.URL + "/token"},
	)
	ctx := context.Background()
	e.login(t, "github")
	e.login(t, "salesforce")
	if _, err := e.m.Token(ctx, "svc"); err != nil {
		t.Fatal(err)
	}
	e.clock.advance(2 * time.Hour)
	for _, name := range []string{"github", "salesforce", "svc"} {
		if _, err := e.m.Token(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	e.as.revokeAll()
	e.clock.advance(2 * time.Hour)
	if _, err := e.m.Token(ctx, "github"); err == nil {
		t.Fatal("revoked token refreshed")
	}

	logs := e.logs.String()
	for _, want := range []string{"oauth connection authorised", "oauth token refreshed", "needs authorisation"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q, so the secrets check proves little:\n%s", want, logs)
		}
	}
	if len(e.as.secrets()) < 10 {
		t.Errorf("only %d secrets issued", len(e.as.secrets()))
	}
	// newEnv's cleanup searches the log for every issued secret.
}

func TestDevice_UserDenies(t *testing.T) {
	e := newEnv(t)
	e.as.addClient("tv", "")
	e.as.deviceScript = []string{"authorization_pending", "access_denied"}
	e.register(t, Client{Name: "tv", ClientID: "tv", Grant: GrantDeviceCode, TokenURL: e.as.srv.URL + "/token", DeviceURL: e.as.srv.URL + "/device"})
	e.m.wait = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }

	err := e.m.Device(context.Background(), "tv", func(string, string) {})

	if err == nil || !strings.Contains(err.Error(), "denied") {
		t.Fatalf("Device = %v, want a denial", err)
	}
	if e.store.saveCount() != 0 {
		t.Error("a token was stored")
	}
}

func TestHandler_LoginForUnknownConnectionIsNotFound(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "github", ""))
	code, _ := get(t, http.DefaultClient, e.hub.URL+"/oauth/nope/login")
	if code != http.StatusNotFound {
		t.Errorf("login for an unknown connection = %d, want 404", code)
	}
}

// A newer login replaces an older one of the same connection: the older
// authorization URL, perhaps handed out or leaked, no longer completes.
func TestLogin_ANewerLoginReplacesTheOlder(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "github", ""))
	older := e.authorize(t, "github")
	newer := e.authorize(t, "github")
	code, body := get(t, http.DefaultClient, older.String())
	if code != http.StatusBadRequest {
		t.Fatalf("the older login's callback = %d %q, want 400", code, body)
	}
	if code, body := get(t, http.DefaultClient, newer.String()); code != http.StatusOK {
		t.Fatalf("the newer login's callback = %d %q", code, body)
	}
	if n := e.store.saveCount(); n != 1 {
		t.Errorf("saves = %d, want 1", n)
	}
}

// Endpoints that would carry secrets in clear over a network are refused;
// plain http to this machine (a local test server) is not.
func TestRegister_RefusesPlainHTTPEndpointsOffThisMachine(t *testing.T) {
	e := newEnv(t)
	c := e.codeClient(t, "github", "")
	c.TokenURL = "http://auth.example.com/token"
	if err := e.m.Register([]Client{c}); err == nil || !strings.Contains(err.Error(), "plain http") {
		t.Fatalf("Register with a plain-http token_url = %v, want an error", err)
	}
	c = e.codeClient(t, "github", "")
	c.AuthURL = "ftp://auth.example.com/authorize"
	if err := e.m.Register([]Client{c}); err == nil {
		t.Fatal("Register with an ftp authorization_url succeeded")
	}
	e.register(t, e.codeClient(t, "github", "")) // the test server is on 127.0.0.1
}
