// Package deploy turns an applied workspace source into the engine's
// runtime: at start from what the store records, and on hub apply
// against a running host, where it refuses anything that does not load,
// validate and compile before it changes the store or the engine. When
// the secret store changes it has the engine re-read the connections'
// secrets and registers changed OAuth clients again (ReloadSecrets).
//
// The package must not serve HTTP or decide about runs; it reads the
// plugin directory, asks connectors for their schemas and hands the
// compiled runtime to the engine.
package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/hubhq/hub/host/config"
	"github.com/hubhq/hub/host/engine"
	"github.com/hubhq/hub/host/lockfile"
	"github.com/hubhq/hub/host/oauth"
	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/host/server"
	"github.com/hubhq/hub/host/state"
	"github.com/hubhq/hub/host/store"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// Options configure a Deployer.
type Options struct {
	Store  *store.Store
	Engine *engine.Engine
	// Connector returns the handle of an installed connector version.
	Connector func(registry.Installed) wire.Connector
	PluginDir string
	// Getenv backs env() and HUB_VAR_* when a source is loaded.
	Getenv  func(string) string
	Secrets config.SecretFunc
	Tenant  string
	Logger  hclog.Logger
	// OAuth, when set, gets the oauth2 connections of every runtime
	// compiled, before the engine runs it.
	OAuth *oauth.Manager
	// Sealer seals the -var values and var files of the applied source
	// in Store (secrets.Store.Sealer); without one they are stored in the
	// clear.
	Sealer state.Sealer
	// OAuthRetry is how often WatchSecrets tries again to register the
	// OAuth clients that could not be (default a minute).
	OAuthRetry time.Duration
}

// Deployer loads and applies workspace sources for one engine. It
// implements server.Deployer.
type Deployer struct {
	opts Options
	mu   sync.Mutex // one apply or reload at a time; guards what follows

	// registered is the OAuth client each oauth2 connection is
	// registered with now; pending, the connections whose client as the
	// running runtime has it could not be registered, and why.
	registered map[string]oauth.Client
	pending    map[string]error
}

// New returns a Deployer.
func New(opts Options) *Deployer {
	if opts.Tenant == "" {
		opts.Tenant = store.DefaultTenant
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	if opts.OAuthRetry <= 0 {
		opts.OAuthRetry = time.Minute
	}
	return &Deployer{opts: opts, registered: map[string]oauth.Client{}, pending: map[string]error{}}
}

// SetOAuth sets Options.OAuth; call it before Applied.
func (d *Deployer) SetOAuth(m *oauth.Manager) { d.opts.OAuth = m }

// Applied compiles the applied source recorded in the store; nil when
// nothing has been applied.
func (d *Deployer) Applied(ctx context.Context) (*engine.Runtime, error) {
	src, err := state.LoadSource(d.opts.Store, d.opts.Tenant, d.opts.Sealer)
	if err != nil || src == nil {
		return nil, err
	}
	// A source applied before variables were sealed is sealed now rather
	// than at the next apply; failing to is no reason not to run it.
	if sealed, err := state.ResealSource(d.opts.Store, d.opts.Tenant, d.opts.Sealer); err != nil {
		d.opts.Logger.Error("cannot seal the applied source's variables; they stay in the clear until the next apply", "error", err)
	} else if sealed {
		d.opts.Logger.Info("sealed the applied source's variables, stored in the clear by an earlier hub")
	}
	applied, err := state.Load(d.opts.Store, d.opts.Tenant)
	if err != nil {
		return nil, err
	}
	ld, err := d.load(ctx, src, false)
	if err != nil {
		return nil, err
	}
	rt, err := engine.Compile(ld.ws, ld.lock, ld.installed, modesOf(applied), d.opts.Secrets, d.opts.Tenant)
	if err != nil {
		return nil, err
	}
	// The host still runs everything else: an oauth2 connection that
	// cannot be registered (logged, shown in its status) fails its calls
	// as auth_expired (its runs wait in the dead-letter queue) until a
	// retry registers it.
	d.mu.Lock()
	_ = d.registerOAuth(ctx, rt)
	d.mu.Unlock()
	return rt, nil
}

// AppliedState implements server.Deployer.
func (d *Deployer) AppliedState(_ context.Context, tenant string) (*server.AppliedState, error) {
	if tenant != d.opts.Tenant {
		return nil, fmt.Errorf("tenant %q: %w", tenant, server.ErrNotFound)
	}
	cur, err := state.Load(d.opts.Store, tenant)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return nil, fmt.Errorf("encode applied state: %w", err)
	}
	return &server.AppliedState{State: b, SHA256: Hash(b)}, nil
}

// Hash is the hex SHA-256 an apply names the applied state by.
func Hash(stateJSON []byte) string {
	sum := sha256.Sum256(stateJSON)
	return hex.EncodeToString(sum[:])
}

