package streamer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/hubhq/hub/host/ingest"
	"github.com/hubhq/hub/host/runset"
	"github.com/hubhq/hub/host/store"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/wire"
)

// KindPosition is the store kind of a stream trigger's resume position;
// the id is the workflow's name.
const KindPosition = "position"

// Defaults of Trigger and Options.
const (
	DefaultHeartbeat  = 60 * time.Second
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = time.Minute
	DefaultJitter     = 0.2
	DefaultMaxPending = 4096
	// DefaultMaxPendingBytes is Options.MaxPendingBytes when it is 0.
	DefaultMaxPendingBytes = 16 << 20
)

// BackpressureCheck is how often a stream's writer held back by
// Options.Backpressure asks again whether it may go on.
const BackpressureCheck = 100 * time.Millisecond

var (
	// ErrClosed is returned by Set after Close.
	ErrClosed = errors.New("streamer: closed")
	// ErrHeartbeat is the cause of a disconnect because the stream sent
	// neither a batch nor a keepalive within the trigger's Heartbeat.
	ErrHeartbeat = errors.New("stream went silent")
	// ErrGap is the cause of a Result reporting a gap that was not
	// reconciled: events between the expired position and the new one
	// were not received.
	ErrGap = errors.New("stream gap not reconciled")
)

// errSessionOver is returned to a connector that calls the sink after its
// OpenStream call returned.
var errSessionOver = errors.New("stream sink called after the stream ended")

// Trigger is one stream trigger: the trigger of one workflow.
type Trigger struct {
	// Tenant owns the workflow: non-empty, without "/".
	Tenant string
	// Workflow names the workflow: non-empty, without "/". With Tenant it
	// identifies the trigger and names its position.
	Workflow string
	// Name is the connector's trigger name (StreamRequest.Trigger);
	// events are stored under the ingest trigger EventTrigger(),
	// "<Workflow>/<Name>".
	Name string
	// Conn is the connection the stream opens with.
	Conn wire.Connection
	// Config is the trigger's configuration, a JSON object.
	Config json.RawMessage
	// Connector is the dispensed connector. Set compares it with ==, so
	// it should be a comparable handle (a pointer) that changes when the
	// plugin is replaced.
	Connector wire.Connector
	// Heartbeat is how long the stream may send neither a batch nor a
	// keepalive before it is considered dead: it is cancelled and opened
	// again. Zero means DefaultHeartbeat; it must not be negative.
	Heartbeat time.Duration
	// Reconcile, when set, is called once each time the connector reports
	// cursor_expired, with the last stored position, to run the declared
	// poll trigger from that point. It must store what it finds under
	// EventTrigger() with the events' own ids, so the ingester's dedup
	// drops what the stream delivers again. Nil means the gap is reported
	// (Result.Err wraps ErrGap), never silently skipped. A change of
	// Reconcile alone does not restart the stream.
	Reconcile func(ctx context.Context, from []byte) error
}

// EventTrigger is the ingest trigger name t's events are stored under.
func (t Trigger) EventTrigger() string { return t.Workflow + "/" + t.Name }

func (t Trigger) key() runset.Key { return runset.Key{Tenant: t.Tenant, Workflow: t.Workflow} }

func (t Trigger) heartbeat() time.Duration {
	if t.Heartbeat == 0 {
		return DefaultHeartbeat
	}
	return t.Heartbeat
}

func (t Trigger) validate() error {
	for _, f := range []struct{ what, v string }{{"tenant", t.Tenant}, {"workflow", t.Workflow}, {"trigger name", t.Name}} {
		if f.v == "" || strings.Contains(f.v, "/") {
			return fmt.Errorf("stream trigger %s/%s: invalid %s %q: want a non-empty name without \"/\"", t.Tenant, t.Workflow, f.what, f.v)
		}
	}
	if t.Heartbeat < 0 {
		return fmt.Errorf("stream trigger %s/%s: heartbeat %s is negative", t.Tenant, t.Workflow, t.Heartbeat)
	}
	if t.Connector == nil {
		return fmt.Errorf("stream trigger %s/%s: no connector", t.Tenant, t.Workflow)
	}
	return nil
}

