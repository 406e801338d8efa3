package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hubhq/hub/host/runs"
)

// These helpers run hub serve as a real process over a workspace applied
// with the real CLI, and give the tests a sender, receivers and a feed to
// drive it with. Every process a test starts is in its own process group
// (hub serve and the plugins it launches), which cleanup kills whatever
// the test's outcome.

// serveWorkspace is a workspace applied for hub serve: its directory, its
// private plugin directory and its data directory.
type serveWorkspace struct {
	dir, plugins, data string
	starts             int
}

// appliedWorkspace writes src, installs the example connector, and runs
// hub init and hub apply -auto-approve against a fresh data directory.
func appliedWorkspace(t *testing.T, src string) *serveWorkspace {
	t.Helper()
	dir, plugins := workspace(t, src)
	// A data directory that does not exist yet: hub apply refuses an
	// empty existing one (see the report on loadApplied).
	ws := &serveWorkspace{dir: dir, plugins: plugins, data: filepath.Join(t.TempDir(), "data")}
	ws.mustCLI(t, "init", "-dir", dir)
	ws.mustCLI(t, "apply", "-dir", dir, "-data-dir", ws.data, "-auto-approve")
	return ws
}

// appliedAt is a workspace at dir that the test installed into plugins,
// initialised and applied itself, with hub's default data directory
// (dir/.hub/data): for tests that need more than appliedWorkspace does,
// such as secrets, variables or a second connector version.
func appliedAt(dir, plugins string) *serveWorkspace {
	return &serveWorkspace{dir: dir, plugins: plugins, data: filepath.Join(dir, ".hub", "data")}
}

// cli runs a hub command (not serve) with this workspace's plugin
// directory and no HUB_ settings of the caller's environment, bounded so
// that a hung command fails the test instead of hanging it.
func (ws *serveWorkspace) cli(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, hubBin, args...)
	cmd.Env = append(cleanEnv(), "HUB_PLUGIN_DIR="+ws.plugins)
	return runHub(t, cmd)
}

func (ws *serveWorkspace) mustCLI(t *testing.T, args ...string) result {
	t.Helper()
	return succeeded(t, ws.cli(t, args...), args)
}

// admin runs an admin command (status, runs, dlq, …) against the hub serve
// of this workspace's data directory, found through serve.json.
func (ws *serveWorkspace) admin(t *testing.T, args ...string) result {
	t.Helper()
	return ws.mustCLI(t, append(args, "-dir", ws.dir, "-data-dir", ws.data)...)
}

// served is a running hub serve process.
type served struct {
	t       *testing.T
	ws      *serveWorkspace
	cmd     *exec.Cmd
	pgid    int
	info    serveInfo
	key     string
	logPath string
	exited  chan struct{} // closed once the process has been waited for
	waitErr error         // set before exited is closed
}

