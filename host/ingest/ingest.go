package ingest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/hubhq/hub/host/store"
)

// Store kinds of the package's keys (see the package doc).
const (
	kindEvent = "event"
	kindDedup = "dedup"
	// kindSeq holds, under id "last", the greatest seq a tenant has
	// handed out: events are deleted once routed, so the greatest stored
	// event cannot tell where the counter stands after a restart.
	kindSeq = "seq"
)

// Defaults of Options.
const (
	DefaultMaxBatch = 512
	DefaultDedupTTL = 72 * time.Hour
)

// ErrClosed is returned by Accept after Close.
var ErrClosed = errors.New("ingest: ingester is closed")

// Event is one event received for a workflow trigger.
type Event struct {
	// Tenant owns the event: non-empty, without "/".
	Tenant string
	// Trigger names the workflow trigger that received the event, as
	// "<workflow>/<trigger>", each part non-empty and without "/".
	Trigger string
	// ID is the event's id at its source; deliveries with the same
	// tenant, trigger and ID within the dedup window are one event.
	ID string
	// Payload is the event as the connector parsed it.
	Payload []byte
	// ReceivedAt is when hub received the event; Accept sets it to the
	// current time when it is zero. It is stored at nanosecond precision
	// and read back in UTC.
	ReceivedAt time.Time
}

// Stored is an event as read back, with its sequence number.
type Stored struct {
	Seq uint64
	Event
}

// Status says what Accept did with one event.
type Status uint8

const (
	// Accepted: the event is new and is now stored.
	Accepted Status = iota + 1
	// Duplicate: an event with the same tenant, trigger and ID was stored
	// within the dedup window (possibly earlier in the same batch); this
	// one was not stored again.
	Duplicate
)

