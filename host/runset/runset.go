// Package runset keeps one goroutine running per trigger of a host: the
// poll triggers (host/poller) and the stream triggers (host/streamer) each
// hold a Set of them, keyed by tenant and workflow.
//
// Apply replaces the running triggers as a whole. A trigger not running
// yet starts; one no longer wanted is stopped; one whose definition
// changed is stopped and started again, and the new goroutine is handed
// the done channel of the old one, so it can wait until the old one has
// returned: state a trigger owns (a cursor, a stream position) never has
// two writers.
package runset

import (
	"errors"
	"fmt"
	"sync"
)

// ErrClosed is returned by Apply after Stop.
var ErrClosed = errors.New("runset: stopped")

// Key identifies a trigger: the tenant and workflow it belongs to.
type Key struct{ Tenant, Workflow string }

// Runner is the goroutine of one trigger.
type Runner interface {
	// Run does the trigger's work until it is stopped. prev is nil or
	// closed once the runners this one replaces have returned; Run waits
	// for it before touching what the trigger owns, and may return
	// without waiting when it is stopped first (the Set still holds the
	// next runner back until prev is closed).
	Run(prev <-chan struct{})
	// Stop asks Run to return. It is called at most once, with the
	// Set's lock held, so it must not block.
	Stop()
}

// Set runs one Runner per Key for definitions of type S. It is safe for
// concurrent use.
type Set[S any] struct {
	same  func(running, wanted S) bool
	spawn func(S) Runner

	mu      sync.Mutex
	running map[Key]*slot[S]
	// last is the newest slot of each key whose Run has not returned,
	// running or stopping; a new runner of the key waits for it.
	last   map[Key]*slot[S]
	closed bool
	wg     sync.WaitGroup
}

type slot[S any] struct {
	spec S
	r    Runner
	done chan struct{} // closed when r.Run has returned
}

// New returns an empty Set. same reports whether a running definition
// needs no restart to become the wanted one; spawn makes the Runner of a
// definition (Apply then calls its Run on a new goroutine).
func New[S any](same func(running, wanted S) bool, spawn func(S) Runner) *Set[S] {
	return &Set[S]{same: same, spawn: spawn, running: make(map[Key]*slot[S]), last: make(map[Key]*slot[S])}
}

// Wanted builds Apply's want from defs, keyed by key: a definition that
// validate refuses, or a second one with a key already listed, is left
// out, and the error names each (kind says what they are, e.g. "poll
// trigger"); the rest are still wanted.
func Wanted[S any](defs []S, key func(S) Key, validate func(S) error, kind string) (map[Key]S, error) {
	var errs []error
	want := make(map[Key]S, len(defs))
	for _, d := range defs {
		if err := validate(d); err != nil {
			errs = append(errs, err)
			continue
		}
		k := key(d)
		if _, dup := want[k]; dup {
			errs = append(errs, fmt.Errorf("%s %s/%s: listed twice, the first is kept", kind, k.Tenant, k.Workflow))
			continue
		}
		want[k] = d
	}
	return want, errors.Join(errs...)
}

// Apply makes want the running set and does not wait for any runner.
// keep, when not nil, is called with each running runner whose definition
// is the same as the wanted one, under the Set's lock, to take over
// fields that need no restart. After Stop it returns ErrClosed.
func (s *Set[S]) Apply(want map[Key]S, keep func(Runner, S)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	start := make(map[Key]S, len(want))
	for k, spec := range want {
		start[k] = spec
	}
	for k, sl := range s.running {
		if spec, ok := start[k]; ok && s.same(sl.spec, spec) {
			if keep != nil {
				keep(sl.r, spec)
			}
			delete(start, k) // running as it should
			continue
		}
		sl.r.Stop()
		delete(s.running, k)
	}
	for k, spec := range start {
		s.start(k, spec)
	}
	return nil
}

// start runs spec's runner; s.mu is held.
func (s *Set[S]) start(k Key, spec S) {
	sl := &slot[S]{spec: spec, r: s.spawn(spec), done: make(chan struct{})}
	var prev <-chan struct{}
	if old, ok := s.last[k]; ok {
		prev = old.done
	}
	s.running[k] = sl
	s.last[k] = sl
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.forget(k, sl)
		defer close(sl.done)
		sl.r.Run(prev)
		// done means this runner and every one before it of the key
		// have returned: a runner stopped while it waited for prev may
		// return at once, and the next one must still not start before
		// prev's runner is done.
		if prev != nil {
			<-prev
		}
	}()
}

// forget drops sl from s.last once its Run has returned, unless a newer
// runner of the key took its place.
func (s *Set[S]) forget(k Key, sl *slot[S]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last[k] == sl {
		delete(s.last, k)
	}
}

// Get returns the running runner of k.
func (s *Set[S]) Get(k Key) (Runner, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl, ok := s.running[k]
	if !ok {
		return nil, false
	}
	return sl.r, true
}

// Done returns a channel closed once no runner of k is running or
// stopping: already closed when there is none. A caller that removed k
// with Apply waits on it before touching what k's runners own.
func (s *Set[S]) Done(k Key) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl, ok := s.last[k]; ok {
		return sl.done
	}
	done := make(chan struct{})
	close(done)
	return done
}

// Stop stops every runner, and Apply refuses to start more. It does not
// wait: Wait does.
func (s *Set[S]) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for k, sl := range s.running {
		sl.r.Stop()
		delete(s.running, k)
	}
}

// Wait waits until the Run of every runner started has returned.
func (s *Set[S]) Wait() { s.wg.Wait() }
