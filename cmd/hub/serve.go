package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/hubhq/hub/host/atomicfile"
	"github.com/hubhq/hub/host/config"
	"github.com/hubhq/hub/host/deploy"
	"github.com/hubhq/hub/host/engine"
	"github.com/hubhq/hub/host/ingest"
	"github.com/hubhq/hub/host/limiter"
	"github.com/hubhq/hub/host/logbus"
	"github.com/hubhq/hub/host/oauth"
	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/secrets"
	"github.com/hubhq/hub/host/server"
	"github.com/hubhq/hub/host/store"
	"github.com/hubhq/hub/host/supervisor"
	"github.com/hubhq/hub/sdk/fault"
)

func runServe(e *env, args []string) error {
	// serve runs what was applied, with the inputs it was applied with:
	// it takes none of the workspace-loading flags (-var, -env, ...).
	var p planFlags
	fs := newFlags(e, "serve")
	defPlugins := e.getenv("HUB_PLUGIN_DIR")
	if defPlugins == "" {
		defPlugins = filepath.Join(".hub", "plugins")
	}
	fs.StringVar(&p.pluginDir, "plugin-dir", defPlugins, "plugin directory")
	fs.StringVar(&p.dir, "dir", ".", "the workspace directory (its data directory holds what was applied)")
	fs.StringVar(&p.dataDir, "data-dir", e.getenv("HUB_DATA_DIR"), "the store's directory (default <workspace>/.hub/data, or $HUB_DATA_DIR)")
	addr := fs.String("addr", server.DefaultAddr, "the address to listen on (loopback by default; 0.0.0.0:PORT exposes hub to the network)")
	publicURL := fs.String("public-url", "", "the address third parties reach hub at, for webhook URLs (default http://<addr>)")
	workers := fs.Int("workers", 128, "workers per connection at least (a connection whose concurrency limit is higher gets that many)")
	grace := fs.Duration("grace", 30*time.Second, "on SIGTERM, how long steps in flight may take to finish")
	maxBody := fs.Int64("max-body", server.DefaultMaxBodyBytes, "the largest webhook body accepted, in bytes (larger: 413)")
	keepAge := fs.Duration("keep-runs-for", 30*24*time.Hour, "drop finished runs older than this (0 keeps them)")
	keepRuns := fs.Int("keep-runs", 100000, "keep at most this many runs, dropping the oldest finished ones (0: no limit)")
	alert := fs.Duration("trigger-alert", 5*time.Minute, "warn when a trigger has been failing this long")
	actionTimeout := fs.Duration("action-timeout", 60*time.Second, "how long one action call may take")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	if path := e.getenv("HUB_CPUPROFILE"); path != "" {
		// For finding what limits throughput (docs/performance.md).
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("HUB_CPUPROFILE: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("HUB_CPUPROFILE: %w", err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	logs := logbus.New(2000)
	log := serveLogger(e)
	log.RegisterSink(logs)
	dataDir := p.storeDir()
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	apiKey, err := loadAPIKey(e, dataDir)
	if err != nil {
		return err
	}
	// secret() resolves from the encrypted store, then HUB_SECRET_<NAME>.
	vault, err := secrets.Open(dataDir, e.getenv)
	if err != nil {
		return fmt.Errorf("open the secret store: %w", err)
	}
	resolve := vault.Resolver(envSecrets(e))
	// Webhook signing secrets and the applied -var values are sealed in
	// the store with the secret store's data key.
	sealer, err := vault.Sealer()
	if err != nil {
		return fmt.Errorf("open the secret store: %w", err)
	}
	st, err := store.Open(dataDir, log.Named("store"))
	if err != nil {
		return fmt.Errorf("%w (is another hub serve using this data directory? see -data-dir)", err)
	}
	in := ingest.New(st, ingest.Options{Logger: log.Named("ingest")})
	sup := supervisor.New(supervisor.Options{Logger: log.Named("plugin")})
	closeAll := func() {
		sup.Close()
		if err := in.Close(); err != nil {
			log.Error("closing the ingester", "error", err)
		}
		if err := st.Close(); err != nil {
			log.Error("closing the store", "error", err)
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	eng, err := engine.New(engine.Options{
		Store: st, Ingest: in, Connector: sup.Connector, Logger: log.Named("engine"), Logs: logs, LogsFromLogger: true, Metrics: reg,
		Tenant: store.DefaultTenant, Version: version, Workers: *workers, ActionTimeout: *actionTimeout,
		DefaultLimits: limiter.Limits{}, Retention: runs.Retention{MaxAge: *keepAge, MaxRuns: *keepRuns}, TriggerAlert: *alert,
		Sealer: sealer,
	})
	if err != nil {
		closeAll()
		return err
	}
	dep := deploy.New(deploy.Options{Store: st, Engine: eng, Connector: sup.Connector, PluginDir: p.pluginDir,
		Getenv: e.getenv, Secrets: resolve, Sealer: sealer, Tenant: store.DefaultTenant, Logger: log.Named("deploy")})
	// The OAuth manager needs the address the server listens on, known
	// only after Listen; the callback route reaches it through this.
	callback := &lateHandler{}
	be := &backend{Engine: eng, d: dep}
	srv, err := server.New(be, server.Options{Addr: *addr, APIKey: apiKey, MaxBodyBytes: *maxBody, Logger: log.Named("http"), Metrics: reg, Logs: logs, OAuth: callback})
	if err != nil {
		closeAll()
		return err
	}
	la, err := srv.Listen()
	if err != nil {
		closeAll()
		return err
	}
	base := *publicURL
	if base == "" {
		base = "http://" + la.String()
	}
	base = strings.TrimSuffix(base, "/")
	eng.SetBaseURL(base)
	// Token requests carry client secrets and refresh tokens: bounded in
	// time, and never resent to wherever a redirect points.
	tokenClient := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	om, err := oauth.New(oauth.Options{Store: deploy.TokenVault{Store: vault}, BaseURL: base, Logger: log.Named("oauth"), HTTPClient: tokenClient})
	if err != nil {
		closeAll()
		return err
	}
	callback.set(om.Handler())
	eng.SetOAuth(deploy.EngineOAuth{M: om})
	dep.SetOAuth(om)
	be.oauth = om

	// Credentials resolved at start follow the secret store: hub secrets
	// set (a separate process) is noticed within secretsPollInterval and
	// the changed connections are swapped in, with no restart. The watch
	// looks at the store before the applied workspace is compiled, so a
	// change made while hub serve starts is reloaded once it runs rather
	// than missed; the reloads begin after Start.
	watchCtx, stopWatch := context.WithCancel(context.Background())
	changes := vault.Watch(watchCtx, secretsPollInterval)
	rt, err := dep.Applied(context.Background())
	if err != nil {
		stopWatch()
		closeAll()
		return fmt.Errorf("the applied workspace cannot run: %w", err)
	}
	if rt == nil {
		log.Warn("nothing applied yet: hub serve runs no workflows until hub apply", "workspace", p.dir)
	}
	if err := eng.Start(rt); err != nil {
		stopWatch()
		closeAll()
		return err
	}
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		dep.WatchSecrets(watchCtx, changes)
	}()
	info := serveInfo{Addr: la.String(), URL: "http://" + la.String(), PID: os.Getpid()}
	infoPath := filepath.Join(dataDir, serveInfoFile)
	ib, _ := json.Marshal(info)
	if err := atomicfile.WriteBytes(infoPath, append(ib, '\n'), 0o600); err != nil {
		log.Warn("cannot write serve.json; CLI commands need -addr", "error", err)
	}
	log.Info("hub serve is up", "addr", la.String(), "data_dir", dataDir, "version", version)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	var serveErr error
	select {
	case sig := <-sigs:
		log.Info("stopping", "signal", sig.String(), "grace", grace.String())
	case serveErr = <-served:
		log.Error("the HTTP server stopped", "error", serveErr)
	}
	// Stop intake first: no new deliveries, the ones in flight finish;
	// the engine's steps share the same grace period. No reload starts
	// from now on, and one in flight has its connector calls cancelled.
	eng.Stopping()
	stopWatch()
	end := time.Now().Add(*grace)
	ctx, cancel := context.WithDeadline(context.Background(), end)
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("HTTP shutdown", "error", err)
	}
	cancel()
	_ = os.Remove(infoPath)
	// A reload in flight ends soon once cancelled (a poll in flight it
	// waits for is the longest part); the grace period is the steps',
	// so it is not waited for long. One still running then finds the
	// engine closed and starts nothing.
	select {
	case <-watched:
	case <-time.After(min(reloadStopWait, max(time.Until(end), 0))):
		log.Warn("stopping without waiting any longer for a secret reload in flight")
	}
	eng.Shutdown(max(time.Until(end), 0))
	closeAll()
	log.Info("stopped")
	return serveErr
}

// secretsPollInterval is how often hub serve looks whether the secret
// store's file changed: one stat, so a change is used within a second.
const secretsPollInterval = time.Second

// reloadStopWait bounds how long hub serve, stopping, waits for a secret
// reload in flight.
const reloadStopWait = 2 * time.Second

// backend is what the server serves: the engine, the deployer for hub
// apply against the running host, and the OAuth manager for hub connect.
type backend struct {
	*engine.Engine
	d     *deploy.Deployer
	oauth *oauth.Manager
}

// Connect implements server.Authorizer: the authorization code grant
// answers the URL to open; the device grant starts in the background and
// answers the code to enter; client credentials fetch a token at once.
func (b *backend) Connect(ctx context.Context, tenant, name string) (*runs.ConnectStart, error) {
	if tenant != store.DefaultTenant || b.oauth == nil {
		return nil, fmt.Errorf("connection %q: %w", name, server.ErrNotFound)
	}
	st, err := b.oauth.Status(ctx, name)
	if err != nil {
		if errors.Is(err, oauth.ErrUnknownConnection) {
			return nil, fmt.Errorf("connection %q is not an applied oauth2 connection: %w", name, server.ErrNotFound)
		}
		return nil, err
	}
	res := &runs.ConnectStart{Connection: name, Grant: st.Grant}
	switch st.Grant {
	case oauth.GrantClientCredentials:
		if _, err := b.oauth.Token(ctx, name); err != nil {
			if fault.KindOf(deploy.EngineOAuthError(name, err)) == fault.Retryable {
				return nil, fmt.Errorf("client credentials for %s: the authorization server could not be reached: %v: %w", name, err, server.ErrUnavailable)
			}
			return nil, fmt.Errorf("client credentials for %s: %v: %w", name, err, server.ErrInvalid)
		}
		res.Connected = true
	case oauth.GrantDeviceCode:
		shown := make(chan [2]string, 1)
		go func() {
			// The person has the code's lifetime to approve; the flow
			// outlives this request.
			dctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
			defer cancel()
			err := b.oauth.Device(dctx, name, func(uri, code string) { shown <- [2]string{uri, code} })
			if err != nil {
				close(shown)
			}
		}()
		select {
		case s, ok := <-shown:
			if !ok {
				return nil, fmt.Errorf("the device authorization for %s failed; see the host log: %w", name, server.ErrInvalid)
			}
			res.VerificationURI, res.UserCode = s[0], s[1]
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	default:
		u, err := b.oauth.StartLogin(name)
		if err != nil {
			return nil, err
		}
		res.AuthURL = u
	}
	return res, nil
}

// lateHandler serves with a handler set after the server was made.
type lateHandler struct {
	mu sync.Mutex
	h  http.Handler
}

func (l *lateHandler) set(h http.Handler) {
	l.mu.Lock()
	l.h = h
	l.mu.Unlock()
}

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	h := l.h
	l.mu.Unlock()
	if h == nil {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

func (b *backend) AppliedState(ctx context.Context, tenant string) (*server.AppliedState, error) {
	return b.d.AppliedState(ctx, tenant)
}

func (b *backend) Apply(ctx context.Context, tenant string, req server.ApplyRequest) (*server.ApplyResult, error) {
	return b.d.Apply(ctx, tenant, req)
}

// envSecrets resolves secret("name") from $HUB_SECRET_<NAME> (upper case,
// other characters as "_"): the fallback after the encrypted store, for
// hosts that get their secrets from the environment.
func envSecrets(e *env) config.SecretFunc {
	return func(name string) (string, error) {
		key := "HUB_SECRET_" + strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z':
				return r - 'a' + 'A'
			case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
				return r
			}
			return '_'
		}, name)
		v := e.getenv(key)
		if v == "" {
			return "", fmt.Errorf("not set: export %s", key)
		}
		return v, nil
	}
}

// serveLogger logs at info unless HUB_LOG_LEVEL says otherwise: a daemon
// is expected to say what it does. HUB_LOG_FORMAT=json logs JSON lines.
func serveLogger(e *env) hclog.InterceptLogger {
	level := hclog.LevelFromString(e.getenv("HUB_LOG_LEVEL"))
	if level == hclog.NoLevel {
		level = hclog.Info
	}
	return hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: "hub", Output: e.stderr, Level: level, JSONFormat: e.getenv("HUB_LOG_FORMAT") == "json"})
}

// loadAPIKey returns $HUB_API_KEY, or the key in <data dir>/api-key,
// creating a random one (mode 0600) on first start.
func loadAPIKey(e *env, dataDir string) (string, error) {
	if k := e.getenv("HUB_API_KEY"); k != "" {
		return k, nil
	}
	path := filepath.Join(dataDir, apiKeyFile)
	if b, err := os.ReadFile(path); err == nil {
		if k := strings.TrimSpace(string(b)); k != "" {
			return k, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read the API key: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make an API key: %w", err)
	}
	k := "hub_" + hex.EncodeToString(b)
	if err := atomicfile.WriteBytes(path, []byte(k+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("store the API key: %w", err)
	}
	return k, nil
}
