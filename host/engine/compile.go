package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/hubhq/hub/host/config"
	"github.com/hubhq/hub/host/lockfile"
	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/host/server"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// Runtime is an applied workspace made ready to run: connections with
// their locked connector and resolved credentials, workflows with their
// expressions. A Runtime never changes; applying a new workspace, or a
// secret change that reaches a connection's credentials
// (Engine.ReloadCredentials), swaps it whole, so a step that started
// under one finishes under it.
type Runtime struct {
	ws     *config.Workspace
	rc     *config.RunContext
	env    string
	tenant string
	conns  map[string]*connRT
	flows  map[string]*flowRT
	// installed is every connector binary in the plugin directory, so a
	// run started on a version the lock no longer names can finish on it.
	installed map[string]registry.Installed // by ref
}

type connRT struct {
	name string
	inst registry.Installed
	// ref is "<source>@<version>".
	ref  string
	auth *config.Auth
	wire wire.Connection
	cfg  *config.Connection
	// readsSecrets: the auth block or the properties call secret(), so
	// the connection is resolved again when the secret store changes
	// (see reload.go); secrets are the names written as literals.
	readsSecrets bool
	secrets      []string
	// digest identifies the values of the auth block's attributes and
	// the properties, secrets included; "" when they could not all be
	// evaluated. A connection whose digest changes is swapped in anew.
	digest string
}

type flowRT struct {
	name     string
	w        *config.Workflow
	conn     string // the trigger's connection
	trigger  string
	mode     schema.Mode
	interval time.Duration
	config   json.RawMessage
	// configReadsSecrets: the trigger's config calls secret(), so it is
	// evaluated again when the secret store changes (see reload.go);
	// configSecrets are the names written as literals.
	configReadsSecrets bool
	configSecrets      []string
	when               hcl.Expression // nil: every event
	whenRefs           eventRefs
	// stepRefs is what the steps' inputs and conditions read of the event.
	stepRefs eventRefs
	steps    []*stepRT
}

type stepRT struct {
	index  int
	s      *config.Step
	policy retryPolicy
}

// Compile prepares ws, locked by lock, to run. installed is the plugin
// directory's content; secret resolves secret() in credentials and
// mappings.
//
// modes gives, by workflow, the mode of triggers written without one (the
// applied state records it, resolved from the connector's schema).
func Compile(ws *config.Workspace, lock *lockfile.Lock, installed []registry.Installed, modes map[string]schema.Mode, secret config.SecretFunc, tenant string) (*Runtime, error) {
	return compileRuntime(ws, lock, installed, modes, secret, tenant, false)
}

// CompileConnection prepares only connection name of ws (hub connections
// test without a running host): other connections and the workflows are
// not compiled, so their problems do not stand in the way.
func CompileConnection(ws *config.Workspace, lock *lockfile.Lock, installed []registry.Installed, secret config.SecretFunc, tenant, name string) (*Runtime, error) {
	c, ok := ws.Connection(name)
	if !ok {
		return nil, fmt.Errorf("connection %q: %w", name, server.ErrNotFound)
	}
	one := *ws
	one.Connections = []*config.Connection{c}
	one.Workflows = nil
	return compileRuntime(&one, lock, installed, nil, secret, tenant, true)
}