func (s Status) String() string {
	switch s {
	case Accepted:
		return "accepted"
	case Duplicate:
		return "duplicate"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Result is the outcome of one event of an Accept call.
type Result struct {
	Status Status
	// Seq is the sequence number the event is stored under: this
	// event's when Accepted, the earlier delivery's when Duplicate.
	Seq uint64
}

// Put is a value written in the same transaction as an AcceptWith call's
// events: a poll trigger's cursor or a stream's resume position, which
// must change together with the events it produced so that a restart
// neither skips nor repeats them.
type Put struct {
	// Tenant, Kind and ID name the key as in store.Key. Kind must not be
	// one of this package's own kinds, "event", "dedup" and "seq", except
	// to delete an event once it has been routed.
	Tenant, Kind, ID string
	Value            []byte
	// Delete removes the key instead of setting it; Value is ignored.
	// The engine moves a job from one key to another this way, in the
	// same transaction as the run it advances.
	Delete bool
}

// Options configures an Ingester. Zero fields take their defaults.
type Options struct {
	// MaxBatch is how many events the writer combines into one
	// transaction at most (default DefaultMaxBatch). A single Accept call
	// with more events is still committed whole, in a transaction of its
	// own.
	MaxBatch int
	// DedupTTL is how long an event's tenant, trigger and ID are
	// remembered to drop a later duplicate (default DefaultDedupTTL).
	// Badger keeps expiry in whole seconds.
	DedupTTL time.Duration
	// Logger receives commit failures; nil discards them.
	Logger hclog.Logger
}

// Ingester accepts events durably with group commit. It is safe for
// concurrent use.
type Ingester struct {
	st       *store.Store
	maxBatch int
	ttl      time.Duration
	log      hclog.Logger

	mu     sync.Mutex
	queue  []*request // guarded by mu
	closed bool       // guarded by mu

	wake    chan struct{} // capacity 1: work was queued or Close was called
	stopped chan struct{} // closed when the writer has exited

	// Owned by the writer goroutine.
	lastSeq  map[string]uint64 // per tenant, the greatest seq handed out
	closeErr error             // the first commit failure after Close
}

// request is one Accept call waiting for the writer.
type request struct {
	ctx     context.Context
	evs     []Event
	puts    []Put
	results []Result
	err     error
	done    chan struct{} // closed by the writer once results or err is set
}

// New returns an Ingester writing to st and starts its writer goroutine.
// The caller keeps ownership of st and closes it after Close.
func New(st *store.Store, opts Options) *Ingester {
	in := newIngester(st, opts)
	go in.run()
	return in
}

// newIngester returns an Ingester whose writer is not started yet.
func newIngester(st *store.Store, opts Options) *Ingester {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.DedupTTL <= 0 {
		opts.DedupTTL = DefaultDedupTTL
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	return &Ingester{
		st:       st,
		maxBatch: opts.MaxBatch,
		ttl:      opts.DedupTTL,
		log:      opts.Logger,
		wake:     make(chan struct{}, 1),
		stopped:  make(chan struct{}),
		lastSeq:  make(map[string]uint64),
	}
}

// Accept stores evs durably, deduplicated, and returns one Result per
// event, in order. It returns only after the transaction holding evs has
// been committed and synced to disk, so a caller may acknowledge the
// events to their sender as soon as it returns without error. evs are
// committed together in one transaction: all are stored or none.
//
// When ctx ends first, Accept returns ctx's error and the events may or
// may not be stored (the writer may already be committing them); the
// caller must not acknowledge them, and a retried delivery is then either
// stored or reported as a Duplicate. When the commit fails, Accept
// returns the error and none of evs is stored; only a sync that fails
// after Badger wrote the transaction can leave it on disk, to reappear
// after a restart, and a retried delivery is then a Duplicate.
//
// Accept blocks its caller until the commit, so the queue holds at most
// one call per concurrent caller: bound the callers (e.g. the HTTP
// server's concurrent requests) to bound memory.
//
// An invalid event (see Event) fails the whole call before anything is
// queued. Accept after Close returns ErrClosed.
func (in *Ingester) Accept(ctx context.Context, evs []Event) ([]Result, error) {
	return in.AcceptWith(ctx, evs, nil)
}

// AcceptWith is Accept that also writes puts in the same transaction as
// evs, after them: the events and, say, the position to resume after
// them are stored together or not at all. puts are written even when
// every event is a Duplicate, and evs may be empty. When two calls
// committed in one batch write the same key, the later call's value is
// kept; calls for one trigger that wait for each other therefore keep
// the newest position.
func (in *Ingester) AcceptWith(ctx context.Context, evs []Event, puts []Put) ([]Result, error) {
	if len(evs) == 0 && len(puts) == 0 {
		return nil, nil
	}
	req, err := newRequest(ctx, evs, puts)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("accept %d events: %w", len(evs), err)
	}
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		return nil, ErrClosed
	}
	in.queue = append(in.queue, req)
	in.mu.Unlock()
	in.signal()

	select {
	case <-req.done:
		if req.err != nil {
			return nil, req.err
		}
		return req.results, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("accept %d events: gave up waiting for the commit, they may or may not be stored: %w", len(evs), ctx.Err())
	}
}

// newRequest validates evs and puts and copies them, payloads and values
// included, so the writer never reads memory the caller may reuse after a
// cancelled Accept, and no invalid write can fail a batch shared with
// other callers.
func newRequest(ctx context.Context, evs []Event, puts []Put) (*request, error) {
	size := 0
	for i, ev := range evs {
		if err := validate(ev); err != nil {
			return nil, fmt.Errorf("accept event %d of %d: %w", i+1, len(evs), err)
		}
		size += len(ev.Payload)
	}
	for i, p := range puts {
		// The router deletes the events it has turned into runs; nothing
		// else writes this package's kinds.
		if (p.Kind == kindEvent && !p.Delete) || p.Kind == kindDedup || p.Kind == kindSeq {
			return nil, fmt.Errorf("accept put %d of %d: kind %q belongs to the ingester", i+1, len(puts), p.Kind)
		}
		if _, err := store.Key(p.Tenant, p.Kind, p.ID); err != nil {
			return nil, fmt.Errorf("accept put %d of %d: %w", i+1, len(puts), err)
		}
		size += len(p.Value)
	}
	now := time.Now()
	buf := make([]byte, 0, size)
	keep := func(b []byte) []byte {
		start := len(buf)
		buf = append(buf, b...)
		return buf[start:len(buf):len(buf)]
	}
	req := &request{ctx: ctx, evs: make([]Event, len(evs)), puts: make([]Put, len(puts)), done: make(chan struct{})}
	for i, ev := range evs {
		if ev.ReceivedAt.IsZero() {
			ev.ReceivedAt = now
		}
		ev.Payload = keep(ev.Payload)
		req.evs[i] = ev
	}
	for i, p := range puts {
		p.Value = keep(p.Value)
		req.puts[i] = p
	}
	return req, nil
}

func validate(ev Event) error {
	if ev.Tenant == "" || strings.Contains(ev.Tenant, "/") {
		return fmt.Errorf("invalid tenant %q: want a non-empty name without \"/\"", ev.Tenant)
	}
	workflow, name, ok := strings.Cut(ev.Trigger, "/")
	if !ok || workflow == "" || name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("invalid trigger %q: want \"<workflow>/<trigger>\", each part non-empty and without \"/\"", ev.Trigger)
	}
	if ev.ID == "" {
		return fmt.Errorf("event of trigger %s has an empty id", ev.Trigger)
	}
	return nil
}