// start runs hub serve on the workspace with extra flags and waits until
// it has written serve.json naming its own pid and answers /readyz. addr
// is the address to listen on; "" picks a free loopback port.
func (ws *serveWorkspace) start(t *testing.T, addr string, flags ...string) *served {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	infoPath := filepath.Join(ws.data, serveInfoFile)
	// A killed hub serve leaves its serve.json; it must not be taken for
	// the new one's.
	if err := os.Remove(infoPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	ws.starts++
	logPath := filepath.Join(ws.data, fmt.Sprintf("serve-%d.log", ws.starts))
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"serve", "-dir", ws.dir, "-data-dir", ws.data, "-addr", addr}, flags...)
	cmd := exec.Command(hubBin, args...)
	cmd.Env = append(cleanEnv(), "HUB_PLUGIN_DIR="+ws.plugins)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own group, so cleanup reaches the plugins too; and killed with
	// the test binary should that die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start hub serve: %v", err)
	}
	s := &served{t: t, ws: ws, cmd: cmd, pgid: cmd.Process.Pid, logPath: logPath, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.killGroup()
		if t.Failed() {
			t.Logf("%s", s.logTail())
		}
	})
	if err := s.waitReady(infoPath, 20*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, s.logTail())
	}
	key, err := os.ReadFile(filepath.Join(ws.data, apiKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	s.key = strings.TrimSpace(string(key))
	return s
}

func (s *served) waitReady(infoPath string, timeout time.Duration) error {
	deadline := time.After(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("hub serve exited before it was ready: %v", s.waitErr)
		case <-deadline:
			return fmt.Errorf("hub serve not ready within %s (serve.json: %+v)", timeout, s.info)
		case <-tick.C:
		}
		if s.info.URL == "" {
			b, err := os.ReadFile(infoPath)
			var info serveInfo
			if err != nil || json.Unmarshal(b, &info) != nil || info.URL == "" {
				continue // not written yet
			}
			if info.PID != s.cmd.Process.Pid {
				return fmt.Errorf("serve.json names pid %d, the hub serve started is %d", info.PID, s.cmd.Process.Pid)
			}
			s.info = info
		}
		resp, err := client.Get(s.info.URL + "/readyz")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
	}
}

// kill SIGKILLs hub serve alone, as a crash or the OOM killer would, waits
// for it, and checks that the plugins it launched die with it (the
// supervisor asks the kernel for that).
func (s *served) kill() {
	s.t.Helper()
	_ = s.cmd.Process.Kill()
	<-s.exited
	if !s.groupGone(5 * time.Second) {
		s.t.Errorf("plugin processes of hub serve (pid %d) outlived it by 5s", s.pgid)
		_ = syscall.Kill(-s.pgid, syscall.SIGKILL)
	}
}

// killGroup SIGKILLs hub serve's whole process group and waits for hub
// serve; cleanup calls it so that nothing outlives a test.
func (s *served) killGroup() {
	_ = syscall.Kill(-s.pgid, syscall.SIGKILL)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.t.Errorf("hub serve (pid %d) still running 10s after SIGKILL", s.pgid)
	}
	if !s.groupGone(5 * time.Second) {
		s.t.Errorf("processes of hub serve's group %d still alive after SIGKILL", s.pgid)
	}
}

// groupGone waits up to timeout for every process of hub serve's group to
// be dead. A dead plugin stays a zombie until whoever inherited it reaps
// it, which can take seconds; it counts as gone.
func (s *served) groupGone(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for len(liveInGroup(s.pgid)) > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// liveInGroup lists the processes of group pgid that are not zombies.
func liveInGroup(pgid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(f[2]); err == nil && g == pgid {
			out = append(out, pid)
		}
	}
	return out
}

// log is everything hub serve has written so far.
func (s *served) log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

func (s *served) logTail() string {
	b := s.log()
	const n = 6 << 10
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return "hub serve output (" + s.logPath + "):\n" + b
}

// plugins returns the pids of hub serve's child processes: the connector
// plugins it launched.
func (s *served) plugins() []int {
	files, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(s.cmd.Process.Pid), "task", "*", "children"))
	var out []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended meanwhile
		}
		for _, field := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(field); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// api calls the admin API and decodes a 2xx JSON answer into out (when
// not nil), failing the test otherwise.
func (s *served) api(method, path string, out any) {
	s.t.Helper()
	status, body := s.apiRaw(method, path)
	if status/100 != 2 {
		s.t.Fatalf("%s %s: %d %s", method, path, status, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, body, err)
		}
	}
}

func (s *served) apiRaw(method, path string) (int, []byte) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.info.URL+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return resp.StatusCode, body
}

// secret returns the signing secret of workflow's webhook.
func (s *served) secret(workflow string) string {
	s.t.Helper()
	var list struct {
		Webhooks []runs.Webhook `json:"webhooks"`
	}
	s.api("GET", "/v1/webhooks", &list)
	for _, w := range list.Webhooks {
		if w.Workflow == workflow && w.Secret != "" {
			return w.Secret
		}
	}
	s.t.Fatalf("no webhook with a secret for %s in %+v", workflow, list.Webhooks)
	return ""
}

