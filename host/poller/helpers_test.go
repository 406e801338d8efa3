package poller

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/host/internal/disktest"
	"github.com/hubhq/hub/sdk/wire"
)

// patience bounds how long a test waits for the poller to do something;
// reaching it means the test failed, it is never the expected path.
const patience = 10 * time.Second

const tenant = "acme"

// disk is a real store and ingester in one directory, reopenable.
type disk struct {
	*disktest.Disk
	t *testing.T
}

func openDisk(t *testing.T, dir string) *disk {
	t.Helper()
	return &disk{disktest.Open(t, dir), t}
}

// close closes the ingester and the store; calling it again does nothing.
func (d *disk) close() { d.Close() }

// cursor returns the stored cursor of workflow, "<none>" when there
// is none.
func (d *disk) cursor(workflow string) string { return d.Value(tenant, KindCursor, workflow) }

// eventIDs returns "<trigger>:<id>" of every stored event of the tenant,
// in order.
func (d *disk) eventIDs() []string { return d.EventIDs(tenant) }

// upstream is a fake third party holding n records, served in pages by a
// cursor that is the number of records already read. It implements only
// PollTrigger; the embedded nil Connector panics on anything else.
type upstream struct {
	wire.Connector
	n int

	mu    sync.Mutex
	errs  []error                                               // returned, one per call, before any page is served
	hook  func(ctx context.Context, req wire.PollRequest) error // runs on every call after errs; a non-nil error is returned
	calls []wire.PollRequest
	// called receives every request as it arrives.
	called chan wire.PollRequest
}

func newUpstream(n int) *upstream {
	return &upstream{n: n, called: make(chan wire.PollRequest, 1000)}
}

func (u *upstream) PollTrigger(ctx context.Context, req wire.PollRequest) (wire.PollResult, error) {
	u.mu.Lock()
	u.calls = append(u.calls, req)
	var err error
	if len(u.errs) > 0 {
		err, u.errs = u.errs[0], u.errs[1:]
	}
	hook := u.hook
	u.mu.Unlock()
	u.called <- req
	if err != nil {
		return wire.PollResult{}, err
	}
	if hook != nil {
		if err := hook(ctx, req); err != nil {
			return wire.PollResult{}, err
		}
	}
	from := 0
	if req.Cursor != nil {
		n, err := strconv.Atoi(string(req.Cursor))
		if err != nil {
			return wire.PollResult{}, fmt.Errorf("bad cursor %q", req.Cursor)
		}
		from = n
	}
	to := min(from+req.Limit, u.n)
	var res wire.PollResult
	for i := from + 1; i <= to; i++ {
		res.Events = append(res.Events, wire.Event{ID: "r" + strconv.Itoa(i), Type: "record", Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))})
	}
	res.NextCursor = []byte(strconv.Itoa(to))
	res.HasMore = to < u.n
	return res, nil
}

// cursors returns the cursor of every call so far, "nil" for none.
func (u *upstream) cursors() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]string, len(u.calls))
	for i, c := range u.calls {
		out[i] = cursorString(c.Cursor)
	}
	return out
}

func cursorString(c []byte) string {
	if c == nil {
		return "nil"
	}
	return string(c)
}

// next waits for the upstream's next call.
func (u *upstream) next(t *testing.T) wire.PollRequest {
	t.Helper()
	select {
	case req := <-u.called:
		return req
	case <-time.After(patience):
		t.Fatal("the upstream was not polled")
		return wire.PollRequest{}
	}
}

// clock is a fake Options.After: every wait is recorded with the number
// of upstream calls made before it, and ends only when the test fires it.
type clock struct {
	u     *upstream
	waits chan wait
}

type wait struct {
	d     time.Duration
	calls int // upstream calls made when the wait began
	fire  chan time.Time
}

func newClock(u *upstream) *clock { return &clock{u: u, waits: make(chan wait, 1000)} }

func (c *clock) After(d time.Duration) <-chan time.Time {
	w := wait{d: d, fire: make(chan time.Time, 1)}
	if c.u != nil {
		c.u.mu.Lock()
		w.calls = len(c.u.calls)
		c.u.mu.Unlock()
	}
	c.waits <- w
	return w.fire
}

// next waits for the poller's next wait.
func (c *clock) next(t *testing.T) wait {
	t.Helper()
	select {
	case w := <-c.waits:
		return w
	case <-time.After(patience):
		t.Fatal("the poller did not wait")
		return wait{}
	}
}

func (w wait) end() { w.fire <- time.Time{} }

// never is an Options.After whose waits end only by Close, Set or PollNow.
func never(time.Duration) <-chan time.Time { return nil }

// health collects Results.
type health chan Result

func newHealth() health { return make(health, 1000) }

func (h health) report(r Result) { h <- r }

func (h health) next(t *testing.T) Result {
	t.Helper()
	select {
	case r := <-h:
		return r
	case <-time.After(patience):
		t.Fatal("no poll result")
		return Result{}
	}
}

// options returns Options on d with no jitter and the given clock.
func options(d *disk, after func(time.Duration) <-chan time.Time, h health) Options {
	return Options{
		Store:  d.St,
		Ingest: d.In,
		Jitter: -1,
		After:  after,
		Health: h.report,
	}
}

func trigger(u *upstream, workflow string) Trigger {
	return Trigger{
		Tenant:    tenant,
		Workflow:  workflow,
		Name:      "record_created",
		Conn:      wire.Connection{Name: "shop", Tenant: tenant, Auth: wire.Auth{Token: "stale"}},
		Config:    json.RawMessage(`{"status":"paid"}`),
		Interval:  time.Minute,
		Connector: u,
	}
}

// set calls p.Set and fails the test on an error.
func set(t *testing.T, p *Poller, ts ...Trigger) {
	t.Helper()
	if err := p.Set(ts); err != nil {
		t.Fatalf("Set: %v", err)
	}
}

// records returns the stored ids "<workflow>/record_created:r<i>" for i in [from, to].
func records(workflow string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, workflow+"/record_created:r"+strconv.Itoa(i))
	}
	return out
}
