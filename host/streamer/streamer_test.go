package streamer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubhq/hub/host/ingest"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/wire"
)

func TestStreamer_StoresEventsWithTheirPositionAndRestartResumesStoringEachOnce(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

	// First life: two batches of five, then the host stops mid-stream.
	d := openDisk(t, dir)
	u := newUpstream(deliver(10, 5, hang))
	h := newHealth()
	opts := options(d, never, h)
	opts.Now = func() time.Time { return now }
	s := New(opts)
	set(t, s, trigger(u, "orders"))
	if r := h.next(t); !r.Connected || !r.Since.Equal(now) || r.Events != 0 || r.Reconnects != 0 {
		t.Fatalf("first report = %+v, want connected since %s", r, now)
	}
	// Two batches of five: stored in one commit or two, depending on
	// whether the second arrived while the first was being synced.
	for events := 0; events < 10; {
		r := h.next(t)
		if r.Err != nil || !r.Connected || r.Events == 0 || !r.LastEventAt.Equal(now) {
			t.Fatalf("report after %d events = %+v, want more events stored", events, r)
		}
		events += r.Events
	}
	if got := d.position("orders"); got != "10" {
		t.Fatalf("stored position after two batches = %s, want 10", got)
	}
	evs, err := d.In.Read(tenant, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if e := evs[0]; e.Trigger != "orders/order_created" || e.ID != "r1" || string(e.Payload) != `{"n":1}` || !e.ReceivedAt.Equal(now) {
		t.Errorf("first stored event = %+v, want orders/order_created r1 {\"n\":1} received at %s", e, now)
	}
	s.Close()
	d.close()

	// Second life: a new streamer on the reopened store continues from
	// the stored position.
	d = openDisk(t, dir)
	u.scripts = []script{deliver(25, 4, hang)}
	h = newHealth()
	s = New(options(d, never, h))
	set(t, s, trigger(u, "orders"))
	events := 0
	for events < 15 {
		r := h.next(t)
		if r.Err != nil || r.Duplicates != 0 {
			t.Fatalf("report after the restart = %+v, want only new events", r)
		}
		events += r.Events
	}
	s.Close()

	if got, want := u.positions(), []string{"nil", "10"}; !slices.Equal(got, want) {
		t.Errorf("positions opened from = %v, want %v: the restart must resume from the stored position", got, want)
	}
	if got, want := d.eventIDs(), stored("orders", 1, 25); !slices.Equal(got, want) {
		t.Errorf("stored events = %v, want each record once, in order: %v", got, want)
	}
	if got := d.position("orders"); got != "25" {
		t.Errorf("stored position = %s, want 25", got)
	}
}

func TestStreamer_FailedStoreKeepsThePositionAndReopensFromIt(t *testing.T) {
	d := openDisk(t, t.TempDir())
	d.preload("orders", 1, 3)
	if err := d.In.Close(); err != nil { // every AcceptWith now fails
		t.Fatal(err)
	}
	u := newUpstream(deliver(6, 3, hang))
	clk, h := newClock(), newHealth()
	s := New(options(d, clk.After, h))
	defer s.Close()
	set(t, s, trigger(u, "orders"))

	if r := h.down(t); !errors.Is(r.Err, ingest.ErrClosed) || r.ErrKind != fault.Retryable {
		t.Fatalf("report with a failing ingester = %+v, want a retryable ErrClosed", r)
	}
	if w := clk.next(t); w.d != time.Second {
		t.Fatalf("wait after a failed store = %s, want the first backoff, 1s", w.d)
	} else {
		w.end()
	}
	u.next(t)
	if req := u.next(t); string(req.Position) != "3" {
		t.Errorf("reopened from %s, want the stored position 3: a batch that was not stored is asked for again", positionString(req.Position))
	}
	if got := d.position("orders"); got != "3" {
		t.Errorf("stored position = %s, want 3", got)
	}
}

func TestStreamer_SilentStreamIsCancelledAfterTheHeartbeatAndReopened(t *testing.T) {
	d := openDisk(t, t.TempDir())
	u := newUpstream(deliver(2, 2, hang)) // then silent, without closing
	clk, h := newClock(), newHealth()
	s := New(options(d, clk.After, h))
	defer s.Close()
	tr := trigger(u, "orders")
	tr.Heartbeat = 100 * time.Millisecond
	set(t, s, tr)

	r := h.down(t)
	if !errors.Is(r.Err, ErrHeartbeat) || r.ErrKind != fault.Retryable || r.Connected {
		t.Fatalf("report of the silent stream = %+v, want a retryable ErrHeartbeat, disconnected", r)
	}
	if !strings.Contains(r.Err.Error(), "100ms") {
		t.Errorf("heartbeat error %q does not say the heartbeat", r.Err)
	}
	if w := clk.next(t); w.d != time.Second {
		t.Errorf("wait after a stream that delivered = %s, want the reset backoff, 1s", w.d)
	} else {
		w.end()
	}
	u.next(t)
	if req := u.next(t); string(req.Position) != "2" {
		t.Errorf("reopened from %s, want the stored position 2", positionString(req.Position))
	}
	if got := d.eventIDs(); !slices.Equal(got, stored("orders", 1, 2)) {
		t.Errorf("stored events = %v, want r1, r2", got)
	}
}

func TestStreamer_KeepalivesKeepAQuietStreamOpen(t *testing.T) {
	d := openDisk(t, t.TempDir())
	const heartbeat = 200 * time.Millisecond
	u := newUpstream(func(ctx context.Context, _ wire.StreamRequest, sink wire.StreamSink) error {
		// 300ms in all, longer than the heartbeat, never silent for more
		// than a tenth of it.
		for range 15 {
			if err := sink.Keepalive(time.Now()); err != nil {
				return err
			}
			select {
			case <-time.After(heartbeat / 10):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	h := newHealth()
	s := New(options(d, never, h))
	defer s.Close()
	tr := trigger(u, "orders")
	tr.Heartbeat = heartbeat
	set(t, s, tr)

	if r := h.next(t); !r.Connected {
		t.Fatalf("first report = %+v, want connected on the first keepalive", r)
	}
	if r := h.down(t); r.Err != nil {
		t.Errorf("the stream ended with %v, want a clean end: keepalives count as life", r.Err)
	}
}

func TestStreamer_ReconnectsWithBackoffByKind(t *testing.T) {
	retryable := fault.Retryablef("connection reset")
	for _, tc := range []struct {
		name    string
		max     time.Duration
		scripts []script
		errs    []error // nil for a clean end
		kinds   []fault.Kind
		waits   []time.Duration
	}{
		{
			name:    "retryable backs off exponentially up to MaxBackoff",
			max:     5 * time.Second,
			scripts: []script{fail(retryable), fail(retryable), fail(retryable), fail(retryable), fail(retryable)},
			errs:    []error{retryable, retryable, retryable, retryable, retryable},
			kinds:   []fault.Kind{fault.Retryable, fault.Retryable, fault.Retryable, fault.Retryable, fault.Retryable},
			waits:   []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second},
		},
		{
			name:    "a stream that stored a batch resets the backoff",
			scripts: []script{fail(retryable), fail(retryable), deliver(3, 3, fail(retryable)), fail(retryable)},
			errs:    []error{retryable, retryable, retryable, retryable},
			kinds:   []fault.Kind{fault.Retryable, fault.Retryable, fault.Retryable, fault.Retryable},
			waits:   []time.Duration{time.Second, 2 * time.Second, time.Second, 2 * time.Second},
		},
		{
			name:    "rate limited waits RetryAfter when it is longer than the backoff",
			scripts: []script{fail(fault.RateLimitedf(30*time.Second, "429")), fail(fault.RateLimitedf(0, "429")), fail(fault.RateLimitedf(time.Second, "429"))},
			errs:    []error{fault.RateLimitedf(0, "429"), fault.RateLimitedf(0, "429"), fault.RateLimitedf(0, "429")},
			kinds:   []fault.Kind{fault.RateLimited, fault.RateLimited, fault.RateLimited},
			waits:   []time.Duration{30 * time.Second, 2 * time.Second, 4 * time.Second},
		},
		{
			name:    "permanent, invalid and unclassified back off and are reported",
			scripts: []script{fail(fault.Permanentf("subscribe refused")), fail(fault.Invalid("bad config")), fail(errors.New("plugin exited"))},
			errs:    []error{retryable, retryable, retryable},
			kinds:   []fault.Kind{fault.Permanent, fault.InvalidInput, fault.Permanent},
			waits:   []time.Duration{time.Second, 2 * time.Second, 4 * time.Second},
		},
		{
			name:    "clean ends that stored nothing back off too",
			scripts: []script{fail(nil), fail(nil), fail(nil)},
			errs:    []error{nil, nil, nil},
			kinds:   []fault.Kind{0, 0, 0},
			waits:   []time.Duration{time.Second, 2 * time.Second, 4 * time.Second},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := openDisk(t, t.TempDir())
			u := newUpstream(tc.scripts...)
			clk, h := newClock(), newHealth()
			opts := options(d, clk.After, h)
			opts.MaxBackoff = tc.max
			s := New(opts)
			defer s.Close()
			set(t, s, trigger(u, "orders"))

			for i, want := range tc.waits {
				r := h.down(t)
				if tc.errs[i] == nil && r.Err != nil {
					t.Fatalf("stream %d ended with %v, want a clean end", i+1, r.Err)
				}
				if tc.errs[i] != nil && (r.Err == nil || r.ErrKind != tc.kinds[i]) {
					t.Fatalf("stream %d = %+v, want a %s error", i+1, r, tc.kinds[i])
				}
				if r.Reconnects != i {
					t.Errorf("stream %d reported %d reconnects, want %d", i+1, r.Reconnects, i)
				}
				w := clk.next(t)
				if w.d != want {
					t.Errorf("wait after stream %d = %s, want %s", i+1, w.d, want)
				}
				w.end()
			}
			for range len(tc.waits) + 1 { // every wait ends in a reconnect
				u.next(t)
			}
		})
	}
}

func TestStreamer_AuthExpiredRefreshesOnceAndReconnectsAtOnce(t *testing.T) {
	d := openDisk(t, t.TempDir())
	stale := func(ctx context.Context, req wire.StreamRequest, sink wire.StreamSink) error {
		if req.Conn.Auth.Token != "fresh" {
			return fault.AuthExpiredf("token %s expired", req.Conn.Auth.Token)
		}
		return deliver(4, 4, hang)(ctx, req, sink)
	}
	u := newUpstream(stale, stale)
	clk, h := newClock(), newHealth()
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
	s := New(opts)
	defer s.Close()
	set(t, s, trigger(u, "orders"))

	if r := h.next(t); r.ErrKind != fault.AuthExpired {
		t.Fatalf("first report = %+v, want auth_expired", r)
	}
	h.next(t) // connected
	if r := h.next(t); r.Err != nil || r.Events != 4 {
		t.Fatalf("report after refreshing = %+v, want 4 events", r)
	}
	if n := refreshes.Load(); n != 1 {
		t.Errorf("Refresh called %d times, want 1", n)
	}
	if len(clk.waits) != 0 {
		t.Errorf("the streamer waited %s before reconnecting with fresh credentials, want at once", (<-clk.waits).d)
	}
}

func TestStreamer_AuthExpiredAgainAfterRefreshBacksOff(t *testing.T) {
	d := openDisk(t, t.TempDir())
	expired := fail(fault.AuthExpiredf("revoked"))
	u := newUpstream(expired, expired, expired)
	clk, h := newClock(), newHealth()
	opts := options(d, clk.After, h)
	var refreshes atomic.Int32
	opts.Refresh = func(_ context.Context, tr Trigger) (wire.Connection, error) {
		refreshes.Add(1)
		return tr.Conn, nil
	}
	s := New(opts)
	defer s.Close()
	set(t, s, trigger(u, "orders"))

	h.next(t)
	if r := h.next(t); r.ErrKind != fault.AuthExpired {
		t.Fatalf("second report = %+v, want auth_expired", r)
	}
	if w := clk.next(t); w.d != time.Second {
		t.Errorf("wait after the refreshed stream failed = %s, want the first backoff, 1s", w.d)
	}
	if n := refreshes.Load(); n != 1 {
		t.Errorf("Refresh called %d times, want once", n)
	}
	if n := len(u.positions()); n != 2 {
		t.Errorf("opened %d times, want 2 (stale, then refreshed at once)", n)
	}
}

func TestStreamer_CursorExpiredReconcilesOnceFromTheLastPositionAndReportsTheGap(t *testing.T) {
	d := openDisk(t, t.TempDir())
	d.preload("orders", 1, 7)
	u := newUpstream(
		fail(fault.CursorExpiredf("position 7 is past retention")),
		deliver(15, 15, hang), // from nil: the whole retained history
	)
	clk, h := newClock(), newHealth()
	s := New(options(d, clk.After, h))
	defer s.Close()
	tr := trigger(u, "orders")
	var (
		mu    sync.Mutex
		froms []string
	)
	tr.Reconcile = func(ctx context.Context, from []byte) error {
		mu.Lock()
		froms = append(froms, string(from))
		mu.Unlock()
		// The poll trigger finds r8..r12 and stores them as the stream's.
		var evs []ingest.Event
		for _, e := range records(8, 12) {
			evs = append(evs, ingest.Event{Tenant: tenant, Trigger: tr.EventTrigger(), ID: e.ID, Payload: e.Payload})
		}
		_, err := d.In.Accept(ctx, evs)
		return err
	}
	set(t, s, tr)

	r := h.next(t)
	if !r.Gap || string(r.GapFrom) != "7" || !r.Reconciled || r.Err != nil || r.ErrKind != fault.CursorExpired {
		t.Fatalf("gap report = %+v, want a reconciled gap from 7 and no error", r)
	}
	h.next(t) // connected
	if r := h.next(t); r.Err != nil || r.Events != 3 || r.Duplicates != 12 {
		t.Fatalf("batch from nil = %+v, want 3 new events and 12 duplicates", r)
	}
	mu.Lock()
	if !slices.Equal(froms, []string{"7"}) {
		t.Errorf("Reconcile called from %v, want once from 7", froms)
	}
	mu.Unlock()
	if got, want := u.positions(), []string{"7", "nil"}; !slices.Equal(got, want) {
		t.Errorf("positions opened from = %v, want %v", got, want)
	}
	if len(clk.waits) != 0 {
		t.Errorf("waited before reopening after the gap, want at once")
	}
	if got := d.eventIDs(); !slices.Equal(got, stored("orders", 1, 15)) {
		t.Errorf("stored events = %v, want r1..r15 once", got)
	}
	if got := d.position("orders"); got != "15" {
		t.Errorf("stored position = %s, want 15", got)
	}
}

func TestStreamer_CursorExpiredWithoutReconcileReportsTheGapAsAnError(t *testing.T) {
	d := openDisk(t, t.TempDir())
	d.preload("orders", 1, 7)
	expired := fail(fault.CursorExpiredf("position past retention"))
	u := newUpstream(expired, expired) // the second time from nil
	clk, h := newClock(), newHealth()
	s := New(options(d, clk.After, h))
	defer s.Close()
	set(t, s, trigger(u, "orders"))

	r := h.next(t)
	if !r.Gap || string(r.GapFrom) != "7" || r.Reconciled || !errors.Is(r.Err, ErrGap) || !fault.Is(r.Err, fault.CursorExpired) {
		t.Fatalf("gap report = %+v, want an unreconciled gap from 7 with an ErrGap error", r)
	}
	// A connector that refuses even the nil position is failing, not a gap.
	if r := h.next(t); r.Gap || r.ErrKind != fault.Permanent {
		t.Fatalf("report after cursor_expired from nil = %+v, want a permanent failure", r)
	}
	if w := clk.next(t); w.d != time.Second {
		t.Errorf("wait = %s, want the first backoff, 1s", w.d)
	}
	if got, want := u.positions(), []string{"7", "nil"}; !slices.Equal(got, want) {
		t.Errorf("positions opened from = %v, want %v", got, want)
	}
}

func TestStreamer_BackpressureHoldsTheBatchesAndBlocksTheSinkWhenFull(t *testing.T) {
	d := openDisk(t, t.TempDir())
	first, second := make(chan error, 1), make(chan error, 1)
	u := newUpstream(func(ctx context.Context, req wire.StreamRequest, sink wire.StreamSink) error {
		first <- sink.Batch(wire.StreamBatch{Events: records(1, 3), Position: []byte("3")})
		second <- sink.Batch(wire.StreamBatch{Events: records(4, 6), Position: []byte("6")})
		return hang(ctx, req, sink)
	})
	clk, h := newClock(), newHealth()
	opts := options(d, clk.After, h)
	opts.MaxPending = 3
	var deep atomic.Bool
	deep.Store(true)
	opts.Backpressure = deep.Load
	s := New(opts)
	defer s.Close()
	set(t, s, trigger(u, "orders"))

	h.next(t) // connected
	select {
	case err := <-first:
		if err != nil {
			t.Fatalf("first batch: %v", err)
		}
	case <-time.After(patience):
		t.Fatal("the sink did not take the first batch: it holds up to MaxPending events")
	}
	for i := range 3 {
		w := clk.next(t)
		if w.d != BackpressureCheck {
			t.Fatalf("wait %d = %s, want a backpressure check, %s", i+1, w.d, BackpressureCheck)
		}
		if got := d.eventIDs(); len(got) != 0 {
			t.Fatalf("stored %v while the queue is deep, want nothing", got)
		}
		select {
		case err := <-second:
			t.Fatalf("the sink took a batch beyond MaxPending (%v) while the queue is deep", err)
		default:
		}
		if i == 2 {
			deep.Store(false)
		}
		w.end()
	}
	select {
	case err := <-second:
		if err != nil {
			t.Fatalf("second batch after the queue drained: %v", err)
		}
	case <-time.After(patience):
		t.Fatal("the sink did not take the second batch after the queue drained")
	}
	for events := 0; events < 6; {
		r := h.next(t)
		if r.Err != nil || r.Events == 0 {
			t.Fatalf("report after the queue drained = %+v, want events stored", r)
		}
		events += r.Events
	}
	if got := d.eventIDs(); !slices.Equal(got, stored("orders", 1, 6)) {
		t.Errorf("stored events = %v, want r1..r6", got)
	}
	if got := d.position("orders"); got != "6" {
		t.Errorf("stored position = %s, want 6", got)
	}
}

func TestStreamer_BatchesReceivedDuringACommitAreStoredInOne(t *testing.T) {
	d := openDisk(t, t.TempDir())
	// Backpressure stands in for a slow commit: while the writer waits
	// for it, the connector delivers five more batches.
	received := make(chan struct{})
	u := newUpstream(deliver(15, 3, func(ctx context.Context, req wire.StreamRequest, sink wire.StreamSink) error {
		close(received) // the sink took all five batches
		return hang(ctx, req, sink)
	}))
	clk, h := newClock(), newHealth()
	opts := options(d, clk.After, h)
	var deep atomic.Bool
	deep.Store(true)
	opts.Backpressure = deep.Load
	s := New(opts)
	defer s.Close()
	set(t, s, trigger(u, "orders"))

	h.next(t) // connected
	w := clk.next(t)
	// The writer waits at the backpressure check; the connector goes on
	// delivering meanwhile.
	select {
	case <-received:
	case <-time.After(patience):
		t.Fatal("the sink did not take the batches while the writer waited")
	}
	deep.Store(false)
	w.end()

	if rep := h.next(t); rep.Err != nil || rep.Events != 15 {
		t.Fatalf("report = %+v, want all 15 events stored in one commit", rep)
	}
	if got := d.eventIDs(); !slices.Equal(got, stored("orders", 1, 15)) {
		t.Errorf("stored events = %v, want r1..r15 in order", got)
	}
	if got := d.position("orders"); got != "15" {
		t.Errorf("stored position = %s, want 15, the last batch's", got)
	}
}

func TestStreamer_BatchesReceivedBeforeTheStreamEndedAreStoredBeforeItReopens(t *testing.T) {
	d := openDisk(t, t.TempDir())
	u := newUpstream(deliver(9, 3, fail(fault.Retryablef("connection reset"))), hang)
	clk, h := newClock(), newHealth()
	opts := options(d, clk.After, h)
	var deep atomic.Bool
	deep.Store(true)
	opts.Backpressure = deep.Load
	s := New(opts)
	defer s.Close()
	set(t, s, trigger(u, "orders"))

	h.next(t) // connected
	w := clk.next(t)
	if w.d != BackpressureCheck {
		t.Fatalf("wait = %s, want a backpressure check", w.d)
	}
	deep.Store(false)
	w.end()
	if rep := h.down(t); rep.Err == nil || !strings.Contains(rep.Err.Error(), "connection reset") {
		t.Fatalf("report = %+v, want the stream's own failure", rep)
	}
	clk.next(t).end() // the backoff
	u.next(t)
	if req := u.next(t); string(req.Position) != "9" {
		t.Errorf("reopened from %s, want 9: what was received before the failure is stored first", positionString(req.Position))
	}
	if got := d.eventIDs(); !slices.Equal(got, stored("orders", 1, 9)) {
		t.Errorf("stored events = %v, want r1..r9", got)
	}
}

func TestStreamer_EventsWithoutIDAreSkippedAndReported(t *testing.T) {
	d := openDisk(t, t.TempDir())
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	noID := wire.Event{Type: "order", Payload: json.RawMessage(`{"n":0}`)}
	u := newUpstream(func(ctx context.Context, req wire.StreamRequest, sink wire.StreamSink) error {
		evs := records(1, 3)
		evs[0].OccurredAt = now.Add(-5 * time.Second)
		evs[1] = noID
		if err := sink.Batch(wire.StreamBatch{Events: evs, Position: []byte("3")}); err != nil {
			return err
		}
		if err := sink.Batch(wire.StreamBatch{Events: []wire.Event{noID}, Position: []byte("4")}); err != nil {
			return err
		}
		return hang(ctx, req, sink)
	})
	h := newHealth()
	opts := options(d, never, h)
	opts.Now = func() time.Time { return now }
	s := New(opts)
	defer s.Close()
	set(t, s, trigger(u, "orders"))

	h.next(t) // connected
	// One report or two, depending on whether the second batch arrived
	// while the first was being stored.
	var events, skipped int
	var lag time.Duration
	for events+skipped < 4 {
		r := h.next(t)
		if r.Err != nil {
			t.Fatalf("report = %+v, want no error", r)
		}
		events, skipped = events+r.Events, skipped+r.Skipped
		lag = max(lag, r.Lag)
	}
	if events != 2 || skipped != 2 || lag != 5*time.Second {
		t.Fatalf("stored %d and skipped %d events, lag %s; want 2 stored, 2 skipped, 5s behind the newest OccurredAt", events, skipped, lag)
	}
	if got, want := d.eventIDs(), []string{"orders/order_created:r1", "orders/order_created:r3"}; !slices.Equal(got, want) {
		t.Errorf("stored events = %v, want %v", got, want)
	}
	if got := d.position("orders"); got != "4" {
		t.Errorf("stored position = %s, want 4: the stream moves past what it skipped", got)
	}
}

func TestStreamer_SetStartsStopsAndRestartsByDefinition(t *testing.T) {
	d := openDisk(t, t.TempDir())
	ua, ub := newUpstream(), newUpstream(deliver(3, 3, hang))
	h := newHealth()
	s := New(options(d, never, h))
	defer s.Close()

	set(t, s, trigger(ua, "a"))
	ua.next(t)
	ra := runnerOf(s, "a")

	// Adding b starts it and leaves a running as it is.
	set(t, s, trigger(ua, "a"), trigger(ub, "b"))
	if req := ub.next(t); req.Position != nil || string(req.Config) != `{"status":"paid"}` || req.Trigger != "order_created" || req.Conn.Name != "shop" {
		t.Errorf("b's first request = %+v", req)
	}
	if runnerOf(s, "a") != ra {
		t.Error("a restarted although its definition did not change")
	}
	h.next(t) // b connected
	h.next(t) // b stored r1..r3
	rb := runnerOf(s, "b")

	// A new Reconcile alone is taken over without a restart.
	b := trigger(ub, "b")
	var called atomic.Bool
	b.Reconcile = func(context.Context, []byte) error { called.Store(true); return nil }
	set(t, s, b)
	waitDone(t, ra, "a after it was removed")
	if runnerOf(s, "b") != rb {
		t.Fatal("b restarted after only its Reconcile changed")
	}
	if err := (*rb.reconcile.Load())(context.Background(), nil); err != nil || !called.Load() {
		t.Error("b does not use its new Reconcile")
	}

	// Changing b's config restarts b from its stored position.
	changed := b
	changed.Config = json.RawMessage(`{"status":"shipped"}`)
	set(t, s, changed)
	waitDone(t, rb, "b's old goroutine after b changed")
	if req := ub.next(t); string(req.Config) != `{"status":"shipped"}` || string(req.Position) != "3" {
		t.Errorf("b's request after the change = config %s position %s, want the new config and the stored position 3", req.Config, positionString(req.Position))
	}

	// Every part of the definition counts.
	for name, change := range map[string]func(*Trigger){
		"name":      func(tr *Trigger) { tr.Name = "order_updated" },
		"heartbeat": func(tr *Trigger) { tr.Heartbeat = time.Hour },
		"conn":      func(tr *Trigger) { tr.Conn.Auth.Token = "rotated" },
		"connector": func(tr *Trigger) { tr.Connector = newUpstream() },
	} {
		before := runnerOf(s, "b")
		next := changed
		change(&next)
		set(t, s, next)
		waitDone(t, before, "b after its "+name+" changed")
		if runnerOf(s, "b") == before {
			t.Errorf("b not restarted after its %s changed", name)
		}
		changed = next
	}
}

func TestStreamer_SetRejectsInvalidTriggersAndAppliesTheRest(t *testing.T) {
	d := openDisk(t, t.TempDir())
	u := newUpstream()
	s := New(options(d, never, newHealth()))
	defer s.Close()
	negative := trigger(u, "b")
	negative.Heartbeat = -time.Second
	slash := trigger(u, "c/d")
	noConnector := trigger(u, "e")
	noConnector.Connector = nil
	err := s.Set([]Trigger{trigger(u, "a"), negative, slash, noConnector, trigger(u, "a")})
	if err == nil {
		t.Fatal("Set with invalid triggers returned no error")
	}
	for _, want := range []string{"acme/b: heartbeat", `invalid workflow "c/d"`, "acme/e: no connector", "acme/a: listed twice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Set error %q does not mention %q", err, want)
		}
	}
	u.next(t)
	if runnerOf(s, "a") == nil || runnerOf(s, "b") != nil {
		t.Error("want a running and b not")
	}
}

func TestStreamer_RestartedTriggerWaitsForTheOldStreamAndUsesItsPosition(t *testing.T) {
	d := openDisk(t, t.TempDir())
	release := make(chan struct{})
	// A slow plugin: it delivers one more batch after it was cancelled.
	u := newUpstream(func(ctx context.Context, req wire.StreamRequest, sink wire.StreamSink) error {
		<-release
		if err := sink.Batch(wire.StreamBatch{Events: records(1, 4), Position: []byte("4")}); err != nil {
			return err
		}
		return ctx.Err()
	})
	s := New(options(d, never, newHealth()))
	defer s.Close()
	tr := trigger(u, "orders")
	set(t, s, tr)
	u.next(t) // open
	old := runnerOf(s, "orders")

	tr.Heartbeat = time.Hour
	set(t, s, tr)
	select {
	case req := <-u.opened:
		t.Fatalf("the restarted trigger opened its stream (position %s) while the old one was open", positionString(req.Position))
	default:
	}
	close(release)
	waitDone(t, old, "the old stream")
	if req := u.next(t); string(req.Position) != "4" {
		t.Errorf("the restarted trigger opened from %s, want 4, stored by the old stream", positionString(req.Position))
	}
	if got := d.eventIDs(); !slices.Equal(got, stored("orders", 1, 4)) {
		t.Errorf("stored events = %v, want r1..r4 once", got)
	}
}

func TestStreamer_CloseCancelsStreamsAndWaits(t *testing.T) {
	d := openDisk(t, t.TempDir())
	var returned atomic.Int32
	slow := func(ctx context.Context, req wire.StreamRequest, sink wire.StreamSink) error {
		err := hang(ctx, req, sink)
		returned.Add(1)
		return err
	}
	u := newUpstream(slow, slow)
	h := newHealth()
	s := New(options(d, never, h))
	set(t, s, trigger(u, "orders"), trigger(u, "invoices"))
	u.next(t)
	u.next(t)

	s.Close()
	if n := returned.Load(); n != 2 {
		t.Errorf("Close returned before the open streams did (%d of 2 returned)", n)
	}
	s.Close() // again: nothing left to do
	if err := s.Set([]Trigger{trigger(u, "orders")}); !errors.Is(err, ErrClosed) {
		t.Errorf("Set after Close = %v, want ErrClosed", err)
	}
	if len(u.opened) != 0 || len(h) != 0 {
		t.Errorf("after Close: %d more streams, %d reports, want none", len(u.opened), len(h))
	}
}

func TestStreamer_BackoffIsJitteredAndCapped(t *testing.T) {
	d := openDisk(t, t.TempDir())
	for _, tc := range []struct {
		name     string
		jitter   float64
		rand     float64
		failures int
		want     time.Duration
	}{
		{name: "no jitter", jitter: -1, failures: 1, want: time.Second},
		{name: "doubles", jitter: -1, failures: 4, want: 8 * time.Second},
		{name: "capped at MaxBackoff", jitter: -1, failures: 100, want: time.Minute},
		{name: "default jitter, low end", rand: 0, failures: 1, want: 800 * time.Millisecond},
		{name: "default jitter, high end", rand: 0.75, failures: 2, want: 2200 * time.Millisecond},
		{name: "jitter 50%, middle", jitter: 0.5, rand: 0.5, failures: 3, want: 4 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{Store: d.St, Ingest: d.In, Jitter: tc.jitter, Rand: func() float64 { return tc.rand }})
			defer s.Close()
			r := &runner{s: s, failures: tc.failures}
			if got := r.backoff(); got != tc.want {
				t.Errorf("backoff after %d failures = %s, want %s", tc.failures, got, tc.want)
			}
		})
	}
}