// same reports whether a running trigger defined as a can go on as b
// without a restart. Reconcile is not compared: it is swapped in place.
func same(a, b Trigger) bool {
	return a.Tenant == b.Tenant && a.Workflow == b.Workflow && a.Name == b.Name &&
		a.heartbeat() == b.heartbeat() && bytes.Equal(a.Config, b.Config) &&
		reflect.DeepEqual(a.Conn, b.Conn) && sameConnector(a.Connector, b.Connector)
}

// sameConnector compares two connector handles without panicking on a
// dynamic type that is not comparable (such a handle always counts as
// changed).
func sameConnector(a, b wire.Connector) bool {
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	if ta != tb {
		return false
	}
	if ta == nil {
		return true
	}
	return ta.Comparable() && a == b
}

// Options configures a Streamer. Store and Ingest are required; zero
// fields take their defaults.
type Options struct {
	// Store is read for each trigger's position when it starts.
	Store *store.Store
	// Ingest stores events together with their position.
	Ingest *ingest.Ingester
	// Logger receives what the streamer does and every failure; nil
	// discards it.
	Logger hclog.Logger
	// Backpressure, when set, reports whether the event queue is deep.
	// While it returns true a stream's writer stores nothing, checking
	// again every BackpressureCheck; its sink fills up to MaxPending and
	// then does not return, so the connector (through gRPC flow control)
	// and the third party slow down instead of hub's memory growing.
	Backpressure func() bool
	// Health, when set, is called when a stream connects, after every
	// commit of its events and when a stream ends. It runs on the
	// stream's goroutines (the writer's holding the sink's lock, which
	// Batch and Keepalive wait for), so it must not block.
	Health func(Result)
	// Refresh, when set, is called once when a stream ends with
	// auth_expired; it returns fresh credentials for t, and the stream
	// is opened again with them at once. The streamer keeps using the
	// returned connection until the trigger is restarted.
	Refresh func(ctx context.Context, t Trigger) (wire.Connection, error)
	// Now returns the current time (default time.Now): Result times and
	// the events' ReceivedAt.
	Now func() time.Time
	// After waits (default time.After): the backoff before reconnecting
	// and the backpressure checks. Tests pass a fake clock. The
	// heartbeat runs on real timers.
	After func(d time.Duration) <-chan time.Time
	// Rand returns a number in [0, 1) for the jitter (default
	// math/rand/v2's Float64).
	Rand func() float64
	// Jitter spreads every backoff by ± this fraction (default
	// DefaultJitter, 20%), so streams that broke together do not
	// reconnect together; a negative Jitter disables it.
	Jitter float64
	// MinBackoff is the first wait before reconnecting (default
	// DefaultMinBackoff); it doubles with each stream in a row that
	// ended without storing a batch, up to MaxBackoff (default
	// DefaultMaxBackoff).
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxPending is how many received events may wait for a stream's
	// next commit (default DefaultMaxPending): batches that arrive while
	// a commit is being synced wait, and are stored together in the next
	// one; a batch that would exceed it waits for room (one batch is
	// always taken). With the commit being written, a stream holds at
	// most about twice this many events, which bounds hub's memory per
	// stream.
	MaxPending int
	// MaxPendingBytes bounds the same by the events' payload bytes
	// (default DefaultMaxPendingBytes), for streams of large events.
	MaxPendingBytes int
}

// Result is what one stream is doing, reported to Options.Health.
type Result struct {
	Tenant, Workflow string
	// At is when this was reported.
	At time.Time
	// Connected says whether the stream is open and has sent something
	// (a batch or a keepalive); Since is when Connected last changed (or
	// when the trigger started, before its first connection).
	Connected bool
	Since     time.Time
	// LastEventAt is when this trigger last stored a new event; zero if
	// it has not since it started.
	LastEventAt time.Time
	// Lag is At minus the newest OccurredAt of the stored batch's events:
	// how far behind the third party the stream is. Zero when unknown.
	Lag time.Duration
	// Events is the number of events this report stored, Duplicates the
	// number the ingester had already stored, Skipped the number the
	// connector sent without an id (logged, never stored).
	Events, Duplicates, Skipped int
	// Reconnects is how many times the stream was opened again since the
	// trigger started.
	Reconnects int
	// Gap reports that the connector could no longer resume from GapFrom
	// (cursor_expired) and the stream went on from the nil position.
	// Reconciled says Trigger.Reconcile ran from GapFrom and succeeded;
	// otherwise Err wraps ErrGap.
	Gap        bool
	GapFrom    []byte
	Reconciled bool
	// Err is why the stream ended, nil when it is delivering or ended
	// cleanly (or a gap was reconciled).
	Err error
	// ErrKind is how Err was treated; meaningful only when Err is not
	// nil, or when Gap is set (CursorExpired). A failure to store a
	// batch and a heartbeat timeout are Retryable.
	ErrKind fault.Kind
}

