package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hubhq/hub/host/sandbox/warehouse"
)

// warehouseSim is the in-process warehouse simulator a stream run feeds:
// every stock change it records is published on its /api/stream, which hub
// serve's stream trigger reads.
type warehouseSim struct {
	sim *warehouse.Sim
	srv *http.Server
	url string
	err chan error // Serve's result
}

// startWarehouse serves a new simulator configured by opts on a free
// loopback port, keeping the last retention events for resume (0: every
// event). Its per-client buffer holds opts.StreamBuffer events: a stream
// client further behind than that is closed (and resumes), so the
// generator must never let more than that wait unpersisted.
func startWarehouse(opts warehouse.Options, retention int) (*warehouseSim, error) {
	sim := warehouse.New(opts)
	sim.SetRetention(retention)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("warehouse simulator: listen: %w", err)
	}
	w := &warehouseSim{
		sim: sim,
		srv: &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second},
		url: "http://" + ln.Addr().String(),
		err: make(chan error, 1),
	}
	go func() { w.err <- w.srv.Serve(ln) }()
	return w, nil
}

// warehouseOptions configure the simulator of a stream run, and say how
// many events it keeps for resume.
func warehouseOptions(o options) (warehouse.Options, int) {
	if o.stall {
		// Nothing may drop hub serve within the run when it stops
		// reading: the buffer holds every event the run sends, every
		// event is kept, and the first ping (which a peer that stopped
		// reading does not answer) comes after the run.
		n := int(math.Ceil(o.rate*o.duration.Seconds())) + o.window
		return warehouse.Options{StreamBuffer: n, PingInterval: o.duration + o.drain}, 0
	}
	// The buffer per stream client is twice the window, so hub serve,
	// never more than a window behind, is never closed as a slow client.
	return warehouse.Options{StreamBuffer: 2 * o.window}, 8 * o.window
}

// close ends the simulator's server and its streams.
func (w *warehouseSim) close() {
	_ = w.srv.Close() // streams are hijacked connections: Reset ends them
	w.sim.Reset()
	<-w.err
}

// acceptedMetric is the counter of events stored durably, by workflow.
const acceptedMetric = "hub_events_accepted_total"

// parseAccepted returns the value of hub_events_accepted_total for
// workflow in a Prometheus text exposition; 0 when the series is absent
// (no event of that workflow accepted yet).
func parseAccepted(r io.Reader, workflow string) (int64, error) {
	want := acceptedMetric + `{workflow="` + workflow + `"}`
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), want)
		if !ok || !strings.HasPrefix(rest, " ") {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			return 0, fmt.Errorf("%s: value %q: %w", want, rest, err)
		}
		return int64(f), nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read metrics: %w", err)
	}
	return 0, nil
}

// acceptedCounter reads a workflow's accepted count from hub serve's
// /metrics.
type acceptedCounter struct {
	client   *http.Client
	url      string
	workflow string
}

func (a acceptedCounter) read(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url, nil)
	if err != nil {
		return 0, fmt.Errorf("read accepted count: %w", err)
	}
	// Scraped every few milliseconds: compressing each answer would cost
	// hub serve CPU the measurement then charges to it. Setting the header
	// also keeps the transport from asking for gzip and decompressing.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("read accepted count: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("read accepted count: GET %s: %s", a.url, resp.Status)
	}
	if enc := resp.Header.Get("Content-Encoding"); enc != "" && enc != "identity" {
		return 0, fmt.Errorf("read accepted count: GET %s: answered with Content-Encoding %s despite Accept-Encoding: identity", a.url, enc)
	}
	return parseAccepted(resp.Body, a.workflow)
}

// persistence attributes persisted events to their send times. The stream
// is one ordered connection and the streamer stores its batches in order,
// so when the accepted count has grown by n since the start, the first n
// events sent are durable: the latency of each is the moment the count
// covering it was read, less when it was sent.
type persistence struct {
	mu        sync.Mutex
	sent      []time.Time     // send time of each event, in order
	latencies []time.Duration // of the events persisted so far, in order
	changed   chan struct{}   // closed and replaced when latencies grows
}

func newPersistence() *persistence {
	return &persistence{changed: make(chan struct{})}
}

// sending records that the next event is sent at t.
func (p *persistence) sending(t time.Time) {
	p.mu.Lock()
	p.sent = append(p.sent, t)
	p.mu.Unlock()
}

// persisted records that the first n events sent were durable at t.
// Counts beyond the events sent (an event redelivered after a reconnect
// is deduplicated, not counted, so this means a foreign event) are
// ignored.
func (p *persistence) persisted(n int, t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n = min(n, len(p.sent))
	if n <= len(p.latencies) {
		return
	}
	for _, s := range p.sent[len(p.latencies):n] {
		p.latencies = append(p.latencies, t.Sub(s))
	}
	close(p.changed)
	p.changed = make(chan struct{})
}

// counts returns how many events were sent and how many of them persisted,
// and a channel closed when more persist.
func (p *persistence) counts() (sent, persisted int, changed <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sent), len(p.latencies), p.changed
}

// persistedBetween is how many events persisted at a time in [from, to).
func (p *persistence) persistedBetween(from, to time.Time) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for i, l := range p.latencies {
		if at := p.sent[i].Add(l); !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return n
}

// result returns the latencies of the persisted events.
func (p *persistence) result() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Duration(nil), p.latencies...)
}