func compileRuntime(ws *config.Workspace, lock *lockfile.Lock, installed []registry.Installed, modes map[string]schema.Mode, secret config.SecretFunc, tenant string, connsOnly bool) (*Runtime, error) {
	rc, err := ws.NewRunContext(secret)
	if err != nil {
		return nil, err
	}
	rt := &Runtime{ws: ws, rc: rc, env: ws.Environment, tenant: tenant, conns: map[string]*connRT{}, flows: map[string]*flowRT{}, installed: map[string]registry.Installed{}}
	for _, inst := range installed {
		rt.installed[refOf(inst)] = inst
	}
	for _, c := range ws.Connections {
		inst, err := lock.Installed(c.Connector, installed)
		if err != nil {
			return nil, fmt.Errorf("connection %s: %w", c.Name, err)
		}
		ref := refOf(inst)
		rt.installed[ref] = inst // carries the lock's checksum
		cr := &connRT{name: c.Name, inst: inst, ref: ref, auth: c.Auth, cfg: c}
		rc, err := rt.resolveConn(c, tenant)
		if err != nil {
			return nil, err
		}
		cr.wire = rc.wire
		cr.secrets, cr.readsSecrets = secretsRead(c)
		if cr.readsSecrets {
			// An oauth2 client_secret or a session's credentials that
			// cannot be read yet leave the digest empty: once they can
			// be, the connection counts as changed.
			cr.digest = rc.digest
		}
		rt.conns[c.Name] = cr
	}
	if connsOnly {
		return rt, nil
	}
	for _, w := range ws.Workflows {
		if w.Trigger == nil {
			return nil, fmt.Errorf("workflow %s has no trigger", w.Name)
		}
		f := &flowRT{name: w.Name, w: w, conn: w.Trigger.Connection, trigger: w.Trigger.Name, mode: w.Trigger.Mode}
		if _, ok := rt.conns[f.conn]; !ok {
			return nil, fmt.Errorf("workflow %s: trigger connection %q is not defined", w.Name, f.conn)
		}
		if f.mode == "" {
			f.mode = modes[w.Name]
			if f.mode == "" {
				return nil, fmt.Errorf("workflow %s: trigger %s has no mode; set mode", w.Name, f.trigger)
			}
		}
		f.interval = w.Trigger.Interval
		if w.Trigger.Config != nil {
			raw, err := rt.evalJSON(w.Trigger.Config.Expr, cty.NilVal, nil)
			if err != nil {
				return nil, fmt.Errorf("workflow %s: trigger config: %w", w.Name, err)
			}
			f.config = raw
			f.configSecrets, f.configReadsSecrets = exprSecrets(w.Trigger.Config.Expr)
		}
		if w.Trigger.When != nil {
			f.when = w.Trigger.When.Expr
			f.whenRefs = refsOf(f.when)
		}
		var exprs []hcl.Expression
		for _, s := range w.Steps {
			if s.Input != nil {
				exprs = append(exprs, s.Input.Expr)
			}
			if s.When != nil {
				exprs = append(exprs, s.When.Expr)
			}
		}
		f.stepRefs = refsOf(exprs...)
		for i, s := range w.Steps {
			if _, ok := rt.conns[s.Connection]; !ok {
				return nil, fmt.Errorf("workflow %s, step %s: connection %q is not defined", w.Name, s.Name, s.Connection)
			}
			f.steps = append(f.steps, &stepRT{index: i, s: s, policy: policyOf(s.Retry)})
		}
		rt.flows[w.Name] = f
	}
	return rt, nil
}

func refOf(inst registry.Installed) string {
	return inst.Source + "@" + inst.Version.String()
}

// resolvedConn is a connection's auth block and properties evaluated
// once, secrets included: what a call carries, and the digest of those
// same values. Both come from one evaluation, so a secret changed while a
// connection is resolved cannot leave the old value in wire with the new
// one's digest (a later reload would then see no change and never swap
// the new value in).
type resolvedConn struct {
	wire wire.Connection
	// digest identifies the values of every auth attribute and the
	// properties (see connDigest); "" with digestErr set when an
	// attribute no call carries (an oauth2 client_secret, a session's
	// credentials) could not be evaluated.
	digest    string
	digestErr error
}