func TestStreamer_PositionOnlyBatchesDoNotGrowTheQueue(t *testing.T) {
	d := openDisk(t, t.TempDir())
	const moves = 1000
	received := make(chan struct{})
	u := newUpstream(func(ctx context.Context, req wire.StreamRequest, sink wire.StreamSink) error {
		if err := sink.Batch(wire.StreamBatch{Events: records(1, 3), Position: []byte("3")}); err != nil {
			return err
		}
		// A connector that moves its position without events (a
		// change feed's heartbeat) while hub holds the queue.
		for i := 1; i <= moves; i++ {
			if err := sink.Batch(wire.StreamBatch{Position: []byte(fmt.Sprintf("3+%d", i))}); err != nil {
				return err
			}
		}
		close(received)
		return hang(ctx, req, sink)
	})
	clk, h := newClock(), newHealth()
	opts := options(d, clk.After, h)
	opts.MaxPending = 3
	var deep atomic.Bool
	deep.Store(true)
	opts.Backpressure = deep.Load
	s := New(opts)
	defer s.Close()
	set(t, s, trigger(u, "orders"))

	h.next(t) // connected
	w := clk.next(t)
	// Each batch counts at least 1 against MaxPending (3): had they
	// queued, the sink would have blocked on the first of them.
	select {
	case <-received:
	case <-time.After(patience):
		t.Fatal("the sink did not take the position-only batches while the queue was deep: they queued instead of moving the last batch's position")
	}
	deep.Store(false)
	w.end()
	if rep := h.next(t); rep.Err != nil || rep.Events != 3 {
		t.Fatalf("report = %+v, want 3 events stored", rep)
	}
	if got, want := d.position("orders"), fmt.Sprintf("3+%d", moves); got != want {
		t.Errorf("stored position = %s, want the last one given, %s", got, want)
	}
}

