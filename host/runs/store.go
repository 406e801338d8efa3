package runs

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hubhq/hub/host/store"
)

// Store kinds, under each tenant:
//
//	run/<run id>             the Run, JSON
//	dead/<run id>            the DeadLetter of a dead run, JSON
//	job/<due>.<run id>       a step waiting to run: due is 20 decimal
//	                         digits of Unix nanoseconds, so jobs sort by
//	                         due time; the value is a Job, JSON
const (
	KindRun  = "run"
	KindDead = "dead"
	KindJob  = "job"
)

// Job is a queued step of a run.
type Job struct {
	Run  string `json:"run"`
	Step int    `json:"step"`
	// Connection is the step's connection, to queue the job in its lane
	// without reading the run.
	Connection string `json:"connection"`
}

// RunID is the id of the run started by the event stored under seq: run
// ids sort in the order their events were accepted.
func RunID(seq uint64) string { return fmt.Sprintf("%020d", seq) }

// JobID is the key id of a job due at due.
func JobID(due time.Time, run string) string {
	return fmt.Sprintf("%020d.%s", due.UnixNano(), run)
}

// ParseJobID splits a job's key id into its due time and run id.
func ParseJobID(id string) (time.Time, string, error) {
	d, run, ok := strings.Cut(id, ".")
	if !ok || len(d) != 20 || run == "" {
		return time.Time{}, "", fmt.Errorf("job id %q: want <20 digits>.<run>", id)
	}
	n, err := strconv.ParseInt(d, 10, 64)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("job id %q: %w", id, err)
	}
	return time.Unix(0, n), run, nil
}

// Finished reports whether the run will not change unless an operator
// acts: every status but Running and Dead.
func (r *Run) Finished() bool { return r.Status != Running && r.Status != Dead }

// Summary is r as listed.
func (r *Run) Summary() Summary {
	s := Summary{ID: r.ID, Workflow: r.Workflow, Status: r.Status, EventID: r.EventID, Error: r.Error, CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt}
	// The current or failed step; for a finished run, its last step.
	i := min(r.Step, len(r.Steps)-1)
	if i >= 0 {
		s.Step = r.Steps[i].Name
	}
	for _, st := range r.Steps {
		s.Attempts += len(st.Attempts)
	}
	return s
}

// Get returns the run id of tenant.
func Get(tx *store.Tx, tenant, id string) (*Run, bool, error) {
	v, ok, err := tx.Get(tenant, KindRun, id)
	if err != nil || !ok {
		return nil, ok, err
	}
	r := &Run{}
	if err := json.Unmarshal(v, r); err != nil {
		return nil, false, fmt.Errorf("decode run %s: %w", id, err)
	}
	return r, true, nil
}

// DefaultLimit is how many runs or dead letters a listing returns when
// the filter does not say.
const DefaultLimit = 50

// List returns tenant's runs matching f, newest first.
func List(st *store.Store, tenant string, f Filter) ([]Summary, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	out := []Summary{}
	err := st.View(func(tx *store.Tx) error {
		return tx.ScanReverse(tenant, KindRun, f.Before, 0, func(id string, v []byte) error {
			var r Run
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode run %s: %w", id, err)
			}
			if !f.matchRun(&r) {
				return nil
			}
			out = append(out, r.Summary())
			if len(out) >= limit {
				return errStopScan
			}
			return nil
		})
	})
	if err != nil && err != errStopScan {
		return nil, fmt.Errorf("list runs of %s: %w", tenant, err)
	}
	return out, nil
}

func (f Filter) matchRun(r *Run) bool {
	if f.Workflow != "" && r.Workflow != f.Workflow {
		return false
	}
	if f.Status != "" && r.Status != f.Status {
		return false
	}
	if f.Connection != "" {
		found := false
		for _, s := range r.Steps {
			found = found || s.Connection == f.Connection
		}
		if !found {
			return false
		}
	}
	return true
}

func (f Filter) matchDead(d *DeadLetter) bool {
	if f.Workflow != "" && d.Workflow != f.Workflow {
		return false
	}
	if f.Connection != "" && d.Connection != f.Connection {
		return false
	}
	if f.Error != "" && d.ErrorKind != f.Error && !strings.Contains(d.Error, f.Error) {
		return false
	}
	return true
}

// ListDead returns tenant's dead letters matching f, oldest first; a
// Limit of 0 returns every match.
func ListDead(st *store.Store, tenant string, f Filter) ([]DeadLetter, error) {
	out := []DeadLetter{}
	err := st.View(func(tx *store.Tx) error {
		return tx.Scan(tenant, KindDead, "", 0, func(id string, v []byte) error {
			var d DeadLetter
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decode dead letter %s: %w", id, err)
			}
			if f.matchDead(&d) && (f.Limit <= 0 || len(out) < f.Limit) {
				out = append(out, d)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list dead letters of %s: %w", tenant, err)
	}
	return out, nil
}

// Retention says how long finished runs are kept.
type Retention struct {
	// MaxAge drops finished runs created longer ago; 0 keeps them.
	MaxAge time.Duration
	// MaxRuns keeps at most this many runs, dropping the oldest finished
	// ones; 0 keeps any number.
	MaxRuns int
}

// Prune deletes tenant's finished runs beyond r, oldest first, in
// transactions of at most batch deletes, and returns how many it
// deleted. Running and dead runs are never deleted.
func Prune(st *store.Store, tenant string, r Retention, now time.Time) (int, error) {
	if r.MaxAge <= 0 && r.MaxRuns <= 0 {
		return 0, nil
	}
	total := 0
	if r.MaxRuns > 0 {
		err := st.View(func(tx *store.Tx) error {
			return tx.Scan(tenant, KindRun, "", 0, func(string, []byte) error { total++; return nil })
		})
		if err != nil {
			return 0, fmt.Errorf("count runs of %s: %w", tenant, err)
		}
	}
	const batch = 1000
	deleted := 0
	after := ""
	for {
		var drop []string
		last := ""
		stopped := false
		err := st.View(func(tx *store.Tx) error {
			return tx.Scan(tenant, KindRun, after, batch, func(id string, v []byte) error {
				last = id
				var run Run
				if err := json.Unmarshal(v, &run); err != nil {
					return fmt.Errorf("decode run %s: %w", id, err)
				}
				old := r.MaxAge > 0 && now.Sub(run.CreatedAt) > r.MaxAge
				over := r.MaxRuns > 0 && total-deleted-len(drop) > r.MaxRuns
				if !old && !over {
					// Runs are in creation order: the rest are newer.
					stopped = true
					return errStopScan
				}
				if run.Finished() {
					drop = append(drop, id)
				}
				return nil
			})
		})
		if err != nil && err != errStopScan {
			return deleted, fmt.Errorf("prune runs of %s: %w", tenant, err)
		}
		if len(drop) > 0 {
			if err := st.Update(func(tx *store.Tx) error {
				for _, id := range drop {
					if err := tx.Delete(tenant, KindRun, id); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return deleted, fmt.Errorf("prune runs of %s: %w", tenant, err)
			}
			deleted += len(drop)
		}
		if stopped || last == "" || last == after {
			return deleted, nil
		}
		after = last
	}
}

var errStopScan = fmt.Errorf("stop scan")