// resolveConn evaluates c's credentials and properties, with secrets,
// into what a connector call carries, and digests them. Every attribute
// is evaluated once.
func (rt *Runtime) resolveConn(c *config.Connection, tenant string) (resolvedConn, error) {
	wc := wire.Connection{Name: c.Name, Environment: rt.env, Tenant: tenant, Env: map[string]string{}}
	for k, v := range c.Env {
		if v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
			wc.Env[k] = v.AsString()
		}
	}
	if c.Properties != nil {
		raw, err := rt.evalJSON(c.Properties.Expr, cty.NilVal, nil)
		if err != nil {
			return resolvedConn{wire: wc}, fmt.Errorf("connection %s: properties: %w", c.Name, err)
		}
		wc.Properties = raw
	}
	var names []string
	vals := map[string]cty.Value{}
	errs := map[string]error{}
	if c.Auth != nil {
		for name, at := range c.Auth.Attributes {
			names = append(names, name)
			v, diags := rt.rc.Eval(at.Expr, cty.NilVal, nil)
			if diags.HasErrors() {
				errs[name] = fmt.Errorf("connection %s: auth %s: %s", c.Name, name, rt.diagText(diags))
				continue
			}
			v, _ = v.UnmarkDeep()
			vals[name] = v
		}
		slices.Sort(names)
	}
	res := resolvedConn{wire: wc}
	res.digest, res.digestErr = connDigest(c.Name, wc.Properties, names, vals, errs)
	if c.Auth == nil {
		res.wire.Auth = wire.Auth{Type: schema.AuthNone}
		return res, nil
	}
	a := wire.Auth{Type: c.Auth.Type}
	str := func(name string) (string, error) {
		if err := errs[name]; err != nil {
			return "", err
		}
		v, ok := vals[name]
		if !ok {
			return "", nil
		}
		if v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
			return "", fmt.Errorf("connection %s: auth %s: want a string", c.Name, name)
		}
		return v.AsString(), nil
	}
	var err error
	get := func(name string, into *string) {
		if err == nil {
			*into, err = str(name)
		}
	}
	switch c.Auth.Type {
	case schema.AuthBasic, schema.AuthDigest:
		get("username", &a.Username)
		get("password", &a.Password)
	case schema.AuthAPIKey:
		get("key", &a.APIKey)
	case schema.AuthBearer:
		get("token", &a.Token)
	case schema.AuthSession:
		// A session login happens at run time through the connector's
		// auth step; its credentials are read then.
	case schema.AuthOAuth2:
		// The access token comes from the engine's OAuth provider for
		// each call (Options.OAuth).
	}
	if err != nil {
		return res, err
	}
	res.wire.Auth = a
	return res, nil
}

// sessionCredentials evaluates a session connection's credentials object
// into the strings a login step takes.
func (rt *Runtime) sessionCredentials(c *config.Connection) (map[string]string, error) {
	out := map[string]string{}
	if c.Auth == nil {
		return out, nil
	}
	at, ok := c.Auth.Attributes["credentials"]
	if !ok {
		return out, nil
	}
	v, diags := rt.rc.Eval(at.Expr, cty.NilVal, nil)
	if diags.HasErrors() {
		return nil, fmt.Errorf("connection %s: auth credentials: %s", c.Name, rt.diagText(diags))
	}
	v, _ = v.UnmarkDeep()
	if v.IsNull() || !v.IsKnown() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		return nil, fmt.Errorf("connection %s: auth credentials: want an object of strings", c.Name)
	}
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		if ev.IsNull() || ev.Type() != cty.String {
			return nil, fmt.Errorf("connection %s: auth credentials.%s: want a string", c.Name, k.AsString())
		}
		out[k.AsString()] = ev.AsString()
	}
	return out, nil
}

// evalJSON evaluates expr to JSON.
func (rt *Runtime) evalJSON(expr hcl.Expression, event cty.Value, outputs map[string]cty.Value) (json.RawMessage, error) {
	v, diags := rt.rc.Eval(expr, event, outputs)
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s", rt.diagText(diags))
	}
	return toJSON(v)
}

func toJSON(v cty.Value) (json.RawMessage, error) {
	v, _ = v.UnmarkDeep()
	if !v.IsWhollyKnown() {
		return nil, fmt.Errorf("the value is not known")
	}
	b, err := encodeJSON(v)
	if err != nil {
		return nil, fmt.Errorf("encode as JSON: %w", err)
	}
	return b, nil
}

// fromJSON turns a stored JSON document into a cty value for mappings.
func fromJSON(raw json.RawMessage) (cty.Value, error) {
	if len(raw) == 0 {
		return cty.NullVal(cty.DynamicPseudoType), nil
	}
	return decodeJSON(raw)
}

