package oauth

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Anyone can call the public callback: forged states are answered with
// one generic page and summarised in the log at most once a minute, not
// logged one by one.
func TestCallback_ForgedStatesAreSummarisedNotLoggedEach(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "github", ""))
	forge := func(i int) (int, string) {
		q := url.Values{"state": {"forged-" + strings.Repeat("x", i%3)}, "code": {"c"}, "error": {"<b>injected</b>"}}
		return get(t, http.DefaultClient, e.callback("github")+"?"+q.Encode())
	}
	for i := range 50 {
		code, body := forge(i)
		if code != http.StatusBadRequest || !strings.Contains(body, "not valid, was already used or has expired") || strings.Contains(body, "injected") || strings.Contains(body, "forged") {
			t.Fatalf("forged callback = %d %q, want a generic 400", code, body)
		}
	}
	if n := strings.Count(e.logs.String(), "oauth callbacks rejected"); n != 1 {
		t.Fatalf("log lines about rejected callbacks = %d, want 1:\n%s", n, e.logs.String())
	}
	if strings.Contains(e.logs.String(), "oauth login failed") {
		t.Errorf("forged callbacks were logged one by one:\n%s", e.logs.String())
	}

	e.clock.advance(rejectLogInterval)
	forge(0)

	logs := e.logs.String()
	if n := strings.Count(logs, "oauth callbacks rejected"); n != 2 || !strings.Contains(logs, "count=50") {
		t.Errorf("after a minute: want a second summary counting the 50 since the first:\n%s", logs)
	}
}

// hub connect on a connection that already has a token must not take the
// old token for the new login's success: the connection is login_pending
// until the new login ends, while the old token keeps working.
func TestStatus_ReconnectIsPendingUntilTheNewLoginEnds(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "github", ""))
	e.login(t, "github")
	old := e.stored(t, "github")

	issued := e.authorize(t, "github")

	if s := e.status(t, "github"); s.Status != StatusLoginPending {
		t.Fatalf("status with a login pending = %s, want login_pending", s.Status)
	}
	if tok, err := e.m.Token(context.Background(), "github"); err != nil || tok.AccessToken != old.AccessToken {
		t.Errorf("Token while a login is pending = %v, %v; want the old token", tok, err)
	}
	if code, body := get(t, http.DefaultClient, issued.String()); code != http.StatusOK {
		t.Fatalf("callback = %d %s", code, body)
	}
	if s := e.status(t, "github"); s.Status != StatusConnected {
		t.Errorf("status after the login = %s, want connected", s.Status)
	}

	// A login that fails shows as login_failed for a while, even though
	// the earlier token is still there, then the token's state again.
	issued = e.authorize(t, "github")
	q := url.Values{"state": {issued.Query().Get("state")}, "error": {"access_denied"}}
	get(t, http.DefaultClient, e.callback("github")+"?"+q.Encode())
	if s := e.status(t, "github"); s.Status != StatusLoginFailed || !strings.Contains(s.Reason, "access_denied") {
		t.Errorf("status after a refused login = %+v, want login_failed", s)
	}
	e.clock.advance(loginTTL)
	if s := e.status(t, "github"); s.Status != StatusConnected {
		t.Errorf("status %s after the failure, want connected", s.Status)
	}
}

// A login nobody completes is login_failed once it expires.
func TestStatus_ExpiredLoginIsFailed(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "github", ""))
	if _, err := e.m.StartLogin("github"); err != nil {
		t.Fatal(err)
	}
	e.clock.advance(loginTTL + time.Second)
	if s := e.status(t, "github"); s.Status != StatusLoginFailed || !strings.Contains(s.Reason, "longer than") {
		t.Errorf("status = %+v, want login_failed because it expired", s)
	}
}

// A failed login shows as login_failed even when the connection also needs
// re-authorisation, so that hub connect sees its login's outcome; then the
// connection needs re-authorisation again.
func TestStatus_FailedLoginOutranksNeedsReauth(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "github", ""))
	e.login(t, "github")
	e.as.revokeAll()
	e.clock.advance(2 * time.Hour)
	if _, err := e.m.Token(context.Background(), "github"); err == nil {
		t.Fatal("revoked token refreshed")
	}
	issued := e.authorize(t, "github")
	q := url.Values{"state": {issued.Query().Get("state")}, "error": {"access_denied"}}
	get(t, http.DefaultClient, e.callback("github")+"?"+q.Encode())

	if s := e.status(t, "github"); s.Status != StatusLoginFailed {
		t.Errorf("status after the failed login = %s, want login_failed", s.Status)
	}
	e.clock.advance(loginTTL)
	if s := e.status(t, "github"); s.Status != StatusNeedsReauth {
		t.Errorf("status later = %s, want needs_reauth", s.Status)
	}
}
