package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hubhq/hub/host/ingest"
	"github.com/hubhq/hub/host/limiter"
	"github.com/hubhq/hub/host/logbus"
	"github.com/hubhq/hub/host/poller"
	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/server"
	"github.com/hubhq/hub/host/store"
	"github.com/hubhq/hub/host/streamer"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// Options configure an Engine. Store, Ingest and Connector are required.
type Options struct {
	Store  *store.Store
	Ingest *ingest.Ingester
	// Connector returns the handle of an installed connector version
	// (supervisor.Supervisor.Connector).
	Connector func(registry.Installed) wire.Connector
	Logger    hclog.Logger
	// Logs receives one entry per run and step event, for hub logs -f.
	Logs *logbus.Bus
	// LogsFromLogger says Logger already feeds Logs (as an hclog sink), so
	// warnings and errors logged are not published twice.
	LogsFromLogger bool
	// Metrics registers the engine's metrics; nil registers none.
	Metrics prometheus.Registerer
	// Tenant is the tenant this engine serves (store.DefaultTenant).
	Tenant string
	// BaseURL is the host's public address, for webhook URLs.
	BaseURL string
	// Version is hub's version, for status.
	Version string
	// Workers is how many goroutines each connection's lane runs (the
	// connection's concurrency limit bounds the calls in flight).
	Workers int
	// ActionTimeout bounds one action call (default 60s).
	ActionTimeout time.Duration
	// DefaultLimits apply to connections without a limits block.
	DefaultLimits limiter.Limits
	// OAuth gives oauth2 connections their access tokens; without it an
	// oauth2 connection cannot run.
	OAuth OAuth
	// Breaker configures each connection's circuit breaker.
	Breaker limiter.BreakerOptions
	// Retention bounds the run history.
	Retention runs.Retention
	// TriggerAlert is how long a trigger may keep failing before the
	// host logs a warning about it (default 5m).
	TriggerAlert time.Duration
	// QueueHigh is the queue depth at which polling slows down.
	QueueHigh int
	// Sealer encrypts the webhook signing secrets kept in Store
	// (secrets.Store.Sealer); without one they are stored in the clear.
	Sealer Sealer
}

// OAuth provides OAuth 2.0 access tokens for connections, refreshing them
// before they expire (host/oauth).
type OAuth interface {
	// Token returns a valid access token of connection.
	Token(ctx context.Context, connection string) (Token, error)
	// Invalidate says a call with the access token used was refused as
	// expired: the provider refreshes unless another caller already did.
	Invalidate(ctx context.Context, connection, used string) error
	// Status is the connection's authorisation state: "ok",
	// "needs_login" (never connected), "needs_reauth" (the third party
	// revoked the grant, or the client changed), "login_pending" (a
	// login was started and has not ended) or "login_failed" (the latest
	// login failed); and, for the last ones, why, in plain words.
	Status(ctx context.Context, connection string) (state, reason string)
}

// Token is an OAuth 2.0 access token.
type Token struct {
	AccessToken string
	TokenType   string
	Expiry      time.Time
}

// Engine runs the applied workflows of one tenant.
type Engine struct {
	opts      Options
	log       hclog.Logger
	st        *store.Store
	in        *ingest.Ingester
	tenant    string
	installID string
	started   time.Time

	rt atomic.Pointer[Runtime]
	// applyMu serializes Apply and ReloadCredentials, so a reload built
	// from one runtime never replaces a newer one.
	applyMu sync.Mutex
	poll    *poller.Poller
	stream  *streamer.Streamer
	ready   atomic.Bool
	closed  atomic.Bool
	// stopping: the host is shutting down; no reload starts.
	stopping atomic.Bool

	lanesMu sync.Mutex
	lanes   map[string]*lane

	routerWake chan struct{}
	deadCount  atomic.Int64
	deadMu     sync.Mutex

	credMu   sync.Mutex
	credErrs map[string]credError // by connection: secrets that no longer resolve
	trigErrs map[string]string    // by workflow: trigger configs that no longer evaluate
	// oauthErrs: by connection, OAuth clients not registered (SetOAuthPending).
	oauthErrs map[string]credError

	authMu sync.Mutex
	auth   map[string]*authState // refreshed credentials by connection
	logins map[string]*sync.Mutex

	subsMu sync.Mutex
	subs   map[string]*subscription // by workflow

	health  *healthBook
	m       *metrics
	schemas schemaCache

	ctx      context.Context // cancelled when the engine stops for good
	cancel   context.CancelFunc
	stopWork chan struct{} // closed when workers must stop taking jobs
	bg       sync.WaitGroup
	workers  sync.WaitGroup
}

