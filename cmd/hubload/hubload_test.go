package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/hubhq/hub/cmd/internal/sink"
	"github.com/hubhq/hub/host/sandbox/warehouse"
)

func TestPercentile_IsNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.1, time.Millisecond}} {
		if got := percentile(d, tc.p); got != tc.want {
			t.Errorf("p%v = %s, want %s", tc.p, got, tc.want)
		}
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("p99 of one = %s", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of none = %s", got)
	}
}

func TestSummary_SortsACopyAndReportsMilliseconds(t *testing.T) {
	in := []time.Duration{3 * time.Millisecond, 1500 * time.Microsecond, 200 * time.Millisecond}
	p50, p99 := summary(in)
	if p50 != 3 || p99 != 200 {
		t.Fatalf("p50 = %v, p99 = %v", p50, p99)
	}
	if in[0] != 3*time.Millisecond {
		t.Fatal("summary sorted its argument")
	}
}

func TestSign_IsHexHMACSHA256WithPrefix(t *testing.T) {
	// RFC 4231, test case 2.
	got := sign([]byte("what do ya want for nothing?"), "Jefe")
	if want := "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"; got != want {
		t.Fatalf("sign = %s, want %s", got, want)
	}
}

func TestEventBody_IsAJSONObjectOfTheRequestedSize(t *testing.T) {
	sent := time.Unix(1_763_000_000, 123_456_789)
	for _, size := range []int{1024, 200, 80, 10, 0} {
		b := eventBody("load-abc-3-17", sent, size)
		if size >= 80 && len(b) != size {
			t.Errorf("size %d: body is %d bytes", size, len(b))
		}
		id, at, err := parseDelivered(b)
		if err != nil || id != "load-abc-3-17" || !at.Equal(sent) {
			t.Errorf("size %d: parsed %q %v %v from %s", size, id, at, err, b)
		}
	}
}

func TestParseDelivered_ReadsSentAtAsIntegerOrFloat(t *testing.T) {
	for _, body := range []string{`{"id":"a","sent_at":1763000000123456789}`, `{"id":"a","sent_at":1.763000000123456789e18}`} {
		id, at, err := parseDelivered([]byte(body))
		if err != nil || id != "a" || at.Sub(time.Unix(0, 1763000000123456789)).Abs() > time.Microsecond {
			t.Errorf("%s: %q %v %v", body, id, at, err)
		}
	}
	for _, body := range []string{`{"sent_at":1}`, `{"id":"a","sent_at":"soon"}`, `not json`} {
		if _, _, err := parseDelivered([]byte(body)); err == nil {
			t.Errorf("%s: no error", body)
		}
	}
}

func TestCompletions_KeepFirstArrivalAndCountDuplicates(t *testing.T) {
	c := newCompletions()
	sent := time.Unix(100, 0)
	body := eventBody("a", sent, 0)
	c.record("k1", body, sent.Add(5*time.Millisecond))
	c.record("k1", body, sent.Add(9*time.Millisecond))
	c.record("k2", eventBody("b", sent, 0), sent.Add(7*time.Millisecond))
	c.record("k3", []byte(`{}`), sent)
	lat, last := c.of([]string{"a", "b", "never"})
	slices.Sort(lat)
	if !slices.Equal(lat, []time.Duration{5 * time.Millisecond, 7 * time.Millisecond}) {
		t.Fatalf("latencies = %v", lat)
	}
	if !last.Equal(sent.Add(9*time.Millisecond)) && !last.Equal(sent.Add(7*time.Millisecond)) {
		t.Fatalf("last = %v", last)
	}
	if dups, bad, badErr := c.problems(); c.count() != 2 || dups != 1 || bad != 1 || badErr == nil {
		t.Fatalf("count %d, duplicates %d, bad %d (%v)", c.count(), dups, bad, badErr)
	}
}

func TestWaitDelivered_SucceedsWhenAllArrivedAndNamesTheMissing(t *testing.T) {
	c := newCompletions()
	c.record("", eventBody("a", time.Now(), 0), time.Now())
	if err := waitDelivered(t.Context(), c, []string{"a"}, time.Second); err != nil {
		t.Fatal(err)
	}
	err := waitDelivered(t.Context(), c, []string{"a", "b", "c"}, 10*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "2 of 3 accepted events were not delivered") {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := waitDelivered(ctx, c, []string{"a", "b"}, time.Minute); err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("interrupted: err = %v", err)
	}
}

