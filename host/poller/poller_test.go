package poller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubhq/hub/host/ingest"
	"github.com/hubhq/hub/host/runset"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/wire"
)

func TestPoller_RestartResumesFromStoredCursorAndStoresEachRecordOnce(t *testing.T) {
	dir := t.TempDir()
	u := newUpstream(25)

	// First life: one page of ten, then the host stops while waiting.
	d := openDisk(t, dir)
	clk, h := newClock(u), newHealth()
	opts := options(d, clk.After, h)
	opts.Limit, opts.MaxPagesPerTick = 10, 1
	p := New(opts)
	set(t, p, trigger(u, "orders"))
	if r := h.next(t); r.Err != nil || r.Events != 10 {
		t.Fatalf("first poll = %+v, want 10 events stored", r)
	}
	clk.next(t) // idle until the next tick
	p.Close()
	d.close()

	// Second life: a new poller on the reopened store continues.
	d = openDisk(t, dir)
	if got := d.cursor("orders"); got != "10" {
		t.Fatalf("stored cursor after the first page = %s, want 10", got)
	}
	clk, h = newClock(u), newHealth()
	opts = options(d, clk.After, h)
	opts.Limit, opts.MaxPagesPerTick = 10, 1
	p = New(opts)
	set(t, p, trigger(u, "orders"))
	for _, want := range []int{10, 5} {
		if r := h.next(t); r.Err != nil || r.Events != want || r.Duplicates != 0 {
			t.Fatalf("poll after restart = %+v, want %d new events", r, want)
		}
		clk.next(t).end()
	}
	h.next(t) // the upstream is drained: an empty poll
	p.Close()

	if got, want := u.cursors(), []string{"nil", "10", "20", "25"}; !slices.Equal(got, want) {
		t.Errorf("cursors polled = %v, want %v: the restart must continue from the stored cursor", got, want)
	}
	if got, want := d.eventIDs(), records("orders", 1, 25); !slices.Equal(got, want) {
		t.Errorf("stored events = %v, want each record once, in order: %v", got, want)
	}
	if got := d.cursor("orders"); got != "25" {
		t.Errorf("stored cursor = %s, want 25", got)
	}
}

func TestPoller_FailedStoreKeepsCursorAndRetriesSamePage(t *testing.T) {
	d := openDisk(t, t.TempDir())
	if err := d.In.Close(); err != nil { // every AcceptWith now fails
		t.Fatal(err)
	}
	u := newUpstream(5)
	clk, h := newClock(u), newHealth()
	p := New(options(d, clk.After, h))
	defer p.Close()
	set(t, p, trigger(u, "orders"))

	r := h.next(t)
	if !errors.Is(r.Err, ingest.ErrClosed) || r.ErrKind != fault.Retryable {
		t.Fatalf("poll with a failing ingester = %+v, want a retryable ErrClosed", r)
	}
	if w := clk.next(t); w.d != time.Second {
		t.Fatalf("wait after a failed store = %s, want the first backoff, 1s", w.d)
	} else {
		w.end()
	}
	h.next(t)
	if got, want := u.cursors(), []string{"nil", "nil"}; !slices.Equal(got, want) {
		t.Errorf("cursors polled = %v, want %v: a page that was not stored is fetched again", got, want)
	}
	if got := d.cursor("orders"); got != "<none>" {
		t.Errorf("stored cursor = %s, want none", got)
	}
}

