package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/hubhq/hub/host/config"
	"github.com/hubhq/hub/sdk/schema"
)

// A connection's basic, digest, api_key and bearer credentials and its
// properties are resolved when a runtime is compiled, so every call does
// not read the secret store. Mappings and session credentials evaluate
// secret() at each use and need none of what follows. When the store
// changes, ReloadCredentials resolves the connections that read secrets
// again and swaps in a runtime with the new values, the way Apply swaps
// in a new workspace: calls that started finish with what they had.

// CredentialReload says what ReloadCredentials found.
type CredentialReload struct {
	// Runtime is the runtime running afterwards; nil when nothing is
	// applied.
	Runtime *Runtime
	// Changed lists, sorted, the connections whose credentials or
	// properties changed: new calls, polls and streams use the new ones.
	Changed []string
	// OAuth lists the oauth2 connections among Changed: their client
	// (client_id, client_secret, ...) must be registered again with the
	// OAuth provider (Runtime.OAuthConnections has the new values).
	OAuth []string
	// Failed gives, by connection, why its secrets could not be read.
	// Such a connection keeps the credentials it had.
	Failed map[string]error
	// Triggers lists, sorted, the workflows whose trigger config reads a
	// secret that changed: a poll or stream trigger restarts with the
	// new config, a webhook trigger verifies deliveries with it at once.
	Triggers []string
	// FailedTriggers gives, by workflow, why its trigger config could not
	// be evaluated again; the trigger keeps the config it had.
	FailedTriggers map[string]error
}

// credError is why a connection's credentials could not be read again
// after the secret store changed, for its status.
type credError struct {
	msg string
	at  time.Time
}

// ReloadCredentials resolves again, with the secrets as they are now,
// every applied connection whose auth block or properties call secret(),
// and makes the changed ones the running ones: new action calls and
// connection tests use them at once, and the poll and stream triggers of
// a changed connection restart with it (after their poll in flight), as
// on Apply. A changed session connection's session ends: its next call
// logs in with the new credentials. Steps already running finish with the credentials they
// started with. A connection whose secrets cannot be read any more (a
// secret deleted) keeps its credentials; the error, which names the
// secret and never a value, is logged once and shown in the connection's
// status until a reload or an apply reads them again.
//
// ctx bounds the connector calls of the swap (webhook subscriptions of
// changed triggers, schemas): a host that stops cancels it rather than
// wait for them. Once Stopping was called a reload does nothing.
//
// The caller re-registers the OAuth clients of CredentialReload.OAuth.
func (e *Engine) ReloadCredentials(ctx context.Context) CredentialReload {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	rt := e.rt.Load()
	res := CredentialReload{Runtime: rt, Failed: map[string]error{}, FailedTriggers: map[string]error{}}
	if rt == nil || e.closed.Load() || e.stopping.Load() || ctx.Err() != nil {
		return res
	}
	next, changed, failed := rt.reresolve()
	next, res.Triggers, res.FailedTriggers = next.reconfigure()
	res.Failed = failed
	e.noteCredentialErrors(rt, failed)
	e.noteTriggerErrors(rt, res.FailedTriggers)
	if len(changed) == 0 && len(res.Triggers) == 0 {
		return res
	}
	var sessions []string
	for _, name := range changed {
		c := next.conns[name]
		switch {
		case c.auth != nil && c.auth.Type == schema.AuthOAuth2:
			res.OAuth = append(res.OAuth, name)
		case c.auth != nil && c.auth.Type == schema.AuthSession:
			sessions = append(sessions, name)
		}
	}
	res.Runtime, res.Changed = next, changed
	e.apply(ctx, next)
	// A session logged in with the old credentials would go on being
	// used until it expires: end it, so the next call logs in with the
	// new ones (a password changed because the old one leaked must stop
	// being what hub's calls rest on).
	e.endSessions(sessions)
	if len(changed) > 0 {
		e.log.Info("connection credentials changed in the secret store; new calls use them", "connections", changed, "sessions_ended", sessions)
	}
	if len(res.Triggers) > 0 {
		e.log.Info("trigger configs changed in the secret store; the triggers use them now", "workflows", res.Triggers)
	}
	return res
}

// endSessions forgets the sessions held for connections names: the next
// call of each logs in again.
func (e *Engine) endSessions(names []string) {
	e.authMu.Lock()
	defer e.authMu.Unlock()
	for _, name := range names {
		delete(e.auth, name)
	}
}