// Streamer runs the stream triggers of one host. It is safe for
// concurrent use.
type Streamer struct {
	opts Options
	log  hclog.Logger

	// ctx is cancelled by Close: it ends streams, waits and the store
	// calls in flight.
	ctx    context.Context
	cancel context.CancelFunc
	set    *runset.Set[Trigger] // the running triggers
}

// New returns a Streamer running no triggers; Set starts them. It panics
// when Options.Store or Options.Ingest is nil, a wiring mistake.
func New(opts Options) *Streamer {
	if opts.Store == nil || opts.Ingest == nil {
		panic("streamer.New: Options.Store and Options.Ingest are required")
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Jitter == 0 {
		opts.Jitter = DefaultJitter
	}
	if opts.Jitter < 0 {
		opts.Jitter = 0
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = opts.MinBackoff
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	if opts.MaxPendingBytes <= 0 {
		opts.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.After == nil {
		opts.After = time.After
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Streamer{opts: opts, log: opts.Logger, ctx: ctx, cancel: cancel}
	s.set = runset.New(same, func(t Trigger) runset.Runner { return s.newRunner(t) })
	return s
}

// Set makes triggers the running set. A trigger not running yet starts
// and opens its stream at once; a running one that is no longer listed is
// stopped: its stream is cancelled, while what it received is stored
// first (unless the queue is deep: then it is dropped, and asked for
// again from the stored position when the trigger starts again). One
// whose definition changed (name, connection, config, heartbeat or
// connector) restarts, the new goroutine starting once the
// old one has returned, so a position never has two writers. A changed
// Reconcile alone is taken over without a restart. Set does not wait for
// any of it.
//
// An invalid trigger (see Trigger) or a second one with the same tenant
// and workflow is left out, and Set returns an error naming each; the
// others are still applied. After Close, Set returns ErrClosed.
func (s *Streamer) Set(triggers []Trigger) error {
	want, invalid := runset.Wanted(triggers, Trigger.key, Trigger.validate, "stream trigger")

	err := s.set.Apply(want, func(r runset.Runner, t Trigger) {
		r.(*runner).reconcile.Store(&t.Reconcile)
	})
	if errors.Is(err, runset.ErrClosed) {
		return ErrClosed
	}
	return invalid
}

// Stopped returns a channel closed once no runner of the trigger of
// tenant and workflow is running or stopping. After Set left the trigger
// out, it is closed when what the stream received is stored, so nothing
// writes the position any more.
func (s *Streamer) Stopped(tenant, workflow string) <-chan struct{} {
	return s.set.Done(runset.Key{Tenant: tenant, Workflow: workflow})
}

// newRunner makes the runner of t; the set runs it once the previous
// runner of the same trigger, if any, has returned, so one position
// never has two writers.
func (s *Streamer) newRunner(t Trigger) *runner {
	t.Config = bytes.Clone(t.Config)
	ctx, cancel := context.WithCancel(s.ctx)
	r := &runner{
		s:      s,
		spec:   t,
		conn:   t.Conn,
		log:    s.log.With("tenant", t.Tenant, "workflow", t.Workflow, "trigger", t.Name),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	r.reconcile.Store(&t.Reconcile)
	return r
}

// Close stops every trigger and waits until their goroutines have
// returned. Unlike Set it also cancels a batch being stored, which is safe
// because a batch's events and position are stored together or not at
// all, so the batch arrives again after a restart. Close does not close
// the ingester or the store; close them after it.
func (s *Streamer) Close() {
	s.set.Stop()
	s.cancel()
	s.set.Wait()
}

// runner is the goroutine of one trigger.
type runner struct {
	s    *Streamer
	spec Trigger // as given to Set, to compare with the next Set
	log  hclog.Logger

	// reconcile is the trigger's current Reconcile; Set swaps it.
	reconcile atomic.Pointer[func(ctx context.Context, from []byte) error]

	// ctx is cancelled when the runner is stopped (Set) or the streamer
	// closed; it ends the stream, waits, Refresh and Reconcile.
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned

	// Owned by the goroutine, and by the sink while a stream is open
	// (the session hands them over under the sink's lock).
	conn        wire.Connection // spec.Conn, or what Refresh returned
	position    []byte          // the stored position; nil for none
	failures    int             // streams in a row that stored nothing, for the backoff
	opened      int             // streams opened since the trigger started
	connected   bool
	since       time.Time
	lastEventAt time.Time
}

func (r *runner) stopped() bool { return r.ctx.Err() != nil }

// outcome is how one stream ended.
type outcome struct {
	err       error
	delivered bool // at least one batch was stored
}

// Stop implements runset.Runner: it cancels the stream, while a batch
// being stored is stored whole first.
func (r *runner) Stop() { r.cancel() }

// Run implements runset.Runner: it streams until stopped, after the
// runner it replaces (prev) has returned.
func (r *runner) Run(prev <-chan struct{}) {
	defer close(r.done)
	defer r.cancel()
	if prev != nil {
		select {
		case <-prev:
		case <-r.ctx.Done():
			return
		}
	}
	r.since = r.s.opts.Now()
	pos, ok := r.loadPosition()
	if !ok {
		return
	}
	r.position = pos
	r.log.Debug("stream trigger started", "heartbeat", r.spec.heartbeat(), "position", string(pos))
	defer r.log.Debug("stream trigger stopped")

	refreshed := false // the stream about to open uses credentials Refresh just returned
	for !r.stopped() {
		afterRefresh := refreshed
		refreshed = false
		out := r.stream()
		if r.stopped() {
			return // Set or Close: whatever the stream stored is whole
		}
		res := r.disconnected(out.err)
		if out.delivered {
			r.failures = 0
		}

		switch kind := res.ErrKind; {
		case out.err == nil && out.delivered:
			r.log.Info("stream ended, reconnecting")
		case out.err == nil:
			r.log.Warn("stream ended without delivering anything, reconnecting after a backoff", "failures", r.failures+1)
		case kind == fault.CursorExpired && r.position != nil:
			r.gap(&res)
			if r.stopped() {
				return // Reconcile was cut short; the next start reconciles again
			}
			r.report(res)
			continue // at once, from the nil position
		case kind == fault.CursorExpired:
			res.Err = fmt.Errorf("the connector reports even the nil stream position expired: %w", out.err)
			res.ErrKind = fault.Permanent
		case kind == fault.AuthExpired && r.s.opts.Refresh != nil && !afterRefresh:
			conn, err := r.refresh()
			if r.stopped() {
				return
			}
			if err == nil {
				r.conn = conn
				refreshed = true
				r.log.Info("credentials refreshed after auth_expired, reconnecting")
				r.report(res)
				continue // at once, with the new credentials
			}
			res.Err = fmt.Errorf("%w; refreshing the credentials failed: %w", out.err, err)
		}

		r.failures++
		d := r.backoff()
		if res.Err != nil && res.ErrKind == fault.RateLimited {
			d = max(d, fault.As(res.Err).RetryAfter)
		}
		switch {
		case res.Err == nil:
		case res.ErrKind == fault.Permanent || res.ErrKind == fault.InvalidInput:
			r.log.Error("stream failed, reconnecting after a backoff", "kind", res.ErrKind, "wait", d, "failures", r.failures, "error", res.Err)
		default:
			r.log.Warn("stream failed, reconnecting", "kind", res.ErrKind, "wait", d, "failures", r.failures, "error", res.Err)
		}
		r.report(res)
		if !r.sleep(d) {
			return
		}
	}
}

// disconnected records that the stream ended with err and returns the
// report of it.
func (r *runner) disconnected(err error) Result {
	if r.connected {
		r.connected, r.since = false, r.s.opts.Now()
	}
	res := r.result()
	if err != nil {
		res.Err, res.ErrKind = err, kindOf(err)
	}
	return res
}

// gap handles a position the third party can no longer resume from: the
// declared poll trigger reconciles from it, or the gap is reported as an
// error; either way the stream goes on from the nil position. The stored
// position is left as it is until the next batch replaces it, so a
// restart before then reconciles again (dedup keeps that harmless).
func (r *runner) gap(res *Result) {
	from := r.position
	res.Gap, res.GapFrom = true, bytes.Clone(from)
	cause := res.Err
	if rec := *r.reconcile.Load(); rec == nil {
		res.Err = fmt.Errorf("%w: position %q expired at the third party and the trigger declares no reconcile trigger, events after it were skipped: %w", ErrGap, from, cause)
		r.log.Error("stream position expired, events after it are lost: no reconcile trigger", "position", string(from), "error", cause)
	} else if err := rec(r.ctx, bytes.Clone(from)); err != nil {
		res.Err = fmt.Errorf("%w: position %q expired at the third party and reconciling from it failed: %w (cursor: %w)", ErrGap, from, err, cause)
		r.log.Error("stream position expired and reconciling failed, events after it may be lost", "position", string(from), "error", err)
	} else {
		res.Err, res.Reconciled = nil, true
		r.log.Warn("stream position expired, reconciled through the poll trigger", "position", string(from), "error", cause)
	}
	res.ErrKind = fault.CursorExpired
	r.position = nil
}

// loadPosition reads the stored position, retrying with backoff while the
// store fails: streaming from nil instead would skip or replay history.
// It returns false when the runner is stopped first.
func (r *runner) loadPosition() ([]byte, bool) {
	for !r.stopped() {
		v, ok, err := r.s.opts.Store.Get(r.spec.Tenant, KindPosition, r.spec.Workflow)
		if err == nil {
			r.failures = 0
			if !ok || len(v) == 0 {
				return nil, true
			}
			return v, true
		}
		r.failures++
		d := r.backoff()
		r.log.Error("cannot read the stream position, retrying", "wait", d, "error", err)
		if !r.sleep(d) {
			return nil, false
		}
	}
	return nil, false
}

// stream opens the stream once and returns how it ended. The connector
// calls the sink, which stores each batch; no lock of the streamer is held
// across the call.
func (r *runner) stream() outcome {
	if r.opened > 0 {
		r.log.Debug("reopening the stream", "position", string(r.position))
	}
	r.opened++
	ctx, cancel := context.WithCancelCause(r.ctx)
	defer cancel(nil)
	hb := r.spec.heartbeat()
	silent := &fault.Error{Kind: fault.Retryable, Message: fmt.Sprintf("no batch and no keepalive within the heartbeat, %s", hb), Cause: ErrHeartbeat}
	sk := newSink(r, ctx, cancel, &watchdog{d: hb, expire: func() { cancel(silent) }})
	sk.watch.resume()

	err := r.spec.Connector.OpenStream(ctx, wire.StreamRequest{
		Trigger:  r.spec.Name,
		Conn:     r.conn,
		Config:   r.spec.Config,
		Position: r.position,
	}, sk)

	delivered, sinkErr := sk.finish()
	switch {
	case errors.Is(context.Cause(ctx), ErrHeartbeat):
		err = silent
	case sinkErr != nil:
		err = sinkErr // the sink's own failure is why the stream stopped
	}
	return outcome{err: err, delivered: delivered}
}

// refresh asks Options.Refresh for fresh credentials.
func (r *runner) refresh() (wire.Connection, error) {
	t := r.spec
	t.Conn = r.conn
	return r.s.opts.Refresh(r.ctx, t)
}

// result is a Result with the runner's current state.
func (r *runner) result() Result {
	reconnects := max(r.opened-1, 0)
	return Result{
		Tenant:      r.spec.Tenant,
		Workflow:    r.spec.Workflow,
		At:          r.s.opts.Now(),
		Connected:   r.connected,
		Since:       r.since,
		LastEventAt: r.lastEventAt,
		Reconnects:  reconnects,
	}
}

func (r *runner) report(res Result) {
	if h := r.s.opts.Health; h != nil {
		h(res)
	}
}

// backoff is the wait after r.failures streams in a row that stored
// nothing: MinBackoff, doubling up to MaxBackoff, jittered.
func (r *runner) backoff() time.Duration {
	lo, hi := r.s.opts.MinBackoff, r.s.opts.MaxBackoff
	d := lo
	for i := 1; i < r.failures && d < hi; i++ {
		d *= 2
	}
	return r.jitter(min(d, hi))
}

// jitter spreads d by ± Options.Jitter.
func (r *runner) jitter(d time.Duration) time.Duration {
	j := r.s.opts.Jitter
	if j == 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + j*(2*r.s.opts.Rand()-1)))
}

// sleep waits d and reports whether the runner should go on.
func (r *runner) sleep(d time.Duration) bool {
	select {
	case <-r.s.opts.After(d):
		return true
	case <-r.ctx.Done():
		return false
	}
}

// kindOf is fault.KindOf, except that an unclassified context error (the
// stream was cut without the connector saying why) is retryable, as the
// gRPC client classifies its own.
func kindOf(err error) fault.Kind {
	var fe *fault.Error
	if !errors.As(err, &fe) && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		return fault.Retryable
	}
	return fault.KindOf(err)
}

// sink receives one open stream's batches and keepalives and hands the
// batches to its writer, which stores them. The connector calls Batch and
// Keepalive sequentially; the writer runs beside it, so batches that
// arrive while one commit is being synced are stored together in the next
// (one fsync for all of them instead of one each). At most
// Options.MaxPending events (and Options.MaxPendingBytes of payload) wait
// for the next commit: a Batch that would exceed either waits, and so the connector and the third party slow down.
//
// Its lock also orders those calls before finish, after which the runner
// owns its state again; while the stream is open the runner's fields are
// touched only under it.
type sink struct {
	r      *runner
	ctx    context.Context   // the stream's: cancelled by the heartbeat, Set and Close
	cancel func(cause error) // ends the stream when storing fails
	watch  *watchdog
	max    int           // Options.MaxPending
	maxB   int           // Options.MaxPendingBytes
	done   chan struct{} // closed when the writer has returned

	mu        sync.Mutex
	over      bool // the stream has ended: the writer stores what is pending and returns
	pending   []wire.StreamBatch
	events    int           // in pending, by weight
	bytes     int           // payload bytes in pending
	busy      bool          // the writer is storing
	changed   chan struct{} // closed, and replaced, when any field above changes
	delivered bool          // a batch was stored
	err       error         // why storing a batch failed
}

func newSink(r *runner, ctx context.Context, cancel func(error), watch *watchdog) *sink {
	s := &sink{r: r, ctx: ctx, cancel: cancel, watch: watch, max: r.s.opts.MaxPending, maxB: r.s.opts.MaxPendingBytes,
		done: make(chan struct{}), changed: make(chan struct{})}
	go s.write()
	return s
}

// notify wakes whoever waits for a change; s.mu is held.
func (s *sink) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// idle says that nothing received is waiting to be stored; s.mu is held.
func (s *sink) idle() bool { return len(s.pending) == 0 && !s.busy }

// finish ends the sink: it waits until the writer has stored what was
// received (or given up after a failure, or because the stream was
// cancelled), and returns whether a batch was stored and why storing one
// failed.
func (s *sink) finish() (delivered bool, err error) {
	s.mu.Lock()
	s.over = true
	s.notify()
	s.mu.Unlock()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watch.stop()
	return s.delivered, s.err
}

// Keepalive shows the stream is alive.
func (s *sink) Keepalive(time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.over {
		return errSessionOver
	}
	if s.err != nil {
		return s.err
	}
	if s.idle() {
		s.watch.resume()
	}
	s.connect()
	return nil
}

// Batch queues b to be stored with the position after it. It waits while
// Options.MaxPending events or Options.MaxPendingBytes of payload wait
// for the next commit (the writer waits
// while Options.Backpressure reports a deep queue); the heartbeat does
// not run while anything received is unstored: the silence is hub's own.
// A batch without events only moves the position: while others wait, it
// replaces the position of the last of them (they are committed together
// anyway), so a connector that advances its position without events
// cannot grow the queue past the bound.
func (s *sink) Batch(b wire.StreamBatch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(b.Events) == 0 && len(s.pending) > 0 && !s.over && s.err == nil {
		if len(b.Position) > 0 {
			s.pending[len(s.pending)-1].Position = b.Position
		}
		return nil
	}
	for {
		switch {
		case s.over:
			return errSessionOver
		case s.err != nil:
			return s.err
		}
		if s.events == 0 || (s.events+weight(b) <= s.max && s.bytes+size(b) <= s.maxB) {
			break
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-s.ctx.Done():
		}
		s.mu.Lock()
		if s.ctx.Err() != nil && !s.over && s.err == nil {
			return fmt.Errorf("waiting to store a batch: %w", context.Cause(s.ctx))
		}
	}
	s.watch.pause()
	s.connect()
	s.pending = append(s.pending, b)
	s.events += weight(b)
	s.bytes += size(b)
	s.notify()
	return nil
}

// size is what b counts against Options.MaxPendingBytes: its events'
// payloads.
func size(b wire.StreamBatch) int {
	n := 0
	for _, e := range b.Events {
		n += len(e.Payload)
	}
	return n
}

// weight is what b counts against Options.MaxPending: its events, and at
// least 1, so that batches without events are bounded too.
func weight(b wire.StreamBatch) int { return max(len(b.Events), 1) }

// write is the sink's writer: it stores every batch received, in order,
// combining those that waited into one commit, until the stream has
// ended and nothing is pending, or storing failed.
func (s *sink) write() {
	defer close(s.done)
	for {
		s.mu.Lock()
		for len(s.pending) == 0 && !s.over {
			ch := s.changed
			s.mu.Unlock()
			<-ch
			s.mu.Lock()
		}
		if len(s.pending) == 0 {
			s.mu.Unlock()
			return // over, and everything received is stored
		}
		s.mu.Unlock()

		// The stream's context bounds the wait: a stream cancelled
		// while the queue is deep drops what it holds, which is asked
		// for again from the stored position.
		if err := s.r.waitForQueue(s.ctx); err != nil {
			s.fail(err)
			return
		}
		s.mu.Lock()
		batches := s.pending
		s.pending, s.events, s.bytes, s.busy = nil, 0, 0, true
		s.notify()
		s.mu.Unlock()

		err := s.r.store(batches, &s.mu)

		s.mu.Lock()
		s.busy = false
		if err != nil {
			s.mu.Unlock()
			s.fail(err)
			return
		}
		s.delivered = true
		if s.idle() && !s.over {
			s.watch.resume()
		}
		s.notify()
		s.mu.Unlock()
	}
}

// fail records why storing stopped, drops what is pending (it is asked
// for again from the stored position) and ends the stream.
func (s *sink) fail(err error) {
	s.mu.Lock()
	s.err = err
	s.pending, s.events, s.bytes = nil, 0, 0
	s.notify()
	s.mu.Unlock()
	s.cancel(err)
}

// connect reports the stream connected on its first batch or keepalive;
// the sink's lock is held.
func (s *sink) connect() {
	r := s.r
	if r.connected {
		return
	}
	r.connected, r.since = true, r.s.opts.Now()
	r.log.Info("stream connected", "position", string(r.position), "reconnects", max(r.opened-1, 0))
	r.report(r.result())
}

// waitForQueue blocks while Options.Backpressure reports a deep queue.
func (r *runner) waitForQueue(ctx context.Context) error {
	bp := r.s.opts.Backpressure
	if bp == nil || !bp() {
		return nil
	}
	r.log.Debug("event queue is deep, pausing the stream")
	for bp() {
		select {
		case <-r.s.opts.After(BackpressureCheck):
		case <-ctx.Done():
			return fmt.Errorf("waiting for the event queue: %w", context.Cause(ctx))
		}
	}
	r.log.Debug("event queue drained, resuming the stream")
	return nil
}

// store persists the events of batches, in order, and the position after
// the last of them that has one, in one commit; then, holding mu (the
// sink's lock, which guards the runner's fields while a stream is open),
// it advances the in-memory position and reports what was stored.
func (r *runner) store(batches []wire.StreamBatch, mu *sync.Mutex) error {
	now := r.s.opts.Now()
	n := 0
	for _, b := range batches {
		n += len(b.Events)
	}
	evs := make([]ingest.Event, 0, n)
	skipped := 0
	var newest time.Time
	var pos []byte // the position after the last batch that has one
	for _, b := range batches {
		for _, e := range b.Events {
			if e.ID == "" {
				skipped++
				continue
			}
			evs = append(evs, ingest.Event{Tenant: r.spec.Tenant, Trigger: r.spec.EventTrigger(), ID: e.ID, Payload: e.Payload, ReceivedAt: now})
			if e.OccurredAt.After(newest) {
				newest = e.OccurredAt
			}
		}
		if len(b.Position) > 0 {
			pos = b.Position
		}
	}
	if skipped > 0 {
		r.log.Error("the connector sent events without an id; they are not stored", "skipped", skipped, "events", n)
	}
	// Batches without a position leave the stored one as it is: the
	// third party gave none for their events. Only the writer changes
	// r.position while the stream is open, so reading it here is safe.
	var puts []ingest.Put
	if pos != nil {
		pos = bytes.Clone(pos)
		puts = []ingest.Put{{Tenant: r.spec.Tenant, Kind: KindPosition, ID: r.spec.Workflow, Value: pos}}
	} else {
		pos = r.position
	}

	var stored, dups int
	if len(evs) > 0 || !bytes.Equal(pos, r.position) {
		// Persist, then advance: the events and the position after them
		// are committed in one synced transaction, and only then does
		// the in-memory position move, so a crash at any point resumes
		// from a position that matches what is stored. The streamer's
		// context, not the stream's, bounds the call: a trigger stopped
		// by Set still stores the batches it received.
		results, err := r.s.opts.Ingest.AcceptWith(r.s.ctx, evs, puts)
		if err != nil {
			return &fault.Error{Kind: fault.Retryable, Message: fmt.Sprintf("store %d streamed events and the position: %v", len(evs), err), Cause: err}
		}
		for _, x := range results {
			if x.Status == ingest.Duplicate {
				dups++
			} else {
				stored++
			}
		}
	}

	mu.Lock()
	defer mu.Unlock()
	r.position = pos
	res := r.result()
	res.Events, res.Duplicates, res.Skipped = stored, dups, skipped
	if stored > 0 {
		r.lastEventAt = now
		res.LastEventAt = now
	}
	if !newest.IsZero() {
		res.Lag = max(res.At.Sub(newest), 0)
	}
	if len(evs) > 0 || skipped > 0 || len(puts) > 0 {
		r.log.Debug("streamed", "batches", len(batches), "events", stored, "duplicates", dups, "skipped", skipped)
		r.report(res)
	}
	return nil
}

// watchdog cancels a stream that stays silent for d: it is rearmed by
// every batch and keepalive and paused while the sink works on a batch.
type watchdog struct {
	d      time.Duration
	expire func()

	mu    sync.Mutex
	timer *time.Timer
	gen   int  // identifies the armed timer; a stale one does nothing
	done  bool // the stream ended
}

// resume (re)arms the watchdog for d.
func (w *watchdog) resume() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	w.disarm()
	g := w.gen
	w.timer = time.AfterFunc(w.d, func() { w.fire(g) })
}

// pause disarms the watchdog until resume.
func (w *watchdog) pause() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.disarm()
}

// stop disarms the watchdog for good.
func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	w.disarm()
}

// disarm stops the armed timer; w.mu is held.
func (w *watchdog) disarm() {
	w.gen++
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
}

func (w *watchdog) fire(gen int) {
	w.mu.Lock()
	armed := gen == w.gen && !w.done
	w.mu.Unlock()
	if armed {
		w.expire()
	}
}