func TestPoller_FollowsHasMoreUpToMaxPagesPerTick(t *testing.T) {
	d := openDisk(t, t.TempDir())
	u := newUpstream(50)
	clk, h := newClock(u), newHealth()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	opts := options(d, clk.After, h)
	opts.Limit, opts.MaxPagesPerTick = 10, 3
	opts.Now = func() time.Time { return now }
	p := New(opts)
	defer p.Close()
	set(t, p, trigger(u, "orders"))

	for i, want := range []struct{ calls, events int }{{3, 30}, {5, 20}, {6, 0}} {
		events := 0
		w := clk.next(t)
		if w.calls != want.calls || w.d != time.Minute {
			t.Fatalf("tick %d: waited %s after %d polls, want the interval (1m0s) after %d polls", i+1, w.d, w.calls, want.calls)
		}
		for len(h) > 0 {
			r := <-h
			if r.Err != nil {
				t.Fatalf("tick %d: %v", i+1, r.Err)
			}
			if !r.At.Equal(now) {
				t.Errorf("Result.At = %s, want Options.Now's %s", r.At, now)
			}
			events += r.Events
		}
		if events != want.events {
			t.Errorf("tick %d stored %d events, want %d", i+1, events, want.events)
		}
		w.end()
	}
	if got, want := u.cursors()[:6], []string{"nil", "10", "20", "30", "40", "50"}; !slices.Equal(got, want) {
		t.Errorf("cursors polled = %v, want %v", got, want)
	}
	evs, err := d.In.Read(tenant, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 50 {
		t.Fatalf("stored %d events, want 50", len(evs))
	}
	if e := evs[0]; e.Trigger != "orders/record_created" || e.ID != "r1" || string(e.Payload) != `{"n":1}` || !e.ReceivedAt.Equal(now) {
		t.Errorf("first stored event = %+v, want orders/record_created r1 {\"n\":1} received at %s", e, now)
	}
}

func TestPoller_ErrorsWaitByKind(t *testing.T) {
	retryable := fault.Retryablef("503 from the shop")
	// script is what each poll returns in turn, nil for a page of records;
	// kinds is the ErrKind reported for each error; waits is the wait
	// after each poll, then after the first success past the script.
	for _, tc := range []struct {
		name     string
		interval time.Duration
		script   []error
		kinds    []fault.Kind
		waits    []time.Duration
	}{
		{
			name:     "retryable backs off exponentially up to the interval",
			interval: 5 * time.Second,
			script:   []error{retryable, retryable, retryable, retryable},
			kinds:    []fault.Kind{fault.Retryable, fault.Retryable, fault.Retryable, fault.Retryable},
			waits:    []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second},
		},
		{
			name:     "a success resets the backoff",
			interval: time.Minute,
			script:   []error{retryable, retryable, nil, retryable},
			kinds:    []fault.Kind{fault.Retryable, fault.Retryable, 0, fault.Retryable},
			waits:    []time.Duration{time.Second, 2 * time.Second, time.Minute, time.Second, time.Minute},
		},
		{
			name:     "rate limited waits RetryAfter when it is longer than the backoff",
			interval: time.Minute,
			script:   []error{fault.RateLimitedf(30*time.Second, "429"), fault.RateLimitedf(0, "429"), fault.RateLimitedf(time.Second, "429")},
			kinds:    []fault.Kind{fault.RateLimited, fault.RateLimited, fault.RateLimited},
			waits:    []time.Duration{30 * time.Second, 2 * time.Second, 4 * time.Second, time.Minute},
		},
		{
			name:     "permanent, invalid and unclassified wait a full interval",
			interval: time.Minute,
			script:   []error{fault.Permanentf("gone"), fault.Invalid("bad config"), errors.New("unclassified")},
			kinds:    []fault.Kind{fault.Permanent, fault.InvalidInput, fault.Permanent},
			waits:    []time.Duration{time.Minute, time.Minute, time.Minute, time.Minute},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := openDisk(t, t.TempDir())
			u := newUpstream(3)
			var calls atomic.Int32
			u.hook = func(context.Context, wire.PollRequest) error {
				if i := int(calls.Add(1)) - 1; i < len(tc.script) {
					return tc.script[i]
				}
				return nil
			}
			clk, h := newClock(u), newHealth()
			p := New(options(d, clk.After, h))
			defer p.Close()
			tr := trigger(u, "orders")
			tr.Interval = tc.interval
			set(t, p, tr)

			for i, want := range tc.waits {
				r := h.next(t)
				if i < len(tc.script) && tc.script[i] != nil {
					if r.Err == nil || r.ErrKind != tc.kinds[i] {
						t.Fatalf("poll %d = %+v, want a %s error", i+1, r, tc.kinds[i])
					}
				} else if r.Err != nil {
					t.Fatalf("poll %d failed: %v", i+1, r.Err)
				}
				w := clk.next(t)
				if w.d != want {
					t.Errorf("wait after poll %d = %s, want %s", i+1, w.d, want)
				}
				w.end()
			}
			if got := d.eventIDs(); !slices.Equal(got, records("orders", 1, 3)) {
				t.Errorf("stored events = %v, want r1..r3 once", got)
			}
		})
	}
}

