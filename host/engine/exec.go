package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/hubhq/hub/host/config"
	"github.com/hubhq/hub/host/ingest"
	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/store"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/wire"
)

// execute runs job j of lane l: the step's when, its input mapping, one
// attempt of its action, and the outcome, committed with the job's
// removal in one transaction. callDone is called once the third party
// has answered (the connection's concurrency slot is about calls, not
// about waiting for the record to reach the disk).
func (e *Engine) execute(l *lane, j *job, callDone func()) {
	run := j.doc
	j.doc = nil // the worker owns and changes it from here on
	var err error
	if run == nil {
		err = e.st.View(func(tx *store.Tx) error {
			r, ok, err := runs.Get(tx, e.tenant, j.run)
			if ok {
				run = r
			}
			return err
		})
	}
	if err != nil {
		e.log.Error("cannot read the run of a job; it stays queued", "run", j.run, "error", err)
		j.due = time.Now().Add(5 * time.Second)
		l.push(j)
		return
	}
	if run == nil || run.Status != runs.Running || run.Step != j.step {
		// A job left over from a crash between a replay or discard and
		// its cleanup: nothing to run.
		if err := e.commit(e.ctx, []ingest.Put{e.dropJob(j)}); err != nil {
			e.log.Error("cannot drop a stale job", "job", j.id, "error", err)
		}
		return
	}
	rt := e.rt.Load()
	if rt == nil {
		// Nothing applied yet (the host is starting): wait for it.
		j.due = time.Now().Add(time.Second)
		l.push(j)
		return
	}
	flow := rt.flows[run.Workflow]
	if flow == nil || len(flow.steps) != len(run.Steps) {
		e.finishDead(l, j, run, "workflow_changed", fmt.Sprintf("workflow %q is no longer applied in this shape; replay after applying it again, or discard", run.Workflow))
		return
	}
	event, err := flow.stepRefs.value(run.Event)
	if err != nil {
		e.finishDead(l, j, run, fault.Permanent.String(), "the run's event cannot be read: "+err.Error())
		return
	}
	outputs := map[string]cty.Value{}
	for i := range j.step {
		if run.Steps[i].Status == runs.Succeeded {
			v, err := fromJSON(run.Steps[i].Output)
			if err != nil {
				e.finishDead(l, j, run, fault.Permanent.String(), fmt.Sprintf("output of step %s cannot be read: %v", run.Steps[i].Name, err))
				return
			}
			outputs[run.Steps[i].Name] = v
		} else {
			outputs[run.Steps[i].Name] = cty.NullVal(cty.DynamicPseudoType)
		}
	}

	// Skip steps whose when is false, then run the first that is not.
	i := j.step
	for ; i < len(flow.steps); i++ {
		s := flow.steps[i]
		if s.s.When == nil {
			break
		}
		v, diags := rt.rc.Eval(s.s.When.Expr, event, outputs)
		if diags.HasErrors() {
			run.Step = i
			e.finishDead(l, j, run, fault.InvalidInput.String(), "when: "+rt.diagText(diags))
			return
		}
		v, _ = v.Unmark()
		if v.Type() == cty.Bool && v.IsKnown() && !v.IsNull() && v.True() {
			break
		}
		run.Steps[i].Status = runs.Skipped
		outputs[s.s.Name] = cty.NullVal(cty.DynamicPseudoType)
		e.publish("info", "step skipped: when is false", run, s.s.Name, 0, nil)
	}
	run.Step = i
	if i == len(flow.steps) {
		e.finishRun(l, j, run, nil)
		return
	}
	s := flow.steps[i]
	if i != j.step && s.s.Connection != l.name {
		// The step to run belongs to another connection: its lane, with
		// that connection's limits and breaker, runs it.
		e.transition(l, j, run, newJob(time.Now(), run.ID, i, s.s.Connection), nil)
		return
	}
	rec := run.Steps[i]
	input := json.RawMessage(`{}`)
	if s.s.Input != nil {
		iv, diags := rt.rc.Eval(s.s.Input.Expr, event, outputs)
		if diags.HasErrors() {
			e.finishDead(l, j, run, fault.InvalidInput.String(), "input: "+rt.diagText(diags))
			return
		}
		if input, err = toJSON(iv); err != nil {
			e.finishDead(l, j, run, fault.InvalidInput.String(), "input: "+err.Error())
			return
		}
		rec.Input = input
		if config.IsSensitive(iv) {
			rec.Input = redactedJSON(iv)
		}
	}
	c := rt.conns[s.s.Connection]
	inst, ok := rt.installed[rec.Connector]
	if !ok {
		inst = c.inst
		rec.Connector = c.ref
	}
	handle := e.opts.Connector(inst)
	rec.Input = redactSecretInputs(rec.Input, e.schemas.get(e.ctx, rec.Connector, handle), s.s.Action)

	if ok, retryAt := l.brk.Allow(); !ok {
		// The connection is resting: the job keeps its stored key (so a
		// restart runs it) and waits in memory, without an attempt.
		j.due = retryAt
		l.push(j)
		return
	}
	conn, err := e.connFor(e.ctx, rt, c, handle)
	if err != nil {
		l.brk.Success() // the third party was not asked; do not hold the probe
		e.finishAttempt(l, j, run, s, time.Now(), 0, err, nil)
		return
	}
	attempt := len(rec.Attempts) + 1
	rec.IdempotencyKey = e.idempotencyKey(run.ID, s.s.Name)
	start := time.Now()
	ctx, cancel := context.WithTimeout(e.ctx, e.opts.ActionTimeout)
	out, err := handle.ExecuteAction(ctx, wire.ActionRequest{Action: s.s.Action, Conn: conn, Input: input, IdempotencyKey: rec.IdempotencyKey, Attempt: attempt})
	cancel()
	took := time.Since(start)
	callDone()
	if err != nil && e.closed.Load() && errors.Is(err, context.Canceled) {
		// Cancelled by shutdown after the grace period: the job stays
		// queued as it is and runs again, with the same key, next start.
		return
	}
	if fault.Is(err, fault.AuthExpired) {
		// Refresh the credentials once and try again within this
		// attempt; a second auth_expired is final.
		if rerr := e.refreshAfterExpiry(e.ctx, rt, c, handle, conn.Auth); rerr == nil {
			e.publish("info", "credentials refreshed after auth_expired; calling again", run, s.s.Name, attempt, nil)
			if conn, err = e.connFor(e.ctx, rt, c, handle); err == nil {
				ctx, cancel := context.WithTimeout(e.ctx, e.opts.ActionTimeout)
				out, err = handle.ExecuteAction(ctx, wire.ActionRequest{Action: s.s.Action, Conn: conn, Input: input, IdempotencyKey: rec.IdempotencyKey, Attempt: attempt})
				cancel()
				took = time.Since(start)
			}
		} else {
			ae := fault.AuthExpiredf("%v (refreshing the credentials failed: %v)", err, rerr)
			ae.Cause = rerr
			err = ae
		}
		if err != nil && e.closed.Load() && errors.Is(err, context.Canceled) {
			return
		}
	}
	if err == nil {
		if len(out) == 0 {
			out = json.RawMessage("null")
		} else if !json.Valid(out) {
			err = fault.Permanentf("action %s returned output that is not JSON", s.s.Action)
			out = nil
		}
	}
	switch {
	case err == nil:
		l.brk.Success()
		l.succeeded(time.Now())
	case fault.KindOf(err) == fault.Retryable || fault.KindOf(err) == fault.RateLimited:
		l.brk.Failure()
		l.failed(time.Now(), err.Error())
	default:
		// The third party answered: it is up, whatever it said.
		l.brk.Success()
		l.failed(time.Now(), err.Error())
	}
	e.finishAttempt(l, j, run, s, start, took, err, out)
}