// reresolve returns rt with the connections that read secrets resolved
// again: the runtime (rt itself when nothing changed), the connections
// that changed, and those whose secrets could not be read, which keep
// what they had.
func (rt *Runtime) reresolve() (*Runtime, []string, map[string]error) {
	var changed []string
	failed := map[string]error{}
	fresh := map[string]*connRT{}
	for name, c := range rt.conns {
		if !c.readsSecrets {
			continue
		}
		// One evaluation gives both the values and their digest: see
		// resolvedConn.
		rc, err := rt.resolveConn(c.cfg, rt.tenant)
		if err == nil {
			err = rc.digestErr
		}
		if err != nil {
			failed[name] = err
			continue
		}
		if rc.digest == c.digest {
			continue
		}
		nc := *c
		nc.wire, nc.digest = rc.wire, rc.digest
		fresh[name] = &nc
		changed = append(changed, name)
	}
	if len(changed) == 0 {
		return rt, nil, failed
	}
	sort.Strings(changed)
	next := *rt
	next.conns = maps.Clone(rt.conns)
	maps.Copy(next.conns, fresh)
	return &next, changed, failed
}

// reconfigure returns rt with the trigger configs that call secret()
// evaluated again: the runtime (rt itself when none changed), the
// workflows whose config changed, and those whose config could not be
// evaluated, which keep the config they had.
func (rt *Runtime) reconfigure() (*Runtime, []string, map[string]error) {
	var changed []string
	failed := map[string]error{}
	fresh := map[string]*flowRT{}
	for name, f := range rt.flows {
		if !f.configReadsSecrets {
			continue
		}
		raw, err := rt.evalJSON(f.w.Trigger.Config.Expr, cty.NilVal, nil)
		if err != nil {
			failed[name] = fmt.Errorf("workflow %s: trigger config: %w", name, err)
			continue
		}
		if bytes.Equal(raw, f.config) {
			continue
		}
		nf := *f
		nf.config = raw
		fresh[name] = &nf
		changed = append(changed, name)
	}
	if len(changed) == 0 {
		return rt, nil, failed
	}
	sort.Strings(changed)
	next := *rt
	next.flows = maps.Clone(rt.flows)
	maps.Copy(next.flows, fresh)
	return &next, changed, failed
}