// redactedJSON is v as JSON for the run history, with every sensitive
// part replaced by "(sensitive)". It works on the JSON, not the cty
// value: replacing a number in a list with a string is not a valid list.
func redactedJSON(v cty.Value) json.RawMessage {
	unmarked, pvm := v.UnmarkDeepWithPaths()
	b, err := toJSON(unmarked)
	if err != nil {
		return nil
	}
	var paths []cty.Path
	for _, pm := range pvm {
		if _, ok := pm.Marks[config.Sensitive]; ok {
			paths = append(paths, pm.Path)
		}
	}
	if len(paths) == 0 {
		return b
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return json.RawMessage(`"(sensitive)"`)
	}
	for _, p := range paths {
		doc = redactPath(doc, unmarked, p)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return json.RawMessage(`"(sensitive)"`)
	}
	return out
}

// redactPath replaces the value at p in doc (v decoded from JSON) with
// the redaction marker and returns doc.
func redactPath(doc any, v cty.Value, p cty.Path) any {
	if len(p) == 0 || v.IsNull() || !v.IsKnown() {
		return "(sensitive)"
	}
	ty := v.Type()
	switch step := p[0].(type) {
	case cty.GetAttrStep:
		m, ok := doc.(map[string]any)
		if !ok || !ty.IsObjectType() || !ty.HasAttribute(step.Name) {
			return "(sensitive)"
		}
		m[step.Name] = redactPath(m[step.Name], v.GetAttr(step.Name), p[1:])
	case cty.IndexStep:
		switch {
		case ty.IsMapType() && step.Key.Type() == cty.String:
			m, ok := doc.(map[string]any)
			k := step.Key.AsString()
			if !ok || !v.HasIndex(step.Key).True() {
				return "(sensitive)"
			}
			m[k] = redactPath(m[k], v.Index(step.Key), p[1:])
		case (ty.IsListType() || ty.IsTupleType()) && step.Key.Type() == cty.Number:
			l, ok := doc.([]any)
			i, _ := step.Key.AsBigFloat().Int64()
			if !ok || i < 0 || int(i) >= len(l) {
				return "(sensitive)"
			}
			l[i] = redactPath(l[i], v.Index(step.Key), p[1:])
		default:
			// A set's elements have no position: hide the whole set.
			return "(sensitive)"
		}
	default:
		return "(sensitive)"
	}
	return doc
}

// diagText is diags' errors with positions relative to the workspace
// (the applied source is loaded from a scratch directory).
func (rt *Runtime) diagText(diags hcl.Diagnostics) string {
	dir := ""
	if rt != nil && rt.ws != nil && rt.ws.Dir != "" {
		dir = rt.ws.Dir + string(filepath.Separator)
	}
	return diagTextIn(diags, dir)
}

