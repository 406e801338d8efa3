package engine

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	"github.com/hubhq/hub/host/poller"
	"github.com/hubhq/hub/host/streamer"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// authState is a connection's credentials obtained at run time: a
// session's login. They live in memory only, so a restart logs in again;
// OAuth tokens are the OAuth provider's (host/oauth, kept encrypted in
// the secret store).
type authState struct {
	auth    wire.Auth
	refresh string
}

// connFor returns the connection as a call needs it, logging a session
// connection in first.
func (e *Engine) connFor(ctx context.Context, rt *Runtime, c *connRT, handle wire.Connector) (wire.Connection, error) {
	conn := c.wire
	if c.auth != nil && c.auth.Type == schema.AuthOAuth2 {
		if e.opts.OAuth == nil {
			return conn, fault.AuthExpiredf("connection %s uses oauth2, and this host has no OAuth provider", c.name)
		}
		tok, err := e.opts.OAuth.Token(ctx, c.name)
		if err != nil {
			if fault.As(err) == nil || fault.KindOf(err) == fault.Permanent {
				return conn, fault.AuthExpiredf("connection %s: %v", c.name, err)
			}
			return conn, err
		}
		conn.Auth = wire.Auth{Type: schema.AuthOAuth2, Token: tok.AccessToken, TokenType: tok.TokenType, Expiry: tok.Expiry}
		return conn, nil
	}
	e.authMu.Lock()
	st, ok := e.auth[c.name]
	e.authMu.Unlock()
	if ok {
		conn.Auth = st.auth
		return conn, nil
	}
	if c.auth != nil && c.auth.Type == schema.AuthSession {
		// One login per connection, however many workers need it.
		lock := e.loginLock(c.name)
		lock.Lock()
		defer lock.Unlock()
		e.authMu.Lock()
		st, ok := e.auth[c.name]
		e.authMu.Unlock()
		if !ok {
			if err := e.refreshAuth(ctx, rt, c, handle); err != nil {
				return conn, err
			}
			e.authMu.Lock()
			st = e.auth[c.name]
			e.authMu.Unlock()
		}
		conn.Auth = st.auth
	}
	return conn, nil
}

// refreshForStream is the streamer's hook for auth_expired.
func (e *Engine) refreshForStream(ctx context.Context, t streamer.Trigger) (wire.Connection, error) {
	return e.refreshForPoll(ctx, poller.Trigger{Tenant: t.Tenant, Workflow: t.Workflow, Name: t.Name, Conn: t.Conn, Config: t.Config, Connector: t.Connector})
}

// cachedConn is the connection with the credentials already obtained,
// never logging in or fetching a token: for routes anyone can call
// (webhook deliveries), which must not make hub log in at a third party.
func (e *Engine) cachedConn(c *connRT) wire.Connection {
	conn := c.wire
	e.authMu.Lock()
	st, ok := e.auth[c.name]
	e.authMu.Unlock()
	if ok {
		conn.Auth = st.auth
	}
	return conn
}

// loginLock returns the mutex that serializes connection name's logins.
func (e *Engine) loginLock(name string) *sync.Mutex {
	e.authMu.Lock()
	defer e.authMu.Unlock()
	m, ok := e.logins[name]
	if !ok {
		m = &sync.Mutex{}
		e.logins[name] = m
	}
	return m
}

// refreshAuth obtains fresh credentials for c through the connector's
// auth step: a new login for a session, a token refresh for OAuth 2.0.
// Other schemes have nothing to refresh.
func (e *Engine) refreshAuth(ctx context.Context, rt *Runtime, c *connRT, handle wire.Connector) error {
	return e.refreshAuthUsed(ctx, rt, c, handle, "")
}

// refreshAuthUsed is refreshAuth knowing the access token a call was
// refused with (OAuth), so a token another worker already replaced is
// not refreshed again.
func (e *Engine) refreshAuthUsed(ctx context.Context, rt *Runtime, c *connRT, handle wire.Connector, used string) error {
	if c.auth == nil {
		return fmt.Errorf("connection %s has no credentials to refresh", c.name)
	}
	req := wire.AuthStepRequest{Conn: c.wire}
	switch c.auth.Type {
	case schema.AuthSession:
		creds, err := rt.sessionCredentials(c.cfg)
		if err != nil {
			return err
		}
		req.Step, req.Credentials = "login", creds
	case schema.AuthOAuth2:
		// The OAuth provider refreshes; used is the token refused.
		req.Step, req.Credentials = "refresh", map[string]string{"access_token": used}
	default:
		return fmt.Errorf("connection %s uses %s auth, which cannot be refreshed", c.name, c.auth.Type)
	}
	ctx, cancel := context.WithTimeout(ctx, e.opts.ActionTimeout)
	defer cancel()
	if req.Step == "refresh" && e.opts.OAuth != nil {
		return e.opts.OAuth.Invalidate(ctx, c.name, req.Credentials["access_token"])
	}
	res, err := handle.AuthStep(ctx, req)
	if err != nil {
		return fmt.Errorf("connection %s: %s: %w", c.name, req.Step, err)
	}
	st := &authState{auth: res.Auth, refresh: res.RefreshToken}
	if st.auth.Type == "" {
		st.auth.Type = c.auth.Type
	}
	e.authMu.Lock()
	if prev, ok := e.auth[c.name]; ok && st.refresh == "" {
		st.refresh = prev.refresh
	}
	e.auth[c.name] = st
	e.authMu.Unlock()
	e.log.Info("credentials refreshed", "connection", c.name, "step", req.Step)
	return nil
}

// refreshAfterExpiry refreshes c's credentials after a call made with
// used was refused as expired, unless another worker already refreshed
// them since: many calls failing together cause one login or refresh.
func (e *Engine) refreshAfterExpiry(ctx context.Context, rt *Runtime, c *connRT, handle wire.Connector, used wire.Auth) error {
	lock := e.loginLock(c.name)
	lock.Lock()
	defer lock.Unlock()
	if c.auth != nil && c.auth.Type == schema.AuthOAuth2 {
		// The provider is single-flight per connection itself.
		lock.Unlock()
		defer lock.Lock()
		return e.refreshAuthUsed(ctx, rt, c, handle, used.Token)
	}
	e.authMu.Lock()
	st, ok := e.auth[c.name]
	e.authMu.Unlock()
	if ok && !reflect.DeepEqual(st.auth, used) {
		return nil
	}
	return e.refreshAuth(ctx, rt, c, handle)
}

// refreshForPoll is the poller's hook for auth_expired.
func (e *Engine) refreshForPoll(ctx context.Context, t poller.Trigger) (wire.Connection, error) {
	rt := e.rt.Load()
	if rt == nil {
		return t.Conn, fmt.Errorf("nothing applied")
	}
	f, ok := rt.flows[t.Workflow]
	if !ok {
		return t.Conn, fmt.Errorf("workflow %s is not applied", t.Workflow)
	}
	c := rt.conns[f.conn]
	// The poll was refused with the credentials it carried: refresh
	// those, once for all the pollers and workers that met them.
	if err := e.refreshAfterExpiry(ctx, rt, c, t.Connector, t.Conn.Auth); err != nil {
		return t.Conn, err
	}
	return e.connFor(ctx, rt, c, t.Connector)
}
