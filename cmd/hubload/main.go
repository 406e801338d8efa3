// Command hubload measures hub serve end to end: it writes a workspace in
// which the example connector's signed webhook feeds its deliver action,
// starts hub serve on it, posts signed events from many goroutines for a
// while, and reports throughput, acknowledgement and end-to-end latency and
// memory as one JSON line.
//
// Usage:
//
//	hubload -mode ingest|full|stream [-hub bin/hub] [-duration 20s]
//	        [-concurrency 64] [-rate 0] [-body 1024] [-window 1024]
//	        [-drain 60s] [-fault none|503|429|down] [-fault-for 2s]
//	        [-stall] [-workspace DIR] [-keep] [-cpuprofile FILE]
//
// Mode ingest measures acceptance alone: the trigger's when is false, so
// events are stored and routed and no step runs. Mode full adds the step:
// each event is delivered to a loopback sink, and hubload waits until every
// accepted event has arrived. By default each sender posts its next event as
// soon as the last was acknowledged, which finds the highest rate hub accepts;
// -rate paces the senders, to see latency at a rate the workflow keeps up
// with.
//
// -rate is a schedule, not a token bucket: event i is due at start +
// i/rate, and whoever sends it (a free sender, or the stream generator)
// sends every event already due at once and sleeps only until the next
// is due, so rates far above the timer's millisecond granularity are
// reached, and a sender that fell behind catches up. In stream mode an
// event sent after its due time is recorded as sent at its due time, so
// a generator held up by the window or by hub does not hide that delay
// from the e2e latency (no coordinated omission); ingest and full mode
// time each request from when it was actually posted.
//
// Mode stream measures a stream trigger: hubload serves an in-process
// warehouse simulator (host/sandbox/warehouse) on loopback, and the http
// connector's stream trigger reads its WebSocket event stream. hubload
// changes one SKU's stock as fast as it can (or at -rate), each change one
// event, while at most -window events are sent and not yet persisted, and
// reads hub serve's hub_events_accepted_total every 5 ms (uncompressed, so
// the scrapes cost hub serve little): the stream is one ordered
// connection, so a count of n means the first n events are stored, and
// each one's e2e latency runs from its send to the first read that covered
// it (so it is rounded up by up to 5 ms and a scrape). The trigger's when
// is false: only persistence is measured. memory_flat says whether hub
// serve's allocated memory (RssAnon: heap, stacks, Badger's memtables) in
// the second half of the run stayed within 10% (or 8 MiB) of the first
// half's, and host_anon_growth_mb by how much it grew. host_rss_growth_mb
// is the same for the whole resident size, which also counts the pages of
// the files Badger writes through mmap (host_file_mb, RssFile): those grow
// with the data written and are page cache the kernel reclaims, not
// memory hub holds.
//
// Stream mode with -stall measures a stalled consumer: the trigger's when
// is true and every event runs the full mode's deliver step, to a sink
// that holds every request unanswered, so hub serve's queue fills and its
// stream trigger has to stop reading (the engine holds the stream once
// more than 10,000 jobs are queued). hubload sends at -rate (required)
// for -duration with no window, to a simulator that keeps every event and
// buffers all of them for hub serve, so hub serve is never dropped as a
// slow client. accepted_first_half and accepted_second_half count the
// events persisted in each half of the sending: under a working
// backpressure the second is (near) 0, with memory_flat true. At the end
// the sink answers the held requests 503 and hub serve is stopped. Events
// not persisted are the point, not a failure.
//
// -fault makes the sink fail for -fault-for, starting a third of the way into
// the run: answer 503, answer 429 with Retry-After: 1, or reset every
// connection (down). The workflow's retry block should carry every event
// through, each effective once: the run fails if an accepted event is never
// delivered, and duplicates counts deliveries of one event answered 2xx more
// than once.
//
// It needs hub and the example connector built and installed (make build);
// HUB_PLUGIN_DIR, when set, is passed on to hub. Exit status: 0 when the run
// completed (load errors are reported, not fatal), 1 when it could not run,
// hub serve did not stop cleanly, an accepted event was never delivered
// (full mode) or a sent one never persisted (stream mode without -stall),
// 2 for bad flags.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/hubhq/hub/cmd/internal/sink"
)

