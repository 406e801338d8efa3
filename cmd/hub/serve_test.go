package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hubhq/hub/cmd/internal/sink"
	"github.com/hubhq/hub/host/runs"
)

// These tests prove hub serve's durability promises end to end, with the
// real hub binary and the real example connector as processes: an event
// acknowledged is never lost, whichever process dies when; each step takes
// effect once per idempotency key; failures are retried by their class,
// then dead-lettered and replayable; a poll trigger emits each record once
// across crashes; and a failing trigger is visible.

const serveHeader = `hub {
  required_connectors {
    example = { source = "hub/example", version = "~> 1.0" }
  }
}

connection "ex" {
  connector = "example"
}
`

// webhookDeliver is a workspace whose workflow "orders" delivers each
// signed webhook's id to url, with the retry block given (may be empty).
func webhookDeliver(url, retry string) string {
	return serveHeader + webhookWorkflow("orders", "ex", url, retry)
}

// webhookWorkflow is a workflow that delivers each signed webhook's id
// to url through connection, with the retry block given (may be empty).
func webhookWorkflow(name, connection, url, retry string) string {
	return fmt.Sprintf(`
workflow %q {
  trigger %q "incoming" {
    mode = "webhook"
  }

  action "deliver" {
    connection = %q
    action     = "deliver"
    input      = { url = %q, body = { id = event.id } }
    %s
  }
}
`, name, connection, connection, url, retry)
}

// constantRetry is a retry block of attempts tries, every apart.
func constantRetry(attempts int, every string) string {
	return fmt.Sprintf(`retry {
      attempts = %d
      backoff  = "constant"
      initial  = %q
      max      = %q
    }`, attempts, every, every)
}

// feedDeliver is a workspace whose workflow "records" polls feedURL every
// 200ms and delivers each record's id to url.
func feedDeliver(feedURL, url string) string {
	return serveHeader + fmt.Sprintf(`
workflow "records" {
  trigger "ex" "feed" {
    mode     = "poll"
    interval = "200ms"
    config   = { url = %q, page_size = 7 }
  }

  action "deliver" {
    connection = "ex"
    action     = "deliver"
    input      = { url = %q, body = { id = event.id } }
  }
}
`, feedURL, url)
}

