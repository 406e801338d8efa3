package limiter

import (
	"sync"
	"testing"
	"time"
)

// clock is a fake time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fail lets n calls through and reports each as a failure.
func fail(t *testing.T, b *Breaker, n int) {
	t.Helper()
	for range n {
		if ok, _ := b.Allow(); !ok {
			t.Fatalf("Allow refused a call in state %s", b.State())
		}
		b.Failure()
	}
}

func wantState(t *testing.T, b *Breaker, want string) {
	t.Helper()
	if got := b.State(); got != want {
		t.Fatalf("State() = %s, want %s", got, want)
	}
}

// wantRefused checks that Allow refuses and says to come back at at.
func wantRefused(t *testing.T, b *Breaker, at time.Time) {
	t.Helper()
	ok, retryAt := b.Allow()
	if ok {
		t.Fatalf("Allow let a call through in state %s", b.State())
	}
	if !retryAt.Equal(at) {
		t.Fatalf("retryAt = %s, want %s", retryAt, at)
	}
}

func TestBreaker_OpensAfterThresholdFailuresInARow(t *testing.T) {
	c := newClock()
	b := NewBreaker(BreakerOptions{Now: c.Now})
	fail(t, b, DefaultThreshold-1)
	wantState(t, b, StateClosed)
	fail(t, b, 1)
	wantState(t, b, StateOpen)
	opened := c.Now()
	c.Advance(time.Second)
	wantRefused(t, b, opened.Add(DefaultCooldown))
}

func TestBreaker_SuccessResetsTheFailureCount(t *testing.T) {
	b := NewBreaker(BreakerOptions{Threshold: 3, Now: newClock().Now})
	fail(t, b, 2)
	b.Allow()
	b.Success()
	fail(t, b, 2)
	wantState(t, b, StateClosed)
	fail(t, b, 1)
	wantState(t, b, StateOpen)
}

func TestBreaker_HalfOpenLetsOneProbeThroughAtATime(t *testing.T) {
	c := newClock()
	b := NewBreaker(BreakerOptions{Threshold: 1, Cooldown: 8 * time.Second, Now: c.Now})
	fail(t, b, 1)
	c.Advance(8 * time.Second)
	wantState(t, b, StateHalfOpen)
	if ok, _ := b.Allow(); !ok {
		t.Fatal("a half-open breaker refused the first probe")
	}
	// Others wait a quarter of the cooldown while the probe is out.
	wantRefused(t, b, c.Now().Add(2*time.Second))
	wantRefused(t, b, c.Now().Add(2*time.Second))
	b.Success()
	wantState(t, b, StateClosed)
	for range 3 {
		if ok, _ := b.Allow(); !ok {
			t.Fatal("a closed breaker refused a call")
		}
		b.Success()
	}
}

func TestBreaker_ConcurrentAllowsInHalfOpenLetExactlyOneProbe(t *testing.T) {
	c := newClock()
	b := NewBreaker(BreakerOptions{Threshold: 1, Now: c.Now})
	fail(t, b, 1)
	c.Advance(DefaultCooldown)
	var mu sync.Mutex
	allowed := 0
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if ok, _ := b.Allow(); ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 1 {
		t.Fatalf("%d probes were let through at once, want 1", allowed)
	}
}

func TestBreaker_FailedProbesDoubleTheCooldownUpToMax(t *testing.T) {
	c := newClock()
	b := NewBreaker(BreakerOptions{Threshold: 2, Cooldown: 5 * time.Second, MaxCooldown: 30 * time.Second, Now: c.Now})
	fail(t, b, 2)
	wantRefused(t, b, c.Now().Add(5*time.Second))
	for _, want := range []time.Duration{10, 20, 30, 30} {
		c.Advance(time.Hour) // any wait past the cooldown
		fail(t, b, 1)        // the probe fails
		wantState(t, b, StateOpen)
		wantRefused(t, b, c.Now().Add(want*time.Second))
	}
	// A successful probe resets the cooldown to its first value.
	c.Advance(time.Hour)
	b.Allow()
	b.Success()
	fail(t, b, 2)
	wantRefused(t, b, c.Now().Add(5*time.Second))
}

