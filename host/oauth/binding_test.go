package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// plainStore is a TokenStore that keeps no bindings, as stores written
// before BoundStore.
type plainStore struct{ m *MemoryStore }

func (s plainStore) Load(ctx context.Context, c string) (*oauth2.Token, error) {
	return s.m.Load(ctx, c)
}

func (s plainStore) Save(ctx context.Context, c string, t *oauth2.Token) error {
	return s.m.Save(ctx, c, t)
}

func wantReauth(t *testing.T, err error, reason string) {
	t.Helper()
	var re *ReauthRequired
	if !errors.As(err, &re) || !strings.Contains(re.Reason, reason) {
		t.Fatalf("err = %v, want ReauthRequired about %q", err, reason)
	}
}

// A token is bound to the client that obtained it: after client_id
// changes, neither the (still fresh) access token nor the refresh token is
// used, and a new login fixes it.
func TestToken_ClientIDChangeNeedsReauthAndSendsNoToken(t *testing.T) {
	e := newEnv(t)
	c := e.codeClient(t, "github", "")
	e.register(t, c)
	e.login(t, "github")
	if _, b, _ := e.store.LoadBound(context.Background(), "github"); b != (Binding{ClientID: "github-id", TokenURL: c.TokenURL}) {
		t.Fatalf("stored binding = %+v", b)
	}

	e.as.addClient("github-new-id", "", e.callback("github"))
	c.ClientID = "github-new-id"
	e.register(t, c)

	_, err := e.m.Token(context.Background(), "github")
	wantReauth(t, err, "client_id changed")
	e.clock.advance(2 * time.Hour)
	_, err = e.m.Token(context.Background(), "github")
	wantReauth(t, err, "client_id changed")
	if n := e.as.count("refresh_token"); n != 0 {
		t.Errorf("refresh requests = %d, want none to the new client", n)
	}
	if s := e.status(t, "github"); s.Status != StatusNeedsReauth || !strings.Contains(s.Reason, "client_id changed") {
		t.Errorf("status = %+v, want needs_reauth with the reason", s)
	}

	e.login(t, "github")
	if _, err := e.m.Token(context.Background(), "github"); err != nil {
		t.Fatalf("Token after a new login: %v", err)
	}
	if s := e.status(t, "github"); s.Status != StatusConnected {
		t.Errorf("status after a new login = %s", s.Status)
	}
}

func TestToken_TokenURLChangeNeedsReauthAndSendsNoRefreshToken(t *testing.T) {
	e := newEnv(t)
	c := e.codeClient(t, "github", "")
	e.register(t, c)
	e.login(t, "github")
	c.TokenURL = e.as.srv.URL + "/token?tenant=other"
	e.register(t, c)
	e.clock.advance(2 * time.Hour)

	_, err := e.m.Token(context.Background(), "github")

	wantReauth(t, err, "token_url changed")
	if n := e.as.count("refresh_token"); n != 0 {
		t.Errorf("refresh requests = %d, want none", n)
	}
	if err := e.m.Invalidate(context.Background(), "github", "anything"); err == nil {
		t.Error("Invalidate with a stale token succeeded")
	}
}

// Client credentials need no person: a token of the old client is simply
// replaced by one of the new.
func TestToken_ClientCredentialsOfAChangedClientAreFetchedAgain(t *testing.T) {
	e := newEnv(t)
	e.as.addClient("svc", "svc-secret-value")
	e.as.addClient("svc2", "svc2-secret-value")
	c := Client{Name: "svc", ClientID: "svc", ClientSecret: "svc-secret-value", Grant: GrantClientCredentials, TokenURL: e.as.srv.URL + "/token"}
	e.register(t, c)
	first, err := e.m.Token(context.Background(), "svc")
	if err != nil {
		t.Fatal(err)
	}
	c.ClientID, c.ClientSecret = "svc2", "svc2-secret-value"
	e.register(t, c)

	second, err := e.m.Token(context.Background(), "svc")

	if err != nil {
		t.Fatal(err)
	}
	if second.AccessToken == first.AccessToken || e.as.count("client_credentials") != 2 {
		t.Error("the old client's token was reused")
	}
}