func TestStreamer_LargeEventsAreBoundedByBytesToo(t *testing.T) {
	d := openDisk(t, t.TempDir())
	big := func(n int) wire.Event {
		return wire.Event{ID: fmt.Sprintf("r%d", n), Type: "order", Payload: json.RawMessage(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, n, strings.Repeat("x", 600)))}
	}
	first, second := make(chan error, 1), make(chan error, 1)
	u := newUpstream(func(ctx context.Context, req wire.StreamRequest, sink wire.StreamSink) error {
		first <- sink.Batch(wire.StreamBatch{Events: []wire.Event{big(1)}, Position: []byte("1")})
		second <- sink.Batch(wire.StreamBatch{Events: []wire.Event{big(2)}, Position: []byte("2")})
		return hang(ctx, req, sink)
	})
	clk, h := newClock(), newHealth()
	opts := options(d, clk.After, h)
	opts.MaxPendingBytes = 1000 // one event fits, two do not; MaxPending (events) is far off
	var deep atomic.Bool
	deep.Store(true)
	opts.Backpressure = deep.Load
	s := New(opts)
	defer s.Close()
	set(t, s, trigger(u, "orders"))

	h.next(t) // connected
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	w := clk.next(t)
	select {
	case err := <-second:
		t.Fatalf("the sink took a second large event (%v) beyond MaxPendingBytes while the queue was deep", err)
	default:
	}
	deep.Store(false)
	w.end()
	select {
	case err := <-second:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(patience):
		t.Fatal("the sink did not take the second event once the first was stored")
	}
	for events := 0; events < 2; {
		events += h.next(t).Events
	}
	if got := d.position("orders"); got != "2" {
		t.Errorf("stored position = %s, want 2", got)
	}
}