func TestWorkspace_IngestDropsEveryEventAndFullDeliversToTheSink(t *testing.T) {
	for _, mode := range []string{modeIngest, modeFull} {
		t.Run(mode, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ws")
			dataDir, err := writeWorkspace(dir, workspaceHCL(mode, "http://127.0.0.1:4321"))
			if err != nil {
				t.Fatal(err)
			}
			if dataDir != filepath.Join(dir, ".hub", "data") {
				t.Fatalf("data dir %s", dataDir)
			}
			src, err := os.ReadFile(filepath.Join(dir, "main.hcl"))
			if err != nil {
				t.Fatal(err)
			}
			if _, diags := hclparse.NewParser().ParseHCL(src, "main.hcl"); diags.HasErrors() {
				t.Fatalf("not HCL: %s\n%s", diags, src)
			}
			text := string(src)
			for _, want := range []string{`example = { source = "hub/example", version = "~> 1.0" }`,
				`workflow "load"`, `trigger "load" "incoming"`, `action     = "deliver"`,
				`url  = "http://127.0.0.1:4321/load"`, `body = { id = event.id, sent_at = event.sent_at }`, `retry {`} {
				if !strings.Contains(text, want) {
					t.Errorf("main.hcl lacks %q", want)
				}
			}
			if got := strings.Contains(text, "when = false"); got != (mode == modeIngest) {
				t.Errorf("when = false present: %v", got)
			}
		})
	}
}

