package engine

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/server"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// ListConnections implements server.Connections.
func (e *Engine) ListConnections(ctx context.Context, tenant string) ([]runs.Connection, error) {
	out := []runs.Connection{}
	rt := e.rt.Load()
	if tenant != e.tenant || rt == nil {
		return out, nil
	}
	for name, c := range rt.conns {
		rc := runs.Connection{Name: name, Connector: c.ref, AuthType: string(schema.AuthNone), State: "ok", Breaker: "closed"}
		if c.auth != nil {
			rc.AuthType = string(c.auth.Type)
		}
		e.authMu.Lock()
		_, loggedIn := e.auth[name]
		e.authMu.Unlock()
		if rc.AuthType == string(schema.AuthSession) && !loggedIn {
			rc.State = "needs_login"
		}
		if rc.AuthType == string(schema.AuthOAuth2) {
			rc.State = "needs_login"
			if e.opts.OAuth != nil {
				rc.State, rc.Reason = e.opts.OAuth.Status(ctx, name)
			}
		}
		e.lanesMu.Lock()
		l, ok := e.lanes[name]
		e.lanesMu.Unlock()
		if ok {
			rc.Breaker = l.brk.State()
			l.hmu.Lock()
			if !l.lastSuccess.IsZero() {
				t := l.lastSuccess.UTC()
				rc.LastSuccess = &t
			}
			if l.lastError != "" {
				t := l.lastErrorAt.UTC()
				rc.LastError, rc.LastErrorAt = l.lastError, &t
				if rc.State == "ok" && (rc.LastSuccess == nil || t.After(*rc.LastSuccess)) {
					rc.State = "failing"
				}
			}
			l.hmu.Unlock()
		}
		if ce, ok := e.credentialError(name); ok {
			// Calls may still succeed with the credentials read before,
			// which is why this is not left to the lane's last error:
			// someone must restore the secret before the old value stops
			// working.
			if rc.State == "ok" || rc.State == "failing" {
				// needs_login and the like say more about what to do.
				rc.State, rc.Reason = "failing", ce.msg
			}
			if rc.LastErrorAt == nil || rc.LastErrorAt.Before(ce.at) {
				t := ce.at.UTC()
				rc.LastError, rc.LastErrorAt = ce.msg, &t
			}
		}
		out = append(out, rc)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Name < out[k].Name })
	return out, nil
}

// TestConnection implements server.Connections with the running
// engine's credentials (a session logs in if it has not yet).
func (e *Engine) TestConnection(ctx context.Context, tenant, name string) (*runs.ConnectionTest, error) {
	rt := e.rt.Load()
	var c *connRT
	if tenant == e.tenant && rt != nil {
		c = rt.conns[name]
	}
	if c == nil {
		return nil, fmt.Errorf("connection %q: %w", name, server.ErrNotFound)
	}
	handle := e.opts.Connector(c.inst)
	start := time.Now()
	conn, err := e.connFor(ctx, rt, c, handle)
	account := ""
	if err == nil {
		account, err = handle.CheckConnection(ctx, conn)
	}
	return TestResult(name, account, err, time.Since(start)), nil
}

// CheckConnection tests connection name of rt without a running engine
// (hub connections test when no hub serve runs): it logs a session in
// first, then asks the connector to check the credentials.
func CheckConnection(ctx context.Context, rt *Runtime, connector func(registry.Installed) wire.Connector, name string) (*runs.ConnectionTest, error) {
	c, ok := rt.conns[name]
	if !ok {
		return nil, fmt.Errorf("connection %q: %w", name, server.ErrNotFound)
	}
	handle := connector(c.inst)
	start := time.Now()
	conn := c.wire
	var err error
	if c.auth != nil && c.auth.Type == schema.AuthSession {
		var creds map[string]string
		if creds, err = rt.sessionCredentials(c.cfg); err == nil {
			var res wire.AuthStepResult
			res, err = handle.AuthStep(ctx, wire.AuthStepRequest{Step: "login", Conn: conn, Credentials: creds})
			if err == nil {
				conn.Auth = res.Auth
				if conn.Auth.Type == "" {
					conn.Auth.Type = schema.AuthSession
				}
			}
		}
	}
	account := ""
	if err == nil {
		account, err = handle.CheckConnection(ctx, conn)
	}
	return TestResult(name, account, err, time.Since(start)), nil
}

// TestResult describes a connection check's outcome in plain words.
func TestResult(name, account string, err error, took time.Duration) *runs.ConnectionTest {
	t := &runs.ConnectionTest{Connection: name, OK: err == nil, Account: account, DurationMS: float64(took.Microseconds()) / 1000}
	if err == nil {
		return t
	}
	k := fault.KindOf(err)
	t.ErrorKind, t.Error = k.String(), err.Error()
	switch k {
	case fault.AuthExpired:
		t.Hint = "the third party refused the credentials (wrong, expired or revoked): check them (hub secrets set) or log in again"
	case fault.Retryable:
		t.Hint = "the third party could not be reached or failed: check its address and status, then test again"
	case fault.RateLimited:
		t.Hint = "the third party is throttling this account: wait and test again"
	case fault.InvalidInput:
		t.Hint = "the connection's settings are not what the connector expects: check its properties and auth block"
	default:
		t.Hint = "the connector refused the connection: read the error above"
	}
	return t
}
