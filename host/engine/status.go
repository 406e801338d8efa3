package engine

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hubhq/hub/host/limiter"
	"github.com/hubhq/hub/host/poller"
	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/streamer"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// healthBook keeps each trigger's health, by workflow.
type healthBook struct {
	mu sync.Mutex
	t  map[string]*runs.TriggerStatus
	// warned: the failing trigger has been warned about in the log.
	warned map[string]bool
}

func newHealthBook() *healthBook {
	return &healthBook{t: map[string]*runs.TriggerStatus{}, warned: map[string]bool{}}
}

// sync adds the triggers of rt and drops those no longer applied,
// keeping the health of the ones that stay.
func (h *healthBook) sync(rt *Runtime, url func(string) (string, string)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	keep := map[string]*runs.TriggerStatus{}
	for name, f := range rt.flows {
		t, ok := h.t[name]
		if !ok {
			t = &runs.TriggerStatus{Workflow: name}
		}
		t.Connection, t.Trigger, t.Mode = f.conn, f.trigger, string(f.mode)
		t.URL = ""
		if f.mode == schema.ModeWebhook {
			t.URL, _ = url(name)
		}
		keep[name] = t
	}
	h.t = keep
}

func (h *healthBook) received(workflow string, events int, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.t[workflow]
	if !ok {
		return
	}
	at = at.UTC()
	t.Events += uint64(events)
	t.LastSuccess = &at
	if events > 0 {
		t.LastEventAt = &at
	}
	t.FailingSince = nil
	h.warned[workflow] = false
}

// stream records a stream trigger's connection state and gaps.
func (h *healthBook) stream(r streamer.Result) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.t[r.Workflow]
	if !ok {
		return
	}
	connected := r.Connected
	t.Connected = &connected
	if !r.Since.IsZero() {
		since := r.Since.UTC()
		t.ConnectedSince = &since
	}
	t.Reconnects = r.Reconnects
	if r.Events > 0 && r.Lag > 0 {
		behind := r.Lag.Seconds()
		t.BehindSeconds = &behind
	}
	if r.Gap {
		how := "reconciled"
		if !r.Reconciled {
			how = "not reconciled"
		}
		t.LastGap = fmt.Sprintf("%s: the third party could not resume from position %q (%s)", r.At.UTC().Format(time.RFC3339), r.GapFrom, how)
	}
}

func (h *healthBook) failed(workflow string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.t[workflow]
	if !ok {
		return
	}
	now := time.Now().UTC()
	t.LastError, t.LastErrorAt = err.Error(), &now
	if t.FailingSince == nil {
		t.FailingSince = &now
	}
}

func (h *healthBook) snapshot(now time.Time) []*runs.TriggerStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*runs.TriggerStatus, 0, len(h.t))
	for _, t := range h.t {
		c := *t
		if c.LastSuccess != nil {
			c.LagSeconds = now.Sub(*c.LastSuccess).Seconds()
		}
		out = append(out, &c)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Workflow < out[k].Workflow })
	return out
}

// pollHealth is the poller's report after each poll.
func (e *Engine) pollHealth(r poller.Result) {
	if r.Err != nil {
		e.health.failed(r.Workflow, r.Err)
		e.m.pollErrors.WithLabelValues(r.Workflow, fault.KindOf(r.Err).String()).Inc()
		return
	}
	e.health.received(r.Workflow, r.Events, r.At)
	if r.Events > 0 {
		e.m.eventsAccepted.WithLabelValues(r.Workflow).Add(float64(r.Events))
		e.kickRouter()
	}
	if r.Duplicates > 0 {
		e.m.eventsDuplicate.WithLabelValues(r.Workflow).Add(float64(r.Duplicates))
	}
}

// watchTriggers logs a warning, once per failure spell, for each trigger
// failing longer than TriggerAlert.
func (e *Engine) watchTriggers() {
	defer e.bg.Done()
	tick := time.NewTicker(min(e.opts.TriggerAlert/4, 15*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-e.stopWork:
			return
		case <-tick.C:
		}
		now := time.Now()
		e.health.mu.Lock()
		for name, t := range e.health.t {
			if t.FailingSince != nil && now.Sub(*t.FailingSince) >= e.opts.TriggerAlert && !e.health.warned[name] {
				e.health.warned[name] = true
				e.log.Warn("trigger has been failing", "workflow", name, "trigger", t.Trigger, "since", t.FailingSince.Format(time.RFC3339), "error", t.LastError)
			}
		}
		e.health.mu.Unlock()
	}
}

// pollTriggers lists rt's poll triggers for the poller.
func (e *Engine) pollTriggers(ctx context.Context, rt *Runtime) []poller.Trigger {
	var out []poller.Trigger
	for name, f := range rt.flows {
		if f.mode != schema.ModePoll {
			continue
		}
		c := rt.conns[f.conn]
		h := e.opts.Connector(c.inst)
		interval := f.interval
		if interval <= 0 {
			interval = e.defaultInterval(ctx, c, h, f.trigger)
		}
		out = append(out, poller.Trigger{Tenant: e.tenant, Workflow: name, Name: f.trigger, Conn: c.wire, Config: f.config,
			Interval: interval, Connector: h})
	}
	return out
}