func TestParseFlags_RequiresAModeAndSaneValues(t *testing.T) {
	o, err := parseFlags([]string{"-mode", "full"}, io.Discard)
	if err != nil || o.hub != "bin/hub" || o.duration != 20*time.Second || o.concurrency != 64 || o.body != 1024 {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
	for _, args := range [][]string{{}, {"-mode", "both"}, {"-mode", "full", "-concurrency", "0"},
		{"-mode", "full", "-duration", "0s"}, {"-mode", "full", "-rate", "-1"}, {"-mode", "ingest", "extra"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestRun_BadFlagsExit2AndAMissingHubExits1(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"-mode", "x"}, &out, &errOut); code != 2 {
		t.Fatalf("bad mode: exit %d", code)
	}
	dir := t.TempDir()
	code := run(t.Context(), []string{"-mode", "ingest", "-hub", filepath.Join(dir, "no-hub"), "-workspace", dir}, &out, &errOut)
	if code != 1 || out.Len() != 0 || !strings.Contains(errOut.String(), "make build") {
		t.Fatalf("missing hub: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

// fakeHook verifies signatures as the example connector does and answers
// every failEvery-th delivery 503.
type fakeHook struct {
	secret    string
	failEvery int

	mu      sync.Mutex
	ids     map[string]int
	failed  int
	badSigs int
}

func (h *fakeHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Header.Get(SignatureHeader) != sign(body, h.secret) {
		h.badSigs++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev struct{ ID string }
	_ = json.Unmarshal(body, &ev)
	if n := len(h.ids) + h.failed + 1; n%h.failEvery == 0 {
		h.failed++
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	h.ids[ev.ID]++
	w.WriteHeader(http.StatusAccepted)
}

func TestFire_SendsSignedUniqueEventsAndCountsOnly2xxAsAccepted(t *testing.T) {
	const concurrency = 4
	h := &fakeHook{secret: "s3cret", failEvery: 5, ids: map[string]int{}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	f := fire(t.Context(), fireOptions{url: srv.URL + "/webhooks/load", secret: "s3cret", runID: "r",
		concurrency: concurrency, duration: 200 * time.Millisecond, bodySize: 256})
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.badSigs != 0 {
		t.Fatalf("%d deliveries with a bad signature", h.badSigs)
	}
	// A request in flight when the run ends is cut off: the server may have
	// stored it, but it is not counted, neither as accepted nor as an error.
	if len(f.accepted) == 0 || len(f.acks) != len(f.accepted) || len(h.ids) < len(f.accepted) || len(h.ids) > len(f.accepted)+concurrency {
		t.Fatalf("accepted %d, acks %d, server stored %d", len(f.accepted), len(f.acks), len(h.ids))
	}
	for _, id := range f.accepted {
		if h.ids[id] != 1 {
			t.Fatalf("id %s stored %d times", id, h.ids[id])
		}
	}
	if f.errors == 0 || f.errors > h.failed || len(f.firstErr) == 0 || !strings.Contains(f.firstErr[0], "503") {
		t.Fatalf("errors %d (%v), server failed %d", f.errors, f.firstErr, h.failed)
	}
}

func TestServer_WebhookUsesTheAPIKeyAndTheLoopbackAddress(t *testing.T) {
	var auth string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		if r.URL.Path != "/v1/webhooks" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `{"webhooks":[{"workflow":"other","path":"/webhooks/other","secret":"x"},
			{"workflow":"load","connection":"load","trigger":"incoming","url":"https://hub.example/webhooks/load","path":"/webhooks/load","secret":"s3cret"}]}`)
	}))
	defer api.Close()
	dataDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dataDir, "api-key"), []byte("file-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &server{info: serveInfo{URL: api.URL}, dataDir: dataDir}

	t.Setenv("HUB_API_KEY", "")
	url, secret, err := s.webhook(t.Context(), "load")
	if err != nil || url != api.URL+"/webhooks/load" || secret != "s3cret" || auth != "Bearer file-key" {
		t.Fatalf("webhook = %q %q %v, auth %q", url, secret, err, auth)
	}
	t.Setenv("HUB_API_KEY", "env-key")
	if _, _, err := s.webhook(t.Context(), "load"); err != nil || auth != "Bearer env-key" {
		t.Fatalf("with HUB_API_KEY: %v, auth %q", err, auth)
	}
	if _, _, err := s.webhook(t.Context(), "missing"); err == nil || !strings.Contains(err.Error(), `no webhook for workflow "missing"`) {
		t.Fatalf("missing workflow: %v", err)
	}
}

func TestParseStatus_ReadsRSSAndHWM(t *testing.T) {
	m, err := parseStatus("Name:\thub\nVmPeak:\t  900 kB\nVmHWM:\t   52344 kB\nVmRSS:\t   40960 kB\nThreads:\t9\n")
	if err != nil || m.RSS != 40960 || m.HWM != 52344 || m.Anon != -1 || m.File != -1 {
		t.Fatalf("memory = %+v, %v; want RssAnon and RssFile unknown (-1)", m, err)
	}
	m, err = parseStatus("VmHWM:\t   52344 kB\nVmRSS:\t   40960 kB\nRssAnon:\t   30000 kB\nRssFile:\t   10900 kB\nRssShmem:\t      60 kB\n")
	if err != nil || m.Anon != 30000 || m.File != 10900 {
		t.Fatalf("memory = %+v, %v; want RssAnon 30000 and RssFile 10900", m, err)
	}
	if _, err := parseStatus("Name:\tkthreadd\n"); err == nil {
		t.Fatal("a status without memory parsed")
	}
	if mb(40960) != 40 {
		t.Fatalf("mb(40960) = %v", mb(40960))
	}
}

func TestParseStatPPID_ToleratesParenthesesInTheName(t *testing.T) {
	ppid, err := parseStatPPID("4242 (hub (x) y) S 17 4242 4242 0 -1")
	if err != nil || ppid != 17 {
		t.Fatalf("ppid = %d, %v", ppid, err)
	}
}

func TestChildrenAndSampler_SeeAChildProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	cmd := exec.Command(sleep, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	kids, err := children(os.Getpid())
	if err != nil || !slices.Contains(kids, cmd.Process.Pid) {
		t.Fatalf("children = %v, %v; want %d among them", kids, err, cmd.Process.Pid)
	}
	m := startSampler(os.Getpid(), time.Hour).stop()
	if m.HostRSS <= 0 || m.HostHWM < m.HostRSS || m.PluginRSS <= 0 {
		t.Fatalf("sample = %+v", m)
	}
}

func TestFire_RateCapsTheEventsSent(t *testing.T) {
	h := &fakeHook{secret: "k", failEvery: 1 << 30, ids: map[string]int{}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	const perSecond = 50
	f := fire(t.Context(), fireOptions{url: srv.URL, secret: "k", runID: "r",
		concurrency: 8, duration: 300 * time.Millisecond, bodySize: 64, rate: perSecond})
	// The limiter admits one event at once and then perSecond a second.
	if most := 1 + int(perSecond*f.elapsed.Seconds()); len(f.accepted) == 0 || len(f.accepted) > most {
		t.Fatalf("accepted %d in %s, want 1..%d", len(f.accepted), f.elapsed, most)
	}
}

func TestScheduleFault_SinkFailsUntilCancelled(t *testing.T) {
	for _, fault := range []string{fault503, fault429, faultDown} {
		t.Run(fault, func(t *testing.T) {
			snk := sink.New(sink.Options{})
			if err := snk.Start(); err != nil {
				t.Fatal(err)
			}
			defer snk.Close()
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
			postOK := func() bool {
				resp, err := c.Post(snk.URL(), "application/json", strings.NewReader(`{}`))
				if err != nil {
					return false
				}
				resp.Body.Close()
				return resp.StatusCode == http.StatusOK
			}
			cancel, err := scheduleFault(snk, fault, 0, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			// The fault begins on a timer; wait until it shows.
			if err := snk.Wait(t.Context(), time.Millisecond, func(*sink.Sink) bool { return !postOK() }); err != nil {
				t.Fatal(err)
			}
			cancel()
			if !postOK() {
				t.Fatal("the sink still fails after cancel")
			}
		})
	}
}

func TestParseFlags_FaultNeedsFullMode(t *testing.T) {
	if _, err := parseFlags([]string{"-mode", "ingest", "-fault", "503"}, io.Discard); err == nil {
		t.Error("-fault in ingest mode accepted")
	}
	if _, err := parseFlags([]string{"-mode", "full", "-fault", "fire"}, io.Discard); err == nil {
		t.Error("unknown fault accepted")
	}
	if o, err := parseFlags([]string{"-mode", "full", "-fault", "down", "-fault-for", "3s"}, io.Discard); err != nil || o.fault != faultDown || o.faultFor != 3*time.Second {
		t.Errorf("%+v, %v", o, err)
	}
}

func TestParseStatCPU_AddsUserAndSystemTicks(t *testing.T) {
	// Fields 14 (utime) and 15 (stime) are 250 and 50 ticks of 1/100 s.
	stat := "4242 (hub serve) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 1000 0 0"
	got, err := parseStatCPU(stat)
	if err != nil || got != 3*time.Second {
		t.Fatalf("cpu = %s, %v; want 3s", got, err)
	}
	if _, err := parseStatCPU("4242 (x) S 1 2"); err == nil {
		t.Fatal("a short stat parsed")
	}
}

func TestParseAccepted_ReadsTheWorkflowsCounter(t *testing.T) {
	text := "# HELP hub_events_accepted_total Events stored durably, by workflow.\n" +
		"# TYPE hub_events_accepted_total counter\n" +
		"hub_events_accepted_total{workflow=\"load2\"} 7\n" +
		"hub_events_accepted_total{workflow=\"load\"} 1.2345e+06\n"
	n, err := parseAccepted(strings.NewReader(text), "load")
	if err != nil || n != 1_234_500 {
		t.Fatalf("accepted = %d, %v", n, err)
	}
	if n, err := parseAccepted(strings.NewReader("go_goroutines 9\n"), "load"); err != nil || n != 0 {
		t.Fatalf("absent series: %d, %v", n, err)
	}
	if _, err := parseAccepted(strings.NewReader(`hub_events_accepted_total{workflow="load"} many`), "load"); err == nil {
		t.Fatal("a bad value parsed")
	}
}

func TestPersistence_AttributesTheCountToTheFirstEventsSent(t *testing.T) {
	p := newPersistence()
	t0 := time.Unix(100, 0)
	for i := range 3 {
		p.sending(t0.Add(time.Duration(i) * time.Millisecond))
	}
	_, _, changed := p.counts()
	p.persisted(2, t0.Add(10*time.Millisecond))
	select {
	case <-changed:
	default:
		t.Fatal("changed not closed when events persisted")
	}
	p.persisted(1, t0.Add(50*time.Millisecond)) // an older read changes nothing
	p.persisted(9, t0.Add(20*time.Millisecond)) // counts beyond those sent are capped
	if got := p.result(); !slices.Equal(got, []time.Duration{10 * time.Millisecond, 9 * time.Millisecond, 18 * time.Millisecond}) {
		t.Fatalf("latencies = %v", got)
	}
	if sent, persisted, _ := p.counts(); sent != 3 || persisted != 3 {
		t.Fatalf("sent %d, persisted %d", sent, persisted)
	}
}

func TestGrowth_ComparesTheHalvesPeaks(t *testing.T) {
	t0 := time.Unix(100, 0)
	series := func(kb ...int64) []rssAt {
		var out []rssAt
		for i, k := range kb {
			out = append(out, rssAt{at: t0.Add(time.Duration(i) * time.Second), rss: k})
		}
		return out
	}
	end := t0.Add(3 * time.Second)
	if kb, flat := growth(series(100<<10, 104<<10, 102<<10, 105<<10), t0, end); !flat || kb != 1<<10 {
		t.Errorf("sawtooth: grew %d kB, flat %v", kb, flat)
	}
	if kb, flat := growth(series(100<<10, 100<<10, 150<<10, 200<<10), t0, end); flat || kb != 100<<10 {
		t.Errorf("climbing: grew %d kB, flat %v", kb, flat)
	}
	if _, flat := growth(series(100<<10), t0, end); !flat {
		t.Error("one sample is not enough to call growth")
	}
}

func TestStreamWorkspace_ReadsTheWarehouseStreamAndRunsNoStep(t *testing.T) {
	src := streamWorkspaceHCL("http://127.0.0.1:5555", "http://127.0.0.1:4321", false)
	if _, diags := hclparse.NewParser().ParseHCL([]byte(src), "main.hcl"); diags.HasErrors() {
		t.Fatalf("not HCL: %s\n%s", diags, src)
	}
	for _, want := range []string{`http    = { source = "hub/http", version = "~> 1.0" }`,
		`base_url = "http://127.0.0.1:5555"`, `trigger "warehouse" "stream"`, `mode = "stream"`,
		`when = false`, `resume_param  = "since"`, `position_path = "seq"`, `workflow "load"`} {
		if !strings.Contains(src, want) {
			t.Errorf("main.hcl lacks %q", want)
		}
	}
}

func TestStreamWorkspace_StallRunsTheFullModesStepForEveryEvent(t *testing.T) {
	src := streamWorkspaceHCL("http://127.0.0.1:5555", "http://127.0.0.1:4321", true)
	if _, diags := hclparse.NewParser().ParseHCL([]byte(src), "main.hcl"); diags.HasErrors() {
		t.Fatalf("not HCL: %s\n%s", diags, src)
	}
	for _, want := range []string{`trigger "warehouse" "stream"`, `when = true`, `action     = "deliver"`,
		`url  = "http://127.0.0.1:4321/load"`, `body = { id = event.id }`, `retry {`, `on_error = "dead_letter"`} {
		if !strings.Contains(src, want) {
			t.Errorf("main.hcl lacks %q", want)
		}
	}
	if strings.Contains(src, "when = false") {
		t.Error("a stalled run's trigger runs no step")
	}
}

func TestWarehouseOptions_StallNeverDropsHubWithinTheRun(t *testing.T) {
	o := options{mode: modeStream, window: 1024, duration: 20 * time.Second, drain: time.Minute}
	if w, keep := warehouseOptions(o); w.StreamBuffer != 2048 || keep != 8192 {
		t.Errorf("window run: buffer %d, retention %d", w.StreamBuffer, keep)
	}
	o.stall, o.rate = true, 5000
	w, keep := warehouseOptions(o)
	if w.StreamBuffer < 100_000 || keep != 0 || w.PingInterval <= o.duration {
		t.Errorf("stalled run: buffer %d (want every event sent), retention %d (want 0: all), ping every %s (want after the run)",
			w.StreamBuffer, keep, w.PingInterval)
	}
}

// standIn stands in for hub serve: it reads the warehouse's stream and
// counts each event as persisted the moment it arrives, until it has
// counted limit (then it stops reading, as a stalled hub does), and
// serves the count as hub serve's /metrics would.
func standIn(t *testing.T, wh *warehouseSim, limit int64) acceptedCounter {
	t.Helper()
	var stored atomic.Int64
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(wh.url, "http")+"/api/stream?token="+warehouse.DefaultToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	go func() {
		for stored.Load() < limit {
			_, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if bytes.Contains(b, []byte(`"type":"event"`)) {
				stored.Add(1)
			}
		}
	}()
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hub_events_accepted_total{workflow=%q} %d\n", Workflow, stored.Load())
	}))
	t.Cleanup(metrics.Close)
	return acceptedCounter{client: metrics.Client(), url: metrics.URL, workflow: Workflow}
}

func TestStreamLoad_EveryEventSentIsSeenPersisted(t *testing.T) {
	wh, err := startWarehouse(warehouse.Options{StreamBuffer: 64}, 256)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.close()
	counter := standIn(t, wh, 1<<62)
	run, err := streamLoad(t.Context(), wh, counter, options{duration: 200 * time.Millisecond, window: 16, drain: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if run.sent < 2 || len(run.latencies) != run.sent || run.settled <= 0 {
		t.Fatalf("sent %d, persisted %d, settled %s", run.sent, len(run.latencies), run.settled)
	}
	for i, l := range run.latencies {
		if l < 0 {
			t.Fatalf("event %d persisted %s before it was sent", i, l)
		}
	}
}

func TestStreamLoad_StalledConsumerIsMeasuredNotAFailure(t *testing.T) {
	o := options{mode: modeStream, stall: true, rate: 2000, duration: 200 * time.Millisecond, window: 16, drain: 10 * time.Second}
	wh, err := startWarehouse(warehouseOptions(o))
	if err != nil {
		t.Fatal(err)
	}
	defer wh.close()
	// The warm-up event and 20 more are read; then the stand-in stops.
	counter := standIn(t, wh, 21)
	run, err := streamLoad(t.Context(), wh, counter, o)
	if err != nil {
		t.Fatalf("a stalled run failed: %v", err)
	}
	// The window is not applied: the generator sends on past the 20
	// persisted plus a window.
	if run.sent <= 20+o.window || len(run.latencies) > 20 || run.firstHalf+run.secondHalf > len(run.latencies) {
		t.Fatalf("sent %d, persisted %d (halves %d, %d)", run.sent, len(run.latencies), run.firstHalf, run.secondHalf)
	}
}

func TestParseFlags_StreamModeNeedsAWindow(t *testing.T) {
	if o, err := parseFlags([]string{"-mode", "stream"}, io.Discard); err != nil || o.window != 1024 {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
	if _, err := parseFlags([]string{"-mode", "stream", "-window", "0"}, io.Discard); err == nil {
		t.Fatal("-window 0 accepted")
	}
}

func TestParseFlags_StallNeedsStreamModeAndARate(t *testing.T) {
	o, err := parseFlags([]string{"-mode", "stream", "-stall", "-rate", "5000"}, io.Discard)
	if err != nil || !o.stall || o.rate != 5000 {
		t.Fatalf("%+v, %v", o, err)
	}
	for _, args := range [][]string{{"-mode", "stream", "-stall"}, {"-mode", "full", "-stall", "-rate", "5000"},
		{"-mode", "ingest", "-stall", "-rate", "5000"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestPace_EventIIsDueAtStartPlusIOverRate(t *testing.T) {
	t0 := time.Unix(100, 0)
	p := pace{start: t0, rate: 20_000} // one event every 50 µs
	for _, c := range []struct {
		after time.Duration
		due   int
	}{
		{-time.Millisecond, 0},
		{0, 1}, // event 0 is due at the start
		{49 * time.Microsecond, 1},
		{50 * time.Microsecond, 2},
		{time.Millisecond, 21}, // a timer that wakes 1 ms late finds 20 more due
		{time.Second, 20_001},
	} {
		if got := p.due(t0.Add(c.after)); got != c.due {
			t.Errorf("due after %s = %d, want %d", c.after, got, c.due)
		}
	}
	if got := p.at(3); got != t0.Add(150*time.Microsecond) {
		t.Errorf("at(3) = %s", got.Sub(t0))
	}
	// An awkward rate: whatever the rounding, the event at(i) names is
	// due then and not before, so a sender woken at at(i) sends it.
	odd := pace{start: t0, rate: 3}
	for i := range 10 {
		if due := odd.due(odd.at(i)); due != i+1 {
			t.Fatalf("due(at(%d)) = %d", i, due)
		}
		if due := odd.due(odd.at(i).Add(-time.Nanosecond)); due != i {
			t.Fatalf("due(at(%d) - 1ns) = %d", i, due)
		}
	}
}

func TestPace_ALateEventIsRecordedAsSentWhenDue(t *testing.T) {
	t0 := time.Unix(100, 0)
	p := pace{start: t0, rate: 1000}
	due := t0.Add(5 * time.Millisecond) // event 5
	if got := p.sendTime(5, due.Add(40*time.Millisecond)); !got.Equal(due) {
		t.Errorf("sent 40 ms late: recorded %s after the start, want its due time", got.Sub(t0))
	}
	if got := p.sendTime(5, due); !got.Equal(due) {
		t.Errorf("sent on time: recorded %s", got.Sub(t0))
	}
}

func TestGenerate_RateIsKeptAboveTimerGranularity(t *testing.T) {
	sim := warehouse.New(warehouse.Options{})
	p := newPersistence()
	// 20,000 a second: far more than one sleep per event could reach.
	elapsed := generate(t.Context(), sim, "SKU", p, generateOptions{duration: 200 * time.Millisecond, rate: 20_000})
	sent, _, _ := p.counts()
	// The upper bound is the schedule's; the lower one is loose (a
	// quarter of it, 5,000 a second, still beyond a sleep per event) so a
	// busy machine cannot fail it.
	if most := 1 + int(20_000*elapsed.Seconds()); sent < most/4 || sent > most {
		t.Fatalf("sent %d in %s, want about %d", sent, elapsed, most)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 1; i < len(p.sent); i++ {
		if d := p.sent[i].Sub(p.sent[i-1]); d != 50*time.Microsecond {
			t.Fatalf("events %d and %d recorded %s apart, want their due times 50µs apart", i-1, i, d)
		}
	}
}

func TestGenerate_NoWindowSendsWithNothingPersisted(t *testing.T) {
	sim := warehouse.New(warehouse.Options{})
	p := newPersistence()
	generate(t.Context(), sim, "SKU", p, generateOptions{duration: 50 * time.Millisecond, rate: 10_000})
	if sent, persisted, _ := p.counts(); sent < 10 || persisted != 0 {
		t.Fatalf("sent %d, persisted %d: a window of 0 must not hold sending back", sent, persisted)
	}
}

func TestPersistence_CountsPersistsByWhenTheyWereRead(t *testing.T) {
	p := newPersistence()
	t0 := time.Unix(100, 0)
	for i := range 4 {
		p.sending(t0.Add(time.Duration(i) * time.Millisecond))
	}
	p.persisted(1, t0.Add(2*time.Millisecond))
	p.persisted(3, t0.Add(10*time.Millisecond))
	if first, second := p.persistedBetween(t0, t0.Add(5*time.Millisecond)), p.persistedBetween(t0.Add(5*time.Millisecond), t0.Add(20*time.Millisecond)); first != 1 || second != 2 {
		t.Fatalf("halves %d, %d; want 1, 2", first, second)
	}
}

func TestAcceptedCounter_AsksForAnUncompressedAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Accept-Encoding"); got != "identity" {
			w.Header().Set("Content-Encoding", "gzip")
			fmt.Fprintf(w, "Accept-Encoding %q", got)
			return
		}
		fmt.Fprintf(w, "hub_events_accepted_total{workflow=%q} 42\n", Workflow)
	}))
	defer srv.Close()
	c := acceptedCounter{client: srv.Client(), url: srv.URL, workflow: Workflow}
	if n, err := c.read(t.Context()); err != nil || n != 42 {
		t.Fatalf("read = %d, %v", n, err)
	}
}