func diagTextIn(diags hcl.Diagnostics, dir string) string {
	var parts []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		s := d.Summary
		if d.Detail != "" {
			s += ": " + d.Detail
		}
		if d.Subject != nil {
			s = fmt.Sprintf("%s:%d:%d: %s", strings.TrimPrefix(d.Subject.Filename, dir), d.Subject.Start.Line, d.Subject.Start.Column, s)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// retryPolicy is a step's retry block with defaults applied.
type retryPolicy struct {
	attempts    int
	exponential bool
	initial     time.Duration
	max         time.Duration
}

func policyOf(r *config.Retry) retryPolicy {
	p := retryPolicy{attempts: config.DefaultRetryAttempts, exponential: true, initial: config.DefaultRetryInitial, max: config.DefaultRetryMax}
	if r == nil {
		return p
	}
	if r.Attempts > 0 {
		p.attempts = r.Attempts
	}
	p.exponential = r.Backoff != config.BackoffConstant
	if r.Initial > 0 {
		p.initial = r.Initial
	}
	if r.Max > 0 {
		p.max = r.Max
	}
	return p
}

// eventRefs is what an expression reads of the event: the top-level
// keys, or the whole event. Converting a large JSON payload to cty is
// the costliest part of routing, so only what is read is converted.
type eventRefs struct {
	whole bool
	keys  map[string]bool
}

// refsOf collects what exprs read of the event.
func refsOf(exprs ...hcl.Expression) eventRefs {
	r := eventRefs{keys: map[string]bool{}}
	for _, expr := range exprs {
		if expr == nil {
			continue
		}
		for _, tr := range expr.Variables() {
			if tr.RootName() != "event" {
				continue
			}
			if len(tr) < 2 {
				r.whole = true
				continue
			}
			switch step := tr[1].(type) {
			case hcl.TraverseAttr:
				r.keys[step.Name] = true
			case hcl.TraverseIndex:
				if step.Key.Type() == cty.String {
					r.keys[step.Key.AsString()] = true
				} else {
					r.whole = true
				}
			default:
				r.whole = true
			}
		}
	}
	return r
}

// value converts what r reads of payload, a JSON document, to cty: the
// whole document, or an object of the keys read (a key the event lacks
// is left out, so reading it is an error as it would be on the whole).
func (r eventRefs) value(payload json.RawMessage) (cty.Value, error) {
	if r.whole {
		return fromJSON(payload)
	}
	if len(r.keys) == 0 {
		return cty.EmptyObjectVal, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(payload, &top); err != nil {
		// Not an object: only the whole value can be read.
		return fromJSON(payload)
	}
	attrs := make(map[string]cty.Value, len(r.keys))
	for k := range r.keys {
		raw, ok := top[k]
		if !ok {
			continue
		}
		v, err := fromJSON(raw)
		if err != nil {
			return cty.NilVal, err
		}
		attrs[k] = v
	}
	return cty.ObjectVal(attrs), nil
}

// OAuthConn is an oauth2 connection's settings as written, evaluated
// (secrets resolved), for the OAuth provider to register.
type OAuthConn struct {
	Name      string
	Connector registry.Installed
	// Attrs are the auth block's string attributes: client_id,
	// client_secret, grant, authorization_url, token_url,
	// device_authorization_url, redirect_uri,
	// token_endpoint_auth_method.
	Attrs            map[string]string
	Scopes           []string
	AllowedRedirects []string
}

// OAuthConnections lists rt's oauth2 connections with their settings;
// an error if any connection's settings cannot be evaluated.
func (rt *Runtime) OAuthConnections() ([]OAuthConn, error) {
	out, failed := rt.OAuthConnectionsEach()
	if len(failed) == 0 {
		return out, nil
	}
	names := make([]string, 0, len(failed))
	for name := range failed {
		names = append(names, name)
	}
	slices.Sort(names)
	errs := make([]error, len(names))
	for i, name := range names {
		errs[i] = failed[name]
	}
	return nil, errors.Join(errs...)
}

// OAuthConnectionsEach lists, sorted, rt's oauth2 connections whose
// settings could be evaluated, and gives by connection why the others
// could not (a secret not set): one broken connection does not keep the
// others from being registered.
func (rt *Runtime) OAuthConnectionsEach() ([]OAuthConn, map[string]error) {
	var out []OAuthConn
	failed := map[string]error{}
conns:
	for name, c := range rt.conns {
		if c.auth == nil || c.auth.Type != schema.AuthOAuth2 {
			continue
		}
		oc := OAuthConn{Name: name, Connector: c.inst, Attrs: map[string]string{}}
		for attr, a := range c.auth.Attributes {
			v, diags := rt.rc.Eval(a.Expr, cty.NilVal, nil)
			if diags.HasErrors() {
				failed[name] = fmt.Errorf("connection %s: auth %s: %s", name, attr, rt.diagText(diags))
				continue conns
			}
			v, _ = v.UnmarkDeep()
			if v.IsNull() || !v.IsWhollyKnown() {
				continue
			}
			switch {
			case v.Type() == cty.String:
				oc.Attrs[attr] = v.AsString()
			case v.Type().IsListType() || v.Type().IsTupleType() || v.Type().IsSetType():
				var list []string
				for it := v.ElementIterator(); it.Next(); {
					_, ev := it.Element()
					if ev.Type() == cty.String && !ev.IsNull() {
						list = append(list, ev.AsString())
					}
				}
				switch attr {
				case "scopes":
					oc.Scopes = list
				case "allowed_redirects":
					oc.AllowedRedirects = list
				}
			}
		}
		out = append(out, oc)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Name < out[k].Name })
	return out, failed
}
