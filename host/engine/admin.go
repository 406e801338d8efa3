package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hubhq/hub/host/ingest"
	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/server"
	"github.com/hubhq/hub/host/store"
)

// ListRuns implements server.Backend.
func (e *Engine) ListRuns(_ context.Context, tenant string, f runs.Filter) ([]runs.Summary, error) {
	return runs.List(e.st, tenant, f)
}

// Run implements server.Backend.
func (e *Engine) Run(_ context.Context, tenant, id string) (*runs.Run, error) {
	var r *runs.Run
	err := e.st.View(func(tx *store.Tx) error {
		got, ok, err := runs.Get(tx, tenant, id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("run %s: %w", id, server.ErrNotFound)
		}
		r = got
		return nil
	})
	return r, err
}

// ListDead implements server.Backend.
func (e *Engine) ListDead(_ context.Context, tenant string, f runs.Filter) ([]runs.DeadLetter, error) {
	return runs.ListDead(e.st, tenant, f)
}

// Replay implements server.Backend: the dead run resumes from its failed
// step, with its original event and the outputs of the steps before, and
// that step starts a fresh series of attempts (under the same idempotency
// key, so a third party that did act is not asked twice).
func (e *Engine) Replay(ctx context.Context, tenant, id string) error {
	return e.reviveDead(ctx, tenant, id, true)
}

// Discard implements server.Backend.
func (e *Engine) Discard(ctx context.Context, tenant, id string) error {
	return e.reviveDead(ctx, tenant, id, false)
}

func (e *Engine) reviveDead(ctx context.Context, tenant, id string, replay bool) error {
	if tenant != e.tenant {
		return fmt.Errorf("dead letter %s: %w", id, server.ErrNotFound)
	}
	// One operator action at a time, so two replays of one dead letter
	// cannot both queue it.
	e.deadMu.Lock()
	defer e.deadMu.Unlock()
	var run *runs.Run
	err := e.st.View(func(tx *store.Tx) error {
		if _, ok, err := tx.Get(tenant, runs.KindDead, id); err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("dead letter %s: %w", id, server.ErrNotFound)
			}
			return err
		}
		r, ok, err := runs.Get(tx, tenant, id)
		if err == nil && !ok {
			err = fmt.Errorf("run %s of dead letter: %w", id, server.ErrNotFound)
		}
		run = r
		return err
	})
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	puts := []ingest.Put{{Tenant: tenant, Kind: runs.KindDead, ID: id, Delete: true}}
	var next *job
	if replay {
		run.Status, run.Error, run.FinishedAt = runs.Running, "", nil
		step := run.Steps[min(run.Step, len(run.Steps)-1)]
		run.Step = min(run.Step, len(run.Steps)-1)
		step.Status = runs.Pending
		step.SeriesStart = len(step.Attempts)
		next = newJob(now, run.ID, run.Step, step.Connection)
		puts = append(puts, ingest.Put{Tenant: tenant, Kind: runs.KindJob, ID: next.id, Value: next.value()})
		e.publish("info", "run replayed from the dead-letter queue", run, step.Name, 0, nil)
	} else {
		run.Status, run.FinishedAt = runs.Discarded, &now
		e.publish("info", "dead run discarded", run, "", 0, nil)
	}
	run.UpdatedAt = now
	b, err := json.Marshal(run)
	if err != nil {
		return fmt.Errorf("encode run %s: %w", id, err)
	}
	puts = append(puts, ingest.Put{Tenant: tenant, Kind: runs.KindRun, ID: id, Value: b})
	// Once handed to the group commit the change may land even if the
	// caller gives up, so the memory must follow it: commit regardless.
	if err := e.commit(context.WithoutCancel(ctx), puts); err != nil {
		return err
	}
	e.deadCount.Add(-1)
	if next != nil {
		e.lane(next.conn).push(next)
	}
	return nil
}
