package limiter

import (
	"sync"
	"time"
)

// Breaker states, as State returns them and OnChange receives them.
const (
	StateClosed   = "closed"
	StateOpen     = "open"
	StateHalfOpen = "half_open"
)

// Breaker defaults, used for whatever BreakerOptions leave at zero.
const (
	DefaultThreshold    = 5
	DefaultCooldown     = 5 * time.Second
	DefaultMaxCooldown  = 5 * time.Minute
	DefaultProbeTimeout = time.Minute
)

// BreakerOptions configure a Breaker. Zero fields take the defaults.
type BreakerOptions struct {
	// Threshold is how many failures in a row open the breaker.
	Threshold int
	// Cooldown is how long the breaker stays open the first time.
	Cooldown time.Duration
	// MaxCooldown caps the cooldown, which doubles each time a half-open
	// probe fails and returns to Cooldown after a success. It is raised
	// to Cooldown if it is shorter.
	MaxCooldown time.Duration
	// ProbeTimeout is how long a half-open probe may go unreported before
	// the breaker lets another call probe: an allowed call whose outcome
	// is never reported (its job was cancelled, the host is stopping)
	// must not hold the breaker half-open for ever.
	ProbeTimeout time.Duration
	// Now returns the current time; nil means time.Now. Tests pass a
	// fake clock.
	Now func() time.Time
	// OnChange, when set, is called after each state change with the old
	// and new state (StateClosed, StateOpen, StateHalfOpen), one call at a
	// time, in the order the changes happened, outside the breaker's lock
	// and possibly on another caller's goroutine. It may call the Breaker.
	OnChange func(from, to string)
}

// Breaker is a circuit breaker for one connection. Closed, it lets every
// call through and counts failures in a row; at Threshold it opens and
// refuses calls for a cooldown; then it is half-open and lets one call
// at a time probe the third party. A probe's success closes it; a
// failure opens it again for twice the cooldown, up to MaxCooldown.
//
// Report the outcome of every call Allow let through: Failure when it
// says the third party is unwell (a timeout, a 5xx, a refused
// connection), Success otherwise — a rejected input still proves the
// third party answers. Breaker is safe for concurrent use.
type Breaker struct {
	threshold    int
	base         time.Duration
	max          time.Duration
	probeTimeout time.Duration
	now          func() time.Time
	onChange     func(from, to string)

	mu        sync.Mutex
	state     string
	failures  int           // failures in a row while closed
	cooldown  time.Duration // the current open period
	openUntil time.Time
	probing   bool      // a half-open probe is out
	probeAt   time.Time // when it was let through
	// pending counts calls let through while closed and not yet reported.
	// When the breaker opens they become stale: calls that started before
	// it opened and whose outcomes, arriving later, say nothing about a
	// probe. Outcomes are anonymous, so stale is a count: while it is
	// above zero a failure is taken to be a straggler's and a success,
	// good news whoever sent it, still closes a half-open breaker.
	pending int
	stale   int

	// events are changes not yet delivered to OnChange; delivering is set
	// while a caller delivers them.
	events     []transition
	delivering bool
}

// NewBreaker returns a closed Breaker.
func NewBreaker(opts BreakerOptions) *Breaker {
	b := &Breaker{
		threshold:    opts.Threshold,
		base:         opts.Cooldown,
		max:          opts.MaxCooldown,
		probeTimeout: opts.ProbeTimeout,
		now:          opts.Now,
		onChange:     opts.OnChange,
		state:        StateClosed,
	}
	if b.threshold <= 0 {
		b.threshold = DefaultThreshold
	}
	if b.base <= 0 {
		b.base = DefaultCooldown
	}
	if b.max <= 0 {
		b.max = DefaultMaxCooldown
	}
	b.max = max(b.max, b.base)
	if b.probeTimeout <= 0 {
		b.probeTimeout = DefaultProbeTimeout
	}
	if b.now == nil {
		b.now = time.Now
	}
	b.cooldown = b.base
	return b
}

// transition is one state change to report to OnChange.
type transition struct{ from, to string }

