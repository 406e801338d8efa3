package supervisor

import (
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/wire"
)

// Defaults for zero Options fields.
const (
	DefaultStartTimeout = 10 * time.Second
	DefaultMinBackoff   = 200 * time.Millisecond
	DefaultMaxBackoff   = 30 * time.Second
)

// Options configure a Supervisor. Zero fields take the defaults.
type Options struct {
	// Logger receives the supervisor's own lines and every plugin's log
	// lines, tagged with the connector's source and version.
	Logger hclog.Logger
	// StartTimeout bounds the plugin handshake of one launch.
	StartTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before relaunching a plugin
	// that crashed or failed to start. The wait doubles with each
	// consecutive failure and is reset once a process has stayed up longer
	// than MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
}

// Supervisor runs connector plugin processes. It is safe for concurrent
// use; the zero value is not usable, call New.
type Supervisor struct {
	opts Options
	// stop is closed by Close; run loops and backoff sleeps watch it.
	stop   chan struct{}
	closed atomic.Bool

	// mu guards procs, and orders starting a run loop (loops.Add) against
	// Close waiting for them, so no loop starts after Close has begun.
	mu    sync.Mutex
	procs map[procKey]*proc
	loops sync.WaitGroup
}

// procKey is one installed (source, version): the unit that gets a process.
type procKey struct{ source, version string }

// New returns a Supervisor. No process starts until a handle is called.
func New(opts Options) *Supervisor {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = opts.MinBackoff
	}
	return &Supervisor{opts: opts, stop: make(chan struct{}), procs: map[procKey]*proc{}}
}

// Connector returns a handle to an installed connector. The process starts
// on the handle's first call; every handle of the same source and version
// shares it. After Close, the handle's calls fail as retryable.
func (s *Supervisor) Connector(inst registry.Installed) wire.Connector {
	key := procKey{source: inst.Source}
	if inst.Version != nil {
		key.version = inst.Version.String()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.procs[key]
	if !ok {
		p = newProc(s, inst)
		s.procs[key] = p
	}
	return &handle{p: p}
}

// Status is the state of one connector's process.
type Status struct {
	Installed registry.Installed
	// Running is true while a process is up and connected.
	Running bool
	// PID, Protocol and StartedAt describe the running process; zero when
	// none is running.
	PID       int
	Protocol  int
	StartedAt time.Time
	// Restarts counts how often the process exited unexpectedly; each such
	// exit is followed by a relaunch after the backoff.
	Restarts int
	// LastError is why the last launch failed or the process last died; it
	// is kept after a recovery so an operator can see what happened.
	LastError string
}

// Status reports every connector a handle was made for, sorted by source
// and version.
func (s *Supervisor) Status() []Status {
	s.mu.Lock()
	procs := make([]*proc, 0, len(s.procs))
	for _, p := range s.procs {
		procs = append(procs, p)
	}
	s.mu.Unlock()

	out := make([]Status, 0, len(procs))
	for _, p := range procs {
		out = append(out, p.status())
	}
	sort.Slice(out, func(a, b int) bool {
		x, y := out[a].Installed, out[b].Installed
		if x.Source != y.Source {
			return x.Source < y.Source
		}
		if x.Version == nil || y.Version == nil {
			return y.Version != nil
		}
		return x.Version.LessThan(y.Version)
	})
	return out
}

// Close stops relaunching, stops every plugin process (gracefully, then by
// force) and waits until they have exited. A launch in progress is allowed
// to finish its handshake first, at most StartTimeout. Calls made after
// Close fail as retryable. Close is safe to call more than once.
func (s *Supervisor) Close() error {
	s.mu.Lock()
	if !s.closed.Load() {
		s.closed.Store(true)
		close(s.stop)
	}
	procs := make([]*proc, 0, len(s.procs))
	for _, p := range s.procs {
		procs = append(procs, p)
	}
	s.mu.Unlock()

	// Wake calls waiting for a launch so they see the supervisor is closed.
	for _, p := range procs {
		p.mu.Lock()
		p.broadcast()
		p.mu.Unlock()
	}
	s.loops.Wait()
	return nil
}

// startLoop registers a run loop unless the supervisor is closed.
func (s *Supervisor) startLoop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return false
	}
	s.loops.Add(1)
	return true
}

// sleep waits d, or less if the supervisor closes; it reports whether the
// whole wait passed.
func (s *Supervisor) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stop:
		return false
	}
}

// backoff is the wait before the next launch after n consecutive failures:
// exponential from MinBackoff, capped at MaxBackoff, with jitter in the
// upper half so plugins that died together do not relaunch in lockstep.
func (s *Supervisor) backoff(n int) time.Duration {
	d := s.opts.MinBackoff
	for i := 1; i < n && d < s.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.opts.MaxBackoff)
	half := d / 2
	return half + rand.N(d-half+1)
}

func errClosed(inst registry.Installed) error {
	return fault.Retryablef("%s: the connector supervisor is shut down", inst)
}