// status is GET /v1/status.
func (s *served) status() *runs.HostStatus {
	s.t.Helper()
	var st runs.HostStatus
	s.api("GET", "/v1/status", &st)
	return &st
}

// runs lists workflow's runs (at most 1000, newest first).
func (s *served) runs(workflow string) []runs.Summary {
	s.t.Helper()
	var list struct {
		Runs []runs.Summary `json:"runs"`
	}
	s.api("GET", "/v1/runs?limit=1000&workflow="+workflow, &list)
	return list.Runs
}

func (s *served) run(id string) *runs.Run {
	s.t.Helper()
	var r runs.Run
	s.api("GET", "/v1/runs/"+id, &r)
	return &r
}

// waitFor polls cond every 50ms until it holds, failing the test with
// what after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !eventually(timeout, cond) {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}

// eventually polls cond every 50ms until it holds or timeout passes, and
// reports whether it held.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// waitDelivered waits until every id in want took effect at the sink,
// and otherwise fails the test naming what is missing and what the host
// holds for it.
func (s *served) waitDelivered(l *ledger, workflow string, want map[string]bool, timeout time.Duration) {
	s.t.Helper()
	missing := func() []string {
		eff := l.effective()
		var out []string
		for id := range want {
			if len(eff[id]) == 0 {
				out = append(out, id)
			}
		}
		sort.Strings(out)
		return out
	}
	if eventually(timeout, func() bool { return len(missing()) == 0 }) {
		return
	}
	m := missing()
	byEvent := map[string][]string{}
	for _, r := range s.runs(workflow) {
		byEvent[r.EventID] = append(byEvent[r.EventID], fmt.Sprintf("%s %s step=%s attempts=%d %s", r.ID, r.Status, r.Step, r.Attempts, r.Error))
	}
	var lines []string
	for _, id := range first(m) {
		lines = append(lines, fmt.Sprintf("  %s: runs %v", id, byEvent[id]))
	}
	st, _ := json.Marshal(s.status())
	s.t.Fatalf("after %s, %d of %d events never reached the sink:\n%s\nstatus: %s", timeout, len(m), len(want), strings.Join(lines, "\n"), st)
}

// waitRun waits until workflow has a run for event id whose status is
// not running, and returns it.
func (s *served) waitRun(workflow, eventID string, timeout time.Duration) *runs.Run {
	s.t.Helper()
	return s.waitRunWhere(workflow, eventID, timeout, "a finished run", func(st runs.Status) bool { return st != runs.Running })
}

// waitEvent waits up to 20s until workflow's run for event id has
// status, and returns it.
func (s *served) waitEvent(workflow, eventID string, status runs.Status) *runs.Run {
	s.t.Helper()
	return s.waitRunWhere(workflow, eventID, 20*time.Second, "a "+string(status)+" run", func(st runs.Status) bool { return st == status })
}

func (s *served) waitRunWhere(workflow, eventID string, timeout time.Duration, what string, ok func(runs.Status) bool) *runs.Run {
	s.t.Helper()
	var id string
	waitFor(s.t, timeout, what+" of "+workflow+" for event "+eventID, func() bool {
		for _, r := range s.runs(workflow) {
			if r.EventID == eventID && ok(r.Status) {
				id = r.ID
				return true
			}
		}
		return false
	})
	return s.run(id)
}