// New returns an Engine; call Start to load its queue and begin work.
func New(opts Options) (*Engine, error) {
	if opts.Store == nil || opts.Ingest == nil || opts.Connector == nil {
		return nil, errors.New("engine: Store, Ingest and Connector are required")
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Tenant == "" {
		opts.Tenant = store.DefaultTenant
	}
	if opts.Workers <= 0 {
		opts.Workers = 128
	}
	if opts.ActionTimeout <= 0 {
		opts.ActionTimeout = 60 * time.Second
	}
	if opts.TriggerAlert <= 0 {
		opts.TriggerAlert = 5 * time.Minute
	}
	if opts.QueueHigh <= 0 {
		opts.QueueHigh = 10000
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{
		opts: opts, log: opts.Logger, st: opts.Store, in: opts.Ingest, tenant: opts.Tenant,
		started: time.Now(), lanes: map[string]*lane{}, routerWake: make(chan struct{}, 1),
		auth: map[string]*authState{}, credErrs: map[string]credError{}, trigErrs: map[string]string{}, oauthErrs: map[string]credError{}, logins: map[string]*sync.Mutex{}, subs: map[string]*subscription{}, health: newHealthBook(),
		ctx: ctx, cancel: cancel, stopWork: make(chan struct{}),
	}
	e.m = newMetrics(e, opts.Metrics)
	e.stream = streamer.New(streamer.Options{
		Store: opts.Store, Ingest: opts.Ingest, Logger: opts.Logger.Named("stream"),
		Backpressure: func() bool { return e.queued() > e.opts.QueueHigh },
		Refresh:      e.refreshForStream, Health: e.streamHealth,
	})
	e.poll = poller.New(poller.Options{
		Store: opts.Store, Ingest: opts.Ingest, Logger: opts.Logger.Named("poll"),
		Backpressure: e.backpressure, Refresh: e.refreshForPoll, Health: e.pollHealth,
	})
	return e, nil
}

// Start loads the install id, the dead-letter count and every queued job,
// then starts the router, the lanes and the housekeeping. rt is the
// runtime to run; it may be nil when nothing has been applied yet.
func (e *Engine) Start(rt *Runtime) error {
	id, err := e.loadInstallID()
	if err != nil {
		return err
	}
	e.installID = id
	// The runtime first: workers start as the queue loads, and a job
	// must find its workflow.
	if rt != nil {
		e.rt.Store(rt)
	}
	if err := e.loadQueue(); err != nil {
		return err
	}
	if rt != nil {
		if err := e.Apply(rt); err != nil {
			return err
		}
	}
	e.bg.Add(3)
	go e.routeLoop()
	go e.housekeeping()
	go e.watchTriggers()
	e.ready.Store(true)
	return nil
}

// loadInstallID returns this data directory's random id, creating it on
// first start. Idempotency keys include it, so a fresh data directory
// never repeats the keys of another.
func (e *Engine) loadInstallID() (string, error) {
	v, ok, err := e.st.Get(e.tenant, "meta", "install-id")
	if err != nil {
		return "", fmt.Errorf("read install id: %w", err)
	}
	if ok {
		return string(v), nil
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make install id: %w", err)
	}
	id := hex.EncodeToString(b)
	if err := e.st.Put(e.tenant, "meta", "install-id", []byte(id)); err != nil {
		return "", fmt.Errorf("store install id: %w", err)
	}
	return id, nil
}

// loadQueue puts every stored job back into its lane and counts the dead
// letters.
func (e *Engine) loadQueue() error {
	var jobs []*job
	dead := 0
	err := e.st.View(func(tx *store.Tx) error {
		if err := tx.Scan(e.tenant, runs.KindJob, "", 0, func(id string, v []byte) error {
			j, err := decodeJob(id, v)
			if err != nil {
				e.log.Error("skipping an unreadable job", "job", id, "error", err)
				return nil
			}
			jobs = append(jobs, j)
			return nil
		}); err != nil {
			return err
		}
		return tx.Scan(e.tenant, runs.KindDead, "", 0, func(string, []byte) error { dead++; return nil })
	})
	if err != nil {
		return fmt.Errorf("load the queue: %w", err)
	}
	for _, j := range jobs {
		e.lane(j.conn).push(j)
	}
	e.deadCount.Store(int64(dead))
	if len(jobs) > 0 {
		e.log.Info("queue loaded", "jobs", len(jobs), "dead_letters", dead)
	}
	return nil
}

// Apply makes rt the running workflows: new runs use it at once, steps
// already executing finish on the runtime they started with, and runs
// in flight keep the connector versions they were created with.
//
// A poll or stream trigger whose connection moved to another connector
// version keeps its cursor or stream position: the trigger stops, and
// once its poll in flight or the batches its stream received are stored,
// the new version converts what is stored (MigrateCursor) and the
// trigger resumes from it. Its dedup records are keyed by workflow and
// trigger, not version, so the move neither loses nor replays events.
func (e *Engine) Apply(rt *Runtime) error {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	e.clearCredentialErrors(rt)
	e.apply(e.ctx, rt)
	return nil
}

// apply is Apply under applyMu. ctx bounds the connector calls it makes
// (subscriptions, schemas, cursor migrations), as does the engine's
// own context.
func (e *Engine) apply(ctx context.Context, rt *Runtime) {
	ctx, cancel := e.bound(ctx)
	defer cancel()
	old := e.rt.Swap(rt)
	for name, c := range rt.conns {
		e.setLimits(e.lane(name), e.limitsOf(c))
	}
	e.syncSubscriptions(ctx, rt)
	triggers, streams := e.pollTriggers(ctx, rt), e.streamTriggers(ctx, rt)
	if moves := versionMoves(old, rt); len(moves) > 0 {
		e.moveVersions(ctx, rt, moves, triggers, streams)
	}
	if err := e.poll.Set(triggers); err != nil {
		e.log.Warn("some poll triggers were not started", "error", err)
	}
	if err := e.stream.Set(streams); err != nil {
		e.log.Warn("some stream triggers were not started", "error", err)
	}
	e.health.sync(rt, e.webhookURL)
	e.kickRouter()
}

// moveVersions stops the poll and stream triggers of the workflows in
// moves (all but them keep running), waits until each has stopped — its
// poll in flight ended, what its stream received stored — so nothing
// writes the cursor or position any more, and has the new version
// convert it. The caller then starts them again with Set.
func (e *Engine) moveVersions(ctx context.Context, rt *Runtime, moves map[string]string, polls []poller.Trigger, streams []streamer.Trigger) {
	var keepPolls []poller.Trigger
	for _, t := range polls {
		if _, moved := moves[t.Workflow]; !moved {
			keepPolls = append(keepPolls, t)
		}
	}
	var keepStreams []streamer.Trigger
	for _, t := range streams {
		if _, moved := moves[t.Workflow]; !moved {
			keepStreams = append(keepStreams, t)
		}
	}
	if err := e.poll.Set(keepPolls); err != nil {
		e.log.Warn("some poll triggers were not started", "error", err)
	}
	if err := e.stream.Set(keepStreams); err != nil {
		e.log.Warn("some stream triggers were not started", "error", err)
	}
	for wf, from := range moves {
		stopped, kind := e.poll.Stopped(e.tenant, wf), poller.KindCursor
		if rt.flows[wf].mode == schema.ModeStream {
			stopped, kind = e.stream.Stopped(e.tenant, wf), streamer.KindPosition
		}
		select {
		case <-stopped:
			e.migrateCursor(ctx, rt, wf, from, kind)
		case <-ctx.Done():
			e.log.Warn("the trigger did not stop in time; its cursor is kept as it is, unconverted", "workflow", wf, "from", from)
		}
	}
}

// versionMoves returns, by workflow, the connector version each poll or
// stream trigger moved from between old and rt.
func versionMoves(old, rt *Runtime) map[string]string {
	moves := map[string]string{}
	if old == nil {
		return moves
	}
	for name, f := range rt.flows {
		of, ok := old.flows[name]
		if !ok || f.mode != of.mode || (f.mode != schema.ModePoll && f.mode != schema.ModeStream) || of.trigger != f.trigger {
			continue
		}
		oc, nc := old.conns[of.conn], rt.conns[f.conn]
		if oc != nil && nc != nil && oc.inst.Source == nc.inst.Source && !oc.inst.Version.Equal(nc.inst.Version) {
			moves[name] = oc.inst.Version.String()
		}
	}
	return moves
}

// migrateCursor converts workflow wf's stored cursor (kind: a poll
// cursor or a stream position) from connector version from to the
// version rt runs. On failure it is kept as it is: the connector's event
// ids and the dedup window guard against replays.
func (e *Engine) migrateCursor(ctx context.Context, rt *Runtime, wf, from, kind string) {
	f := rt.flows[wf]
	c := rt.conns[f.conn]
	cur, ok, err := e.st.Get(e.tenant, kind, wf)
	if err != nil || !ok {
		if err != nil {
			e.log.Error("cannot read a cursor to migrate", "workflow", wf, "error", err)
		}
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	next, err := e.opts.Connector(c.inst).MigrateCursor(ctx, wire.MigrateCursorRequest{Trigger: f.trigger, FromVersion: from, Cursor: cur})
	if err != nil {
		e.log.Warn("cursor migration failed; keeping the cursor as it is", "workflow", wf, "from", from, "to", c.ref, "error", err)
		return
	}
	if err := e.st.Put(e.tenant, kind, wf, next); err != nil {
		e.log.Error("cannot store a migrated cursor", "workflow", wf, "error", err)
		return
	}
	e.log.Info("trigger cursor migrated to the new connector version", "workflow", wf, "from", from, "to", c.ref)
}

// SetBaseURL sets the host's public address once the server listens;
// call it before Start.
func (e *Engine) SetBaseURL(u string) { e.opts.BaseURL = u }

// SetOAuth sets the OAuth provider (Options.OAuth); call it before Start.
func (e *Engine) SetOAuth(o OAuth) { e.opts.OAuth = o }

// Ready implements server.Backend.
func (e *Engine) Ready() error {
	if !e.ready.Load() || e.closed.Load() {
		return server.ErrUnavailable
	}
	return nil
}

// Stopping marks the engine not ready, so /readyz answers 503 while the
// host drains, and makes ReloadCredentials a no-op; call it before
// stopping intake.
func (e *Engine) Stopping() {
	e.ready.Store(false)
	e.stopping.Store(true)
}

// bound is ctx, also cancelled when the engine stops for good.
func (e *Engine) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(e.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// Shutdown stops the engine: polling and routing stop at once, lanes
// stop taking jobs, steps in flight get grace to finish (then their calls
// are cancelled and their jobs stay queued for the next start), and every
// outcome is committed before it returns. The caller closes the ingester
// and the store afterwards.
func (e *Engine) Shutdown(grace time.Duration) {
	if e.closed.Swap(true) {
		return
	}
	e.ready.Store(false)
	e.poll.Close()
	e.stream.Close()
	close(e.stopWork)
	done := make(chan struct{})
	go func() { e.workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		e.log.Warn("grace period over; cancelling the steps still running (their jobs stay queued)", "grace", grace)
		e.cancel()
		<-done
	}
	e.cancel()
	e.bg.Wait()
}

// idempotencyKey is the key of every attempt of one step of one run.
func (e *Engine) idempotencyKey(run, step string) string {
	sum := sha256.Sum256([]byte(e.installID + "\x00" + e.tenant + "\x00" + run + "\x00" + step))
	return hex.EncodeToString(sum[:16])
}

// commit stores puts in one synced transaction through the group commit.
func (e *Engine) commit(ctx context.Context, puts []ingest.Put) error {
	_, err := e.in.AcceptWith(ctx, nil, puts)
	return err
}

func (e *Engine) putJSON(kind, id string, v any) (ingest.Put, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return ingest.Put{}, fmt.Errorf("encode %s %s: %w", kind, id, err)
	}
	return ingest.Put{Tenant: e.tenant, Kind: kind, ID: id, Value: b}, nil
}

// Warnings and errors (a step retrying, a run dead-lettered) go to the
// host log as well, where log shippers read them; the log's sink feeds
// them to the bus. Routine entries go to the bus only: at thousands of
// steps a second they would drown the log.
func (e *Engine) publish(level, msg string, run *runs.Run, step string, attempt int, fields map[string]any) {
	if level == logbus.LevelWarn || level == logbus.LevelError {
		args := []any{"tenant", e.tenant}
		if run != nil {
			args = append(args, "workflow", run.Workflow, "run", run.ID)
		}
		if step != "" {
			args = append(args, "step", step, "attempt", attempt)
		}
		for k, v := range fields {
			args = append(args, k, v)
		}
		if level == logbus.LevelWarn {
			e.log.Warn(msg, args...)
		} else {
			e.log.Error(msg, args...)
		}
		if e.opts.LogsFromLogger {
			return
		}
	}
	if e.opts.Logs == nil {
		return
	}
	en := logbus.Entry{Time: time.Now().UTC(), Level: level, Message: msg, Tenant: e.tenant, Step: step, Attempt: attempt, Fields: fields}
	if run != nil {
		en.Workflow, en.Run = run.Workflow, run.ID
	}
	e.opts.Logs.Publish(en)
}

func (e *Engine) webhookURL(workflow string) (url, path string) {
	path = "/webhooks/" + workflow
	if e.tenant != store.DefaultTenant {
		path = "/t/" + e.tenant + path
	}
	return e.opts.BaseURL + path, path
}