// connDigest is a hash of a connection's properties and the values of
// every attribute of its auth block (names sorted), secrets included:
// whatever its type (an oauth2 client_secret, a session's credentials),
// not only those a call carries. An attribute that could not be
// evaluated (errs) makes it an error. The hash stays in memory; it is
// compared, never shown.
func connDigest(conn string, props json.RawMessage, names []string, vals map[string]cty.Value, errs map[string]error) (string, error) {
	h := sha256.New()
	h.Write(props)
	h.Write([]byte{0})
	for _, name := range names {
		if err := errs[name]; err != nil {
			return "", err
		}
		b, err := toJSON(vals[name])
		if err != nil {
			return "", fmt.Errorf("connection %s: auth %s: %w", conn, name, err)
		}
		h.Write([]byte(name))
		h.Write([]byte{0})
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// secretsRead reports whether c's auth block or properties call secret(),
// and the names of the secrets they read that are written as literals (a
// name computed from a variable is read, but not named).
func secretsRead(c *config.Connection) (names []string, reads bool) {
	var exprs []hcl.Expression
	if c.Properties != nil {
		exprs = append(exprs, c.Properties.Expr)
	}
	if c.Auth != nil {
		for _, a := range c.Auth.Attributes {
			exprs = append(exprs, a.Expr)
		}
	}
	return exprSecrets(exprs...)
}

// exprSecrets reports whether exprs call secret(), and the names of the
// secrets they read that are written as literals.
func exprSecrets(exprs ...hcl.Expression) (names []string, reads bool) {
	for _, expr := range exprs {
		se, ok := expr.(hclsyntax.Expression)
		if !ok {
			// Not native syntax (JSON): assume it may.
			reads = true
			continue
		}
		_ = hclsyntax.VisitAll(se, func(n hclsyntax.Node) hcl.Diagnostics {
			call, ok := n.(*hclsyntax.FunctionCallExpr)
			if !ok || call.Name != "secret" {
				return nil
			}
			reads = true
			if len(call.Args) == 1 {
				if v, diags := call.Args[0].Value(nil); !diags.HasErrors() && v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
					if name := v.AsString(); !slices.Contains(names, name) {
						names = append(names, name)
					}
				}
			}
			return nil
		})
	}
	slices.Sort(names)
	return names, reads
}

// noteCredentialErrors records and logs, once per distinct error, the
// connections of rt whose credentials failed to resolve again, and
// forgets the errors of those that resolved.
func (e *Engine) noteCredentialErrors(rt *Runtime, failed map[string]error) {
	now := time.Now()
	e.credMu.Lock()
	defer e.credMu.Unlock()
	for name, c := range rt.conns {
		err, bad := failed[name]
		prev, had := e.credErrs[name]
		switch {
		case bad:
			msg := fmt.Sprintf("the secret store changed and the credentials cannot be read (calls go on with those read before): %v", err)
			if had && prev.msg == msg {
				continue
			}
			e.credErrs[name] = credError{msg: msg, at: now}
			e.log.Error("cannot read a connection's credentials after the secret store changed; it keeps the ones it had", "connection", name, "secrets", c.secrets, "error", err)
		case had:
			delete(e.credErrs, name)
			e.log.Info("a connection's credentials can be read again", "connection", name)
		}
	}
}

// noteTriggerErrors records and logs, once per distinct error, the
// workflows of rt whose trigger config failed to evaluate again, and
// forgets the errors of those that evaluated; the trigger's status shows
// the error meanwhile.
func (e *Engine) noteTriggerErrors(rt *Runtime, failed map[string]error) {
	e.credMu.Lock()
	defer e.credMu.Unlock()
	for name, f := range rt.flows {
		err, bad := failed[name]
		prev, had := e.trigErrs[name]
		switch {
		case bad:
			msg := fmt.Sprintf("the secret store changed and the trigger config cannot be evaluated (the trigger goes on with the config it had): %v", err)
			if had && prev == msg {
				continue
			}
			e.trigErrs[name] = msg
			e.health.failed(name, errors.New(msg))
			e.log.Error("cannot evaluate a trigger config after the secret store changed; it keeps the one it had", "workflow", name, "secrets", f.configSecrets, "error", err)
		case had:
			delete(e.trigErrs, name)
			e.log.Info("a trigger config can be evaluated again", "workflow", name)
		}
	}
}

// clearCredentialErrors forgets the credential errors of the connections
// rt compiled in full (its digest could be made), and of those it no
// longer has: a new apply read their secrets afresh.
func (e *Engine) clearCredentialErrors(rt *Runtime) {
	e.credMu.Lock()
	defer e.credMu.Unlock()
	for name := range e.credErrs {
		if c, ok := rt.conns[name]; !ok || !c.readsSecrets || c.digest != "" {
			delete(e.credErrs, name)
		}
	}
	// A compiled runtime evaluated every trigger config.
	clear(e.trigErrs)
}

// Runtime is the runtime running now; nil when nothing is applied.
func (e *Engine) Runtime() *Runtime { return e.rt.Load() }

// SetOAuthPending records the oauth2 connections whose client, as the
// running runtime has it, could not be registered with the OAuth
// provider (the connector's schema could not be read, a setting is
// invalid), and why; it replaces the set recorded before. Each shows as
// failing with the reason in its status until it is registered. The
// caller (host/deploy) retries them.
func (e *Engine) SetOAuthPending(pending map[string]error) {
	now := time.Now()
	e.credMu.Lock()
	defer e.credMu.Unlock()
	for name := range e.oauthErrs {
		if _, ok := pending[name]; !ok {
			delete(e.oauthErrs, name)
		}
	}
	for name, err := range pending {
		msg := fmt.Sprintf("the oauth2 client could not be registered with its current settings (it keeps those it had, and is tried again): %v", err)
		if prev, ok := e.oauthErrs[name]; ok && prev.msg == msg {
			continue
		}
		e.oauthErrs[name] = credError{msg: msg, at: now}
	}
}

// credentialError is connection name's credential error, if any: its
// secrets cannot be read, or its OAuth client could not be registered.
func (e *Engine) credentialError(name string) (credError, bool) {
	e.credMu.Lock()
	defer e.credMu.Unlock()
	if ce, ok := e.credErrs[name]; ok {
		return ce, true
	}
	ce, ok := e.oauthErrs[name]
	return ce, ok
}
