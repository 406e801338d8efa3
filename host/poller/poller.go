package poller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/hubhq/hub/host/ingest"
	"github.com/hubhq/hub/host/runset"
	"github.com/hubhq/hub/host/store"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/wire"
)

// KindCursor is the store kind of a poll trigger's cursor; the id is the
// workflow's name.
const KindCursor = "cursor"

// Defaults of Options.
const (
	DefaultJitter          = 0.1
	DefaultLimit           = 100
	DefaultMaxPagesPerTick = 20
	DefaultTimeout         = time.Minute
)

// minBackoff is the first wait after a failure; the backoff doubles from
// there up to the trigger's interval.
const minBackoff = time.Second

// maxBackpressure caps the Backpressure factor, so a runaway value cannot
// overflow a wait or park a trigger for days.
const maxBackpressure = 100

// ErrClosed is returned by Set after Close.
var ErrClosed = errors.New("poller: closed")

// Trigger is one poll trigger: the trigger of one workflow.
type Trigger struct {
	// Tenant owns the workflow: non-empty, without "/".
	Tenant string
	// Workflow names the workflow: non-empty, without "/". With Tenant it
	// identifies the trigger and names its cursor.
	Workflow string
	// Name is the connector's trigger name (PollRequest.Trigger);
	// events are stored under the trigger "<Workflow>/<Name>".
	Name string
	// Conn is the connection the trigger polls with.
	Conn wire.Connection
	// Config is the trigger's configuration, a JSON object.
	Config json.RawMessage
	// Interval is the time between ticks; it must be positive.
	Interval time.Duration
	// Connector is the dispensed connector. Set compares it with ==, so
	// it should be a comparable handle (a pointer) that changes when the
	// plugin is replaced.
	Connector wire.Connector
}

func (t Trigger) key() runset.Key { return runset.Key{Tenant: t.Tenant, Workflow: t.Workflow} }

// eventTrigger is the ingest trigger name of t's events.
func (t Trigger) eventTrigger() string { return t.Workflow + "/" + t.Name }

func (t Trigger) validate() error {
	for _, f := range []struct{ what, v string }{{"tenant", t.Tenant}, {"workflow", t.Workflow}, {"trigger name", t.Name}} {
		if f.v == "" || strings.Contains(f.v, "/") {
			return fmt.Errorf("poll trigger %s/%s: invalid %s %q: want a non-empty name without \"/\"", t.Tenant, t.Workflow, f.what, f.v)
		}
	}
	if t.Interval <= 0 {
		return fmt.Errorf("poll trigger %s/%s: interval %s is not positive", t.Tenant, t.Workflow, t.Interval)
	}
	if t.Connector == nil {
		return fmt.Errorf("poll trigger %s/%s: no connector", t.Tenant, t.Workflow)
	}
	return nil
}

