package oauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net/http"
	"time"

	"golang.org/x/oauth2"
)

// attempt is a connection's latest login, by either grant: what Status
// reports as login_pending, then login_failed or the token's state, and
// what WaitLogin waits for. Its fields other than done are guarded by
// Manager.mu.
type attempt struct {
	binding Binding   // the client the login runs for
	expires time.Time // zero while a device flow has not been given its code

	done  chan struct{} // closed by finish
	err   error         // set before done is closed
	ended time.Time     // when it finished
}

func newAttempt(b Binding, expires time.Time) *attempt {
	return &attempt{binding: b, expires: expires, done: make(chan struct{})}
}

// finish completes the attempt at the given time; later calls do
// nothing. The caller holds Manager.mu or owns a exclusively.
func (a *attempt) finish(err error, at time.Time) {
	select {
	case <-a.done:
	default:
		a.err, a.ended = err, at
		close(a.done)
	}
}

// outcome reports the attempt as Status sees it at now: still pending, or
// the error it failed with if that was less than loginTTL ago (long enough
// for the hub connect that started it to notice). The caller holds
// Manager.mu.
func (a *attempt) outcome(now time.Time, expired error) (pending bool, failed error) {
	select {
	case <-a.done:
		if a.err != nil && now.Before(a.ended.Add(loginTTL)) {
			return false, a.err
		}
		return false, nil
	default:
	}
	if a.expires.IsZero() || now.Before(a.expires) {
		return true, nil
	}
	if now.Before(a.expires.Add(loginTTL)) {
		return false, expired
	}
	return false, nil
}

// login is a server-side record of an authorization code login in
// progress, found by its state parameter.
type login struct {
	*attempt
	connection string
	verifier   string // PKCE code verifier
	redirect   string // the redirect_uri sent, which the exchange must repeat
}

// randomState returns 32 random bytes, base64url-encoded.
func randomState() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// StartLogin begins an authorization code login for the connection and
// returns the provider's authorization URL for a person to open. The login
// must reach the callback within 10 minutes. It sends an RFC 7636 S256
// code challenge whatever the client: RFC 9700 §2.1.1 asks for PKCE from
// confidential clients too, as it also stops an injected authorization
// code from being redeemed.
func (m *Manager) StartLogin(connection string) (string, error) {
	rc, cn, err := m.lookup(connection)
	if err != nil {
		return "", err
	}
	if rc.client.Grant != GrantAuthorizationCode {
		return "", fmt.Errorf("oauth connection %q uses the %s grant, which has no browser login", connection, rc.client.Grant)
	}
	state, err := randomState()
	if err != nil {
		return "", fmt.Errorf("oauth connection %q: %w", connection, err)
	}
	l := &login{
		attempt:    newAttempt(rc.client.binding(), m.now().Add(loginTTL)),
		connection: connection,
		verifier:   oauth2.GenerateVerifier(),
		redirect:   rc.redirect,
	}

	m.mu.Lock()
	now := m.now()
	for s, old := range m.logins {
		switch {
		case now.After(old.expires):
			delete(m.logins, s)
			old.finish(errLoginExpired(old.connection), old.expires)
		case old.connection == connection:
			// One login per connection at a time: an older URL, perhaps
			// handed out or leaked, can no longer bind the connection to
			// whoever completes it (RFC 6749 §10.12).
			delete(m.logins, s)
			old.finish(fmt.Errorf("oauth connection %q: a newer login replaced this one", connection), now)
		}
	}
	m.logins[state] = l
	cn.latest = l.attempt
	m.mu.Unlock()

	m.log.Info("oauth login started", "connection", connection, "expires", l.expires)
	// The authorization request carries no client authentication: any
	// style does.
	return rc.client.config(rc.redirect, oauth2.AuthStyleInParams).AuthCodeURL(state, oauth2.S256ChallengeOption(l.verifier)), nil
}

func errLoginExpired(connection string) error {
	return fmt.Errorf("oauth connection %q: the login took longer than %s; start it again", connection, loginTTL)
}

// WaitLogin waits for the connection's latest login (StartLogin, or a
// device flow started by Device) to finish and returns its outcome: nil
// once the token is saved.
func (m *Manager) WaitLogin(ctx context.Context, connection string) error {
	_, cn, err := m.lookup(connection)
	if err != nil {
		return err
	}
	m.mu.Lock()
	a := cn.latest
	var expires time.Time
	if a != nil {
		expires = a.expires
	}
	m.mu.Unlock()
	if a == nil {
		return fmt.Errorf("oauth connection %q: no login started", connection)
	}
	var expired <-chan time.Time
	if !expires.IsZero() {
		timer := time.NewTimer(expires.Sub(m.now()))
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case <-a.done:
		m.mu.Lock()
		defer m.mu.Unlock()
		return a.err
	case <-ctx.Done():
		return fmt.Errorf("oauth connection %q: wait for login: %w", connection, ctx.Err())
	case <-expired:
		return errLoginExpired(connection)
	}
}

