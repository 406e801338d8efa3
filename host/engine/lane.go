package engine

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hubhq/hub/host/limiter"
	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/store"
)

// job is a queued step, as held in memory.
type job struct {
	id   string // the store id: <due>.<run>
	due  time.Time
	run  string
	step int
	conn string
	// doc is the run as committed with this job, when the job was made in
	// this process: the worker need not read it back. nil after a restart.
	doc *runs.Run
}

func decodeJob(id string, v []byte) (*job, error) {
	due, run, err := runs.ParseJobID(id)
	if err != nil {
		return nil, err
	}
	var j runs.Job
	if err := json.Unmarshal(v, &j); err != nil {
		return nil, fmt.Errorf("decode job %s: %w", id, err)
	}
	return &job{id: id, due: due, run: run, step: j.Step, conn: j.Connection}, nil
}

func newJob(due time.Time, run string, step int, conn string) *job {
	return &job{id: runs.JobID(due, run), due: due, run: run, step: step, conn: conn}
}

func (j *job) value() []byte {
	b, _ := json.Marshal(runs.Job{Run: j.run, Step: j.step, Connection: j.conn})
	return b
}

type jobHeap []*job

func (h jobHeap) Len() int           { return len(h) }
func (h jobHeap) Less(i, k int) bool { return h[i].due.Before(h[k].due) }
func (h jobHeap) Swap(i, k int)      { h[i], h[k] = h[k], h[i] }
func (h *jobHeap) Push(x any)        { *h = append(*h, x.(*job)) }
func (h *jobHeap) Pop() any {
	old := *h
	j := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return j
}

// lane is one connection's queue and workers.
type lane struct {
	name string
	lim  *limiter.Limiter
	brk  *limiter.Breaker

	mu      sync.Mutex
	jobs    jobHeap
	wake    chan struct{}
	workers int // goroutines started, under mu

	// health, for status.
	hmu         sync.Mutex
	lastSuccess time.Time
	lastError   string
	lastErrorAt time.Time
}

// lane returns the lane of connection name, starting it on first use.
func (e *Engine) lane(name string) *lane {
	e.lanesMu.Lock()
	defer e.lanesMu.Unlock()
	if l, ok := e.lanes[name]; ok {
		return l
	}
	bopts := e.opts.Breaker
	l := &lane{name: name, lim: limiter.New(e.opts.DefaultLimits), wake: make(chan struct{}, 1)}
	prev := bopts.OnChange
	bopts.OnChange = func(from, to string) {
		e.log.Warn("circuit breaker changed", "connection", name, "from", from, "to", to)
		if prev != nil {
			prev(from, to)
		}
	}
	l.brk = limiter.NewBreaker(bopts)
	e.lanes[name] = l
	if e.closed.Load() {
		// Stopping: the lane only holds jobs until the store is closed;
		// they are already stored and run at the next start.
		return l
	}
	e.addWorkers(l, e.opts.Workers)
	return l
}

// addWorkers makes sure lane l has at least n workers.
func (e *Engine) addWorkers(l *lane, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ; l.workers < n; l.workers++ {
		e.workers.Add(1)
		go e.work(l)
	}
}

// setLimits applies a connection's limits to its lane; a concurrency
// above the lane's workers gets more workers, so the limit is what the
// operator wrote, not the worker count.
func (e *Engine) setLimits(l *lane, lim limiter.Limits) {
	l.lim.Set(lim)
	if !e.closed.Load() {
		e.addWorkers(l, max(e.opts.Workers, l.lim.Limits().Concurrency))
	}
}

func (l *lane) push(j *job) {
	l.mu.Lock()
	heap.Push(&l.jobs, j)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// counts returns how many jobs are due now and how many later.
func (l *lane) counts(now time.Time) (due, later int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, j := range l.jobs {
		if j.due.After(now) {
			later++
		} else {
			due++
		}
	}
	return due, later
}

func (l *lane) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.jobs)
}

// next blocks until a job is due and returns it; nil when stop closes.
func (l *lane) next(stop <-chan struct{}) *job {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		l.mu.Lock()
		var wait time.Duration = -1
		if len(l.jobs) > 0 {
			top := l.jobs[0]
			if d := time.Until(top.due); d <= 0 {
				heap.Pop(&l.jobs)
				more := len(l.jobs) > 0
				l.mu.Unlock()
				if more {
					// Let another worker look at the rest.
					select {
					case l.wake <- struct{}{}:
					default:
					}
				}
				return top
			} else {
				wait = d
			}
		}
		l.mu.Unlock()
		var tc <-chan time.Time
		if wait >= 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			tc = timer.C
		}
		select {
		case <-stop:
			return nil
		case <-l.wake:
		case <-tc:
		}
	}
}

func (l *lane) succeeded(at time.Time) {
	l.hmu.Lock()
	l.lastSuccess = at
	l.hmu.Unlock()
}

func (l *lane) failed(at time.Time, msg string) {
	l.hmu.Lock()
	l.lastError, l.lastErrorAt = msg, at
	l.hmu.Unlock()
}

// work is one worker of lane l: it takes due jobs until the engine stops.
func (e *Engine) work(l *lane) {
	defer e.workers.Done()
	for {
		j := l.next(e.stopWork)
		if j == nil {
			return
		}
		release, err := l.lim.Acquire(e.ctx)
		if err != nil {
			l.push(j) // stopping: the job stays queued in the store
			return
		}
		select {
		case <-e.stopWork:
			// Stopping while this worker waited for a slot: leave the
			// job queued in the store for the next start.
			release()
			return
		default:
		}
		e.executeSafely(l, j, release)
		release()
	}
}

// executeSafely runs execute and turns a panic into a logged error: the
// job stays queued in the store and is retried later, and the host goes
// on serving every other job.
func (e *Engine) executeSafely(l *lane, j *job, done func()) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("step execution panicked; the run goes to the dead-letter queue", "run", j.run, "step", j.step, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			e.deadAfterPanic(l, j, r)
		}
	}()
	e.execute(l, j, done)
}

// deadAfterPanic dead-letters the run whose step made hub panic: running
// it again would panic again, and the host must go on with the others.
// An operator replays it once hub is fixed.
func (e *Engine) deadAfterPanic(l *lane, j *job, why any) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("cannot dead-letter a run after a panic; its job stays queued", "run", j.run, "panic", fmt.Sprint(r))
		}
	}()
	var run *runs.Run
	err := e.st.View(func(tx *store.Tx) error {
		r, ok, err := runs.Get(tx, e.tenant, j.run)
		if ok {
			run = r
		}
		return err
	})
	if err != nil || run == nil || run.Status != runs.Running || len(run.Steps) == 0 {
		return
	}
	run.Step = min(j.step, len(run.Steps)-1)
	e.finishDead(l, j, run, "internal", fmt.Sprintf("hub failed while running this step (%v); see the host log, and replay once fixed", why))
}
