package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/oauth2"
)

// refreshTimeout bounds one token request, however long the caller waits.
const refreshTimeout = 30 * time.Second

// DefaultRefreshSkew is how long before expiry Token refreshes a token when
// Options.RefreshSkew is zero.
const DefaultRefreshSkew = time.Minute

// loginTTL is how long a login started by StartLogin may take to reach the
// callback.
const loginTTL = 10 * time.Minute

// Options are a Manager's dependencies.
type Options struct {
	// Store persists tokens. Required. If it is a BoundStore, the client
	// each token was issued to is kept with it across restarts.
	Store TokenStore
	// HTTPClient calls the providers' endpoints; nil means
	// http.DefaultClient.
	HTTPClient *http.Client
	// BaseURL is the host's public URL, without a trailing slash; a
	// connection's default redirect URL is <BaseURL>/oauth/<name>/callback.
	BaseURL string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives connection names and expiry times, never token
	// values; nil means no logging.
	Logger hclog.Logger
	// RefreshSkew is how long before expiry a token is refreshed; zero
	// means DefaultRefreshSkew.
	RefreshSkew time.Duration
}

// Manager obtains, stores and refreshes the OAuth tokens of a set of
// connections. Its methods are safe for concurrent use.
type Manager struct {
	store   TokenStore
	bound   BoundStore // store, if it keeps bindings; else nil
	http    *http.Client
	baseURL string
	now     func() time.Time
	log     hclog.Logger
	skew    time.Duration
	// wait sleeps between device-flow polls; tests replace it.
	wait func(ctx context.Context, d time.Duration) error

	mu      sync.Mutex
	clients map[string]*registered
	conns   map[string]*conn
	logins  map[string]*login // by state
	// styles are the client authentication styles detected for clients
	// whose TokenEndpointAuthMethod is empty (see authenticated).
	styles map[Binding]oauth2.AuthStyle
	// rejected counts callbacks refused for their state since
	// rejectLogged, when the last summary was logged.
	rejected     int
	rejectLogged time.Time
}

// registered is a validated Client with the redirect URL it uses.
type registered struct {
	client   Client
	redirect string
}

// conn is a connection's mutable state.
type conn struct {
	// sem is held by whoever refreshes, invalidates or saves the
	// connection's token: the single flight. It is a channel so waiters
	// can give up when their context ends.
	sem chan struct{}
	// unsaved is a token the store refused, and the client it was issued
	// to; guarded by sem. It is kept so a rotated refresh token is not
	// lost, and saved again next time.
	unsaved      *oauth2.Token
	unsavedBound Binding

	// Guarded by Manager.mu.
	reauth      string // why a new login is needed; empty if not
	lastRefresh time.Time
	latest      *attempt    // the latest login, by either grant
	device      *deviceFlow // the latest device flow
	// bound is the client the stored token was issued to, as far as this
	// process knows; zero if it has seen no token yet.
	bound Binding
	// registeredAs is the client the connection had when it was first
	// registered: the one a stored token without a binding was most
	// likely issued by. It is fixed then, so that a later Register
	// (hub apply changing token_url) does not change whom such a token
	// is taken to belong to before it is first read.
	registeredAs Binding
}