// A record saved without a binding (before hub kept them) is read and
// taken as the current client's; from then on a change is noticed.
func TestToken_RecordWithoutBindingIsAdopted(t *testing.T) {
	e := newEnv(t)
	c := e.codeClient(t, "github", "")
	e.register(t, c)
	old := &oauth2.Token{AccessToken: "legacy-at", TokenType: "Bearer", Expiry: e.clock.now().Add(time.Hour)}
	if err := e.store.MemoryStore.Save(context.Background(), "github", old); err != nil {
		t.Fatal(err)
	}
	got, err := e.m.Token(context.Background(), "github")
	if err != nil || got.AccessToken != "legacy-at" {
		t.Fatalf("Token = %v, %v; want the legacy token", got, err)
	}
	c.ClientID = "github-new-id"
	e.register(t, c)
	_, err = e.m.Token(context.Background(), "github")
	wantReauth(t, err, "client_id changed")
}

// With a store that keeps no bindings, the Manager still notices a change
// of client for tokens it obtained itself.
func TestToken_PlainStoreStillNoticesAClientChange(t *testing.T) {
	e := newEnv(t)
	m, err := New(Options{Store: plainStore{NewMemoryStore()}, BaseURL: e.hub.URL, Now: e.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	c := e.codeClient(t, "github", "")
	e.register(t, c)
	// The env's hub serves the env's own Manager: hand the provider's
	// redirect to m's handler directly.
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, e.authorize(t, "github").String(), nil))
	if w.Code != http.StatusOK {
		t.Fatalf("callback = %d %s", w.Code, w.Body)
	}
	if _, err := m.Token(context.Background(), "github"); err != nil {
		t.Fatal(err)
	}
	c.ClientID = "github-new-id"
	e.register(t, c)
	_, err = m.Token(context.Background(), "github")
	wantReauth(t, err, "client_id changed")
}

// A login started before the client changed cannot complete: its code
// would go to the new client's token endpoint.
func TestRegister_ClientChangeEndsPendingLogin(t *testing.T) {
	e := newEnv(t)
	c := e.codeClient(t, "github", "")
	e.register(t, c)
	issued := e.authorize(t, "github")
	c.TokenURL = e.as.srv.URL + "/token?tenant=other"
	e.register(t, c)

	code, _ := get(t, http.DefaultClient, issued.String())

	if code != http.StatusBadRequest {
		t.Errorf("callback = %d, want 400", code)
	}
	if n := e.as.count("authorization_code"); n != 0 {
		t.Errorf("code exchanges = %d, want none", n)
	}
	if s := e.status(t, "github"); s.Status != StatusLoginFailed || !strings.Contains(s.Reason, "changed") {
		t.Errorf("status = %+v, want login_failed because the client changed", s)
	}
}

// A record without a binding is taken as issued to the client the
// connection had when it was first registered: hub apply changing
// token_url before the token is first read does not send the old refresh
// token to the new endpoint.
func TestToken_RecordWithoutBindingBelongsToTheClientFirstRegistered(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	old := &oauth2.Token{AccessToken: "legacy-at", RefreshToken: "legacy-rt", Expiry: e.clock.now().Add(-time.Hour)}
	if err := e.store.MemoryStore.Save(ctx, "github", old); err != nil {
		t.Fatal(err)
	}
	c := e.codeClient(t, "github", "")
	e.register(t, c)
	moved := newAuthServer(t)
	c.TokenURL = moved.srv.URL + "/token"
	e.register(t, c)

	_, err := e.m.Token(ctx, "github")

	wantReauth(t, err, "token_url changed")
	if n := moved.count("refresh_token"); n != 0 {
		t.Errorf("the new token endpoint got %d refresh requests, want none", n)
	}
	if s := e.status(t, "github"); s.Status != StatusNeedsReauth {
		t.Errorf("status = %s, want needs_reauth", s.Status)
	}
}