// finishAttempt records one attempt's outcome and decides what comes next.
func (e *Engine) finishAttempt(l *lane, j *job, run *runs.Run, s *stepRT, start time.Time, took time.Duration, err error, out json.RawMessage) {
	rec := run.Steps[s.index]
	att := &runs.Attempt{N: len(rec.Attempts) + 1, StartedAt: start.UTC(), DurationMS: float64(took.Microseconds()) / 1000}
	rec.Attempts = append(rec.Attempts, att)
	e.m.attempt(s.s.Connection, s.s.Action, err, took)
	if err == nil {
		rec.Status = runs.Succeeded
		rec.Output = out
		e.publish("info", "step succeeded", run, s.s.Name, att.N, map[string]any{"duration_ms": att.DurationMS})
		run.Step = s.index + 1
		e.advance(l, j, run)
		return
	}
	kind := fault.KindOf(err)
	att.Error, att.ErrorKind = err.Error(), kind.String()
	now := time.Now()
	inSeries := att.N - rec.SeriesStart // attempts since the step (re)started
	if (kind == fault.Retryable || kind == fault.RateLimited) && inSeries < s.policy.attempts {
		delay := s.policy.backoff(att.N)
		if fe := fault.As(err); fe != nil && fe.RetryAfter > delay {
			delay = fe.RetryAfter
		}
		due := now.Add(delay)
		att.RetryAt = &due
		e.publish("warn", "step failed; retrying", run, s.s.Name, att.N, map[string]any{"error": att.Error, "kind": att.ErrorKind, "retry_in": delay.String()})
		next := newJob(due, run.ID, s.index, s.s.Connection)
		e.transition(l, j, run, next, nil)
		return
	}
	why := att.Error
	if kind == fault.Retryable || kind == fault.RateLimited {
		why = fmt.Sprintf("gave up after %d attempts: %s", inSeries, att.Error)
	}
	rec.Status = runs.Failed
	switch s.s.OnError {
	case config.OnErrorContinue:
		e.publish("warn", "step failed; continuing (on_error = continue)", run, s.s.Name, att.N, map[string]any{"error": why})
		run.Step = s.index + 1
		e.advance(l, j, run)
	case config.OnErrorFail:
		e.publish("error", "step failed; run failed (on_error = fail)", run, s.s.Name, att.N, map[string]any{"error": why})
		run.Error = fmt.Sprintf("step %s: %s", s.s.Name, why)
		failed := runs.Failed
		e.finishRun(l, j, run, &failed)
	default:
		e.finishDead(l, j, run, kind.String(), why)
	}
}