func TestPoller_TimeoutIsRetryable(t *testing.T) {
	d := openDisk(t, t.TempDir())
	u := newUpstream(1)
	u.hook = func(ctx context.Context, _ wire.PollRequest) error {
		<-ctx.Done() // a connector that hangs until the poller gives up
		return fmt.Errorf("list orders: %w", ctx.Err())
	}
	clk, h := newClock(u), newHealth()
	opts := options(d, clk.After, h)
	opts.Timeout = time.Millisecond
	p := New(opts)
	defer p.Close()
	set(t, p, trigger(u, "orders"))
	if r := h.next(t); !errors.Is(r.Err, context.DeadlineExceeded) || r.ErrKind != fault.Retryable {
		t.Fatalf("poll = %+v, want a retryable deadline error", r)
	}
	if w := clk.next(t); w.d != time.Second {
		t.Errorf("wait = %s, want the first backoff, 1s", w.d)
	}
}

func TestPoller_AuthExpiredRefreshesOnceAndRetriesAtOnce(t *testing.T) {
	d := openDisk(t, t.TempDir())
	u := newUpstream(4)
	u.hook = func(_ context.Context, req wire.PollRequest) error {
		if req.Conn.Auth.Token != "fresh" {
			return fault.AuthExpiredf("token %s expired", req.Conn.Auth.Token)
		}
		return nil
	}
	clk, h := newClock(u), newHealth()
	opts := options(d, clk.After, h)
	var refreshes atomic.Int32
	opts.Refresh = func(_ context.Context, tr Trigger) (wire.Connection, error) {
		refreshes.Add(1)
		if tr.Workflow != "orders" || tr.Conn.Auth.Token != "stale" {
			t.Errorf("Refresh got %s with token %s, want orders with the stale token", tr.Workflow, tr.Conn.Auth.Token)
		}
		c := tr.Conn
		c.Auth.Token = "fresh"
		return c, nil
	}
	p := New(opts)
	defer p.Close()
	set(t, p, trigger(u, "orders"))

	if r := h.next(t); r.Err != nil || r.Events != 4 {
		t.Fatalf("poll = %+v, want 4 events after refreshing", r)
	}
	if n := refreshes.Load(); n != 1 {
		t.Errorf("Refresh called %d times, want 1", n)
	}
	if n := len(u.cursors()); n != 2 {
		t.Errorf("upstream polled %d times, want 2 (stale, then fresh at once)", n)
	}
	w := clk.next(t)
	if w.d != time.Minute {
		t.Errorf("wait after the refreshed poll = %s, want the interval", w.d)
	}
	w.end()
	// The next tick keeps the fresh credentials.
	if r := h.next(t); r.Err != nil {
		t.Fatalf("next tick: %v", r.Err)
	}
	if n := refreshes.Load(); n != 1 {
		t.Errorf("Refresh called %d times after the next tick, want still 1", n)
	}
}

func TestPoller_AuthExpiredAgainAfterRefreshBacksOff(t *testing.T) {
	for _, tc := range []struct {
		name    string
		refresh func(context.Context, Trigger) (wire.Connection, error)
		calls   int
	}{
		{"refreshed credentials rejected too", func(_ context.Context, tr Trigger) (wire.Connection, error) { return tr.Conn, nil }, 2},
		{"refresh fails", func(context.Context, Trigger) (wire.Connection, error) {
			return wire.Connection{}, errors.New("refresh token revoked")
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := openDisk(t, t.TempDir())
			u := newUpstream(1)
			u.hook = func(context.Context, wire.PollRequest) error { return fault.AuthExpiredf("revoked") }
			clk, h := newClock(u), newHealth()
			opts := options(d, clk.After, h)
			var refreshes atomic.Int32
			opts.Refresh = func(ctx context.Context, tr Trigger) (wire.Connection, error) {
				refreshes.Add(1)
				return tc.refresh(ctx, tr)
			}
			p := New(opts)
			defer p.Close()
			set(t, p, trigger(u, "orders"))

			if r := h.next(t); r.ErrKind != fault.AuthExpired {
				t.Fatalf("poll = %+v, want auth_expired", r)
			}
			if w := clk.next(t); w.d != time.Second {
				t.Errorf("wait = %s, want the first backoff, 1s", w.d)
			}
			if n := refreshes.Load(); n != 1 {
				t.Errorf("Refresh called %d times, want once", n)
			}
			if n := len(u.cursors()); n != tc.calls {
				t.Errorf("upstream polled %d times, want %d", n, tc.calls)
			}
		})
	}
}

