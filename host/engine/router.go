package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/hubhq/hub/host/ingest"
	"github.com/hubhq/hub/host/runs"
)

// kindRouted holds the seq of the last event the router turned into runs.
const kindRouted = "routed"

// routeBatch is how many events one routing transaction takes at most.
const routeBatch = 256

func (e *Engine) kickRouter() {
	select {
	case e.routerWake <- struct{}{}:
	default:
	}
}

// routeLoop turns stored events into runs, in acceptance order: for each
// event the workflow of its trigger, the trigger's when, and a run with
// its first job, stored together with the routed position and the
// event's removal. A crash before the commit routes the same events again
// into the same run ids.
func (e *Engine) routeLoop() {
	defer e.bg.Done()
	pos, err := e.loadRouted()
	if err != nil {
		e.log.Error("cannot read the routed position; routing stopped", "error", err)
		return
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		n, next, err := e.routeOnce(pos)
		if err != nil {
			e.log.Error("routing failed; retrying", "after", pos, "error", err)
		}
		pos = next
		if n == routeBatch && err == nil {
			continue
		}
		select {
		case <-e.ctx.Done():
			return
		case <-e.stopWork:
			return
		case <-e.routerWake:
		case <-tick.C:
		}
	}
}

func (e *Engine) loadRouted() (uint64, error) {
	v, ok, err := e.st.Get(e.tenant, kindRouted, "position")
	if err != nil || !ok {
		return 0, err
	}
	return strconv.ParseUint(string(v), 10, 64)
}

// routeOnce routes up to routeBatch events after pos and returns how many
// it read and the new position.
func (e *Engine) routeOnce(pos uint64) (int, uint64, error) {
	evs, err := e.in.Read(e.tenant, pos, routeBatch)
	if err != nil || len(evs) == 0 {
		return 0, pos, err
	}
	rt := e.rt.Load()
	var puts []ingest.Put
	var jobs []*job
	var started []*runs.Run
	now := time.Now().UTC()
	for _, ev := range evs {
		puts = append(puts, ingest.Put{Tenant: e.tenant, Kind: "event", ID: seqID(ev.Seq), Delete: true})
		workflow, _, _ := strings.Cut(ev.Trigger, "/")
		var flow *flowRT
		if rt != nil {
			flow = rt.flows[workflow]
		}
		if flow == nil {
			e.log.Warn("event for a workflow that is not applied; dropped", "workflow", workflow, "event", ev.ID)
			continue
		}
		if !json.Valid(ev.Payload) {
			// Connectors' events are checked when they arrive; one that
			// is not JSON must not stop routing for every other event.
			e.log.Error("event payload is not JSON; dropped", "workflow", workflow, "event", ev.ID)
			continue
		}
		if flow.when != nil {
			evv, err := flow.whenRefs.value(ev.Payload)
			if err != nil {
				e.log.Error("event payload cannot be read; dropped", "workflow", workflow, "event", ev.ID, "error", err)
				continue
			}
			v, diags := rt.rc.Eval(flow.when, evv, nil)
			if diags.HasErrors() {
				e.log.Warn("trigger when failed; event dropped", "workflow", workflow, "event", ev.ID, "error", rt.diagText(diags))
				e.m.eventsFiltered.WithLabelValues(workflow).Inc()
				continue
			}
			v, _ = v.Unmark()
			if v.Type() != cty.Bool || !v.IsKnown() || v.IsNull() || v.False() {
				e.m.eventsFiltered.WithLabelValues(workflow).Inc()
				continue
			}
		}
		run := &runs.Run{
			ID: runs.RunID(ev.Seq), Tenant: e.tenant, Workflow: workflow, Trigger: flow.conn + "/" + flow.trigger,
			EventSeq: ev.Seq, EventID: ev.ID, Event: ev.Payload, Status: runs.Running,
			ReceivedAt: ev.ReceivedAt, CreatedAt: now, UpdatedAt: now,
		}
		for _, s := range flow.steps {
			c := rt.conns[s.s.Connection]
			run.Steps = append(run.Steps, &runs.Step{Name: s.s.Name, Connection: s.s.Connection, Action: s.s.Action, Connector: c.ref, Status: runs.Pending})
		}
		if len(run.Steps) == 0 {
			run.Status = runs.Succeeded
			run.FinishedAt = &now
		}
		p, err := e.putJSON(runs.KindRun, run.ID, run)
		if err != nil {
			e.log.Error("cannot encode a run; event dropped", "workflow", workflow, "event", ev.ID, "error", err)
			continue
		}
		puts = append(puts, p)
		if len(run.Steps) > 0 {
			j := newJob(now, run.ID, 0, run.Steps[0].Connection)
			j.doc = run
			jobs = append(jobs, j)
			puts = append(puts, ingest.Put{Tenant: e.tenant, Kind: runs.KindJob, ID: j.id, Value: j.value()})
		}
		started = append(started, run)
	}
	last := evs[len(evs)-1].Seq
	puts = append(puts, ingest.Put{Tenant: e.tenant, Kind: kindRouted, ID: "position", Value: []byte(strconv.FormatUint(last, 10))})
	if err := e.commit(context.Background(), puts); err != nil {
		return 0, pos, fmt.Errorf("store %d runs: %w", len(started), err)
	}
	for _, r := range started {
		e.m.runsStarted.WithLabelValues(r.Workflow).Inc()
		e.publish("info", "run started", r, "", 0, map[string]any{"event": r.EventID})
	}
	for _, j := range jobs {
		e.lane(j.conn).push(j)
	}
	return len(evs), last, nil
}

// seqID is the id of an event's key (package ingest's format).
func seqID(seq uint64) string { return fmt.Sprintf("%020d", seq) }
