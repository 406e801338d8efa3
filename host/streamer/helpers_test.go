package streamer

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/host/ingest"
	"github.com/hubhq/hub/host/internal/disktest"
	"github.com/hubhq/hub/host/runset"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/wire"
)

// patience bounds how long a test waits for the streamer to do something;
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

// position returns the stored position of workflow, "<none>" when there
// is none.
func (d *disk) position(workflow string) string { return d.Value(tenant, KindPosition, workflow) }

// eventIDs returns "<trigger>:<id>" of every stored event of the tenant,
// in order.
func (d *disk) eventIDs() []string { return d.EventIDs(tenant) }

// preload stores records from..to of workflow with the position after
// them, as an earlier life of the host would have.
func (d *disk) preload(workflow string, from, to int) {
	d.t.Helper()
	var evs []ingest.Event
	for i := from; i <= to; i++ {
		evs = append(evs, ingest.Event{Tenant: tenant, Trigger: workflow + "/order_created", ID: "r" + strconv.Itoa(i)})
	}
	put := ingest.Put{Tenant: tenant, Kind: KindPosition, ID: workflow, Value: []byte(strconv.Itoa(to))}
	if _, err := d.In.AcceptWith(context.Background(), evs, []ingest.Put{put}); err != nil {
		d.t.Fatal(err)
	}
}

// script is what one OpenStream call of the fake connector does.
type script func(ctx context.Context, req wire.StreamRequest, sink wire.StreamSink) error

// upstream is a fake connector whose OpenStream runs one script per call,
// in order, then hang for every further call. Its records are "r<i>" and
// a position is the number of records delivered before it. The embedded
// nil Connector panics on anything but OpenStream.
type upstream struct {
	wire.Connector

	mu      sync.Mutex
	scripts []script
	calls   []wire.StreamRequest
	// opened receives every request as it arrives.
	opened chan wire.StreamRequest
}

func newUpstream(scripts ...script) *upstream {
	return &upstream{scripts: scripts, opened: make(chan wire.StreamRequest, 1000)}
}

func (u *upstream) OpenStream(ctx context.Context, req wire.StreamRequest, sink wire.StreamSink) error {
	u.mu.Lock()
	u.calls = append(u.calls, req)
	run := script(hang)
	if len(u.scripts) > 0 {
		run, u.scripts = u.scripts[0], u.scripts[1:]
	}
	u.mu.Unlock()
	u.opened <- req
	return run(ctx, req, sink)
}

// positions returns the position of every OpenStream call so far, "nil"
// for none.
func (u *upstream) positions() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]string, len(u.calls))
	for i, c := range u.calls {
		out[i] = positionString(c.Position)
	}
	return out
}

func positionString(p []byte) string {
	if p == nil {
		return "nil"
	}
	return string(p)
}

// next waits for the upstream's next OpenStream call.
func (u *upstream) next(t *testing.T) wire.StreamRequest {
	t.Helper()
	select {
	case req := <-u.opened:
		return req
	case <-time.After(patience):
		t.Fatal("the stream was not opened")
		return wire.StreamRequest{}
	}
}

// hang is a stream that stays open and silent until it is cancelled, and
// then fails as the gRPC client does.
func hang(ctx context.Context, _ wire.StreamRequest, _ wire.StreamSink) error {
	<-ctx.Done()
	return fault.Retryablef("OpenStream: %v", ctx.Err())
}

// fail is a stream that fails with err at once.
func fail(err error) script {
	return func(context.Context, wire.StreamRequest, wire.StreamSink) error { return err }
}

// deliver is a stream that delivers the records after the requested
// position up to record to, per records a batch, then does then.
func deliver(to, per int, then script) script {
	return func(ctx context.Context, req wire.StreamRequest, sink wire.StreamSink) error {
		from := 0
		if req.Position != nil {
			n, err := strconv.Atoi(string(req.Position))
			if err != nil {
				return fault.Permanentf("bad position %q", req.Position)
			}
			from = n
		}
		for lo := from + 1; lo <= to; lo += per {
			hi := min(lo+per-1, to)
			if err := sink.Batch(wire.StreamBatch{Events: records(lo, hi), Position: []byte(strconv.Itoa(hi))}); err != nil {
				return err
			}
		}
		return then(ctx, req, sink)
	}
}

// records returns the connector's events r<from>..r<to>.
func records(from, to int) []wire.Event {
	var out []wire.Event
	for i := from; i <= to; i++ {
		out = append(out, wire.Event{ID: "r" + strconv.Itoa(i), Type: "order", Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))})
	}
	return out
}

// stored returns the stored ids "<workflow>/order_created:r<i>" for i in
// [from, to].
func stored(workflow string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, workflow+"/order_created:r"+strconv.Itoa(i))
	}
	return out
}

// clock is a fake Options.After: every wait is recorded and ends only
// when the test fires it.
type clock struct{ waits chan wait }

type wait struct {
	d    time.Duration
	fire chan time.Time
}

func newClock() *clock { return &clock{waits: make(chan wait, 1000)} }

func (c *clock) After(d time.Duration) <-chan time.Time {
	w := wait{d: d, fire: make(chan time.Time, 1)}
	c.waits <- w
	return w.fire
}

// next waits for the streamer's next wait.
func (c *clock) next(t *testing.T) wait {
	t.Helper()
	select {
	case w := <-c.waits:
		return w
	case <-time.After(patience):
		t.Fatal("the streamer did not wait")
		return wait{}
	}
}

func (w wait) end() { w.fire <- time.Time{} }

// never is an Options.After whose waits end only by Close or Set.
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
		t.Fatal("no health report")
		return Result{}
	}
}

// down returns the next report of a stream that ended, skipping those of
// a connected stream.
func (h health) down(t *testing.T) Result {
	t.Helper()
	for {
		if r := h.next(t); !r.Connected {
			return r
		}
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
		Name:      "order_created",
		Conn:      wire.Connection{Name: "shop", Tenant: tenant, Auth: wire.Auth{Token: "stale"}},
		Config:    json.RawMessage(`{"status":"paid"}`),
		Connector: u,
	}
}

// set calls s.Set and fails the test on an error.
func set(t *testing.T, s *Streamer, ts ...Trigger) {
	t.Helper()
	if err := s.Set(ts); err != nil {
		t.Fatalf("Set: %v", err)
	}
}

func runnerOf(s *Streamer, workflow string) *runner {
	r, ok := s.set.Get(runset.Key{Tenant: tenant, Workflow: workflow})
	if !ok {
		return nil
	}
	return r.(*runner)
}

func waitDone(t *testing.T, r *runner, what string) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(patience):
		t.Fatalf("%s did not stop", what)
	}
}