// watch reads the accepted count every interval until ctx ends, reporting
// it, less base, to p. It returns the last read error, if reads never
// succeeded after it.
func watch(ctx context.Context, c acceptedCounter, base int64, interval time.Duration, p *persistence) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var lastErr error
	for {
		n, err := c.read(ctx)
		switch {
		case err == nil:
			p.persisted(int(n-base), time.Now())
			lastErr = nil
		case ctx.Err() == nil:
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return lastErr
		case <-tick.C:
		}
	}
}

// generateOptions say how to change stock.
type generateOptions struct {
	duration time.Duration
	// rate is the changes per second, on a schedule (see pace); 0 makes
	// them as fast as the window lets.
	rate float64
	// window is the most events sent and not yet persisted; 0 sets no
	// limit.
	window int
}

// generate changes one SKU's stock for duration (or until ctx ends), each
// change one event on the stream, recording each send in p. It returns
// how long it sent. With a rate, an event sent late (after waiting for
// the window, say) is recorded as sent when it was due.
func generate(ctx context.Context, sim *warehouse.Sim, sku string, p *persistence, o generateOptions) time.Duration {
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	start := time.Now()
	sched := pace{start: start, rate: o.rate}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for i := 0; ctx.Err() == nil; i++ {
		if o.rate > 0 {
			// Every event already due goes at once; sleep only when
			// this one is not due yet.
			if now := time.Now(); i >= sched.due(now) && !sleep(ctx, timer, sched.at(i).Sub(now)) {
				break
			}
		}
		for o.window > 0 {
			sent, persisted, changed := p.counts()
			if sent-persisted < o.window {
				break
			}
			select {
			case <-ctx.Done():
				return time.Since(start)
			case <-changed:
			}
		}
		// The send time is taken before the change: the event is
		// published under the simulator's lock within SetStock.
		sent := time.Now()
		if o.rate > 0 {
			sent = sched.sendTime(i, sent)
		}
		p.sending(sent)
		sim.SetStock(sku, i+1) // differs from the last quantity, so every call is a change
	}
	return time.Since(start)
}

// streamRun is what a stream run measured.
type streamRun struct {
	sent      int
	latencies []time.Duration
	start     time.Time     // of sending
	elapsed   time.Duration // sending
	settled   time.Duration // from the first send to the last persist
	backlog   int           // events sent and not yet persisted as sending ended
	// firstHalf and secondHalf are how many events persisted in the first
	// and in the second half of the sending.
	firstHalf, secondHalf int
	watchErr              error
}

// streamLoad warms the stream up (one event, waited for), then generates
// stock changes and watches them persist, then waits up to drain for the
// rest. With o.stall the consumer is stalled: there is no window, and
// events not persisted are what is measured, not an error, so it does not
// wait for them.
func streamLoad(ctx context.Context, wh *warehouseSim, counter acceptedCounter, o options) (streamRun, error) {
	const sku = "HUBLOAD-SKU"
	// Warm-up: hub serve's stream connects on its own schedule; the
	// clock starts once one event has gone all the way through.
	wh.sim.SetStock(sku, 0)
	base, err := waitAccepted(ctx, counter, 1, time.Minute)
	if err != nil {
		return streamRun{}, fmt.Errorf("warm-up event: %w", err)
	}

	p := newPersistence()
	wctx, stopWatch := context.WithCancel(ctx)
	watched := make(chan error, 1)
	go func() { watched <- watch(wctx, counter, base, 5*time.Millisecond, p) }()

	g := generateOptions{duration: o.duration, rate: o.rate, window: o.window}
	if o.stall {
		// The point is that hub serve must stop reading, not that
		// hubload stops sending.
		g.window = 0
	}
	start := time.Now()
	elapsed := generate(ctx, wh.sim, sku, p, g)
	sent, persisted, _ := p.counts()
	backlog := sent - persisted

	dctx, cancel := context.WithTimeout(ctx, o.drain)
	defer cancel()
drain:
	for !o.stall {
		sent, persisted, changed := p.counts()
		if persisted >= sent {
			break
		}
		select {
		case <-changed:
		case <-dctx.Done():
			break drain
		}
	}
	stopWatch()
	run := streamRun{watchErr: <-watched, start: start, elapsed: elapsed, backlog: backlog, latencies: p.result()}
	mid, end := start.Add(elapsed/2), start.Add(elapsed)
	run.firstHalf, run.secondHalf = p.persistedBetween(start, mid), p.persistedBetween(mid, end)
	run.sent, _, _ = p.counts()
	if n := len(run.latencies); n > 0 {
		// The last event persisted at its send time plus its latency.
		p.mu.Lock()
		run.settled = p.sent[n-1].Add(p.latencies[n-1]).Sub(start)
		p.mu.Unlock()
	}
	if missing := run.sent - len(run.latencies); missing > 0 && !o.stall {
		return run, fmt.Errorf("%d of %d events sent were not persisted within %s", missing, run.sent, o.drain)
	}
	return run, nil
}

// waitAccepted waits up to timeout until the accepted count reaches at
// least want, and returns it.
func waitAccepted(ctx context.Context, c acceptedCounter, want int64, timeout time.Duration) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		n, err := c.read(ctx)
		if err == nil && n >= want {
			return n, nil
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return 0, errors.Join(fmt.Errorf("hub serve did not persist %d events within %s", want, timeout), lastErr)
			}
			return 0, fmt.Errorf("hub serve did not persist %d events within %s (count %d)", want, timeout, n)
		case <-tick.C:
		}
	}
}