func TestBreaker_OpenRefusesUntilTheCooldownEnds(t *testing.T) {
	c := newClock()
	b := NewBreaker(BreakerOptions{Threshold: 1, Cooldown: 10 * time.Second, Now: c.Now})
	fail(t, b, 1)
	end := c.Now().Add(10 * time.Second)
	c.Advance(10*time.Second - time.Nanosecond)
	wantRefused(t, b, end)
	c.Advance(time.Nanosecond)
	if ok, _ := b.Allow(); !ok {
		t.Fatal("the breaker refused a probe at the end of its cooldown")
	}
}

func TestBreaker_AnUnreportedProbeIsReplacedAfterProbeTimeout(t *testing.T) {
	c := newClock()
	b := NewBreaker(BreakerOptions{Threshold: 1, ProbeTimeout: 30 * time.Second, Now: c.Now})
	fail(t, b, 1)
	c.Advance(DefaultCooldown)
	if ok, _ := b.Allow(); !ok {
		t.Fatal("no first probe")
	}
	c.Advance(30*time.Second - time.Nanosecond)
	if ok, _ := b.Allow(); ok {
		t.Fatal("a second probe went out while the first was within its timeout")
	}
	c.Advance(time.Nanosecond)
	if ok, _ := b.Allow(); !ok {
		t.Fatal("an unreported probe held the breaker half-open past ProbeTimeout")
	}
}

func TestBreaker_StragglersFailingAfterItOpensDoNotCountAsProbes(t *testing.T) {
	c := newClock()
	b := NewBreaker(BreakerOptions{Threshold: 3, Now: c.Now})
	// Five calls go out; three fail and open the breaker; two are still
	// running against the unwell third party.
	for range 5 {
		if ok, _ := b.Allow(); !ok {
			t.Fatal("closed breaker refused a call")
		}
	}
	b.Failure()
	b.Failure()
	b.Failure()
	wantState(t, b, StateOpen)
	opened := c.Now()
	b.Failure() // a straggler fails while open: ignored
	wantRefused(t, b, opened.Add(DefaultCooldown))

	c.Advance(DefaultCooldown)
	if ok, _ := b.Allow(); !ok {
		t.Fatal("no probe after the cooldown")
	}
	b.Failure() // the last straggler, not the probe
	wantState(t, b, StateHalfOpen)
	b.Success() // the probe
	wantState(t, b, StateClosed)
}

func TestBreaker_OnChangeSeesEveryTransitionInOrder(t *testing.T) {
	c := newClock()
	var got []string
	var b *Breaker
	b = NewBreaker(BreakerOptions{Threshold: 1, Now: c.Now, OnChange: func(from, to string) {
		// The hook may read the breaker without deadlocking.
		if s := b.State(); s != to {
			t.Errorf("in OnChange(%s, %s) State() = %s", from, to, s)
		}
		got = append(got, from+">"+to)
	}})
	fail(t, b, 1)
	c.Advance(time.Hour)
	fail(t, b, 1)
	c.Advance(time.Hour)
	b.Allow()
	b.Success()
	want := []string{"closed>open", "open>half_open", "half_open>open", "open>half_open", "half_open>closed"}
	if len(got) != len(want) {
		t.Fatalf("transitions = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("transitions = %v, want %v", got, want)
		}
	}
}

func TestBreaker_DefaultsAndMaxBelowCooldown(t *testing.T) {
	c := newClock()
	b := NewBreaker(BreakerOptions{Threshold: 1, Cooldown: time.Minute, MaxCooldown: time.Second, Now: c.Now})
	fail(t, b, 1)
	c.Advance(time.Minute)
	fail(t, b, 1)
	// MaxCooldown shorter than Cooldown is raised to it: no doubling.
	wantRefused(t, b, c.Now().Add(time.Minute))
}

func TestBreaker_IsSafeForConcurrentUse(t *testing.T) {
	c := newClock()
	var transitions sync.Map
	b := NewBreaker(BreakerOptions{Threshold: 2, Cooldown: time.Millisecond, Now: c.Now,
		OnChange: func(from, to string) { transitions.Store(from+">"+to, true) }})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				if ok, _ := b.Allow(); ok {
					if (g+i)%3 == 0 {
						b.Success()
					} else {
						b.Failure()
					}
				}
				c.Advance(time.Millisecond / 4)
			}
		})
	}
	wg.Wait()
	switch s := b.State(); s {
	case StateClosed, StateOpen, StateHalfOpen:
	default:
		t.Fatalf("State() = %q", s)
	}
	if _, ok := transitions.Load("closed>open"); !ok {
		t.Fatal("the breaker never opened under a stream of failures")
	}
}
