package logbus

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Levels an Entry can have, lowest first.
const (
	LevelDebug = "debug"
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
)

// Entry is one log line.
type Entry struct {
	Time time.Time `json:"time"`
	// Level is LevelDebug, LevelInfo, LevelWarn or LevelError.
	Level   string `json:"level"`
	Message string `json:"message"`
	// Tenant, Workflow, Run, Step and Attempt say what the entry is about;
	// host-wide entries leave them empty.
	Tenant   string `json:"tenant,omitempty"`
	Workflow string `json:"workflow,omitempty"`
	Run      string `json:"run,omitempty"`
	Step     string `json:"step,omitempty"`
	Attempt  int    `json:"attempt,omitempty"`
	// Fields holds the entry's other key/value pairs. Subscribers share
	// the map: treat it as read-only.
	Fields map[string]any `json:"fields,omitempty"`
}

// AtLeast reports whether the entry's level is level or above. An unknown
// level on either side ranks as info.
func (e Entry) AtLeast(level string) bool {
	return rank(e.Level) >= rank(level)
}

func rank(level string) int {
	switch level {
	case LevelDebug:
		return 0
	case LevelWarn:
		return 2
	case LevelError:
		return 3
	default:
		return 1
	}
}

// Bus keeps the last entries in a ring and fans new ones out to
// subscribers. It is safe for concurrent use. The zero value is not
// usable; call New.
type Bus struct {
	capacity int
	done     chan struct{}

	mu     sync.Mutex
	ring   []Entry
	next   int // where the next entry goes
	full   bool
	subs   map[*subscriber]struct{}
	closed bool
}

// New returns a bus that remembers the last capacity entries (at least 1).
// A subscriber may also fall up to capacity entries behind before it loses
// any: one that lags further has lost more than the bus remembers anyway.
func New(capacity int) *Bus {
	if capacity < 1 {
		capacity = 1
	}
	return &Bus{
		capacity: capacity,
		done:     make(chan struct{}),
		ring:     make([]Entry, capacity),
		subs:     make(map[*subscriber]struct{}),
	}
}

// Publish adds e to the ring and offers it to every subscriber whose match
// accepts it. It never blocks on a subscriber. A zero Time is set to now.
// After Close, Publish does nothing.
func (b *Bus) Publish(e Entry) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.ring[b.next] = e
	b.next++
	if b.next == b.capacity {
		b.next = 0
		b.full = true
	}
	for s := range b.subs {
		s.offer(e)
	}
}

// Recent returns up to n of the most recent entries that match accepts
// (nil accepts all), oldest first.
func (b *Bus) Recent(n int, match func(Entry) bool) []Entry {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.recentLocked(n, match)
}

func (b *Bus) recentLocked(n int, match func(Entry) bool) []Entry {
	if n <= 0 {
		return nil
	}
	size := b.next
	if b.full {
		size = b.capacity
	}
	var out []Entry
	// Walk from the newest entry back, then reverse, so a narrow match
	// does not have to copy the whole ring.
	for i := 0; i < size && len(out) < n; i++ {
		e := b.ring[(b.next-1-i+b.capacity)%b.capacity]
		if match == nil || match(e) {
			out = append(out, e)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// Subscribe returns a channel that first yields up to backlog of the most
// recent entries match accepts (nil accepts all), oldest first, then every
// matching entry published after the call, in order. Nothing published
// after the backlog is taken is missed or repeated, unless the subscriber
// falls more than the bus's capacity behind: then entries are dropped and,
// in their place, the subscriber receives one LevelWarn entry saying how
// many.
//
// The channel is closed when ctx ends (without delivering what is still
// queued) or when the bus is closed (after the entries already queued for
// it are delivered, if the reader keeps reading). Either way the reader
// should read until the channel closes. match runs while the bus is locked: it must be fast and
// must not call the bus.
func (b *Bus) Subscribe(ctx context.Context, backlog int, match func(Entry) bool) <-chan Entry {
	out := make(chan Entry)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(out)
		return out
	}
	queue := b.recentLocked(backlog, match)
	s := &subscriber{
		match: match,
		limit: b.capacity + len(queue),
		queue: queue,
		wake:  make(chan struct{}, 1),
	}
	b.subs[s] = struct{}{}
	go b.forward(ctx, s, out)
	return out
}

// Close ends every subscription and makes Publish a no-op. It is safe to
// call more than once.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	close(b.done)
}

// forward moves a subscriber's queued entries to its channel, so that
// Publish only ever appends to a bounded queue and never waits on the
// reader.
func (b *Bus) forward(ctx context.Context, s *subscriber, out chan<- Entry) {
	defer close(out)
	defer b.remove(s)
	for {
		batch := s.take()
		if len(batch) == 0 {
			select {
			case <-s.wake:
				continue
			case <-ctx.Done():
				return
			case <-b.done:
				// Nothing can be offered after done closes (Publish checks
				// closed under the same lock), so what is queued now is
				// the last of it.
				if batch = s.take(); len(batch) == 0 {
					return
				}
			}
		}
		for _, e := range batch {
			if ctx.Err() != nil {
				return
			}
			select {
			case out <- e:
			case <-ctx.Done():
				return
			}
		}
	}
}

func (b *Bus) remove(s *subscriber) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.subs, s)
}

// subscriber is one Subscribe call's queue between Publish and forward.
type subscriber struct {
	match func(Entry) bool
	limit int
	wake  chan struct{} // capacity 1: "the queue changed"

	mu      sync.Mutex
	queue   []Entry
	dropped int // entries lost since the last one queued
}

// offer queues e if it matches and there is room; it never blocks.
func (s *subscriber) offer(e Entry) {
	if s.match != nil && !s.match(e) {
		return
	}
	s.mu.Lock()
	if len(s.queue) >= s.limit {
		s.dropped++
	} else {
		if s.dropped > 0 {
			s.queue = append(s.queue, fellBehind(s.dropped, e.Time))
			s.dropped = 0
		}
		s.queue = append(s.queue, e)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take returns what is queued and empties the queue. With nothing queued
// but entries dropped, it returns the warning, so a reader learns of the
// loss as soon as it catches up rather than only when the next entry comes.
func (s *subscriber) take() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	batch := s.queue
	s.queue = nil
	if len(batch) == 0 && s.dropped > 0 {
		batch = []Entry{fellBehind(s.dropped, time.Now())}
		s.dropped = 0
	}
	return batch
}

func fellBehind(n int, at time.Time) Entry {
	return Entry{
		Time:    at,
		Level:   LevelWarn,
		Message: fmt.Sprintf("log stream fell behind: %d entries dropped", n),
	}
}