// Handler serves GET /oauth/{connection}/login, which redirects to the
// provider, and GET /oauth/{connection}/callback, where the provider sends
// the person back. Mount the login route behind the host's authentication:
// whoever completes it decides which account the connection acts as.
func (m *Manager) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth/{connection}/login", func(w http.ResponseWriter, r *http.Request) {
		u, err := m.StartLogin(r.PathValue("connection"))
		if err != nil {
			code := http.StatusBadRequest
			if errors.Is(err, ErrUnknownConnection) {
				code = http.StatusNotFound
			}
			page(w, code, "Cannot start login", err.Error())
			return
		}
		http.Redirect(w, r, u, http.StatusFound)
	})
	mux.HandleFunc("GET /oauth/{connection}/callback", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("connection")
		if err := m.callback(r.Context(), name, r); err != nil {
			page(w, http.StatusBadRequest, "Login failed", err.Error())
			return
		}
		page(w, http.StatusOK, "Connected", fmt.Sprintf("hub is connected to %s. You can close this window.", name))
	})
	return mux
}

// errInvalidState answers a callback whose state this Manager did not
// issue for that connection, already used, or that expired. It is the same
// for all of them and repeats nothing from the request: anyone can call
// the callback, and the answer must neither tell them which states exist
// nor carry their text.
var errInvalidState = errors.New("this login link is not valid, was already used or has expired; start the login again from hub")

// rejectLogInterval is how often rejected callback states are summarised
// in the log.
const rejectLogInterval = time.Minute

// rejectState counts a callback rejected for its state. The callback is
// public, so rejections are not logged one by one, which would let anyone
// flood the log: the first is logged, then at most one summary a
// rejectLogInterval with how many there were since the last line.
func (m *Manager) rejectState() {
	m.mu.Lock()
	now := m.now()
	m.rejected++
	if !m.rejectLogged.IsZero() && now.Before(m.rejectLogged.Add(rejectLogInterval)) {
		m.mu.Unlock()
		return
	}
	n := m.rejected
	m.rejected, m.rejectLogged = 0, now
	m.mu.Unlock()
	m.log.Warn("oauth callbacks rejected: unknown, used or expired login state", "count", n, "at_most_every", rejectLogInterval)
}

// callback completes a login: it checks the state, exchanges the code and
// saves the token. Every failure leaves the store untouched.
func (m *Manager) callback(ctx context.Context, name string, r *http.Request) error {
	q := r.URL.Query()

	// A state is single use: take it out before looking at anything else,
	// so a replayed callback finds nothing.
	m.mu.Lock()
	l := m.logins[q.Get("state")]
	delete(m.logins, q.Get("state"))
	now := m.now()
	var invalid error
	switch {
	case l == nil:
		invalid = errInvalidState
	case l.connection != name:
		// The state is spent: whoever sent it to the wrong callback had
		// it, so the login it belonged to must not complete either.
		invalid = fmt.Errorf("oauth connection %q: its login state was sent to another connection's callback", l.connection)
	case now.After(l.expires):
		invalid = errLoginExpired(name)
	}
	if invalid != nil && l != nil {
		l.finish(invalid, now)
	}
	m.mu.Unlock()
	if invalid != nil {
		m.rejectState()
		return errInvalidState
	}

	fail := func(err error) error {
		m.mu.Lock()
		l.finish(err, m.now())
		m.mu.Unlock()
		m.log.Warn("oauth login failed", "connection", name, "error", err)
		return err
	}
	// Whatever the callback's query says is anyone's text: made safe
	// and quoted before it reaches the Reason, the log or the page.
	secrets := []string{q.Get("code"), l.verifier}
	if rc, _, err := m.lookup(name); err == nil {
		secrets = append(secrets, rc.client.ClientSecret)
	}
	if e := q.Get("error"); e != "" {
		msg := "the provider refused the login: " + providerText(e, secrets...)
		if d := q.Get("error_description"); d != "" {
			msg += fmt.Sprintf(": %q", providerText(d, secrets...))
		}
		return fail(fmt.Errorf("oauth connection %q: %s", name, msg))
	}
	if q.Get("code") == "" {
		return fail(fmt.Errorf("oauth connection %q: the provider sent no authorization code", name))
	}

	rc, cn, err := m.lookup(name)
	if err != nil {
		return fail(err)
	}
	// The code was issued to the client the login started with; a new
	// client_id or token_url must not receive it (Register ends such
	// logins, this closes the race with it).
	if rc.client.binding() != l.binding {
		return fail(fmt.Errorf("oauth connection %q: its client_id or token_url changed during the login; start it again", name))
	}
	// The exchange repeats the redirect_uri the login sent, as RFC 6749
	// §4.1.3 requires, not whatever the client says now.
	hctx := context.WithValue(ctx, oauth2.HTTPClient, m.http)
	t, err := authenticated(m, &rc.client, func(s oauth2.AuthStyle) (*oauth2.Token, error) {
		return rc.client.config(l.redirect, s).Exchange(hctx, q.Get("code"), oauth2.VerifierOption(l.verifier))
	})
	if err != nil {
		return fail(fmt.Errorf("oauth connection %q: exchange authorization code: %w", name, safeError(err, rc.client.ClientSecret, q.Get("code"), l.verifier)))
	}
	if err := m.connected(ctx, name, cn, t, l.binding); err != nil {
		return fail(err)
	}
	m.mu.Lock()
	l.finish(nil, m.now())
	m.mu.Unlock()
	return nil
}

// page answers a person's browser with a minimal HTML page.
func page(w http.ResponseWriter, code int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	fmt.Fprintf(w, "<!doctype html>\n<title>%s</title>\n<h1>%s</h1>\n<p>%s</p>\n",
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}