// fallbackInterval is the poll interval of a trigger whose workflow and
// connector name none.
const fallbackInterval = time.Minute

// defaultInterval is the connector's default poll interval for trigger,
// from its schema.
func (e *Engine) defaultInterval(ctx context.Context, c *connRT, h wire.Connector, trigger string) time.Duration {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	sc, err := h.Schema(ctx)
	if err != nil {
		e.log.Warn("cannot read the connector's default poll interval; polling every minute", "connector", c.ref, "error", err)
		return fallbackInterval
	}
	if t, ok := sc.Trigger(trigger); ok && t.DefaultPollInterval > 0 {
		return t.DefaultPollInterval
	}
	return fallbackInterval
}

// backpressure stretches poll intervals while the queue is deep.
func (e *Engine) backpressure() float64 {
	n := e.queued()
	if n <= e.opts.QueueHigh {
		return 1
	}
	return min(float64(n)/float64(e.opts.QueueHigh), 10)
}

func (e *Engine) queued() int {
	e.lanesMu.Lock()
	lanes := make([]*lane, 0, len(e.lanes))
	for _, l := range e.lanes {
		lanes = append(lanes, l)
	}
	e.lanesMu.Unlock()
	n := 0
	for _, l := range lanes {
		n += l.size()
	}
	return n
}

// limitsOf is the connection's limits block, else the engine's defaults.
func (e *Engine) limitsOf(c *connRT) limiter.Limits {
	if l := c.cfg.Limits; l != nil {
		return limiter.Limits{Concurrency: l.Concurrency, Rate: l.Rate, Burst: l.Burst}
	}
	return e.opts.DefaultLimits
}

// Status implements server.Backend.
func (e *Engine) Status(_ context.Context, tenant string) (*runs.HostStatus, error) {
	now := time.Now()
	st := &runs.HostStatus{Version: e.opts.Version, StartedAt: e.started.UTC(), Ready: e.Ready() == nil,
		Connections: []*runs.ConnectionStatus{}, Triggers: []*runs.TriggerStatus{}}
	if tenant != e.tenant {
		return st, nil
	}
	st.Triggers = e.health.snapshot(now)
	rt := e.rt.Load()
	e.lanesMu.Lock()
	lanes := make(map[string]*lane, len(e.lanes))
	for k, l := range e.lanes {
		lanes[k] = l
	}
	e.lanesMu.Unlock()
	for name, l := range lanes {
		cs := &runs.ConnectionStatus{Name: name, Breaker: l.brk.State(), InFlight: l.lim.InFlight()}
		if rt != nil {
			if c, ok := rt.conns[name]; ok {
				cs.Connector = c.ref
			}
		}
		due, later := l.counts(now)
		cs.Queued = due + later
		st.Queue.Due += due
		st.Queue.Scheduled += later
		l.hmu.Lock()
		if !l.lastSuccess.IsZero() {
			t := l.lastSuccess.UTC()
			cs.LastSuccess = &t
		}
		if l.lastError != "" {
			t := l.lastErrorAt.UTC()
			cs.LastError, cs.LastErrorAt = l.lastError, &t
		}
		l.hmu.Unlock()
		e.credentialStatus(cs)
		st.Connections = append(st.Connections, cs)
	}
	if rt != nil {
		for name, c := range rt.conns {
			if _, ok := lanes[name]; !ok {
				cs := &runs.ConnectionStatus{Name: name, Connector: c.ref, Breaker: "closed"}
				e.credentialStatus(cs)
				st.Connections = append(st.Connections, cs)
			}
		}
	}
	sort.Slice(st.Connections, func(i, k int) bool { return st.Connections[i].Name < st.Connections[k].Name })
	st.Queue.DeadLetters = int(e.deadCount.Load())
	return st, nil
}

// credentialStatus shows cs's credential error (see ReloadCredentials)
// as its last error, unless a call failed since.
func (e *Engine) credentialStatus(cs *runs.ConnectionStatus) {
	ce, ok := e.credentialError(cs.Name)
	if !ok || (cs.LastErrorAt != nil && cs.LastErrorAt.After(ce.at)) {
		return
	}
	t := ce.at.UTC()
	cs.LastError, cs.LastErrorAt = ce.msg, &t
}

// housekeeping prunes the run history by the retention settings.
func (e *Engine) housekeeping() {
	defer e.bg.Done()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		if n, err := runs.Prune(e.st, e.tenant, e.opts.Retention, time.Now()); err != nil {
			e.log.Error("pruning the run history failed", "error", err)
		} else if n > 0 {
			e.log.Info("run history pruned", "runs", n)
		}
		select {
		case <-e.stopWork:
			return
		case <-tick.C:
		}
	}
}
