package limiter

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// shortCtx is a context whose deadline no rate-limited token can beat
// (the tests use rates of one call per 100 s) and that a free slot or
// token meets at once.
func shortCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

// mustAcquire acquires without waiting or fails the test.
func mustAcquire(t *testing.T, l *Limiter) func() {
	t.Helper()
	release, err := l.Acquire(shortCtx(t))
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	return release
}

// mustBlock checks that Acquire cannot get through before a short
// deadline, and holds nothing afterwards.
func mustBlock(t *testing.T, l *Limiter) {
	t.Helper()
	before := l.InFlight()
	release, err := l.Acquire(shortCtx(t))
	if err == nil {
		release()
		t.Fatalf("Acquire got through; limits %+v, %d in flight", l.Limits(), before)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire error = %v, want one wrapping context.DeadlineExceeded", err)
	}
	if got := l.InFlight(); got != before {
		t.Fatalf("a failed Acquire changed InFlight from %d to %d", before, got)
	}
}

// waitFor polls cond, yielding between tries, until it holds. It is a
// synchronisation point, not an assertion: the test's own timeout bounds
// it.
func waitFor(cond func() bool) {
	for !cond() {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

func (l *Limiter) queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waiters.Len()
}

func TestLimits_DefaultsAreFilledIn(t *testing.T) {
	cases := []struct {
		in, want Limits
	}{
		{Limits{}, Limits{Concurrency: DefaultConcurrency}},
		{Limits{Concurrency: 8, Rate: 20}, Limits{Concurrency: 8, Rate: 20, Burst: 20}},
		{Limits{Rate: 2.5}, Limits{Concurrency: DefaultConcurrency, Rate: 2.5, Burst: 3}},
		{Limits{Rate: 0.1}, Limits{Concurrency: DefaultConcurrency, Rate: 0.1, Burst: 1}},
		{Limits{Rate: 20, Burst: 40}, Limits{Concurrency: DefaultConcurrency, Rate: 20, Burst: 40}},
		{Limits{Burst: 40}, Limits{Concurrency: DefaultConcurrency}},
		{Limits{Concurrency: -1, Rate: -3, Burst: -2}, Limits{Concurrency: DefaultConcurrency}},
	}
	for _, c := range cases {
		if got := New(c.in).Limits(); got != c.want {
			t.Errorf("New(%+v).Limits() = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestAcquire_ConcurrencyIsNeverExceeded(t *testing.T) {
	const limit = 4
	l := New(Limits{Concurrency: limit})
	var now, peak atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 50 {
				release, err := l.Acquire(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				n := now.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				if in := l.InFlight(); in > limit {
					t.Errorf("InFlight = %d, over the limit %d", in, limit)
				}
				runtime.Gosched()
				now.Add(-1)
				release()
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > limit {
		t.Fatalf("%d calls were in flight at once, limit %d", p, limit)
	}
	if in := l.InFlight(); in != 0 {
		t.Fatalf("InFlight = %d after every call released", in)
	}
}

func TestAcquire_BlocksWhenEverySlotIsHeld(t *testing.T) {
	l := New(Limits{Concurrency: 3})
	var releases []func()
	for range 3 {
		releases = append(releases, mustAcquire(t, l))
	}
	mustBlock(t, l)
	releases[0]()
	releases[1] = mustAcquire(t, l)
}

func TestAcquire_CancelledWhileWaitingForASlotHoldsNothing(t *testing.T) {
	l := New(Limits{Concurrency: 1})
	release := mustAcquire(t, l)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		r, err := l.Acquire(ctx)
		if err == nil {
			r()
		}
		errc <- err
	}()
	waitFor(func() bool { return l.queued() == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire error = %v, want one wrapping context.Canceled", err)
	}
	if l.queued() != 0 || l.InFlight() != 1 {
		t.Fatalf("after a cancelled wait: %d queued, %d in flight; want 0 and 1", l.queued(), l.InFlight())
	}
	release()
	if l.InFlight() != 0 {
		t.Fatalf("InFlight = %d after release", l.InFlight())
	}
}

func TestAcquire_SlotsAreGrantedInArrivalOrder(t *testing.T) {
	l := New(Limits{Concurrency: 1})
	release := mustAcquire(t, l)
	got := make(chan string, 2)
	var hold [2]func()
	for i, name := range []string{"first", "second"} {
		go func() {
			r, err := l.Acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			hold[i] = r
			got <- name
		}()
		waitFor(func() bool { return l.queued() == i+1 })
	}
	release()
	if name := <-got; name != "first" {
		t.Fatalf("%s waiter got the freed slot before the first", name)
	}
	hold[0]()
	if name := <-got; name != "second" {
		t.Fatalf("got %s", name)
	}
	hold[1]()
}

func TestAcquire_ReleaseIsIdempotent(t *testing.T) {
	l := New(Limits{Concurrency: 2})
	a := mustAcquire(t, l)
	b := mustAcquire(t, l)
	a()
	a()
	if in := l.InFlight(); in != 1 {
		t.Fatalf("InFlight = %d after releasing one of two slots twice, want 1", in)
	}
	c := mustAcquire(t, l)
	mustBlock(t, l)
	b()
	c()
}

func TestAcquire_RateExhaustedBlocksAndHoldsNoSlot(t *testing.T) {
	// One call per 100 s: the bucket's single token is gone after the
	// first call and cannot come back during the test.
	l := New(Limits{Rate: 0.01})
	mustAcquire(t, l)()
	mustBlock(t, l)
}

func TestAcquire_BurstLetsThatManyStartAtOnce(t *testing.T) {
	l := New(Limits{Rate: 0.01, Burst: 5})
	for range 5 {
		mustAcquire(t, l)()
	}
	mustBlock(t, l)
}

func TestAcquire_CancelledWhileWaitingForATokenGivesBackTheSlot(t *testing.T) {
	l := New(Limits{Concurrency: 1, Rate: 0.01})
	mustAcquire(t, l)()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		r, err := l.Acquire(ctx)
		if err == nil {
			r()
		}
		errc <- err
	}()
	// Holding the slot while the bucket is empty means it waits for a
	// token.
	waitFor(func() bool { return l.InFlight() == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire error = %v, want one wrapping context.Canceled", err)
	}
	if in := l.InFlight(); in != 0 {
		t.Fatalf("InFlight = %d after a cancelled token wait", in)
	}
}

func TestSet_RaisingConcurrencyWakesWaiters(t *testing.T) {
	l := New(Limits{Concurrency: 1})
	release := mustAcquire(t, l)
	done := make(chan func(), 2)
	for range 2 {
		go func() {
			r, err := l.Acquire(context.Background())
			if err != nil {
				t.Error(err)
			}
			done <- r
		}()
	}
	waitFor(func() bool { return l.queued() == 2 })
	l.Set(Limits{Concurrency: 3})
	r1, r2 := <-done, <-done
	if in := l.InFlight(); in != 3 {
		t.Fatalf("InFlight = %d after raising concurrency to 3, want 3", in)
	}
	release()
	r1()
	r2()
}

func TestSet_LoweringConcurrencyKeepsCallsInFlight(t *testing.T) {
	l := New(Limits{Concurrency: 3})
	a, b, c := mustAcquire(t, l), mustAcquire(t, l), mustAcquire(t, l)
	l.Set(Limits{Concurrency: 1})
	if in := l.InFlight(); in != 3 {
		t.Fatalf("InFlight = %d after lowering concurrency, want the 3 calls still counted", in)
	}
	mustBlock(t, l)
	a()
	b()
	mustBlock(t, l) // c still holds the only slot
	c()
	mustAcquire(t, l)()
	if got := l.Limits().Concurrency; got != 1 {
		t.Fatalf("Limits().Concurrency = %d, want 1", got)
	}
}

func TestSet_RateChangesApplyLive(t *testing.T) {
	l := New(Limits{})
	for range 100 {
		mustAcquire(t, l)()
	}
	l.Set(Limits{Rate: 0.01, Burst: 2})
	mustAcquire(t, l)()
	mustAcquire(t, l)()
	mustBlock(t, l)
	// Changing a limited bucket keeps its tokens: a Set is no way to burst.
	l.Set(Limits{Rate: 0.02, Burst: 10})
	mustBlock(t, l)
	l.Set(Limits{})
	for range 100 {
		mustAcquire(t, l)()
	}
}