// sign is the example connector's webhook signature of body.
func sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// postWebhook sends one signed delivery and returns the answer's status.
func postWebhook(ctx context.Context, client *http.Client, url, secret string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", sign(body, secret))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// mustDeliver sends one signed webhook for event id and fails the test
// unless it is acknowledged with a 2xx.
func (s *served) mustDeliver(workflow, id string) {
	s.t.Helper()
	if status := s.deliver(workflow, s.secret(workflow), `{"id":"`+id+`"}`); status/100 != 2 {
		s.t.Fatalf("webhook %s for %s: %d", workflow, id, status)
	}
}

// deliver posts body to workflow's webhook, signed with secret, and
// returns the answer's status: 0, with the test marked failed, when
// there was no answer. Unlike mustDeliver it may be called from any
// goroutine.
func (s *served) deliver(workflow, secret, body string) int {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	status, err := postWebhook(ctx, http.DefaultClient, s.info.URL+"/webhooks/"+workflow, secret, []byte(body))
	if err != nil {
		s.t.Errorf("webhook %s: %v", workflow, err)
	}
	return status
}

// delivery is one request a receiver got.
type delivery struct {
	key     string // Idempotency-Key
	attempt string // X-Hub-Attempt
	id      string // the body's "id"
}

func bodyID(body []byte) string {
	var b struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &b)
	return b.ID
}

// ledger records a receiver's deliveries that were answered 2xx, by
// idempotency key, for the sink's OnDeliver. The first 2xx of a key is the
// one a receiver honouring Idempotency-Key applies; later ones are replays
// of the same step (a crash between the answer and the commit), not new
// effects.
//
// The ledger also knows which host lifetime (epoch) each answer fell in:
// a step may be replayed after its host died between the receiver's
// answer and the commit of the outcome, but a host that did not die must
// never apply a key twice.
type ledger struct {
	mu     sync.Mutex
	keyID  map[string]string // key → body id of its first 2xx
	hits   map[string]int    // key → 2xx answers
	clash  []string          // keys seen with two different bodies
	epoch  int
	epochs map[string]map[int]int // key → epoch → 2xx answers in it
}

func newLedger() *ledger {
	return &ledger{keyID: map[string]string{}, hits: map[string]int{}, epochs: map[string]map[int]int{}}
}

// newEpoch is called after a host was killed and before the next starts.
func (l *ledger) newEpoch() {
	l.mu.Lock()
	l.epoch++
	l.mu.Unlock()
}

func (l *ledger) record(key string, body []byte, _ time.Time) {
	id := bodyID(body)
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, ok := l.keyID[key]; ok && prev != id {
		l.clash = append(l.clash, fmt.Sprintf("key %s carried %q then %q", key, prev, id))
	}
	if _, ok := l.keyID[key]; !ok {
		l.keyID[key] = id
	}
	l.hits[key]++
	if l.epochs[key] == nil {
		l.epochs[key] = map[int]int{}
	}
	l.epochs[key][l.epoch]++
}

// effective returns, by body id, the idempotency keys that took effect.
func (l *ledger) effective() map[string][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string][]string{}
	for k, id := range l.keyID {
		out[id] = append(out[id], k)
	}
	return out
}

// replays is how many 2xx answers repeated a key already applied.
func (l *ledger) replays() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, h := range l.hits {
		n += h - 1
	}
	return n
}

// checkExactlyOnce fails the test unless every id in want took effect
// through exactly one idempotency key and nothing else did.
func (l *ledger) checkExactlyOnce(t *testing.T, want map[string]bool) {
	t.Helper()
	eff := l.effective()
	var missing, twice, extra []string
	for id := range want {
		switch n := len(eff[id]); {
		case n == 0:
			missing = append(missing, id)
		case n > 1:
			twice = append(twice, fmt.Sprintf("%s (keys %v)", id, eff[id]))
		}
	}
	keys := 0
	for id, ks := range eff {
		keys += len(ks)
		if !want[id] {
			extra = append(extra, id)
		}
	}
	l.mu.Lock()
	clash := l.clash
	var again []string
	for k, byEpoch := range l.epochs {
		for ep, n := range byEpoch {
			if n > 1 {
				again = append(again, fmt.Sprintf("%s (event %s) %d times by host %d", k, l.keyID[k], n, ep+1))
			}
		}
	}
	l.mu.Unlock()
	if len(again) > 0 {
		t.Errorf("%d keys applied more than once by one host, with no crash in between: %v", len(again), first(again))
	}
	if len(missing)+len(twice)+len(extra)+len(clash) > 0 {
		t.Errorf("deliveries: %d missing %v; %d took effect under two keys %v; %d unexpected %v; key clashes %v",
			len(missing), first(missing), len(twice), first(twice), len(extra), first(extra), clash)
	}
	if keys != len(want) {
		t.Errorf("%d distinct idempotency keys took effect for %d distinct events", keys, len(want))
	}
}