// advance queues the run's next step, or finishes the run after its last.
func (e *Engine) advance(l *lane, j *job, run *runs.Run) {
	if run.Step >= len(run.Steps) {
		e.finishRun(l, j, run, nil)
		return
	}
	next := newJob(time.Now(), run.ID, run.Step, run.Steps[run.Step].Connection)
	e.transition(l, j, run, next, nil)
}

func (e *Engine) finishRun(l *lane, j *job, run *runs.Run, status *runs.Status) {
	now := time.Now().UTC()
	run.Status = runs.Succeeded
	if status != nil {
		run.Status = *status
	}
	run.FinishedAt = &now
	if e.transition(l, j, run, nil, nil) {
		if run.Status == runs.Succeeded {
			e.publish("info", "run succeeded", run, "", 0, nil)
		}
		e.m.runFinished(run)
	}
}

// finishDead moves the run to the dead-letter queue.
func (e *Engine) finishDead(l *lane, j *job, run *runs.Run, kind, why string) {
	now := time.Now().UTC()
	step := run.Steps[min(run.Step, len(run.Steps)-1)]
	step.Status = runs.Failed
	run.Status = runs.Dead
	run.Error = fmt.Sprintf("step %s: %s", step.Name, why)
	d := &runs.DeadLetter{Run: run.ID, Workflow: run.Workflow, Step: step.Name, Connection: step.Connection, Action: step.Action,
		Error: why, ErrorKind: kind, Attempts: len(step.Attempts), At: now}
	if e.transition(l, j, run, nil, d) {
		e.publish("error", "run dead-lettered", run, step.Name, len(step.Attempts), map[string]any{"error": why, "kind": kind})
		e.m.runFinished(run)
	}
}

// transition commits the run's new state with the job's removal, and the
// next job or dead letter, in one transaction; then queues the next job.
// When the commit fails the job stays queued as it was and runs again
// later with the same idempotency key. It reports whether the commit
// succeeded.
func (e *Engine) transition(l *lane, j *job, run *runs.Run, next *job, dead *runs.DeadLetter) bool {
	run.UpdatedAt = time.Now().UTC()
	puts := []ingest.Put{e.dropJob(j)}
	retry := func() {
		j.due = time.Now().Add(5 * time.Second)
		l.push(j)
	}
	p, err := e.putJSON(runs.KindRun, run.ID, run)
	if err != nil {
		e.log.Error("cannot encode a run; the step will run again", "run", run.ID, "error", err)
		retry()
		return false
	}
	puts = append(puts, p)
	if next != nil {
		puts = append(puts, ingest.Put{Tenant: e.tenant, Kind: runs.KindJob, ID: next.id, Value: next.value()})
	}
	if dead != nil {
		p, err := e.putJSON(runs.KindDead, run.ID, dead)
		if err != nil {
			e.log.Error("cannot encode a dead letter; the step will run again", "run", run.ID, "error", err)
			retry()
			return false
		}
		puts = append(puts, p)
	}
	if err := e.commit(context.Background(), puts); err != nil {
		e.log.Error("cannot record a step's outcome; the step will run again with the same idempotency key", "run", run.ID, "error", err)
		retry()
		return false
	}
	if dead != nil {
		e.deadCount.Add(1)
	}
	if next != nil {
		next.doc = run
		e.lane(next.conn).push(next)
	}
	return true
}

// backoff is the wait before attempt n+1 after attempt n failed: the
// policy's delay with "equal jitter" (half fixed, half random), so many
// runs failing together do not come back together.
func (p retryPolicy) backoff(n int) time.Duration {
	d := p.initial
	if p.exponential {
		for i := 1; i < n && d < p.max; i++ {
			d *= 2
		}
	}
	d = min(d, p.max)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// dropJob deletes j's stored key.
func (e *Engine) dropJob(j *job) ingest.Put {
	return ingest.Put{Tenant: e.tenant, Kind: runs.KindJob, ID: j.id, Delete: true}
}