// Apply implements server.Deployer: load, validate and compile the
// source; check that the applied state is still the planned-against one
// and that the source builds the planned state; then store state and
// source in one transaction and hand the runtime to the engine.
func (d *Deployer) Apply(ctx context.Context, tenant string, req server.ApplyRequest) (*server.ApplyResult, error) {
	if tenant != d.opts.Tenant {
		return nil, fmt.Errorf("tenant %q: %w", tenant, server.ErrNotFound)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	src := &state.Source{}
	if err := json.Unmarshal(req.Source, src); err != nil {
		return nil, fmt.Errorf("apply: source: %v: %w", err, server.ErrInvalid)
	}
	cur, err := d.AppliedState(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if cur.SHA256 != req.AppliedSHA256 {
		return nil, fmt.Errorf("the applied state changed since this plan was made; nothing was applied: run hub apply again: %w", server.ErrConflict)
	}
	ld, err := d.load(ctx, src, true)
	if err != nil {
		return nil, err
	}
	desired, err := state.Build(ld.ws, ld.lock)
	if err != nil {
		return nil, fmt.Errorf("apply: %v: %w", err, server.ErrInvalid)
	}
	desired.ResolveModes(ld.schemas)
	desired.RedactSecretFields(ld.schemas)
	got, err := json.Marshal(desired)
	if err != nil {
		return nil, fmt.Errorf("encode desired state: %w", err)
	}
	if !sameJSON(got, req.State) {
		return nil, fmt.Errorf("the host builds a different state from this workspace than the plan showed (do the host and this shell see different HUB_VAR_* or env() values?); nothing was applied: %w", server.ErrConflict)
	}
	rt, err := engine.Compile(ld.ws, ld.lock, ld.installed, modesOf(desired), d.opts.Secrets, tenant)
	if err != nil {
		return nil, fmt.Errorf("apply: %v: %w", err, server.ErrInvalid)
	}
	// Checked now, registered only once the new state is stored, so a
	// failed apply leaves the OAuth clients as they were.
	if err := d.checkOAuth(ctx, rt); err != nil {
		return nil, err
	}
	err = d.opts.Store.Update(func(tx *store.Tx) error {
		if err := desired.Save(tx, tenant); err != nil {
			return err
		}
		return state.SaveSource(tx, tenant, src, d.opts.Sealer)
	})
	if err != nil {
		return nil, fmt.Errorf("store the applied state: %w", err)
	}
	// The state is stored: run it. A client checked above that cannot
	// be registered now (its connector's schema did not answer) is
	// pending, shown in its status, and tried again.
	_ = d.registerOAuth(ctx, rt)
	if err := d.opts.Engine.Apply(rt); err != nil {
		return nil, err
	}
	d.opts.Logger.Info("applied", "connections", len(desired.Connections), "workflows", len(desired.Workflows))
	return &server.ApplyResult{Applied: true, AppliedSHA256: Hash(got)}, nil
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func modesOf(s *state.State) map[string]schema.Mode {
	m := map[string]schema.Mode{}
	for _, w := range s.Workflows {
		if w.Trigger != nil {
			m[w.Name] = schema.Mode(w.Trigger.Mode)
		}
	}
	return m
}

type loaded struct {
	ws        *config.Workspace
	lock      *lockfile.Lock
	installed []registry.Installed
	schemas   map[string]*schema.Schema
}

// load materializes src in a scratch directory, loads it and its lock,
// and, when validate is set, checks it against the locked connectors'
// schemas. Every refusal wraps server.ErrInvalid.
func (d *Deployer) load(ctx context.Context, src *state.Source, validate bool) (*loaded, error) {
	dir, err := os.MkdirTemp("", "hub-applied-")
	if err != nil {
		return nil, fmt.Errorf("applied workspace: %w", err)
	}
	defer os.RemoveAll(dir)
	opts, err := src.Materialize(dir, d.opts.Getenv)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, server.ErrInvalid)
	}
	ws, diags := config.Load(dir, opts)
	if diags.HasErrors() {
		return nil, fmt.Errorf("the workspace does not load: %s: %w", diagText(diags, dir), server.ErrInvalid)
	}
	lock, ldiags := lockfile.Load(filepath.Join(dir, lockfile.FileName))
	if ldiags.HasErrors() {
		return nil, fmt.Errorf("the lock file does not load: %s: %w", diagText(ldiags, dir), server.ErrInvalid)
	}
	installed, _, err := registry.Discover(d.opts.PluginDir)
	if err != nil {
		return nil, fmt.Errorf("read the plugin directory: %w", err)
	}
	ld := &loaded{ws: ws, lock: lock, installed: installed, schemas: map[string]*schema.Schema{}}
	if !validate {
		return ld, nil
	}
	for _, r := range ws.Requirements {
		inst, err := lock.Installed(r.Name, installed)
		if err != nil {
			return nil, fmt.Errorf("connector %s: %v: %w", r.Name, err, server.ErrInvalid)
		}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		sc, err := d.opts.Connector(inst).Schema(cctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("connector %s: schema: %w", inst, err)
		}
		ld.schemas[r.Name] = sc
	}
	if vd := config.Validate(ws, ld.schemas); vd.HasErrors() {
		return nil, fmt.Errorf("the workspace does not validate: %s: %w", diagText(vd, dir), server.ErrInvalid)
	}
	return ld, nil
}

// diagText is the errors of diags, one per line, with file:line:col
// relative to the workspace.
func diagText(diags hcl.Diagnostics, dir string) string {
	var lines []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		s := d.Summary
		if d.Detail != "" {
			s += ": " + d.Detail
		}
		if d.Subject != nil {
			name := strings.TrimPrefix(d.Subject.Filename, dir+string(filepath.Separator))
			s = fmt.Sprintf("%s:%d:%d: %s", name, d.Subject.Start.Line, d.Subject.Start.Column, s)
		}
		lines = append(lines, s)
	}
	if len(lines) == 0 {
		return errors.New("unknown error").Error()
	}
	return strings.Join(lines, "\n")
}
