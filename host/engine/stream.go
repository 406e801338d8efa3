package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hubhq/hub/host/ingest"
	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/streamer"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// recordGap puts a stream's gap into the run history, between the runs
// of the events before and after it, so an operator reading the history
// sees it where it happened.
func (e *Engine) recordGap(r streamer.Result) {
	pos, err := e.loadRouted()
	if err != nil {
		e.log.Error("cannot record a stream gap in the history", "workflow", r.Workflow, "error", err)
		return
	}
	at := r.At.UTC()
	how := "the events in between were reconciled through the connector's reconcile poll"
	if !r.Reconciled {
		how = "the events in between are missing: the connector declares no reconcile poll, or it failed"
		if r.Err != nil {
			how += ": " + r.Err.Error()
		}
	}
	run := &runs.Run{
		ID: fmt.Sprintf("%s.gap.%d", runs.RunID(pos), at.UnixNano()), Tenant: e.tenant, Workflow: r.Workflow,
		Status: runs.Gap, Error: fmt.Sprintf("stream gap: the third party could not resume from position %q; %s", r.GapFrom, how),
		ReceivedAt: at, CreatedAt: at, UpdatedAt: at, FinishedAt: &at,
	}
	p, err := e.putJSON(runs.KindRun, run.ID, run)
	if err == nil {
		err = e.commit(e.ctx, []ingest.Put{p})
	}
	if err != nil {
		e.log.Error("cannot record a stream gap in the history", "workflow", r.Workflow, "error", err)
		return
	}
	e.publish("warn", "stream gap", run, "", 0, map[string]any{"from": string(r.GapFrom), "reconciled": r.Reconciled})
}

// reconcilePages bounds one gap's reconciliation.
const reconcilePages = 1000

// streamTriggers lists rt's stream triggers for the streamer, each with
// the reconciliation its connector declares (ReconcileWith).
func (e *Engine) streamTriggers(ctx context.Context, rt *Runtime) []streamer.Trigger {
	var out []streamer.Trigger
	for name, f := range rt.flows {
		if f.mode != schema.ModeStream {
			continue
		}
		c := rt.conns[f.conn]
		h := e.opts.Connector(c.inst)
		t := streamer.Trigger{Tenant: e.tenant, Workflow: name, Name: f.trigger, Conn: c.wire, Config: f.config, Connector: h}
		if rec := e.reconciler(ctx, name, f, c, h); rec != nil {
			t.Reconcile = rec
		}
		out = append(out, t)
	}
	return out
}

// reconciler returns the function that fills a stream's gap by polling
// the trigger its connector declares for it, from the last stored
// position, storing the events under the stream's trigger so dedup drops
// what the stream already delivered; nil when the connector declares
// none (the gap is then reported, never skipped silently).
func (e *Engine) reconciler(ctx context.Context, workflow string, f *flowRT, c *connRT, h wire.Connector) func(context.Context, []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	sc, err := h.Schema(ctx)
	if err != nil {
		e.log.Warn("cannot read the connector's schema; stream gaps will be reported, not reconciled", "workflow", workflow, "error", err)
		return nil
	}
	st, ok := sc.Trigger(f.trigger)
	if !ok || st.ReconcileWith == "" {
		return nil
	}
	pt, ok := sc.Trigger(st.ReconcileWith)
	if !ok {
		return nil
	}
	// The poll trigger takes its own config: the stream's, less the
	// fields only the stream has.
	cfg := f.config
	var all map[string]json.RawMessage
	if json.Unmarshal(f.config, &all) == nil {
		keep := map[string]json.RawMessage{}
		for _, fl := range pt.Config {
			if v, ok := all[fl.Name]; ok {
				keep[fl.Name] = v
			}
		}
		cfg, _ = json.Marshal(keep)
	}
	eventTrigger := workflow + "/" + f.trigger
	return func(ctx context.Context, from []byte) error {
		cursor := from
		for range reconcilePages {
			conn, err := e.connFor(ctx, e.rt.Load(), c, h)
			if err != nil {
				return err
			}
			res, err := h.PollTrigger(ctx, wire.PollRequest{Trigger: pt.Name, Conn: conn, Config: cfg, Cursor: cursor, Limit: 100})
			if err != nil {
				return fmt.Errorf("reconcile %s with %s: %w", workflow, pt.Name, err)
			}
			evs := make([]ingest.Event, 0, len(res.Events))
			for _, ev := range res.Events {
				if ev.ID == "" {
					continue
				}
				evs = append(evs, ingest.Event{Tenant: e.tenant, Trigger: eventTrigger, ID: ev.ID, Payload: ev.Payload})
			}
			if _, err := e.in.AcceptWith(ctx, evs, nil); err != nil {
				return fmt.Errorf("reconcile %s: store: %w", workflow, err)
			}
			e.kickRouter()
			if !res.HasMore {
				return nil
			}
			cursor = res.NextCursor
		}
		return fault.Retryablef("reconcile %s: more than %d pages", workflow, reconcilePages)
	}
}

// streamHealth is the streamer's report.
func (e *Engine) streamHealth(r streamer.Result) {
	e.health.stream(r)
	if r.Gap {
		e.recordGap(r)
	}
	if r.Err != nil {
		e.health.failed(r.Workflow, r.Err)
	}
	if r.Events > 0 {
		e.m.eventsAccepted.WithLabelValues(r.Workflow).Add(float64(r.Events))
		e.kickRouter()
	}
	if r.Duplicates > 0 {
		e.m.eventsDuplicate.WithLabelValues(r.Workflow).Add(float64(r.Duplicates))
	}
	if r.Err == nil && (r.Events > 0 || r.Connected) {
		e.health.received(r.Workflow, r.Events, r.At)
	}
}