func first(s []string) []string { return s[:min(len(s), 10)] }

// slowReceiver is a third party whose answers wait until it is opened:
// a request that arrives while it is closed is held (an action in
// flight) until Open, or until the client goes away, in which case it
// is abandoned and took no effect.
type slowReceiver struct {
	srv     *httptest.Server
	arrived chan delivery // every request, as it arrives

	mu        sync.Mutex
	gate      chan struct{}
	effective []delivery
	abandoned []delivery
}

func newSlowReceiver(t *testing.T) *slowReceiver {
	r := &slowReceiver{arrived: make(chan delivery, 100), gate: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() {
		r.Open()
		r.srv.Close()
	})
	return r
}

func (r *slowReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	d := delivery{key: req.Header.Get("Idempotency-Key"), attempt: req.Header.Get("X-Hub-Attempt"), id: bodyID(body)}
	select {
	case r.arrived <- d:
	default:
	}
	r.mu.Lock()
	gate := r.gate
	r.mu.Unlock()
	select {
	case <-gate:
	case <-req.Context().Done():
		r.mu.Lock()
		r.abandoned = append(r.abandoned, d)
		r.mu.Unlock()
		return
	}
	r.mu.Lock()
	r.effective = append(r.effective, d)
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// Open lets held and later requests through.
func (r *slowReceiver) Open() {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.gate:
	default:
		close(r.gate)
	}
}

// next waits for the next request to arrive.
func (r *slowReceiver) next(t *testing.T, timeout time.Duration) delivery {
	t.Helper()
	select {
	case d := <-r.arrived:
		return d
	case <-time.After(timeout):
		t.Fatalf("no request reached the receiver within %s", timeout)
		return delivery{}
	}
}

func (r *slowReceiver) results() (effective, abandoned []delivery) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.effective...), append([]delivery(nil), r.abandoned...)
}

// feed is a third-party feed for the example connector's feed trigger:
// records rec-1 … rec-n, appended by the test, served after a numeric
// cursor. While failing it answers 503.
type feed struct {
	srv *httptest.Server

	mu      sync.Mutex
	n       int
	failing bool
}

func newFeed(t *testing.T) *feed {
	f := &feed{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *feed) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing {
		http.Error(w, "feed: injected 503", http.StatusServiceUnavailable)
		return
	}
	after, _ := strconv.Atoi(r.URL.Query().Get("after"))
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 {
		http.Error(w, "feed: bad limit", http.StatusBadRequest)
		return
	}
	items := []map[string]any{}
	last := after
	for seq := after + 1; seq <= f.n && len(items) < limit; seq++ {
		items = append(items, map[string]any{"id": recordID(seq), "seq": seq})
		last = seq
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"items": items, "next": strconv.Itoa(last), "has_more": last < f.n})
}

func recordID(seq int) string { return "rec-" + strconv.Itoa(seq) }

// add appends n records.
func (f *feed) add(n int) {
	f.mu.Lock()
	f.n += n
	f.mu.Unlock()
}

func (f *feed) setFailing(v bool) {
	f.mu.Lock()
	f.failing = v
	f.mu.Unlock()
}

// records is every record id served so far.
func (f *feed) records() map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]bool{}
	for seq := 1; seq <= f.n; seq++ {
		out[recordID(seq)] = true
	}
	return out
}