// Close stops accepting events, waits until every event already queued is
// committed (or has failed) and stops the writer. It returns the first
// commit error met while flushing; each affected Accept call got it too.
// Close does not close the store. Calling Close again returns nil.
func (in *Ingester) Close() error {
	in.mu.Lock()
	already := in.closed
	in.closed = true
	in.mu.Unlock()
	if already {
		<-in.stopped
		return nil
	}
	in.signal()
	<-in.stopped
	return in.closeErr
}

// Read returns up to limit stored events of tenant with a seq greater
// than after, in seq order, i.e. the order they were accepted in. after 0
// reads from the first event.
func (in *Ingester) Read(tenant string, after uint64, limit int) ([]Stored, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("read events of %s: limit %d is not positive", tenant, limit)
	}
	from := ""
	if after > 0 {
		from = seqID(after)
	}
	var out []Stored
	err := in.st.View(func(tx *store.Tx) error {
		return tx.Scan(tenant, kindEvent, from, limit, func(id string, v []byte) error {
			seq, err := parseSeqID(id)
			if err != nil {
				return err
			}
			ev, err := decodeEvent(v)
			if err != nil {
				return fmt.Errorf("event %d: %w", seq, err)
			}
			ev.Tenant = tenant
			out = append(out, Stored{Seq: seq, Event: ev})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read events of %s after %d: %w", tenant, after, err)
	}
	return out, nil
}

func (in *Ingester) signal() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// run is the writer: the only goroutine that writes events, so the seq
// counters need no lock and every batch is one transaction.
func (in *Ingester) run() {
	defer close(in.stopped)
	for {
		batch, closing := in.take()
		if len(batch) > 0 {
			if err := in.commit(batch); err != nil && closing && in.closeErr == nil {
				in.closeErr = err
			}
			continue
		}
		if closing {
			return
		}
		<-in.wake
	}
}

// take removes the next batch from the queue: whole requests, in arrival
// order, up to maxBatch writes (events and puts; or one request when it
// alone has more).
// closing reports whether Close was called.
func (in *Ingester) take() (batch []*request, closing bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	n, events := 0, 0
	for n < len(in.queue) {
		k := len(in.queue[n].evs) + len(in.queue[n].puts)
		if n > 0 && events+k > in.maxBatch {
			break
		}
		events += k
		n++
	}
	batch = append([]*request(nil), in.queue[:n]...)
	rest := copy(in.queue, in.queue[n:])
	clear(in.queue[rest:])
	in.queue = in.queue[:rest]
	return batch, in.closed
}

// commit writes batch in one transaction and releases its callers. It
// returns the commit error, if any.
func (in *Ingester) commit(batch []*request) error {
	// A caller that stopped waiting has been told its events may not be
	// stored; not storing them spares the work.
	live := make([]*request, 0, len(batch))
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = fmt.Errorf("accept %d events: %w", len(r.evs), err)
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return nil
	}

	// Persist, then release: the Update below returns only after Badger
	// has synced the transaction (SyncWrites), and no caller is released
	// before it returns, so an Accept that returns without error means
	// its events survive a crash.
	err := in.write(live)
	if store.IsTooBig(err) && len(live) > 1 {
		// The combined batch exceeds what one transaction can carry;
		// each half is still whole requests, so no call is split.
		half := len(live) / 2
		return errors.Join(in.commit(live[:half]), in.commit(live[half:]))
	}
	if err != nil {
		n := 0
		for _, r := range live {
			n += len(r.evs)
		}
		err = fmt.Errorf("commit %d events of %d accept calls: %w", n, len(live), err)
		in.log.Error("ingest commit failed; the callers were not acknowledged", "events", n, "calls", len(live), "error", err)
	}
	for _, r := range live {
		if err != nil {
			r.results, r.err = nil, err
		}
		close(r.done)
	}
	return err
}

// write stages every call of batch in one Update: for each event a dedup
// check and, for a new event, the event under the tenant's next seq and
// its dedup record with the TTL; then the call's puts.
func (in *Ingester) write(batch []*request) error {
	return in.st.Update(func(tx *store.Tx) error {
		touched := map[string]bool{}
		for _, r := range batch {
			for _, ev := range r.evs {
				touched[ev.Tenant] = true
			}
			r.results = make([]Result, len(r.evs))
			for i, ev := range r.evs {
				res, err := in.stage(tx, ev)
				if err != nil {
					return fmt.Errorf("store event %s/%s of tenant %s: %w", ev.Trigger, ev.ID, ev.Tenant, err)
				}
				r.results[i] = res
			}
			for _, p := range r.puts {
				if p.Delete {
					if err := tx.Delete(p.Tenant, p.Kind, p.ID); err != nil {
						return fmt.Errorf("delete %s/%s of tenant %s with events: %w", p.Kind, p.ID, p.Tenant, err)
					}
					continue
				}
				if err := tx.Put(p.Tenant, p.Kind, p.ID, p.Value); err != nil {
					return fmt.Errorf("store %s/%s of tenant %s with events: %w", p.Kind, p.ID, p.Tenant, err)
				}
			}
		}
		for tenant := range touched {
			// Only a tenant that was handed seqs: a batch of duplicates
			// alone, first after a restart, knows no counter yet and must
			// not write one.
			last, ok := in.lastSeq[tenant]
			if !ok {
				continue
			}
			if err := tx.Put(tenant, kindSeq, "last", []byte(strconv.FormatUint(last, 10))); err != nil {
				return fmt.Errorf("store the seq of tenant %s: %w", tenant, err)
			}
		}
		return nil
	})
}

func (in *Ingester) stage(tx *store.Tx, ev Event) (Result, error) {
	dedupID := ev.Trigger + "/" + ev.ID
	// The transaction sees its own writes, so a duplicate earlier in the
	// same batch is found here too.
	v, ok, err := tx.Get(ev.Tenant, kindDedup, dedupID)
	if err != nil {
		return Result{}, err
	}
	if ok {
		seq, err := decodeSeq(v)
		if err != nil {
			return Result{}, err
		}
		return Result{Status: Duplicate, Seq: seq}, nil
	}
	seq, err := in.nextSeq(tx, ev.Tenant)
	if err != nil {
		return Result{}, err
	}
	if err := tx.Put(ev.Tenant, kindEvent, seqID(seq), encodeEvent(ev)); err != nil {
		return Result{}, err
	}
	if err := tx.PutTTL(ev.Tenant, kindDedup, dedupID, encodeSeq(seq), in.ttl); err != nil {
		return Result{}, err
	}
	return Result{Status: Accepted, Seq: seq}, nil
}

// nextSeq hands out tenant's next seq. A tenant's counter starts after
// its greatest stored seq, so seqs keep increasing across restarts. A seq
// handed out in a transaction that then fails is not reused: that leaves
// a gap but never lets two events share a seq, even if a failed commit
// turns out to have reached the disk.
func (in *Ingester) nextSeq(tx *store.Tx, tenant string) (uint64, error) {
	last, ok := in.lastSeq[tenant]
	if !ok {
		id, found, err := tx.LastID(tenant, kindEvent)
		if err != nil {
			return 0, fmt.Errorf("find last event seq: %w", err)
		}
		if found {
			if last, err = parseSeqID(id); err != nil {
				return 0, err
			}
		}
		v, found, err := tx.Get(tenant, kindSeq, "last")
		if err != nil {
			return 0, fmt.Errorf("read the seq of tenant %s: %w", tenant, err)
		}
		if found {
			mark, err := strconv.ParseUint(string(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read the seq of tenant %s: %w", tenant, err)
			}
			last = max(last, mark)
		}
	}
	last++
	in.lastSeq[tenant] = last
	return last, nil
}