func TestPoller_CursorExpiredRestartsFromNilAndDedupDropsTheReplay(t *testing.T) {
	d := openDisk(t, t.TempDir())
	// Records 1..7 were polled earlier and the cursor after them stored.
	var early []ingest.Event
	for _, id := range []string{"r1", "r2", "r3", "r4", "r5", "r6", "r7"} {
		early = append(early, ingest.Event{Tenant: tenant, Trigger: "orders/record_created", ID: id})
	}
	if _, err := d.In.AcceptWith(context.Background(), early, []ingest.Put{{Tenant: tenant, Kind: KindCursor, ID: "orders", Value: []byte("7")}}); err != nil {
		t.Fatal(err)
	}
	u := newUpstream(12)
	u.hook = func(_ context.Context, req wire.PollRequest) error {
		if string(req.Cursor) == "7" {
			return fault.CursorExpiredf("cursor 7 is past retention")
		}
		return nil
	}
	clk, h := newClock(u), newHealth()
	p := New(options(d, clk.After, h))
	defer p.Close()
	set(t, p, trigger(u, "orders"))

	if r := h.next(t); r.ErrKind != fault.CursorExpired {
		t.Fatalf("first poll = %+v, want cursor_expired", r)
	}
	if r := h.next(t); r.Err != nil || r.Events != 5 || r.Duplicates != 7 {
		t.Fatalf("poll from nil = %+v, want 5 new events and 7 duplicates", r)
	}
	clk.next(t)
	if got, want := u.cursors(), []string{"7", "nil"}; !slices.Equal(got, want) {
		t.Errorf("cursors polled = %v, want %v", got, want)
	}
	if got := d.eventIDs(); !slices.Equal(got, records("orders", 1, 12)) {
		t.Errorf("stored events = %v, want r1..r12 once", got)
	}
	if got := d.cursor("orders"); got != "12" {
		t.Errorf("stored cursor = %s, want 12", got)
	}
}

func TestPoller_PollNowCutsTheTickShort(t *testing.T) {
	d := openDisk(t, t.TempDir())
	u := newUpstream(1)
	clk, h := newClock(u), newHealth()
	p := New(options(d, clk.After, h))
	defer p.Close()
	set(t, p, trigger(u, "orders"))
	h.next(t)
	clk.next(t) // waiting for the tick; never ended
	if !p.PollNow(tenant, "orders") {
		t.Fatal("PollNow of a running trigger = false")
	}
	h.next(t)
	if n := len(u.cursors()); n != 2 {
		t.Errorf("upstream polled %d times, want 2", n)
	}
	if p.PollNow(tenant, "other") {
		t.Error("PollNow of an unknown trigger = true")
	}
}

