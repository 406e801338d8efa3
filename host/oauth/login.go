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

// login is a server-side record of an authorization code login in
// progress, found by its state parameter.
type login struct {
	connection string
	verifier   string // PKCE code verifier; empty without PKCE
	redirect   string // the redirect_uri sent, which the exchange must repeat
	expires    time.Time

	done chan struct{} // closed by finish
	err  error         // set before done is closed
}

// finish completes the login for WaitLogin; later calls do nothing. The
// caller holds Manager.mu or owns l exclusively.
func (l *login) finish(err error) {
	select {
	case <-l.done:
	default:
		l.err = err
		close(l.done)
	}
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
// must reach the callback within 10 minutes.
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
	l := &login{connection: connection, redirect: rc.redirect, expires: m.now().Add(loginTTL), done: make(chan struct{})}
	var opts []oauth2.AuthCodeOption
	if rc.client.usesPKCE() {
		l.verifier = oauth2.GenerateVerifier()
		opts = append(opts, oauth2.S256ChallengeOption(l.verifier))
	}

	m.mu.Lock()
	now := m.now()
	for s, old := range m.logins {
		switch {
		case now.After(old.expires):
			delete(m.logins, s)
			old.finish(errLoginExpired(old.connection))
		case old.connection == connection:
			// One login per connection at a time: an older URL, perhaps
			// handed out or leaked, can no longer bind the connection to
			// whoever completes it (RFC 6749 §10.12).
			delete(m.logins, s)
			old.finish(fmt.Errorf("oauth connection %q: a newer login replaced this one", connection))
		}
	}
	m.logins[state] = l
	cn.lastLogin = l
	m.mu.Unlock()

	m.log.Info("oauth login started", "connection", connection, "pkce", l.verifier != "", "expires", l.expires)
	return rc.client.config(rc.redirect).AuthCodeURL(state, opts...), nil
}

func errLoginExpired(connection string) error {
	return fmt.Errorf("oauth connection %q: the login took longer than %s; start it again", connection, loginTTL)
}

// WaitLogin waits for the connection's latest login (see StartLogin) to
// reach the callback and returns its outcome: nil once the token is saved.
func (m *Manager) WaitLogin(ctx context.Context, connection string) error {
	_, cn, err := m.lookup(connection)
	if err != nil {
		return err
	}
	m.mu.Lock()
	l := cn.lastLogin
	m.mu.Unlock()
	if l == nil {
		return fmt.Errorf("oauth connection %q: no login started", connection)
	}
	timer := time.NewTimer(l.expires.Sub(m.now()))
	defer timer.Stop()
	select {
	case <-l.done:
		return l.err
	case <-ctx.Done():
		return fmt.Errorf("oauth connection %q: wait for login: %w", connection, ctx.Err())
	case <-timer.C:
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

// callback completes a login: it checks the state, exchanges the code and
// saves the token. Every failure leaves the store untouched.
func (m *Manager) callback(ctx context.Context, name string, r *http.Request) error {
	q := r.URL.Query()

	// A state is single use: take it out before looking at anything else,
	// so a replayed callback finds nothing.
	m.mu.Lock()
	l := m.logins[q.Get("state")]
	delete(m.logins, q.Get("state"))
	m.mu.Unlock()

	fail := func(err error) error {
		if l != nil {
			m.mu.Lock()
			l.finish(err)
			m.mu.Unlock()
		}
		m.log.Warn("oauth login failed", "connection", name, "error", err)
		return err
	}
	if e := q.Get("error"); e != "" {
		msg := "the provider refused the login: " + e
		if d := q.Get("error_description"); d != "" {
			msg += ": " + d
		}
		if l != nil && l.connection != name {
			l = nil // not this connection's login to end
		}
		return fail(fmt.Errorf("oauth connection %q: %s", name, msg))
	}
	switch {
	case l == nil:
		return fail(fmt.Errorf("oauth connection %q: unknown or already used login state; start the login again", name))
	case l.connection != name:
		return fail(fmt.Errorf("oauth connection %q: the login state belongs to another connection", name))
	case m.now().After(l.expires):
		return fail(errLoginExpired(name))
	case q.Get("code") == "":
		return fail(fmt.Errorf("oauth connection %q: the provider sent no authorization code", name))
	}

	rc, cn, err := m.lookup(name)
	if err != nil {
		return fail(err)
	}
	var opts []oauth2.AuthCodeOption
	if l.verifier != "" {
		opts = append(opts, oauth2.VerifierOption(l.verifier))
	}
	// The exchange repeats the redirect_uri the login sent, as RFC 6749
	// §4.1.3 requires, not whatever the client says now.
	cfg := rc.client.config(l.redirect)
	t, err := cfg.Exchange(context.WithValue(ctx, oauth2.HTTPClient, m.http), q.Get("code"), opts...)
	if err != nil {
		return fail(fmt.Errorf("oauth connection %q: exchange authorization code: %w", name, safeError(err)))
	}
	if err := m.connected(ctx, name, cn, t); err != nil {
		return fail(err)
	}
	m.mu.Lock()
	l.finish(nil)
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