func startSink(t *testing.T, opts sink.Options) *sink.Sink {
	t.Helper()
	s := sink.New(opts)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// quiesce waits until sk has taken no request for a quarter of a second
// (at most 10 s). After a host is killed, a request its plugin sent just
// before dying can still be waiting in the sink's socket: it must count
// in the dead host's epoch of the ledger, not the next one's, or the
// next host's replay of that key looks like one host applying it twice.
func quiesce(t *testing.T, sk *sink.Sink) {
	t.Helper()
	const quiet = 250 * time.Millisecond
	deadline := time.Now().Add(10 * time.Second)
	n, since := sk.Requests(), time.Now()
	for time.Since(since) < quiet {
		if time.Now().After(deadline) {
			t.Fatalf("the sink kept taking requests for 10 s after the host was killed")
		}
		time.Sleep(10 * time.Millisecond)
		if m := sk.Requests(); m != n {
			n, since = m, time.Now()
		}
	}
}

func TestServe_SIGKILLMidStreamLosesNothing(t *testing.T) {
	const total, killAfter, senders = 400, 150, 8
	l := newLedger()
	sk := startSink(t, sink.Options{OnDeliver: l.record})
	ws := appliedWorkspace(t, webhookDeliver(sk.URL()+"/orders", ""))
	h := ws.start(t, "")
	// The sender knows one URL, as a real one would: the host comes back
	// on the same address.
	addr, url, secret := h.info.Addr, h.info.URL+"/webhooks/orders", h.secret("orders")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var (
		mu          sync.Mutex
		acked       = map[string]bool{}
		ackedBefore = map[string]bool{} // by the host that was killed
		refused     []string
		retries     atomic.Int64
		ackCount    atomic.Int64
		killNow     = make(chan struct{})
		restarted   atomic.Bool
		wg          sync.WaitGroup
		ids         = make(chan string)
	)
	go func() {
		defer close(ids)
		for i := range total {
			select {
			case ids <- fmt.Sprintf("evt-%04d", i):
			case <-ctx.Done():
				return
			}
		}
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				body := []byte(`{"id":"` + id + `","note":"sent by the SIGKILL test"}`)
				for {
					status, err := postWebhook(ctx, client, url, secret, body)
					if err == nil && status/100 == 2 {
						mu.Lock()
						acked[id] = true
						if !restarted.Load() {
							ackedBefore[id] = true
						}
						mu.Unlock()
						if ackCount.Add(1) == killAfter {
							close(killNow)
						}
						break
					}
					if ctx.Err() != nil {
						return
					}
					if err == nil && status/100 == 4 && status != http.StatusTooManyRequests {
						mu.Lock()
						refused = append(refused, fmt.Sprintf("%s: %d", id, status))
						mu.Unlock()
						break
					}
					// No answer, or not a 2xx: the host may be down. A real
					// sender backs off and sends the same event again.
					retries.Add(1)
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	select {
	case <-killNow:
	case <-ctx.Done():
		t.Fatalf("only %d of %d webhooks acknowledged before the deadline", ackCount.Load(), total)
	}
	h.kill()
	quiesce(t, sk)
	l.newEpoch()
	restarted.Store(true)
	mu.Lock()
	atKill := len(ackedBefore)
	mu.Unlock()
	h = ws.start(t, addr)
	if got := h.secret("orders"); got != secret {
		t.Fatalf("the webhook secret changed across the restart: %q then %q", secret, got)
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("sending did not finish: %d of %d acknowledged", ackCount.Load(), total)
	}
	if len(refused) > 0 {
		t.Fatalf("deliveries refused: %v", first(refused))
	}
	if len(acked) != total {
		t.Fatalf("%d distinct events acknowledged, want %d", len(acked), total)
	}
	t.Logf("%d acknowledged by the killed host, %d sends retried, %d replays of an applied key", atKill, retries.Load(), l.replays())

	h.waitDelivered(l, "orders", acked, 30*time.Second)
	// Let the host settle, so a second run for an event (a duplicate)
	// would have shown up: every run has finished.
	var list []runs.Summary
	waitFor(t, 30*time.Second, "every run to finish", func() bool {
		list = h.runs("orders")
		for _, r := range list {
			if r.Status == runs.Running {
				return false
			}
		}
		st := h.status()
		return st.Queue.Due+st.Queue.Scheduled == 0
	})
	l.checkExactlyOnce(t, acked)
	perEvent := map[string]int{}
	for _, r := range list {
		perEvent[r.EventID]++
		if r.Status != runs.Succeeded {
			t.Errorf("run %s of %s is %s: %s", r.ID, r.EventID, r.Status, r.Error)
		}
	}
	for id := range acked {
		if perEvent[id] != 1 {
			t.Errorf("event %s has %d runs, want 1", id, perEvent[id])
		}
	}
	if len(list) != total {
		t.Errorf("%d runs for %d events", len(list), total)
	}
}

func TestServe_PluginSIGKILLMidActionIsRetried(t *testing.T) {
	r := newSlowReceiver(t)
	ws := appliedWorkspace(t, webhookDeliver(r.srv.URL+"/orders", constantRetry(5, "200ms")))
	h := ws.start(t, "")
	h.mustDeliver("orders", "evt-1")
	inFlight := r.next(t, 10*time.Second)
	if inFlight.id != "evt-1" || inFlight.attempt != "1" || inFlight.key == "" {
		t.Fatalf("first request %+v, want attempt 1 of evt-1 with a key", inFlight)
	}

	plugins := h.plugins()
	if len(plugins) != 1 {
		t.Fatalf("hub serve has %d child processes %v, want the one example plugin", len(plugins), plugins)
	}
	if err := syscall.Kill(plugins[0], syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL plugin %d: %v", plugins[0], err)
	}
	// The plugin's connection to the receiver dies with it: the attempt
	// in flight took no effect.
	waitFor(t, 10*time.Second, "the killed plugin's request to be abandoned", func() bool {
		_, abandoned := r.results()
		return len(abandoned) == 1
	})
	r.Open()

	run := h.waitRun("orders", "evt-1", 30*time.Second)
	if run.Status != runs.Succeeded {
		t.Fatalf("run %s is %s: %s", run.ID, run.Status, run.Error)
	}
	step := run.Steps[0]
	if step.IdempotencyKey != inFlight.key {
		t.Errorf("idempotency key %s, the killed attempt carried %s", step.IdempotencyKey, inFlight.key)
	}
	n := len(step.Attempts)
	if n < 2 {
		t.Fatalf("%d attempts, want the killed one and a retry: %+v", n, step.Attempts)
	}
	for _, a := range step.Attempts[:n-1] {
		if a.ErrorKind != "retryable" {
			t.Errorf("attempt %d failed as %q (%s), want retryable", a.N, a.ErrorKind, a.Error)
		}
	}
	if last := step.Attempts[n-1]; last.Error != "" {
		t.Errorf("last attempt failed: %s", last.Error)
	}
	effective, _ := r.results()
	if len(effective) != 1 || effective[0].key != inFlight.key || effective[0].id != "evt-1" || effective[0].attempt != fmt.Sprint(n) {
		t.Errorf("effective deliveries %+v, want one of evt-1 with key %s as attempt %d", effective, inFlight.key, n)
	}
	if now := h.plugins(); len(now) != 1 || now[0] == plugins[0] {
		t.Errorf("plugin processes after the kill: %v (killed %d), want one relaunched", now, plugins[0])
	}
}

func TestServe_SinkOutageRetriesThenDeadLettersAndReplays(t *testing.T) {
	steady := startSink(t, sink.Options{})
	fragile := startSink(t, sink.Options{})
	// Two connections, so one's failures do not trip the other's breaker.
	src := serveHeader + `
connection "other" {
  connector = "example"
}
` + webhookWorkflow("steady", "ex", steady.URL()+"/steady", constantRetry(10, "300ms")) +
		webhookWorkflow("fragile", "other", fragile.URL()+"/fragile", constantRetry(2, "100ms"))
	ws := appliedWorkspace(t, src)
	h := ws.start(t, "")

	// steady: two 503s, then 429 with Retry-After: 1 until the test sees
	// two of those, then well again. fragile: 503 until recovered.
	steady.Fail(2, http.StatusServiceUnavailable, "")
	steady.FailUntil(time.Now().Add(time.Minute), http.StatusTooManyRequests, "1")
	fragile.FailUntil(time.Now().Add(time.Minute), http.StatusServiceUnavailable, "")
	h.mustDeliver("steady", "s-1")
	h.mustDeliver("steady", "s-2")
	h.mustDeliver("fragile", "f-1")
	waitFor(t, 15*time.Second, "two 503s and two 429s at the steady sink", func() bool { return steady.Requests() >= 4 })
	steady.FailUntil(time.Time{}, 0, "")

	sawRateLimited := false
	for _, id := range []string{"s-1", "s-2"} {
		run := h.waitRun("steady", id, 20*time.Second)
		if run.Status != runs.Succeeded {
			t.Fatalf("run of %s is %s: %s", id, run.Status, run.Error)
		}
		atts := run.Steps[0].Attempts
		if len(atts) < 2 || atts[0].ErrorKind != "retryable" || atts[len(atts)-1].Error != "" {
			t.Errorf("attempts of %s: %s, want a retryable failure first and success last", id, attemptsText(atts))
		}
		for i, a := range atts[:len(atts)-1] {
			if a.ErrorKind != "rate_limited" {
				continue
			}
			sawRateLimited = true
			// Retry-After: 1 is a floor under the step's 300ms backoff.
			if wait := atts[i+1].StartedAt.Sub(a.StartedAt); wait < time.Second {
				t.Errorf("attempt %d of %s came %s after a 429 with Retry-After: 1", atts[i+1].N, id, wait)
			}
		}
	}
	if !sawRateLimited {
		t.Errorf("no steady run recorded a rate_limited attempt")
	}
	if keys := steady.Keys(); len(keys) != 2 || keys[""] != 0 {
		t.Errorf("steady sink keys %v, want two keys applied once each", keys)
	} else {
		for k, n := range keys {
			if n != 1 {
				t.Errorf("key %s applied %d times", k, n)
			}
		}
	}

	// fragile gave up after its two attempts: the run waits in the
	// dead-letter queue, seen through the real CLI.
	var dead struct {
		DeadLetters []runs.DeadLetter `json:"dead_letters"`
	}
	waitFor(t, 15*time.Second, "the fragile run in hub dlq list", func() bool {
		dead.DeadLetters = nil
		if err := json.Unmarshal([]byte(ws.admin(t, "dlq", "list", "-json").stdout), &dead); err != nil {
			t.Fatalf("hub dlq list -json: %v", err)
		}
		return len(dead.DeadLetters) > 0
	})
	if len(dead.DeadLetters) != 1 {
		t.Fatalf("dead letters %+v, want only the fragile run", dead.DeadLetters)
	}
	d := dead.DeadLetters[0]
	if d.Workflow != "fragile" || d.ErrorKind != "retryable" || d.Attempts != 2 || !strings.Contains(d.Error, "503") {
		t.Fatalf("dead letter %+v, want fragile, retryable, 2 attempts, a 503", d)
	}
	if out := ws.admin(t, "dlq", "list").stdout; !strings.Contains(out, d.Run) || !strings.Contains(out, "retryable") {
		t.Errorf("hub dlq list does not show %s as retryable:\n%s", d.Run, out)
	}
	key := h.run(d.Run).Steps[0].IdempotencyKey
	if key == "" {
		t.Fatal("the dead run's step has no idempotency key")
	}
	if n := fragile.Effective(); n != 0 {
		t.Fatalf("the fragile sink applied %d keys while failing", n)
	}

	fragile.FailUntil(time.Time{}, 0, "")
	if out := ws.admin(t, "dlq", "replay", d.Run).stdout; !strings.Contains(out, "replayed "+d.Run) {
		t.Fatalf("hub dlq replay: %q", out)
	}
	var run *runs.Run
	waitFor(t, 15*time.Second, "the replayed run to finish", func() bool {
		run = h.run(d.Run)
		return run.Status != runs.Running
	})
	if run.Status != runs.Succeeded {
		t.Fatalf("replayed run is %s: %s", run.Status, run.Error)
	}
	if got := run.Steps[0].IdempotencyKey; got != key {
		t.Errorf("replay changed the idempotency key: %s then %s", key, got)
	}
	if keys := fragile.Keys(); len(keys) != 1 || keys[key] != 1 {
		t.Errorf("fragile sink keys %v, want %s applied once", keys, key)
	}
	if st := h.status(); st.Queue.DeadLetters != 0 {
		t.Errorf("status counts %d dead letters after the replay", st.Queue.DeadLetters)
	}
}

func attemptsText(atts []*runs.Attempt) string {
	var parts []string
	for _, a := range atts {
		s := fmt.Sprintf("#%d ok", a.N)
		if a.Error != "" {
			s = fmt.Sprintf("#%d %s: %s", a.N, a.ErrorKind, a.Error)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func TestServe_PollAcrossRestartsEmitsEachRecordOnce(t *testing.T) {
	l := newLedger()
	sk := startSink(t, sink.Options{OnDeliver: l.record})
	f := newFeed(t)
	ws := appliedWorkspace(t, feedDeliver(f.srv.URL+"/records", sk.URL()+"/records"))
	f.add(20)
	h := ws.start(t, "")
	for range 3 {
		// Kill the host while it is working through new records: some
		// polled and not delivered, some delivered and not recorded.
		seen := len(l.effective())
		f.add(25)
		waitFor(t, 20*time.Second, "new records to be delivered", func() bool { return len(l.effective()) >= seen+3 })
		h.kill()
		quiesce(t, sk)
		l.newEpoch()
		f.add(10) // records appear while the host is down
		h = ws.start(t, "")
	}
	f.add(15)
	want := f.records()
	h.waitDelivered(l, "records", want, 30*time.Second)
	var list []runs.Summary
	waitFor(t, 30*time.Second, "every run to finish", func() bool {
		list = h.runs("records")
		for _, r := range list {
			if r.Status == runs.Running {
				return false
			}
		}
		return true
	})
	t.Logf("%d records, %d replays of an applied key", len(want), l.replays())
	l.checkExactlyOnce(t, want)
	if len(list) != len(want) {
		t.Errorf("%d runs for %d records", len(list), len(want))
	}
}

// metricLine returns the /metrics sample line of name whose labels
// include label, or "".
func metricLine(t *testing.T, h *served, name, label string) string {
	t.Helper()
	status, body := h.apiRaw("GET", "/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d", status)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, name+"{") && strings.Contains(line, label) {
			return line
		}
	}
	return ""
}

func TestServe_FailingTriggerShowsInStatusAndMetrics(t *testing.T) {
	f := newFeed(t)
	f.setFailing(true)
	src := serveHeader + fmt.Sprintf(`
workflow "watch" {
  trigger "ex" "feed" {
    mode     = "poll"
    interval = "200ms"
    config   = { url = %q }
  }

  action "echo" {
    connection = "ex"
    action     = "echo"
    input      = { message = event.id }
  }
}
`, f.srv.URL+"/watch")
	ws := appliedWorkspace(t, src)
	h := ws.start(t, "", "-trigger-alert", "1s")

	trigger := func() *runs.TriggerStatus {
		// hub status -json prints GET /v1/status: read it the operator's way.
		var st runs.HostStatus
		if err := json.Unmarshal([]byte(ws.admin(t, "status", "-json").stdout), &st); err != nil {
			t.Fatalf("hub status -json: %v", err)
		}
		for _, tr := range st.Triggers {
			if tr.Workflow == "watch" {
				return tr
			}
		}
		t.Fatalf("hub status lists no trigger of workflow watch: %+v", st.Triggers)
		return nil
	}
	var tr *runs.TriggerStatus
	waitFor(t, 10*time.Second, "the trigger to show as failing", func() bool {
		tr = trigger()
		return tr.FailingSince != nil && tr.LastError != ""
	})
	if !strings.Contains(tr.LastError, "503") {
		t.Errorf("last_error %q does not name the 503", tr.LastError)
	}
	if out := ws.admin(t, "status").stdout; !strings.Contains(out, "FAILING") {
		t.Errorf("hub status does not show the trigger FAILING:\n%s", out)
	}
	waitFor(t, 10*time.Second, "hub_trigger_failing 1 for watch", func() bool {
		return strings.HasSuffix(metricLine(t, h, "hub_trigger_failing", `workflow="watch"`), " 1")
	})
	waitFor(t, 10*time.Second, "the host to warn that the trigger has been failing", func() bool {
		return strings.Contains(h.log(), "trigger has been failing")
	})
	if line := logLine(h.log(), "trigger has been failing"); !strings.Contains(line, "watch") {
		t.Errorf("the warning does not name the workflow: %s", line)
	}

	f.add(3)
	f.setFailing(false)
	waitFor(t, 10*time.Second, "a success after the error", func() bool {
		tr = trigger()
		return tr.FailingSince == nil && tr.LastSuccess != nil && tr.LastErrorAt != nil && tr.LastSuccess.After(*tr.LastErrorAt)
	})
	if tr.Events != 3 {
		t.Errorf("trigger counts %d events, want 3", tr.Events)
	}
	waitFor(t, 10*time.Second, "hub_trigger_failing 0 for watch", func() bool {
		return strings.HasSuffix(metricLine(t, h, "hub_trigger_failing", `workflow="watch"`), " 0")
	})
}

// logLine is the first line of log containing s.
func logLine(log, s string) string {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

func TestServe_SIGTERMStopsGracefully(t *testing.T) {
	r := newSlowReceiver(t)
	ws := appliedWorkspace(t, webhookDeliver(r.srv.URL+"/orders", ""))
	const grace = 2 * time.Second
	h := ws.start(t, "", "-grace", grace.String())
	h.mustDeliver("orders", "evt-1")
	inFlight := r.next(t, 10*time.Second)

	// The receiver holds the step past the grace period: hub serve must
	// give up on it, keep its job, and still exit cleanly.
	if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.exited:
	case <-time.After(grace + 10*time.Second):
		t.Fatalf("hub serve still running %s after SIGTERM with -grace %s", grace+10*time.Second, grace)
	}
	if h.waitErr != nil {
		t.Fatalf("hub serve exited with %v after SIGTERM\n%s", h.waitErr, h.logTail())
	}
	if _, err := os.Stat(filepath.Join(ws.data, serveInfoFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve.json is still there after a clean exit: %v", err)
	}
	if !h.groupGone(5 * time.Second) {
		t.Errorf("plugin processes outlived a clean exit")
	}
	if _, abandoned := r.results(); len(abandoned) != 1 {
		t.Errorf("the step in flight was not cancelled at the end of the grace period (abandoned: %v)", abandoned)
	}

	r.Open()
	h = ws.start(t, "")
	run := h.waitRun("orders", "evt-1", 30*time.Second)
	if run.Status != runs.Succeeded {
		t.Fatalf("run after the restart is %s: %s", run.Status, run.Error)
	}
	if got := run.Steps[0].IdempotencyKey; got != inFlight.key {
		t.Errorf("idempotency key %s after the restart, %s before", got, inFlight.key)
	}
	effective, _ := r.results()
	if len(effective) != 1 || effective[0].key != inFlight.key {
		t.Errorf("effective deliveries %+v, want one with key %s", effective, inFlight.key)
	}
}
