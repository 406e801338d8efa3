package limiter

import (
	"container/list"
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultConcurrency is how many calls may be in flight on a connection
// whose limits leave Concurrency at 0.
const DefaultConcurrency = 32

// Limits are a connection's flow-control settings. The zero value means
// DefaultConcurrency calls in flight and no rate limit.
type Limits struct {
	// Concurrency is how many calls may be in flight at most; 0 means
	// DefaultConcurrency.
	Concurrency int
	// Rate is how many calls may start per second; 0 means unlimited.
	Rate float64
	// Burst is how many calls may start at once after a quiet period; 0
	// means max(1, ceil(Rate)). It is ignored when Rate is 0.
	Burst int
}

// effective returns l with its defaults filled in. Negative and NaN
// values count as 0 (the default): configuration rejects them, so they
// only reach here from a caller's bug, and a default is safer for a third
// party than no limit or a panic. An infinite Rate is no limit, written 0.
func (l Limits) effective() Limits {
	if l.Concurrency <= 0 {
		l.Concurrency = DefaultConcurrency
	}
	if !(l.Rate > 0) || math.IsInf(l.Rate, 1) {
		l.Rate = 0
	}
	switch {
	case l.Rate == 0:
		l.Burst = 0
	case l.Burst <= 0:
		l.Burst = max(1, int(min(math.Ceil(l.Rate), math.MaxInt32)))
	}
	return l
}

// Limiter bounds the calls made on one connection: at most Concurrency in
// flight, started no faster than Rate per second. It is safe for
// concurrent use.
type Limiter struct {
	mu       sync.Mutex
	limits   Limits // effective
	inFlight int
	// waiters are the Acquire calls waiting for a slot, oldest first;
	// each element is a chan struct{} closed when the slot is granted.
	waiters list.List
	// bucket is nil when Rate is 0. Unlimited is kept out of the bucket
	// rather than given rate.Inf, whose token arithmetic across a change
	// to a finite rate is not specified.
	bucket *rate.Limiter
}

// New returns a Limiter enforcing l.
func New(l Limits) *Limiter {
	lim := &Limiter{}
	lim.setLocked(l.effective())
	return lim
}

// Acquire waits for a concurrency slot and then for the rate limiter, in
// that order, and returns a function that gives the slot back. Call
// release once the call has finished; calling it again does nothing.
//
// Slots are granted in the order Acquire was called. When ctx ends first
// Acquire returns an error wrapping ctx's error and holds nothing. When
// ctx has a deadline that the next token cannot beat, Acquire returns at
// once with an error wrapping context.DeadlineExceeded rather than
// waiting for the deadline, so a caller can reschedule the work.
func (l *Limiter) Acquire(ctx context.Context) (release func(), err error) {
	if err := l.acquireSlot(ctx); err != nil {
		return nil, err
	}
	var once sync.Once
	release = func() { once.Do(l.releaseSlot) }
	if err := l.waitToken(ctx); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

func (l *Limiter) acquireSlot(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("acquire call slot: %w", err)
	}
	l.mu.Lock()
	if l.inFlight < l.limits.Concurrency && l.waiters.Len() == 0 {
		l.inFlight++
		l.mu.Unlock()
		return nil
	}
	ready := make(chan struct{})
	elem := l.waiters.PushBack(ready)
	l.mu.Unlock()

	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		select {
		case <-ready:
			// The slot was granted as ctx ended: hand it on.
			l.mu.Unlock()
			l.releaseSlot()
		default:
			l.waiters.Remove(elem)
			// Leaving the queue may let the waiters behind us in, if
			// we were first and a slot is free (after Set raised it).
			l.grantLocked()
			l.mu.Unlock()
		}
		return fmt.Errorf("acquire call slot: %w", ctx.Err())
	}
}

func (l *Limiter) releaseSlot() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight--
	l.grantLocked()
}

// grantLocked gives free slots to waiters, oldest first.
func (l *Limiter) grantLocked() {
	for l.inFlight < l.limits.Concurrency && l.waiters.Len() > 0 {
		ready := l.waiters.Remove(l.waiters.Front()).(chan struct{})
		l.inFlight++
		close(ready)
	}
}

// waitToken takes one token from the bucket, waiting for it if need be.
func (l *Limiter) waitToken(ctx context.Context) error {
	l.mu.Lock()
	bucket := l.bucket
	l.mu.Unlock()
	if bucket == nil {
		return nil
	}
	r := bucket.Reserve()
	if !r.OK() {
		// Only a zero burst with a finite rate refuses every reservation,
		// and effective never yields one.
		return fmt.Errorf("wait for rate limit: the limiter's burst is 0")
	}
	d := r.Delay()
	if d == 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		r.Cancel()
		return fmt.Errorf("wait for rate limit: next call may start in %s, after the deadline: %w", d.Round(time.Millisecond), context.DeadlineExceeded)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return fmt.Errorf("wait for rate limit: %w", ctx.Err())
	}
}

// Set changes the limits while calls are in flight. Calls already holding
// a slot keep it: lowering Concurrency below InFlight makes new calls wait
// until enough have finished, raising it lets waiters in at once. A new
// Rate or Burst applies to tokens not yet reserved; an Acquire already
// waiting for a token keeps the time it was given.
func (l *Limiter) Set(lim Limits) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setLocked(lim.effective())
	l.grantLocked()
}

// setLocked installs effective limits e. A bucket that stays limited keeps
// its tokens, so a Set cannot be used to burst; one that becomes limited
// starts full, as a new Limiter does.
func (l *Limiter) setLocked(e Limits) {
	l.limits = e
	switch {
	case e.Rate == 0:
		l.bucket = nil
	case l.bucket == nil:
		l.bucket = rate.NewLimiter(rate.Limit(e.Rate), e.Burst)
	default:
		now := time.Now()
		l.bucket.SetLimitAt(now, rate.Limit(e.Rate))
		l.bucket.SetBurstAt(now, e.Burst)
	}
}

// InFlight returns how many slots are held: calls acquired and not yet
// released.
func (l *Limiter) InFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlight
}

// Limits returns the limits in effect, defaults filled in: Concurrency is
// never 0, and Burst is 0 exactly when Rate is 0 (unlimited).
func (l *Limiter) Limits() Limits {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limits
}