// New returns a Manager with no connections registered.
func New(opts Options) (*Manager, error) {
	if opts.Store == nil {
		return nil, errors.New("oauth: no token store")
	}
	m := &Manager{
		store:   opts.Store,
		http:    opts.HTTPClient,
		baseURL: strings.TrimSuffix(opts.BaseURL, "/"),
		now:     opts.Now,
		log:     opts.Logger,
		skew:    opts.RefreshSkew,
		wait:    sleep,
		clients: make(map[string]*registered),
		conns:   make(map[string]*conn),
		logins:  make(map[string]*login),
		styles:  make(map[Binding]oauth2.AuthStyle),
	}
	m.bound, _ = opts.Store.(BoundStore)
	if m.http == nil {
		m.http = http.DefaultClient
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = hclog.NewNullLogger()
	}
	if m.skew <= 0 {
		m.skew = DefaultRefreshSkew
	}
	return m, nil
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Register replaces the set of connections, for example after hub apply.
// It checks every client first and changes nothing if any is invalid.
// State kept for a connection that stays registered (re-authorisation
// needed, last refresh) survives; logins in progress for a connection that
// is removed, or whose client_id or token_url changes, fail: the code or
// device code they wait for was issued to the old client.
func (m *Manager) Register(clients []Client) error {
	next, err := m.check(clients)
	if err != nil {
		return err
	}
	return m.install(next)
}

// Check validates clients as Register would, changing nothing: a caller
// that must commit other state first checks, commits, then registers.
func (m *Manager) Check(clients []Client) error {
	_, err := m.check(clients)
	return err
}

func (m *Manager) check(clients []Client) (map[string]*registered, error) {
	next := make(map[string]*registered, len(clients))
	var errs []error
	for _, c := range clients {
		redirect, err := c.validate(m.baseURL)
		if err != nil {
			errs = append(errs, fmt.Errorf("oauth connection %q: %w", c.Name, err))
			continue
		}
		if _, dup := next[c.Name]; dup {
			errs = append(errs, fmt.Errorf("oauth connection %q: registered twice", c.Name))
			continue
		}
		next[c.Name] = &registered{client: c, redirect: redirect}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return next, nil
}

func (m *Manager) install(next map[string]*registered) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	// ended says why a login for the named connection can no longer
	// complete, or nil if it can.
	ended := func(name string, b Binding) error {
		rc, ok := next[name]
		switch {
		case !ok:
			return errRemoved
		case rc.client.binding() != b:
			return errClientChanged
		}
		return nil
	}
	for name, rc := range m.clients {
		if nrc, ok := next[name]; ok && nrc.client.binding() != rc.client.binding() {
			m.log.Warn("oauth connection's client_id or token_url changed: its tokens will not be sent to the new client; log in again", "connection", name)
		}
	}
	m.clients = next
	keep := make(map[Binding]bool, len(next))
	for _, rc := range next {
		keep[rc.client.binding()] = true
	}
	for b := range m.styles {
		if !keep[b] {
			delete(m.styles, b)
		}
	}
	for name, cn := range m.conns {
		if cn.device != nil {
			if err := ended(name, cn.device.binding); err != nil {
				cn.device.cancel(err)
			}
		}
		if _, ok := next[name]; !ok {
			delete(m.conns, name)
		}
	}
	for name, rc := range next {
		if _, ok := m.conns[name]; !ok {
			m.conns[name] = &conn{sem: make(chan struct{}, 1), registeredAs: rc.client.binding()}
		}
	}
	for state, l := range m.logins {
		if err := ended(l.connection, l.binding); err != nil {
			delete(m.logins, state)
			l.finish(fmt.Errorf("oauth connection %q: %w", l.connection, err), now)
		}
	}
	return nil
}

// lookup returns a registered connection and its state.
func (m *Manager) lookup(name string) (*registered, *conn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rc, ok := m.clients[name]
	if !ok {
		return nil, nil, fmt.Errorf("oauth connection %q: %w", name, ErrUnknownConnection)
	}
	return rc, m.conns[name], nil
}

// ErrUnknownConnection is wrapped by errors about a connection that is not
// registered.
var ErrUnknownConnection = errors.New("not a registered oauth connection")

// ReauthRequired is the error returned when a connection cannot get a token
// without a person logging in (again): there is no token, the provider
// revoked the refresh token (invalid_grant), the access token expired and
// there is no refresh token, or the token was issued to a client_id or
// token_url the connection no longer has.
type ReauthRequired struct {
	// Connection is the connection's name.
	Connection string
	// Reason says what happened, for a person; it never holds a token.
	Reason string
}

// Error says which connection needs a login and why.
func (e *ReauthRequired) Error() string {
	return fmt.Sprintf("oauth connection %q needs authorisation: %s; log in again (hub connect %s)", e.Connection, e.Reason, e.Connection)
}

// acquire takes the connection's single-flight slot.
func (c *conn) acquire(ctx context.Context) (release func(), err error) {
	select {
	case c.sem <- struct{}{}:
		return func() { <-c.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Token returns a valid access token for the connection: the stored one if
// it is valid for at least RefreshSkew, otherwise a refreshed one (or, for
// client credentials, a new one). Concurrent callers share one refresh. It
// returns a *ReauthRequired when a person must log in.
func (m *Manager) Token(ctx context.Context, connection string) (*oauth2.Token, error) {
	rc, cn, err := m.lookup(connection)
	if err != nil {
		return nil, err
	}
	release, err := cn.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("oauth connection %q: wait for token: %w", connection, err)
	}
	defer release()
	t, err := m.usable(ctx, rc, cn)
	if err != nil {
		return nil, err
	}
	if t != nil && m.fresh(t) {
		return t, nil
	}
	return m.renew(ctx, rc, cn, t)
}

// Invalidate tells the Manager a provider rejected usedAccessToken as
// expired. If it is still the stored token, it is refreshed (single-flight,
// as in Token); if another caller already replaced it, nothing happens.
func (m *Manager) Invalidate(ctx context.Context, connection, usedAccessToken string) error {
	rc, cn, err := m.lookup(connection)
	if err != nil {
		return err
	}
	release, err := cn.acquire(ctx)
	if err != nil {
		return fmt.Errorf("oauth connection %q: wait to invalidate: %w", connection, err)
	}
	defer release()
	t, err := m.usable(ctx, rc, cn)
	if err != nil {
		return err
	}
	if t == nil || t.AccessToken != usedAccessToken {
		m.log.Debug("oauth token already replaced, not refreshing", "connection", connection)
		return nil
	}
	m.log.Info("oauth token rejected by provider, refreshing", "connection", connection, "expiry", t.Expiry)
	_, err = m.renew(ctx, rc, cn, t)
	return err
}

// current returns the connection's token and the client it was issued
// to: a token the store refused last time (saved now), else the stored
// one. It returns nil when there is none. The caller holds cn.sem.
func (m *Manager) current(ctx context.Context, rc *registered, cn *conn) (*oauth2.Token, Binding, error) {
	name := rc.client.Name
	if cn.unsaved != nil {
		if err := m.save(ctx, cn, name, cn.unsaved, cn.unsavedBound); err != nil {
			return nil, Binding{}, fmt.Errorf("oauth connection %q: save token: %w", name, err)
		}
		t, b := cn.unsaved, cn.unsavedBound
		cn.unsaved, cn.unsavedBound = nil, Binding{}
		return clone(t), b, nil
	}
	return m.load(ctx, rc, cn)
}

// usable is current without a token issued to another client than the
// connection's: for client credentials it is as if there were none (a new
// one needs no person); otherwise it is a *ReauthRequired, so that neither
// the access token nor the refresh token reaches the new client or its
// token endpoint. The caller holds cn.sem.
func (m *Manager) usable(ctx context.Context, rc *registered, cn *conn) (*oauth2.Token, error) {
	t, b, err := m.current(ctx, rc, cn)
	if err != nil || t == nil {
		return nil, err
	}
	if why := stale(rc, b); why != "" {
		if rc.client.Grant == GrantClientCredentials {
			return nil, nil
		}
		return nil, &ReauthRequired{Connection: rc.client.Name, Reason: why}
	}
	return t, nil
}

// stale says why a token issued to b must not be used by the connection's
// client, or returns "" if it may.
func stale(rc *registered, b Binding) string {
	cur := rc.client.binding()
	switch {
	case b.ClientID != cur.ClientID:
		return "its client_id changed since the token was issued, and the old client's tokens are not sent to the new one"
	case b.TokenURL != cur.TokenURL:
		return "its token_url changed since the token was issued, and the old endpoint's tokens are not sent to the new one"
	}
	return ""
}

// load reads the connection's token and the client it was issued to. A
// token whose record has no binding (a plain TokenStore, or a record
// saved before hub kept them) is bound to what this process knows of it,
// and failing that to the client the connection had when it was first
// registered, not the current one: the best guess for a token hub kept
// before, and a client changed by hub apply before the token was first
// read is noticed like any later change.
func (m *Manager) load(ctx context.Context, rc *registered, cn *conn) (*oauth2.Token, Binding, error) {
	name := rc.client.Name
	var (
		t   *oauth2.Token
		b   Binding
		err error
	)
	if m.bound != nil {
		t, b, err = m.bound.LoadBound(ctx, name)
	} else {
		t, err = m.store.Load(ctx, name)
	}
	if err != nil {
		return nil, Binding{}, fmt.Errorf("oauth connection %q: load token: %w", name, err)
	}
	if t == nil {
		return nil, Binding{}, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if b == (Binding{}) {
		b = cn.bound
	}
	if b == (Binding{}) {
		b = cn.registeredAs
	}
	cn.bound = b
	return t, b, nil
}

// save stores the connection's token with the client it was issued to,
// in one write if the store keeps bindings.
func (m *Manager) save(ctx context.Context, cn *conn, name string, t *oauth2.Token, b Binding) error {
	var err error
	if m.bound != nil {
		err = m.bound.SaveBound(ctx, name, t, b)
	} else {
		err = m.store.Save(ctx, name, t)
	}
	if err != nil {
		return err
	}
	m.mu.Lock()
	cn.bound = b
	m.mu.Unlock()
	return nil
}

// fresh reports whether t is usable for at least the refresh skew. A token
// without an expiry is fresh until a provider rejects it (Invalidate).
func (m *Manager) fresh(t *oauth2.Token) bool {
	if t.AccessToken == "" {
		return false
	}
	return t.Expiry.IsZero() || m.now().Add(m.skew).Before(t.Expiry)
}

// renew replaces old (which may be nil) by refreshing it, or for client
// credentials by fetching a new token, and saves the result. The caller
// holds cn.sem.
func (m *Manager) renew(ctx context.Context, rc *registered, cn *conn, old *oauth2.Token) (*oauth2.Token, error) {
	name := rc.client.Name
	m.mu.Lock()
	reason := cn.reauth
	m.mu.Unlock()
	if reason != "" {
		return nil, &ReauthRequired{Connection: name, Reason: reason}
	}

	// The exchange runs to its end even if the caller stops waiting: a
	// provider that rotates the refresh token invalidates the old one
	// when it answers, so an answer dropped half way would lose the
	// connection's grant (RFC 9700 §4.14). It is bounded on its own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, m.http)
	var (
		t   *oauth2.Token
		err error
	)
	switch {
	case rc.client.Grant == GrantClientCredentials:
		t, err = authenticated(m, &rc.client, func(s oauth2.AuthStyle) (*oauth2.Token, error) {
			return rc.client.credentials(s).Token(ctx)
		})
	case old == nil:
		return nil, &ReauthRequired{Connection: name, Reason: "not connected"}
	case old.RefreshToken == "":
		return nil, m.needReauth(cn, name, "the access token expired and the provider issued no refresh token")
	default:
		// An empty access token makes the source refresh at once instead
		// of trusting old's expiry by its own clock.
		t, err = authenticated(m, &rc.client, func(s oauth2.AuthStyle) (*oauth2.Token, error) {
			return rc.client.config(rc.redirect, s).TokenSource(ctx, &oauth2.Token{RefreshToken: old.RefreshToken}).Token()
		})
	}
	if err != nil {
		// Some providers echo the refresh token they refuse.
		secrets := []string{rc.client.ClientSecret}
		if old != nil {
			secrets = append(secrets, old.RefreshToken, old.AccessToken)
		}
		err = safeError(err, secrets...)
		var pe *ProviderError
		if errors.As(err, &pe) && pe.Code == "invalid_grant" && rc.client.Grant != GrantClientCredentials {
			return nil, m.needReauth(cn, name, "the provider rejected the refresh token"+describeProvider(pe))
		}
		m.log.Warn("oauth token refresh failed", "connection", name, "error", err)
		return nil, fmt.Errorf("oauth connection %q: refresh token: %w", name, err)
	}
	prev := ""
	if old != nil {
		prev = old.RefreshToken
	}
	t = m.normalize(t, prev)

	// Persist, then hand out: a rotating provider has already invalidated
	// the old refresh token, so the new one must be durable before anyone
	// uses the new access token. If the store fails, keep the token in
	// memory and save it on the next call rather than lose it.
	if err := m.save(ctx, cn, name, t, rc.client.binding()); err != nil {
		cn.unsaved, cn.unsavedBound = t, rc.client.binding()
		m.log.Error("oauth token refreshed but not saved", "connection", name, "error", err)
		return nil, fmt.Errorf("oauth connection %q: save refreshed token: %w", name, err)
	}
	m.mu.Lock()
	cn.lastRefresh = m.now()
	m.mu.Unlock()
	m.log.Info("oauth token refreshed", "connection", name, "expiry", t.Expiry)
	return clone(t), nil
}

// needReauth records that the connection needs a login and returns the
// error saying so.
func (m *Manager) needReauth(cn *conn, name, reason string) error {
	m.mu.Lock()
	cn.reauth = reason
	m.mu.Unlock()
	m.log.Warn("oauth connection needs authorisation", "connection", name, "reason", reason)
	return &ReauthRequired{Connection: name, Reason: reason}
}

// connected saves a token obtained by a login (authorization code or device
// grant) from the client b and clears any need for re-authorisation.
func (m *Manager) connected(ctx context.Context, name string, cn *conn, t *oauth2.Token, b Binding) error {
	release, err := cn.acquire(ctx)
	if err != nil {
		return fmt.Errorf("oauth connection %q: wait to save token: %w", name, err)
	}
	defer release()
	t = m.normalize(t, "")
	if err := m.save(ctx, cn, name, t, b); err != nil {
		return fmt.Errorf("oauth connection %q: save token: %w", name, err)
	}
	cn.unsaved, cn.unsavedBound = nil, Binding{}
	m.mu.Lock()
	cn.reauth = ""
	cn.lastRefresh = m.now()
	m.mu.Unlock()
	m.log.Info("oauth connection authorised", "connection", name, "expiry", t.Expiry, "refreshable", t.RefreshToken != "")
	return nil
}

// normalize keeps only the fields hub stores, keeps the previous refresh
// token when the provider did not rotate it, and bases the expiry on the
// Manager's clock (x/oauth2 computes it from the wall clock).
func (m *Manager) normalize(t *oauth2.Token, prevRefresh string) *oauth2.Token {
	n := &oauth2.Token{
		AccessToken:  t.AccessToken,
		TokenType:    t.TokenType,
		RefreshToken: t.RefreshToken,
	}
	if n.RefreshToken == "" {
		n.RefreshToken = prevRefresh
	}
	switch {
	case t.ExpiresIn > 0:
		n.Expiry = m.now().Add(time.Duration(t.ExpiresIn) * time.Second)
	case !t.Expiry.IsZero():
		n.Expiry = m.now().Add(time.Until(t.Expiry))
	}
	return n
}

// clone copies a token so callers cannot change what the Manager holds.
func clone(t *oauth2.Token) *oauth2.Token {
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, RefreshToken: t.RefreshToken, Expiry: t.Expiry}
}

// Status is a connection's authorisation state.
type Status string

// The states a connection can be in.
const (
	// StatusConnected: a token is stored (or, for client credentials, can
	// be fetched without a person).
	StatusConnected Status = "connected"
	// StatusNeedsLogin: no token has been obtained yet.
	StatusNeedsLogin Status = "needs_login"
	// StatusNeedsReauth: the provider revoked the refresh token, the token
	// expired without one, or the connection's client_id or token_url
	// changed since it was issued; a person must log in again.
	StatusNeedsReauth Status = "needs_reauth"
	// StatusLoginPending: a login (StartLogin or Device) is waiting for a
	// person. A token stored before it is still used meanwhile.
	StatusLoginPending Status = "login_pending"
	// StatusLoginFailed: the latest login ended without a token less than
	// ten minutes ago (denied, expired, refused by the provider, replaced
	// or its client changed); Reason says why. A token stored before it
	// is still used. After ten minutes the state is the token's again
	// (connected, needs_reauth or needs_login).
	StatusLoginFailed Status = "login_failed"
)

// State describes a connection for status pages and hub connect.
type State struct {
	Connection string
	Grant      string
	Status     Status
	// Reason says why StatusNeedsReauth or StatusLoginFailed.
	Reason string
	// Expiry of the stored access token; zero if none or unknown.
	Expiry time.Time
	// LastRefresh is when this process last obtained a token for the
	// connection (login, refresh or client credentials); zero if never.
	LastRefresh time.Time
}

// Status reports a connection's state. It reads the store, hence the
// context.
//
// A login in progress shows as StatusLoginPending from the moment
// StartLogin returns or Device shows its code, until it ends: whoever
// started it can poll Status and know that StatusConnected afterwards is
// that login's doing, not an older token's.
//
// It returns an error when the stored token cannot be read, unless a
// login is pending or just failed: that login's outcome is what its
// starter waits for, and a login that succeeds replaces the record.
func (m *Manager) Status(ctx context.Context, connection string) (State, error) {
	rc, cn, err := m.lookup(connection)
	if err != nil {
		return State{}, err
	}
	t, b, loadErr := m.load(ctx, rc, cn)
	m.mu.Lock()
	s := State{Connection: connection, Grant: rc.client.Grant, Reason: cn.reauth, LastRefresh: cn.lastRefresh}
	var (
		pending bool
		failed  error
	)
	if cn.latest != nil {
		pending, failed = cn.latest.outcome(m.now(), errLoginExpired(connection))
	}
	m.mu.Unlock()
	if loadErr != nil && !pending && failed == nil {
		return State{}, loadErr
	}
	if t != nil {
		s.Expiry = t.Expiry
	}
	switch {
	case pending:
		s.Status = StatusLoginPending
	case failed != nil:
		// Before needs_reauth: whoever started the login polls for its
		// outcome, and a connection that needed a login still does.
		s.Status, s.Reason = StatusLoginFailed, failed.Error()
	case s.Reason != "":
		s.Status = StatusNeedsReauth
	case t != nil && rc.client.Grant != GrantClientCredentials && stale(rc, b) != "":
		s.Status, s.Reason = StatusNeedsReauth, stale(rc, b)
	case t != nil || rc.client.Grant == GrantClientCredentials:
		s.Status = StatusConnected
	default:
		s.Status = StatusNeedsLogin
	}
	return s, nil
}

// safeError rewrites a token or device endpoint error without the
// response body, which x/oauth2 includes and which a misbehaving provider
// could fill with anything, and with the error code and description made
// safe by providerText, secrets (those the request carried) redacted.
// Both answers of a request sent twice (see authenticated) are rewritten.
func safeError(err error, secrets ...string) error {
	if r, ok := err.(*retriedError); ok {
		return &retriedError{basic: safeError(r.basic, secrets...), body: safeError(r.body, secrets...)}
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	return &ProviderError{Code: providerText(re.ErrorCode, secrets...), Description: providerText(re.ErrorDescription, secrets...), HTTPStatus: httpStatus(re)}
}

func httpStatus(re *oauth2.RetrieveError) int {
	if re.Response == nil {
		return 0
	}
	return re.Response.StatusCode
}

// describeProvider formats a provider's error, made safe by safeError,
// for a reason string; the description is quoted as the provider's words.
func describeProvider(pe *ProviderError) string {
	if pe.Description == "" {
		return " (" + pe.Code + ")"
	}
	return fmt.Sprintf(" (%s: %q)", pe.Code, pe.Description)
}

// ProviderError is an error answer from a provider's token or device
// endpoint (RFC 6749 §5.2), without the response body. Code and
// Description hold only the characters RFC 6749 §5.2 allows, at most 200,
// with any secret the request carried replaced by [redacted].
type ProviderError struct {
	// Code is the RFC 6749 error code, such as invalid_client; empty if
	// the provider sent none.
	Code        string
	Description string
	HTTPStatus  int
}

// Error reports the code, description and HTTP status.
func (e *ProviderError) Error() string {
	code := e.Code
	if code == "" {
		code = "no error code"
	}
	s := "provider answered " + code
	if e.Description != "" {
		s += fmt.Sprintf(": %q", e.Description)
	}
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.HTTPStatus)
	}
	return s
}
