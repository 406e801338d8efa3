package supervisor

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/wire"
)

// proc is the process of one installed connector version over its life:
// not started, launching, up, backing off after a failure, or given up on
// (a permanent launch failure) until the next call after the backoff.
//
// At most one run loop exists per proc; it alone launches, watches and
// stops processes. Calls only read the live instance or wait for a change.
type proc struct {
	s      *Supervisor
	inst   registry.Installed
	logger hclog.Logger

	// live is the connected process, read without a lock on every call.
	live atomic.Pointer[instance]

	mu sync.Mutex
	// running is true while a run loop owns this proc.
	running bool
	// changed is closed (and replaced) on every change below, waking
	// calls that wait for a launch.
	changed chan struct{}
	// attempts counts finished launch attempts; failedAttempt is the
	// attempt that last failed, so a waiting call can tell that the
	// attempt it waited for failed.
	attempts, failedAttempt uint64
	// lastErr is why the connector is down (nil while it is up, or before
	// the first launch); lastErrText outlives recovery, for Status.
	lastErr     *fault.Error
	lastErrText string
	// nextLaunch is when the run loop will next try to launch.
	nextLaunch time.Time
	// failures counts consecutive failures, for the backoff.
	failures int
	restarts int
}

func newProc(s *Supervisor, inst registry.Installed) *proc {
	ver := ""
	if inst.Version != nil {
		ver = inst.Version.String()
	}
	return &proc{
		s:       s,
		inst:    inst,
		logger:  s.opts.Logger.Named("connector."+inst.Name).With("connector", inst.Source, "version", ver),
		changed: make(chan struct{}),
	}
}

// broadcast wakes every waiting call; p.mu must be held.
func (p *proc) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// connector returns the live connector, launching or waiting for one if
// there is none. This is every call's path, so the common case is one
// atomic load and a non-blocking channel check.
func (p *proc) connector(ctx context.Context) (wire.Connector, error) {
	if in := p.live.Load(); in != nil && in.alive() {
		return in.conn, nil
	}
	return p.await(ctx)
}

// await waits for a live process within ctx. A call that sees a launch
// attempt fail returns that failure instead of waiting for more attempts:
// the engine's retry policy, not this call, decides how long to keep
// trying.
func (p *proc) await(ctx context.Context) (wire.Connector, error) {
	p.mu.Lock()
	seen := p.attempts
	for {
		if p.s.closed.Load() {
			p.mu.Unlock()
			return nil, errClosed(p.inst)
		}
		if in := p.live.Load(); in != nil && in.alive() {
			p.mu.Unlock()
			return in.conn, nil
		}
		now := time.Now()
		switch {
		case p.attempts > seen && p.failedAttempt == p.attempts && p.lastErr != nil:
			err := p.errorNow(now)
			p.mu.Unlock()
			return nil, err
		case !p.running && p.lastErr != nil && !p.lastErr.Retryable() && now.Before(p.nextLaunch):
			// A bad binary is not relaunched for every call: until the
			// backoff passes, calls get the same clear error at once.
			err := p.errorNow(now)
			p.mu.Unlock()
			return nil, err
		case !p.running:
			if !p.s.startLoop() {
				p.mu.Unlock()
				return nil, errClosed(p.inst)
			}
			p.running = true
			go p.run()
		case p.lastErr != nil && now.Before(p.nextLaunch):
			// Backing off: wait only if the relaunch can happen in time.
			if deadline, ok := ctx.Deadline(); ok && deadline.Before(p.nextLaunch) {
				err := p.errorNow(now)
				p.mu.Unlock()
				return nil, err
			}
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			p.mu.Lock()
			msg := "is starting"
			if p.lastErr != nil {
				msg = "is down (" + p.lastErr.Message + ")"
			}
			p.mu.Unlock()
			e := fault.Retryablef("%s %s; gave up waiting: %v", p.inst, msg, ctx.Err())
			e.Cause = ctx.Err()
			return nil, e
		}
		p.mu.Lock()
	}
}

// errorNow is a copy of lastErr for one caller, with RetryAfter counted
// from now for a retryable one; p.mu must be held.
func (p *proc) errorNow(now time.Time) error {
	e := *p.lastErr
	e.RetryAfter = 0
	if e.Retryable() && p.nextLaunch.After(now) {
		e.RetryAfter = p.nextLaunch.Sub(now)
	}
	return &e
}

// failed records why the connector is down and when the next launch is
// due; p.mu must be held.
func (p *proc) failed(err *fault.Error, now time.Time) time.Duration {
	p.failures++
	delay := p.s.backoff(p.failures)
	p.lastErr = err
	p.lastErrText = err.Error()
	p.nextLaunch = now.Add(delay)
	return delay
}

// run is the run loop: launch, wait for the process to exit, back off,
// relaunch, until Close or a permanent launch failure.
func (p *proc) run() {
	defer p.s.loops.Done()
	defer func() {
		p.mu.Lock()
		p.running = false
		p.broadcast()
		p.mu.Unlock()
	}()
	for {
		in, err := p.launch()
		now := time.Now()

		p.mu.Lock()
		p.attempts++
		if p.s.closed.Load() {
			p.mu.Unlock()
			if in != nil {
				in.stop()
			}
			return
		}
		if err != nil {
			p.failedAttempt = p.attempts
			delay := p.failed(err, now)
			p.broadcast()
			p.mu.Unlock()
			if !err.Retryable() {
				p.logger.Error("connector cannot be launched", "error", err.Message)
				return
			}
			p.logger.Error("connector launch failed; retrying", "error", err.Message, "backoff", delay.Round(time.Millisecond))
			if !p.s.sleep(delay) {
				return
			}
			continue
		}
		p.lastErr = nil
		p.live.Store(in)
		p.broadcast()
		p.mu.Unlock()
		p.logger.Info("connector started", "pid", in.pid, "protocol", in.protocol,
			"took", time.Since(in.started).Round(time.Millisecond))

		select {
		case <-in.exited:
		case <-p.s.stop:
			p.live.CompareAndSwap(in, nil)
			in.stop()
			return
		}

		// The process died on its own. Calls in flight on it have
		// failed as retryable (wire maps Unavailable); new calls wait
		// for the relaunch below.
		p.live.CompareAndSwap(in, nil)
		up := time.Since(in.started)
		how := in.stop()
		now = time.Now()
		p.mu.Lock()
		p.restarts++
		if up > p.s.opts.MaxBackoff {
			// It ran long enough to count as healthy: this is a fresh
			// failure, not part of a crash loop.
			p.failures = 0
		}
		delay := p.failed(fault.Retryablef("%s (pid %d) %s after %s", p.inst, in.pid, how, up.Round(time.Millisecond)), now)
		p.broadcast()
		p.mu.Unlock()
		p.logger.Error("connector process died; relaunching", "pid", in.pid, "exit", how,
			"backoff", delay.Round(time.Millisecond))
		if !p.s.sleep(delay) {
			return
		}
	}
}

func (p *proc) status() Status {
	st := Status{Installed: p.inst}
	if in := p.live.Load(); in != nil && in.alive() {
		st.Running, st.PID, st.Protocol, st.StartedAt = true, in.pid, in.protocol, in.startedAt
	}
	p.mu.Lock()
	st.Restarts, st.LastError = p.restarts, p.lastErrText
	p.mu.Unlock()
	return st
}