// Allow reports whether a call may be made now. When it may not, retryAt
// is when to ask again: the end of the cooldown while open, or a short
// wait (a quarter of the cooldown) while another call probes a half-open
// breaker. A half-open breaker lets one call through at a time; that
// call's Success or Failure decides what comes next.
func (b *Breaker) Allow() (ok bool, retryAt time.Time) {
	b.mu.Lock()
	now := b.now()
	changes := b.advanceLocked(now, nil)
	switch b.state {
	case StateOpen:
		retryAt = b.openUntil
	case StateHalfOpen:
		if !b.probing || !now.Before(b.probeAt.Add(b.probeTimeout)) {
			b.probing, b.probeAt, ok = true, now, true
		} else {
			retryAt = now.Add(b.cooldown / 4)
		}
	default:
		b.pending++
		ok = true
	}
	b.unlockAndNotify(changes)
	return ok, retryAt
}

// Success reports that an allowed call found the third party well. It
// resets the count of failures and closes a half-open breaker. Outcomes
// reported while open are of calls started before it opened, and are
// ignored: the cooldown stands.
func (b *Breaker) Success() {
	b.mu.Lock()
	changes := b.advanceLocked(b.now(), nil)
	switch b.state {
	case StateClosed:
		b.failures = 0
		b.pending = max(0, b.pending-1)
	case StateOpen:
		b.stale = max(0, b.stale-1)
	case StateHalfOpen:
		b.failures, b.pending, b.stale = 0, 0, 0
		b.probing = false
		b.cooldown = b.base
		changes = b.setLocked(StateClosed, changes)
	}
	b.unlockAndNotify(changes)
}

// Failure reports that an allowed call found the third party unwell. The
// Threshold-th failure in a row opens a closed breaker for the cooldown;
// a failed probe opens a half-open breaker for twice the last cooldown,
// up to MaxCooldown.
func (b *Breaker) Failure() {
	b.mu.Lock()
	now := b.now()
	changes := b.advanceLocked(now, nil)
	switch b.state {
	case StateClosed:
		b.failures++
		b.pending = max(0, b.pending-1)
		if b.failures >= b.threshold {
			b.stale, b.pending = b.pending, 0
			b.openUntil = now.Add(b.cooldown)
			changes = b.setLocked(StateOpen, changes)
		}
	case StateOpen:
		b.stale = max(0, b.stale-1)
	case StateHalfOpen:
		if b.stale > 0 {
			b.stale--
			break
		}
		b.probing = false
		b.cooldown = min(2*b.cooldown, b.max)
		b.openUntil = now.Add(b.cooldown)
		changes = b.setLocked(StateOpen, changes)
	}
	b.unlockAndNotify(changes)
}

// State returns the breaker's state: StateClosed, StateOpen or
// StateHalfOpen. An open breaker whose cooldown has ended is half-open.
func (b *Breaker) State() string {
	b.mu.Lock()
	changes := b.advanceLocked(b.now(), nil)
	s := b.state
	b.unlockAndNotify(changes)
	return s
}

// advanceLocked moves an open breaker whose cooldown has ended to
// half-open.
func (b *Breaker) advanceLocked(now time.Time, changes []transition) []transition {
	if b.state == StateOpen && !now.Before(b.openUntil) {
		b.probing = false
		changes = b.setLocked(StateHalfOpen, changes)
	}
	return changes
}

func (b *Breaker) setLocked(to string, changes []transition) []transition {
	if b.state == to {
		return changes
	}
	changes = append(changes, transition{b.state, to})
	b.state = to
	return changes
}

// unlockAndNotify queues changes for OnChange and releases the lock. One
// caller at a time delivers the queue, outside the lock, so OnChange sees
// changes in the order they were made and may call the Breaker itself.
func (b *Breaker) unlockAndNotify(changes []transition) {
	if b.onChange == nil {
		b.mu.Unlock()
		return
	}
	b.events = append(b.events, changes...)
	if b.delivering {
		b.mu.Unlock()
		return
	}
	b.delivering = true
	for len(b.events) > 0 {
		events := b.events
		b.events = nil
		b.mu.Unlock()
		for _, c := range events {
			b.onChange(c.from, c.to)
		}
		b.mu.Lock()
	}
	b.delivering = false
	b.mu.Unlock()
}