// same reports whether a running trigger defined as a can go on as b
// without a restart.
func same(a, b Trigger) bool {
	return a.Tenant == b.Tenant && a.Workflow == b.Workflow && a.Name == b.Name &&
		a.Interval == b.Interval && bytes.Equal(a.Config, b.Config) &&
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

// Options configures a Poller. Store and Ingest are required; zero fields
// take their defaults.
type Options struct {
	// Store is read for each trigger's cursor when it starts.
	Store *store.Store
	// Ingest stores events together with their cursor.
	Ingest *ingest.Ingester
	// Logger receives what the poller does and every failure; nil
	// discards it.
	Logger hclog.Logger
	// Jitter spreads every wait by ± this fraction (default
	// DefaultJitter, 10%); a negative Jitter disables it.
	Jitter float64
	// Limit is the number of events asked for per poll, a hint to the
	// connector (default DefaultLimit).
	Limit int
	// MaxPagesPerTick bounds how many polls in a row follow HasMore
	// before waiting for the next tick (default DefaultMaxPagesPerTick).
	MaxPagesPerTick int
	// Timeout bounds one PollTrigger or Refresh call (default
	// DefaultTimeout), so a hung plugin cannot stall a trigger, nor Set
	// and Close, which wait for in-flight polls.
	Timeout time.Duration
	// Backpressure, when set, returns a factor ≥ 1 that stretches the
	// interval between ticks while the event queue is deep; 1 (or less)
	// is normal, and factors above 100 count as 100.
	Backpressure func() float64
	// Refresh, when set, is called once when a poll fails with
	// auth_expired; it returns fresh credentials for t, and the poll is
	// retried with them at once. The poller keeps using the returned
	// connection until the trigger is restarted.
	Refresh func(ctx context.Context, t Trigger) (wire.Connection, error)
	// Health, when set, is called after every poll with its outcome. It
	// runs on the trigger's goroutine, so it must not block.
	Health func(Result)
	// Now returns the current time (default time.Now): Result.At and
	// the events' ReceivedAt.
	Now func() time.Time
	// After waits (default time.After); tests pass a fake clock.
	After func(d time.Duration) <-chan time.Time
	// Rand returns a number in [0, 1) for the jitter (default
	// math/rand/v2's Float64).
	Rand func() float64
}

// Result is the outcome of one poll, reported to Options.Health.
type Result struct {
	Tenant, Workflow string
	// At is when the poll finished.
	At time.Time
	// Events is the number of events stored; Duplicates the number the
	// ingester had already stored.
	Events     int
	Duplicates int
	// Err is why the poll failed, nil when it succeeded.
	Err error
	// ErrKind is how Err was treated; meaningful only when Err is not
	// nil. A failure to store the events is Retryable.
	ErrKind fault.Kind
}

// Poller runs the poll triggers of one host. It is safe for concurrent
// use.
type Poller struct {
	opts Options
	log  hclog.Logger

	// ctx is cancelled by Close: it ends waits and in-flight calls.
	ctx    context.Context
	cancel context.CancelFunc
	set    *runset.Set[Trigger] // the running triggers
}

// New returns a Poller running no triggers; Set starts them. It panics
// when Options.Store or Options.Ingest is nil, a wiring mistake.
func New(opts Options) *Poller {
	if opts.Store == nil || opts.Ingest == nil {
		panic("poller.New: Options.Store and Options.Ingest are required")
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
	if opts.Limit <= 0 {
		opts.Limit = DefaultLimit
	}
	if opts.MaxPagesPerTick <= 0 {
		opts.MaxPagesPerTick = DefaultMaxPagesPerTick
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
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
	p := &Poller{opts: opts, log: opts.Logger, ctx: ctx, cancel: cancel}
	p.set = runset.New(same, func(t Trigger) runset.Runner { return p.newRunner(t) })
	return p
}

// Set makes triggers the running set. A trigger not running yet starts and
// polls at once; a running one that is no longer listed stops after its
// in-flight poll; one whose definition changed (name, connection, config,
// interval or connector) restarts, the new goroutine starting once the
// old one has finished its in-flight poll. Set does not wait for any of
// it.
//
// An invalid trigger (see Trigger) or a second one with the same tenant
// and workflow is left out, and Set returns an error naming each; the
// others are still applied. After Close, Set returns ErrClosed.
func (p *Poller) Set(triggers []Trigger) error {
	want, invalid := runset.Wanted(triggers, Trigger.key, Trigger.validate, "poll trigger")

	if err := p.set.Apply(want, nil); errors.Is(err, runset.ErrClosed) {
		return ErrClosed
	}
	return invalid
}

// newRunner makes the runner of t; the set runs it once the previous
// runner of the same trigger, if any, has returned, so one cursor never
// has two writers.
func (p *Poller) newRunner(t Trigger) *runner {
	t.Config = bytes.Clone(t.Config)
	return &runner{
		p:     p,
		spec:  t,
		conn:  t.Conn,
		log:   p.log.With("tenant", t.Tenant, "workflow", t.Workflow, "trigger", t.Name),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		nudge: make(chan struct{}, 1),
	}
}

// Stopped returns a channel closed once no runner of the trigger of
// tenant and workflow is running or stopping. After Set left the trigger
// out, it is closed when the poll in flight has ended, so nothing writes
// the cursor any more.
func (p *Poller) Stopped(tenant, workflow string) <-chan struct{} {
	return p.set.Done(runset.Key{Tenant: tenant, Workflow: workflow})
}

// PollNow cuts short the wait for the next tick of a running trigger,
// which then polls at once (a wait after a failure is not cut short: the
// poll follows the backoff). It reports whether the trigger is running.
func (p *Poller) PollNow(tenant, workflow string) bool {
	run, ok := p.set.Get(runset.Key{Tenant: tenant, Workflow: workflow})
	if !ok {
		return false
	}
	select {
	case run.(*runner).nudge <- struct{}{}:
	default: // a nudge is already pending
	}
	return true
}

// Close stops every trigger and waits until their goroutines have
// returned. Unlike Set it does not let in-flight polls finish: it cancels
// them, which is safe because a page's events and cursor are stored
// together or not at all, so the page is fetched again after a restart.
// Close does not close the ingester or the store; close them after it.
func (p *Poller) Close() {
	p.set.Stop()
	p.cancel()
	p.set.Wait()
}

// runner is the goroutine of one trigger.
type runner struct {
	p    *Poller
	spec Trigger // as given to Set, to compare with the next Set
	log  hclog.Logger

	stop  chan struct{} // closed by Stop
	done  chan struct{} // closed when run has returned
	nudge chan struct{} // PollNow; capacity 1

	// Owned by the goroutine.
	conn     wire.Connection // spec.Conn, or what Refresh returned
	failures int             // consecutive failures, for the backoff
}

// Stop implements runset.Runner: the runner stops after its in-flight
// poll. The set calls it once.
func (r *runner) Stop() { close(r.stop) }

// stopped reports whether the runner should return.
func (r *runner) stopped(ctx context.Context) bool {
	select {
	case <-r.stop:
		return true
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

// Run implements runset.Runner: it polls until stopped, after the runner
// it replaces (prev) has returned.
func (r *runner) Run(prev <-chan struct{}) {
	defer close(r.done)
	ctx := r.p.ctx
	if prev != nil {
		select {
		case <-prev:
		case <-ctx.Done():
			return
		}
	}
	cursor, ok := r.loadCursor(ctx)
	if !ok {
		return
	}
	r.log.Debug("poll trigger started", "interval", r.spec.Interval, "cursor", string(cursor))
	defer r.log.Debug("poll trigger stopped")

	pages := 0
	for !r.stopped(ctx) {
		// A nudge asks for a poll after it was made; this one counts.
		select {
		case <-r.nudge:
		default:
		}
		next, more, res := r.poll(ctx, cursor)
		if ctx.Err() != nil {
			return // Close: whatever the poll did is stored whole or not at all
		}
		if r.p.opts.Health != nil {
			r.p.opts.Health(res)
		}

		if res.Err == nil {
			cursor = next
			r.failures = 0
			pages++
			if more && pages < r.p.opts.MaxPagesPerTick {
				continue
			}
			pages = 0
			if !r.sleep(ctx, r.tick(), true) {
				return
			}
			continue
		}

		pages = 0
		switch res.ErrKind {
		case fault.CursorExpired:
			if cursor != nil {
				// The connector's event ids and the ingester's dedup keep
				// the replay from storing a record twice within the dedup
				// TTL; the nil cursor is stored with the first page.
				r.log.Warn("cursor expired at the third party, polling again from the start", "cursor", string(cursor), "error", res.Err)
				cursor = nil
				continue
			}
			r.log.Error("connector reports the nil cursor expired, waiting for the next tick", "error", res.Err)
			r.failures = 0
			if !r.sleep(ctx, r.tick(), true) {
				return
			}
		case fault.Retryable, fault.RateLimited, fault.AuthExpired:
			r.failures++
			d := r.backoff()
			if e := fault.As(res.Err); res.ErrKind == fault.RateLimited && e.RetryAfter > d {
				d = e.RetryAfter
			}
			r.log.Warn("poll failed, retrying", "kind", res.ErrKind, "wait", d, "failures", r.failures, "error", res.Err)
			if !r.sleep(ctx, d, false) {
				return
			}
		default: // Permanent, InvalidInput: the same poll fails again until something changes
			r.failures = 0
			r.log.Error("poll failed, waiting for the next tick", "kind", res.ErrKind, "error", res.Err)
			if !r.sleep(ctx, r.tick(), true) {
				return
			}
		}
	}
}

// loadCursor reads the stored cursor, retrying with backoff while the
// store fails: polling from nil instead would replay the whole history.
// It returns false when the runner is stopped first.
func (r *runner) loadCursor(ctx context.Context) ([]byte, bool) {
	for !r.stopped(ctx) {
		v, ok, err := r.p.opts.Store.Get(r.spec.Tenant, KindCursor, r.spec.Workflow)
		if err == nil {
			r.failures = 0
			if !ok || len(v) == 0 {
				return nil, true
			}
			return v, true
		}
		r.failures++
		d := r.backoff()
		r.log.Error("cannot read the poll cursor, retrying", "wait", d, "error", err)
		if !r.sleep(ctx, d, false) {
			return nil, false
		}
	}
	return nil, false
}

// poll fetches one page after cursor and stores its events with the
// cursor after them. It returns that cursor and whether more events are
// ready, valid when res.Err is nil.
func (r *runner) poll(ctx context.Context, cursor []byte) (next []byte, more bool, res Result) {
	res = Result{Tenant: r.spec.Tenant, Workflow: r.spec.Workflow}
	defer func() { res.At = r.p.opts.Now() }()

	page, err := r.fetch(ctx, cursor)
	if err != nil && fault.KindOf(err) == fault.AuthExpired && r.p.opts.Refresh != nil {
		conn, rerr := r.refresh(ctx)
		if rerr != nil {
			res.Err, res.ErrKind = fmt.Errorf("%w; refreshing the credentials failed: %w", err, rerr), fault.AuthExpired
			return nil, false, res
		}
		r.conn = conn
		r.log.Info("credentials refreshed after auth_expired, polling again")
		page, err = r.fetch(ctx, cursor)
	}
	if err != nil {
		res.Err, res.ErrKind = err, kindOf(err)
		return nil, false, res
	}

	next = page.NextCursor
	if len(next) == 0 {
		next = nil
	}
	if len(page.Events) == 0 && bytes.Equal(next, cursor) {
		// Nothing happened: no write, no sync.
		return next, page.HasMore, res
	}
	now := r.p.opts.Now()
	evs := make([]ingest.Event, len(page.Events))
	for i, e := range page.Events {
		if e.ID == "" {
			res.Err, res.ErrKind = fault.Permanentf("poll %s: the connector returned event %d of %d without an id", r.spec.Name, i+1, len(page.Events)), fault.Permanent
			return nil, false, res
		}
		evs[i] = ingest.Event{Tenant: r.spec.Tenant, Trigger: r.spec.eventTrigger(), ID: e.ID, Payload: e.Payload, ReceivedAt: now}
	}
	put := ingest.Put{Tenant: r.spec.Tenant, Kind: KindCursor, ID: r.spec.Workflow, Value: next, Delete: next == nil}
	// Persist, then advance: the events and the cursor after them are
	// committed in one transaction, and only then does the caller move
	// its in-memory cursor, so a crash at any point resumes from a cursor
	// that matches what is stored.
	results, err := r.p.opts.Ingest.AcceptWith(ctx, evs, []ingest.Put{put})
	if err != nil {
		res.Err, res.ErrKind = fmt.Errorf("store %d polled events and the cursor: %w", len(evs), err), fault.Retryable
		return nil, false, res
	}
	for _, x := range results {
		if x.Status == ingest.Duplicate {
			res.Duplicates++
		} else {
			res.Events++
		}
	}
	r.log.Debug("polled", "events", res.Events, "duplicates", res.Duplicates, "has_more", page.HasMore)
	return next, page.HasMore, res
}

// kindOf is fault.KindOf, except that an unclassified timeout (the
// connector gave up on Options.Timeout without saying so) is retryable,
// as the gRPC client classifies its own.
func kindOf(err error) fault.Kind {
	var fe *fault.Error
	if !errors.As(err, &fe) && errors.Is(err, context.DeadlineExceeded) {
		return fault.Retryable
	}
	return fault.KindOf(err)
}

// fetch is one PollTrigger call; no lock is held across it.
func (r *runner) fetch(ctx context.Context, cursor []byte) (wire.PollResult, error) {
	ctx, cancel := context.WithTimeout(ctx, r.p.opts.Timeout)
	defer cancel()
	return r.spec.Connector.PollTrigger(ctx, wire.PollRequest{
		Trigger: r.spec.Name,
		Conn:    r.conn,
		Config:  r.spec.Config,
		Cursor:  cursor,
		Limit:   r.p.opts.Limit,
	})
}

func (r *runner) refresh(ctx context.Context) (wire.Connection, error) {
	ctx, cancel := context.WithTimeout(ctx, r.p.opts.Timeout)
	defer cancel()
	t := r.spec
	t.Conn = r.conn
	return r.p.opts.Refresh(ctx, t)
}

// tick is the wait until the next tick: the interval stretched by
// backpressure, jittered.
func (r *runner) tick() time.Duration {
	d := r.spec.Interval
	if r.p.opts.Backpressure != nil {
		if f := r.p.opts.Backpressure(); f > 1 {
			d = time.Duration(float64(d) * min(f, maxBackpressure))
		}
	}
	return r.jitter(d)
}

// backoff is the wait after r.failures consecutive failures: one second,
// doubling up to the interval, jittered.
func (r *runner) backoff() time.Duration {
	d := minBackoff
	for i := 1; i < r.failures && d < r.spec.Interval; i++ {
		d *= 2
	}
	return r.jitter(min(d, r.spec.Interval))
}

// jitter spreads d by ± Options.Jitter.
func (r *runner) jitter(d time.Duration) time.Duration {
	j := r.p.opts.Jitter
	if j == 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + j*(2*r.p.opts.Rand()-1)))
}

// sleep waits d and reports whether the runner should go on. A nudgeable
// wait ends early on PollNow.
func (r *runner) sleep(ctx context.Context, d time.Duration, nudgeable bool) bool {
	var nudge chan struct{}
	if nudgeable {
		nudge = r.nudge
	}
	select {
	case <-r.p.opts.After(d):
		return true
	case <-nudge:
		return true
	case <-r.stop:
		return false
	case <-ctx.Done():
		return false
	}
}