func TestPoller_SetStartsStopsAndRestartsByDefinition(t *testing.T) {
	d := openDisk(t, t.TempDir())
	ua, ub := newUpstream(2), newUpstream(3)
	h := newHealth()
	p := New(options(d, never, h))
	defer p.Close()

	set(t, p, trigger(ua, "a"))
	ua.next(t)
	ra := runnerOf(p, "a")

	// Adding b starts it and leaves a running as it is.
	set(t, p, trigger(ua, "a"), trigger(ub, "b"))
	if req := ub.next(t); req.Cursor != nil || string(req.Config) != `{"status":"paid"}` || req.Trigger != "record_created" || req.Limit != DefaultLimit {
		t.Errorf("b's first request = %+v", req)
	}
	if runnerOf(p, "a") != ra {
		t.Error("a restarted although its definition did not change")
	}
	h.next(t)
	h.next(t)
	rb := runnerOf(p, "b")

	// Dropping a stops it; changing b's config restarts b from its stored cursor.
	changed := trigger(ub, "b")
	changed.Config = json.RawMessage(`{"status":"shipped"}`)
	set(t, p, changed)
	waitDone(t, ra, "a after it was removed")
	waitDone(t, rb, "b's old goroutine after b changed")
	req := ub.next(t)
	if string(req.Config) != `{"status":"shipped"}` || string(req.Cursor) != "3" {
		t.Errorf("b's request after the change = config %s cursor %s, want the new config and the stored cursor 3", req.Config, req.Cursor)
	}
	if p.PollNow(tenant, "a") {
		t.Error("PollNow of removed a = true")
	}

	// Every part of the definition counts.
	for name, change := range map[string]func(*Trigger){
		"name":      func(tr *Trigger) { tr.Name = "record_updated" },
		"interval":  func(tr *Trigger) { tr.Interval = time.Hour },
		"conn":      func(tr *Trigger) { tr.Conn.Auth.Token = "rotated" },
		"connector": func(tr *Trigger) { tr.Connector = newUpstream(3) },
	} {
		before := runnerOf(p, "b")
		next := changed
		change(&next)
		set(t, p, next)
		waitDone(t, before, "b after its "+name+" changed")
		if runnerOf(p, "b") == before {
			t.Errorf("b not restarted after its %s changed", name)
		}
		changed = next
	}
}

func TestPoller_SetRejectsInvalidTriggersAndAppliesTheRest(t *testing.T) {
	d := openDisk(t, t.TempDir())
	u := newUpstream(0)
	p := New(options(d, never, newHealth()))
	defer p.Close()
	noInterval := trigger(u, "b")
	noInterval.Interval = 0
	slash := trigger(u, "c/d")
	noConnector := trigger(u, "e")
	noConnector.Connector = nil
	err := p.Set([]Trigger{trigger(u, "a"), noInterval, slash, noConnector, trigger(u, "a")})
	if err == nil {
		t.Fatal("Set with invalid triggers returned no error")
	}
	for _, want := range []string{"acme/b: interval", `invalid workflow "c/d"`, "acme/e: no connector", "acme/a: listed twice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Set error %q does not mention %q", err, want)
		}
	}
	u.next(t)
	if !p.PollNow(tenant, "a") || p.PollNow(tenant, "b") {
		t.Error("want a running and b not")
	}
}

func TestPoller_RemovedTriggerFinishesItsInFlightPoll(t *testing.T) {
	d := openDisk(t, t.TempDir())
	u := newUpstream(4)
	release := make(chan struct{})
	u.hook = func(context.Context, wire.PollRequest) error { <-release; return nil }
	p := New(options(d, never, newHealth()))
	defer p.Close()
	set(t, p, trigger(u, "orders"))
	u.next(t) // in flight
	r := runnerOf(p, "orders")

	set(t, p)
	select {
	case <-r.done:
		t.Fatal("the removed trigger stopped before its in-flight poll finished")
	default:
	}
	close(release)
	waitDone(t, r, "the removed trigger")
	if got := d.eventIDs(); !slices.Equal(got, records("orders", 1, 4)) {
		t.Errorf("stored events = %v, want the in-flight page's r1..r4", got)
	}
	if got := d.cursor("orders"); got != "4" {
		t.Errorf("stored cursor = %s, want 4", got)
	}
}

func TestPoller_RestartedTriggerWaitsForTheOldPollAndUsesItsCursor(t *testing.T) {
	d := openDisk(t, t.TempDir())
	u := newUpstream(4)
	release := make(chan struct{})
	var first atomic.Bool
	first.Store(true)
	u.hook = func(context.Context, wire.PollRequest) error {
		if first.Swap(false) {
			<-release
		}
		return nil
	}
	p := New(options(d, never, newHealth()))
	defer p.Close()
	tr := trigger(u, "orders")
	set(t, p, tr)
	u.next(t) // in flight

	tr.Interval = time.Hour
	set(t, p, tr)
	select {
	case req := <-u.called:
		t.Fatalf("the restarted trigger polled (cursor %s) while the old poll was in flight", cursorString(req.Cursor))
	default:
	}
	close(release)
	if req := u.next(t); string(req.Cursor) != "4" {
		t.Errorf("the restarted trigger polled from cursor %s, want 4, stored by the old poll", cursorString(req.Cursor))
	}
	if got := d.eventIDs(); !slices.Equal(got, records("orders", 1, 4)) {
		t.Errorf("stored events = %v, want r1..r4 once", got)
	}
}