const (
	modeIngest = "ingest"
	modeFull   = "full"
	modeStream = "stream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are hubload's flags.
type options struct {
	mode        string
	hub         string
	duration    time.Duration
	concurrency int
	rate        float64
	body        int
	window      int
	drain       time.Duration
	fault       string
	faultFor    time.Duration
	workspace   string
	keep        bool
	cpuProfile  string
	stall       bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("hubload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.mode, "mode", "", "what to measure: ingest (accept and store events), full (and deliver each to a sink) or stream (store a WebSocket stream's events) (required)")
	fs.StringVar(&o.hub, "hub", "bin/hub", "the hub binary")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "how long to send events")
	fs.IntVar(&o.concurrency, "concurrency", 64, "how many senders post at once, each over its own keep-alive connection")
	fs.Float64Var(&o.rate, "rate", 0, "events per second across all senders, on a schedule: event i is due at i/rate (0: as fast as hub acknowledges; required with -stall)")
	fs.IntVar(&o.body, "body", 1024, "size of each event's JSON body in bytes")
	fs.IntVar(&o.window, "window", 1024, "stream mode: the most events sent and not yet persisted (not applied with -stall)")
	fs.DurationVar(&o.drain, "drain", 60*time.Second, "full and stream modes: how long to wait after sending for every accepted event to be delivered")
	fs.StringVar(&o.fault, "fault", faultNone, "full mode: make the sink fail for -fault-for a third of the way in: none, 503, 429 (with Retry-After: 1) or down (connections reset)")
	fs.DurationVar(&o.faultFor, "fault-for", 2*time.Second, "how long the -fault lasts")
	fs.StringVar(&o.workspace, "workspace", "", "the workspace directory to write and serve (default: a new temporary directory)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary workspace (with hub serve's log in serve.log)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write hubload's own CPU profile to this file (hub serve's: set HUB_CPUPROFILE)")
	fs.BoolVar(&o.stall, "stall", false, "stream mode: a stalled consumer; every event runs a step the sink never answers, and hubload sends at -rate with no window")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	case o.mode != modeIngest && o.mode != modeFull && o.mode != modeStream:
		return o, fmt.Errorf("-mode must be %s, %s or %s", modeIngest, modeFull, modeStream)
	case o.duration <= 0:
		return o, errors.New("-duration must be positive")
	case o.concurrency < 1:
		return o, errors.New("-concurrency must be at least 1")
	case o.rate < 0:
		return o, errors.New("-rate must not be negative")
	case o.body < 0:
		return o, errors.New("-body must not be negative")
	case o.window < 1:
		return o, errors.New("-window must be at least 1")
	case o.drain <= 0:
		return o, errors.New("-drain must be positive")
	case !validFault(o.fault):
		return o, fmt.Errorf("-fault must be %s, %s, %s or %s", faultNone, fault503, fault429, faultDown)
	case o.fault != faultNone && o.mode != modeFull:
		return o, errors.New("-fault needs -mode full: in ingest mode nothing reaches the sink")
	case o.faultFor <= 0:
		return o, errors.New("-fault-for must be positive")
	case o.stall && o.mode != modeStream:
		return o, errors.New("-stall needs -mode stream")
	case o.stall && o.rate <= 0:
		return o, errors.New("-stall needs a -rate (e.g. -rate 5000): with no window, sending as fast as possible only measures hubload")
	}
	return o, nil
}

// report is the JSON line hubload prints.
type report struct {
	Mode          string   `json:"mode"`
	DurationS     float64  `json:"duration_s"`
	Concurrency   int      `json:"concurrency"`
	Rate          float64  `json:"rate"`
	BodyBytes     int      `json:"body_bytes"`
	Accepted      int      `json:"accepted"`
	AcceptedPerS  float64  `json:"accepted_per_s"`
	AckP50MS      float64  `json:"ack_p50_ms"`
	AckP99MS      float64  `json:"ack_p99_ms"`
	Completed     int      `json:"completed"`
	CompletedPerS float64  `json:"completed_per_s"`
	E2EP50MS      float64  `json:"e2e_p50_ms"`
	E2EP99MS      float64  `json:"e2e_p99_ms"`
	Sent          int      `json:"sent,omitempty"`
	Window        int      `json:"window,omitempty"`
	Errors        int      `json:"errors"`
	Fault         string   `json:"fault"`
	SinkRequests  int      `json:"sink_requests"`
	Duplicates    int      `json:"duplicates"`
	HostRSSMB     float64  `json:"host_rss_mb"`
	HostHWMMB     float64  `json:"host_hwm_mb"`
	PluginRSSMB   float64  `json:"plugin_rss_mb"`
	HostCPUS      float64  `json:"host_cpu_s"`
	PluginCPUS    float64  `json:"plugin_cpu_s"`
	LoadCPUS      float64  `json:"hubload_cpu_s"`
	QueueGrowing  bool     `json:"queue_growing"`
	HostRSSGrowMB *float64 `json:"host_rss_growth_mb,omitempty"` // stream mode only
	// Stream mode only: the host's allocated memory (RssAnon) at its
	// largest, and its growth between the halves of the sending;
	// memory_flat is judged on it (on VmRSS where the kernel does not
	// report RssAnon). host_file_mb is the largest RssFile: mapped file
	// pages, which grow with the data Badger writes through mmap.
	HostAnonMB     *float64 `json:"host_anon_mb,omitempty"`
	HostAnonGrowMB *float64 `json:"host_anon_growth_mb,omitempty"`
	HostFileMB     *float64 `json:"host_file_mb,omitempty"`
	MemoryFlat     *bool    `json:"memory_flat,omitempty"`
	// Stream mode with -stall only: how many events persisted in the
	// first and in the second half of the sending.
	AcceptedFirstHalf  *int   `json:"accepted_first_half,omitempty"`
	AcceptedSecondHalf *int   `json:"accepted_second_half,omitempty"`
	Stalled            bool   `json:"stalled,omitempty"`
	Go                 string `json:"go"`
	CPUs               int    `json:"cpus"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "hubload:", err)
		return 2
	}
	if o.cpuProfile != "" {
		stopProfile, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "hubload:", err)
			return 1
		}
		defer stopProfile()
	}
	dir, temp := o.workspace, o.workspace == ""
	if temp {
		if dir, err = os.MkdirTemp("", "hubload-"); err != nil {
			fmt.Fprintln(stderr, "hubload:", err)
			return 1
		}
	}
	rep, err := load(ctx, o, dir, stderr)
	if rep != nil {
		line, _ := json.Marshal(rep)
		fmt.Fprintf(stdout, "%s\n", line)
	}
	if err != nil {
		fmt.Fprintln(stderr, "hubload:", err)
		fmt.Fprintln(stderr, "hubload: workspace and hub serve's log kept in", dir)
		return 1
	}
	switch {
	case temp && !o.keep:
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintln(stderr, "hubload:", err)
		}
	case temp:
		fmt.Fprintln(stderr, "hubload: workspace and hub serve's log kept in", dir)
	}
	return 0
}

// load runs one measurement in the workspace dir. A report comes back
// whenever load was measured, also with an error that says what went
// wrong after (an accepted event never delivered, an unclean stop).
func load(ctx context.Context, o options, dir string, stderr io.Writer) (*report, error) {
	hub, err := exec.LookPath(o.hub)
	if err != nil {
		return nil, fmt.Errorf("hub binary: %w (build it with make build, or pass -hub)", err)
	}
	if hub, err = filepath.Abs(hub); err != nil {
		return nil, fmt.Errorf("hub binary: %w", err)
	}

	done := newCompletions()
	snk := sink.New(sink.Options{OnDeliver: done.record})
	if err := snk.Start(); err != nil {
		return nil, err
	}
	defer snk.Close()
	if o.stall {
		snk.Stall(true) // released before hub serve is stopped
	}

	src := workspaceHCL(o.mode, snk.URL())
	var wh *warehouseSim
	if o.mode == modeStream {
		if wh, err = startWarehouse(warehouseOptions(o)); err != nil {
			return nil, err
		}
		defer wh.close()
		src = streamWorkspaceHCL(wh.url, snk.URL(), o.stall)
	}
	dataDir, err := writeWorkspace(dir, src)
	if err != nil {
		return nil, err
	}
	// -upgrade: the workspace is hubload's own, and the connectors may just
	// have been rebuilt with new checksums.
	if err := runHub(ctx, hub, "init", "-upgrade", "-dir", dir); err != nil {
		return nil, err
	}
	if err := runHub(ctx, hub, "apply", "-dir", dir, "-data-dir", dataDir, "-auto-approve"); err != nil {
		return nil, err
	}
	srv, err := startServe(ctx, hub, dir, dataDir, filepath.Join(dir, "serve.log"), time.Minute)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.kill()
		}
	}()
	mem := startSampler(srv.cmd.Process.Pid, 250*time.Millisecond)
	selfCPU0, _ := readCPU(os.Getpid())
	if o.mode == modeStream {
		rep, err := measureStream(ctx, o, srv, wh, mem)
		selfCPU, _ := readCPU(os.Getpid())
		if rep != nil {
			rep.SinkRequests = snk.Requests()
		}
		stopped = true
		snk.Stall(false) // the held deliveries are answered 503
		if serr := srv.stop(30 * time.Second); serr != nil {
			err = errors.Join(err, fmt.Errorf("%w\n%s", serr, srv.logTail()))
		}
		if rep != nil {
			rep.LoadCPUS = seconds(selfCPU - selfCPU0)
		}
		return rep, err
	}

	url, secret, err := srv.webhook(ctx, Workflow)
	if err != nil {
		mem.stop()
		return nil, err
	}
	cancelFault, err := scheduleFault(snk, o.fault, o.duration/3, o.faultFor)
	if err != nil {
		mem.stop()
		return nil, err
	}
	defer cancelFault()
	f := fire(ctx, fireOptions{url: url, secret: secret, runID: runID(),
		concurrency: o.concurrency, duration: o.duration, bodySize: o.body, rate: o.rate})
	start := time.Now().Add(-f.elapsed)
	backlog := len(f.accepted) - done.count()
	for _, e := range f.firstErr {
		fmt.Fprintln(stderr, "hubload: load error:", e)
	}

	var problems []error
	if len(f.accepted) == 0 {
		problems = append(problems, fmt.Errorf("hub serve accepted no event (%d errors)", f.errors))
	}
	if o.mode == modeFull && len(f.accepted) > 0 {
		if err := waitDelivered(ctx, done, f.accepted, o.drain); err != nil {
			problems = append(problems, err)
		}
	}
	m := mem.stop()
	selfCPU, _ := readCPU(os.Getpid())
	stopped = true
	if err := srv.stop(30 * time.Second); err != nil {
		problems = append(problems, fmt.Errorf("%w\n%s", err, srv.logTail()))
	}

	rep := &report{
		Mode: o.mode, DurationS: math.Round(f.elapsed.Seconds()*100) / 100,
		Concurrency: o.concurrency, Rate: o.rate, BodyBytes: len(eventBody("x", time.Now(), o.body)),
		Accepted: len(f.accepted), AcceptedPerS: perSecond(len(f.accepted), f.elapsed),
		Errors: f.errors, Fault: o.fault, SinkRequests: snk.Requests(),
		HostRSSMB: mb(m.HostRSS), HostHWMMB: mb(m.HostHWM), PluginRSSMB: mb(m.PluginRSS),
		HostCPUS: seconds(m.HostCPU), PluginCPUS: seconds(m.PluginCPU), LoadCPUS: seconds(selfCPU - selfCPU0),
		Go: runtime.Version(), CPUs: runtime.NumCPU(),
	}
	rep.AckP50MS, rep.AckP99MS = summary(f.acks)
	if o.mode == modeFull {
		e2e, last := done.of(f.accepted)
		rep.Completed = len(e2e)
		rep.CompletedPerS = perSecond(len(e2e), last.Sub(start))
		rep.E2EP50MS, rep.E2EP99MS = summary(e2e)
		dups, bad, badErr := done.problems()
		rep.Duplicates = dups
		// Completions kept up when, as sending stopped, fewer than one
		// second's worth of accepted events were still waiting.
		rep.QueueGrowing = float64(backlog) > rep.AcceptedPerS
		if bad > 0 {
			problems = append(problems, fmt.Errorf("%d deliveries could not be read, the first: %w", bad, badErr))
		}
	}
	return rep, errors.Join(problems...)
}

// waitDelivered waits up to drain until the sink has received every id in
// accepted.
func waitDelivered(parent context.Context, done *completions, accepted []string, drain time.Duration) error {
	ctx, cancel := context.WithTimeout(parent, drain)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if done.count() >= len(accepted) {
			if got, _ := done.of(accepted); len(got) == len(accepted) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			got, _ := done.of(accepted)
			missing := len(accepted) - len(got)
			if parent.Err() != nil {
				return fmt.Errorf("interrupted while %d of %d accepted events were not yet delivered", missing, len(accepted))
			}
			return fmt.Errorf("%d of %d accepted events were not delivered within %s", missing, len(accepted), drain)
		case <-tick.C:
		}
	}
}

// runID makes this run's event ids unique, so a kept workspace's
// deduplication of an earlier run's ids cannot drop them.
func runID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return "load-" + hex.EncodeToString(b)
}

// measureStream runs the stream load against hub serve and stops mem. A
// report comes back whenever events were sent.
func measureStream(ctx context.Context, o options, srv *server, wh *warehouseSim, mem *sampler) (*report, error) {
	counter := acceptedCounter{client: &http.Client{Timeout: 5 * time.Second}, url: srv.info.URL + "/metrics", workflow: Workflow}
	run, err := streamLoad(ctx, wh, counter, o)
	m := mem.stop()
	if run.sent == 0 {
		return nil, errors.Join(errors.New("no event was sent"), err)
	}
	var problems []error
	if err != nil {
		problems = append(problems, err)
	}
	if run.watchErr != nil {
		problems = append(problems, run.watchErr)
	}
	end := run.start.Add(run.elapsed)
	grew, flat := growth(mem.hostRSS(), run.start, end)
	grewMB := mb(grew)
	var anonMB, anonGrewMB, fileMB *float64
	if anon := mem.hostAnon(); anon != nil && m.HostAnon >= 0 {
		var g int64
		g, flat = growth(anon, run.start, end)
		a, f, gm := mb(m.HostAnon), mb(m.HostFile), mb(g)
		anonMB, fileMB, anonGrewMB = &a, &f, &gm
	}
	rep := &report{
		Mode: o.mode, DurationS: math.Round(run.elapsed.Seconds()*100) / 100,
		Rate: o.rate, Window: o.window, Sent: run.sent,
		Accepted: len(run.latencies), AcceptedPerS: perSecond(len(run.latencies), run.settled),
		Fault:     faultNone,
		HostRSSMB: mb(m.HostRSS), HostHWMMB: mb(m.HostHWM), PluginRSSMB: mb(m.PluginRSS),
		HostCPUS: seconds(m.HostCPU), PluginCPUS: seconds(m.PluginCPU),
		HostRSSGrowMB: &grewMB, HostAnonMB: anonMB, HostAnonGrowMB: anonGrewMB, HostFileMB: fileMB, MemoryFlat: &flat,
		Go: runtime.Version(), CPUs: runtime.NumCPU(),
	}
	rep.Completed = rep.Accepted
	rep.CompletedPerS = rep.AcceptedPerS
	rep.E2EP50MS, rep.E2EP99MS = summary(run.latencies)
	if o.stall {
		rep.Window = 0 // not applied
		rep.Stalled = true
		rep.AcceptedFirstHalf, rep.AcceptedSecondHalf = &run.firstHalf, &run.secondHalf
	}
	// Persistence kept up when, as sending stopped, fewer than one
	// second's worth of sent events were still waiting.
	rep.QueueGrowing = float64(run.backlog) > rep.AcceptedPerS
	return rep, errors.Join(problems...)
}

// startCPUProfile profiles hubload's own CPU into path until the returned
// function is called: to tell the generator's cost from hub's.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