func TestPoller_CloseCancelsInFlightPollsAndWaits(t *testing.T) {
	d := openDisk(t, t.TempDir())
	u := newUpstream(4)
	var returned atomic.Bool
	u.hook = func(ctx context.Context, _ wire.PollRequest) error {
		<-ctx.Done()
		returned.Store(true)
		return fault.Retryablef("PollTrigger: %v", ctx.Err())
	}
	h := newHealth()
	p := New(options(d, never, h))
	set(t, p, trigger(u, "orders"), trigger(u, "invoices"))
	u.next(t)
	u.next(t)

	p.Close()
	if !returned.Load() {
		t.Error("Close returned before the in-flight polls did")
	}
	p.Close() // again: nothing left to do
	if err := p.Set([]Trigger{trigger(u, "orders")}); !errors.Is(err, ErrClosed) {
		t.Errorf("Set after Close = %v, want ErrClosed", err)
	}
	if len(u.called) != 0 || len(h) != 0 {
		t.Errorf("after Close: %d more polls, %d results reported, want none", len(u.called), len(h))
	}
	if got := d.eventIDs(); len(got) != 0 {
		t.Errorf("stored events = %v, want none from cancelled polls", got)
	}
}

func TestPoller_WaitsStretchWithBackpressureAndJitter(t *testing.T) {
	d := openDisk(t, t.TempDir())
	for _, tc := range []struct {
		name     string
		jitter   float64
		rand     float64
		pressure float64
		failures int
		tick     time.Duration
		backoff  time.Duration
	}{
		{name: "no jitter", jitter: -1, pressure: 1, failures: 1, tick: time.Minute, backoff: time.Second},
		{name: "backpressure stretches the tick only", jitter: -1, pressure: 3, failures: 2, tick: 3 * time.Minute, backoff: 2 * time.Second},
		{name: "backpressure is capped", jitter: -1, pressure: math.Inf(1), failures: 1, tick: 100 * time.Minute, backoff: time.Second},
		{name: "backpressure below 1 is normal", jitter: -1, pressure: 0.5, failures: 10, tick: time.Minute, backoff: time.Minute},
		{name: "default jitter, low end", rand: 0, pressure: 1, failures: 1, tick: 54 * time.Second, backoff: 900 * time.Millisecond},
		{name: "default jitter, middle", rand: 0.5, pressure: 1, failures: 3, tick: time.Minute, backoff: 4 * time.Second},
		{name: "jitter 50%, high end", jitter: 0.5, rand: 0.75, pressure: 2, failures: 1, tick: 150 * time.Second, backoff: 1250 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(Options{
				Store: d.St, Ingest: d.In, Jitter: tc.jitter,
				Rand:         func() float64 { return tc.rand },
				Backpressure: func() float64 { return tc.pressure },
			})
			defer p.Close()
			r := &runner{p: p, spec: Trigger{Interval: time.Minute}, failures: tc.failures}
			if got := r.tick(); got != tc.tick {
				t.Errorf("tick = %s, want %s", got, tc.tick)
			}
			if got := r.backoff(); got != tc.backoff {
				t.Errorf("backoff after %d failures = %s, want %s", tc.failures, got, tc.backoff)
			}
		})
	}
}

func runnerOf(p *Poller, workflow string) *runner {
	r, ok := p.set.Get(runset.Key{Tenant: tenant, Workflow: workflow})
	if !ok {
		return nil
	}
	return r.(*runner)
}

func waitDone(t *testing.T, r *runner, what string) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(patience):
		t.Fatalf("%s did not stop", what)
	}
}
