package supervisor_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/host/supervisor"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/wire"
)

// bins maps a test plugin's name to its binary, built once in TestMain.
var bins = map[string]string{}

// plugins are the test plugins under testdata, by name.
var plugins = map[string]string{
	"greeter-v1":  "./testdata/greeter/v1",
	"greeter-v2":  "./testdata/greeter/v2",
	"exitatstart": "./testdata/exitatstart",
	"hang":        "./testdata/hang",
	"protov2":     "./testdata/protov2",
	"bareecho":    "./testdata/bareecho",
	"wireecho":    "./testdata/wireecho",
	"example":     "../../plugins/example",
}

func TestMain(m *testing.M) {
	if runtime.GOOS != "linux" {
		// The tests read /proc to prove that no process is left behind.
		fmt.Println("supervisor tests need Linux's /proc; skipping")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "hub-supervisor-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if err := buildPlugins(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildPlugins builds every test plugin, two at a time (the machine has
// two cores and a warm build cache).
func buildPlugins(dir string) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, 2)
	)
	for name, pkg := range plugins {
		out := filepath.Join(dir, name)
		bins[name] = out
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("build %s: %v\n%s", pkg, err, b))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// install puts a test plugin into a fresh plugin directory.
func install(t *testing.T, plugin, source, version string) registry.Installed {
	t.Helper()
	return installInto(t, t.TempDir(), plugin, source, version)
}

func installInto(t *testing.T, dir, plugin, source, version string) registry.Installed {
	t.Helper()
	inst, err := registry.Install(dir, bins[plugin], source, version)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// newSupervisor returns a supervisor that is closed when the test ends,
// after which the test process must have no child left.
func newSupervisor(t *testing.T, opts supervisor.Options) *supervisor.Supervisor {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = hclog.New(&hclog.LoggerOptions{Name: "hub", Level: hclog.Warn, Output: testWriter{t}})
	}
	s := supervisor.New(opts)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		assertNoChildren(t)
	})
	return s
}

// testWriter sends log output to the test log, shown on failure or -v.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// children lists the processes whose parent is this test process,
// zombies included: a zombie is a child nobody reaped.
func children(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited while we looked
		}
		// The command name is in parentheses and may contain spaces;
		// state and parent PID follow its closing parenthesis.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 {
			if ppid, _ := strconv.Atoi(fields[1]); ppid == self {
				out = append(out, pid)
			}
		}
	}
	return out
}

func assertNoChildren(t *testing.T) {
	t.Helper()
	if pids := children(t); len(pids) > 0 {
		t.Errorf("child processes left behind: %v", pids)
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func processGone(pid int) bool {
	_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid)))
	return errors.Is(err, os.ErrNotExist)
}

func execute(ctx context.Context, c wire.Connector, action string, input any) (map[string]any, error) {
	in, err := json.Marshal(input)
	if err != nil {
		return nil, err
	}
	out, err := c.ExecuteAction(ctx, wire.ActionRequest{Action: action, Input: in, Attempt: 1})
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("output %s: %w", out, err)
	}
	return m, nil
}

func greet(t *testing.T, c wire.Connector, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := execute(ctx, c, "greet", map[string]string{"name": name})
	if err != nil {
		t.Fatalf("greet: %v", err)
	}
	g, _ := out["greeting"].(string)
	return g
}

func statusOf(t *testing.T, s *supervisor.Supervisor, inst registry.Installed) supervisor.Status {
	t.Helper()
	for _, st := range s.Status() {
		if st.Installed.Source == inst.Source && st.Installed.Version.Equal(inst.Version) {
			return st
		}
	}
	t.Fatalf("no status for %s", inst)
	return supervisor.Status{}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wantFault checks an error's kind and that its message contains want.
func wantFault(t *testing.T, err error, kind fault.Kind, want string) *fault.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("call succeeded; want a %s error containing %q", kind, want)
	}
	t.Logf("error: %v", err)
	fe := fault.As(err)
	if fe.Kind != kind || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %q (kind %s)\nwant kind %s containing %q", err, fe.Kind, kind, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error is not one line: %q", err)
	}
	return fe
}

func TestConnector_StartsOnFirstCallAndSharesOneProcess(t *testing.T) {
	inst := install(t, "greeter-v1", "hub/greeter", "1.0.0")
	s := newSupervisor(t, supervisor.Options{})
	a, b := s.Connector(inst), s.Connector(inst)

	if st := statusOf(t, s, inst); st.Running || st.PID != 0 || len(children(t)) != 0 {
		t.Fatalf("a process started before the first call: %+v", st)
	}
	if got := greet(t, a, "ada"); got != "hello, ada" {
		t.Fatalf("greet = %q", got)
	}
	if got := greet(t, b, "bob"); got != "hello, bob" {
		t.Fatalf("greet = %q", got)
	}
	st := statusOf(t, s, inst)
	if !st.Running || st.PID == 0 || st.Protocol != wire.ProtocolVersion || st.StartedAt.IsZero() || st.Restarts != 0 {
		t.Fatalf("status = %+v", st)
	}
	out, err := execute(context.Background(), b, "pid", nil)
	if err != nil {
		t.Fatal(err)
	}
	if pid, _ := out["pid"].(float64); int(pid) != st.PID {
		t.Fatalf("handle b reached pid %v, status says %d", out["pid"], st.PID)
	}
	if kids := children(t); len(kids) != 1 || kids[0] != st.PID {
		t.Fatalf("children = %v, want just %d", kids, st.PID)
	}
	sch, err := a.Schema(context.Background())
	if err != nil || sch.Name != "greeter" || sch.Version != "1.0.0" {
		t.Fatalf("Schema = %+v, %v", sch, err)
	}
}

func TestLaunch_ChecksumMismatchIsRefused(t *testing.T) {
	inst := install(t, "greeter-v1", "hub/greeter", "1.0.0")
	// Tamper with the binary after install: still a working plugin, but
	// not the one whose checksum was recorded.
	f, err := os.OpenFile(inst.Path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("tampered"))
	f.Close()

	s := newSupervisor(t, supervisor.Options{})
	c := s.Connector(inst)
	_, err = execute(context.Background(), c, "greet", nil)
	want := "checksum of " + inst.Path + " does not match SHA256SUMS: the binary changed after install; reinstall it"
	wantFault(t, err, fault.Permanent, want)
	assertNoChildren(t)

	// The next call gets the same answer at once, without a new launch.
	start := time.Now()
	_, err = execute(context.Background(), c, "greet", nil)
	wantFault(t, err, fault.Permanent, want)
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("second call took %s; a known-bad binary should fail at once", d)
	}
	if st := statusOf(t, s, inst); st.Running || !strings.Contains(st.LastError, "does not match SHA256SUMS") {
		t.Fatalf("status = %+v", st)
	}
}

func TestLaunch_NotExecutableIsRefused(t *testing.T) {
	inst := install(t, "greeter-v1", "hub/greeter", "1.0.0")
	if err := os.Chmod(inst.Path, 0o644); err != nil {
		t.Fatal(err)
	}
	s := newSupervisor(t, supervisor.Options{})
	_, err := execute(context.Background(), s.Connector(inst), "greet", nil)
	wantFault(t, err, fault.Permanent, inst.Path+" is not executable; reinstall with: hub connectors install PATH --source hub/greeter")
	assertNoChildren(t)
}

func TestLaunch_PluginThatExitsAtStartIsReported(t *testing.T) {
	inst := install(t, "exitatstart", "hub/broken", "1.0.0")
	// A long backoff keeps the supervisor from relaunching while the test
	// looks for leftover processes.
	s := newSupervisor(t, supervisor.Options{MinBackoff: time.Minute, MaxBackoff: time.Minute})
	_, err := execute(context.Background(), s.Connector(inst), "greet", nil)
	fe := wantFault(t, err, fault.Retryable, "launch hub/broken 1.0.0: the plugin exited at start (exit status 3) before the plugin handshake")
	if !strings.Contains(err.Error(), "required setting GREETER_TOKEN is missing") {
		t.Fatalf("error does not show the plugin's last output: %v", err)
	}
	if fe.RetryAfter < 29*time.Second {
		t.Fatalf("RetryAfter = %s, want the backoff", fe.RetryAfter)
	}
	assertNoChildren(t)
}

func TestLaunch_HandshakeHangTimesOut(t *testing.T) {
	inst := install(t, "hang", "hub/hang", "1.0.0")
	s := newSupervisor(t, supervisor.Options{StartTimeout: 300 * time.Millisecond, MinBackoff: time.Minute, MaxBackoff: time.Minute})
	start := time.Now()
	_, err := execute(context.Background(), s.Connector(inst), "greet", nil)
	wantFault(t, err, fault.Retryable, "launch hub/hang 1.0.0: no plugin handshake within 300ms, so it was stopped")
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the hanging launch took %s", d)
	}
	assertNoChildren(t)
}

func TestLaunch_OtherProtocolVersionIsRefused(t *testing.T) {
	inst := install(t, "protov2", "hub/future", "1.0.0")
	s := newSupervisor(t, supervisor.Options{})
	_, err := execute(context.Background(), s.Connector(inst), "greet", nil)
	wantFault(t, err, fault.Permanent, "hub/future 1.0.0 speaks plugin protocol 2 but this hub speaks 1; install a version built with the v1 SDK")
	assertNoChildren(t)
}

func TestSupervise_KilledPluginFailsInFlightCallAndIsRelaunched(t *testing.T) {
	inst := install(t, "greeter-v1", "hub/greeter", "1.0.0")
	s := newSupervisor(t, supervisor.Options{MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second})
	c := s.Connector(inst)
	greet(t, c, "before")
	old := statusOf(t, s, inst).PID

	started := filepath.Join(t.TempDir(), "started")
	done := make(chan error, 1)
	go func() {
		_, err := execute(context.Background(), c, "slow", map[string]string{"started": started, "for": "30s"})
		done <- err
	}()
	waitFor(t, "the slow call to start", func() bool { _, err := os.Stat(started); return err == nil })
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}

	select {
	case err := <-done:
		wantFault(t, err, fault.Retryable, "connector unavailable")
	case <-time.After(10 * time.Second):
		t.Fatal("the call in flight did not fail when its plugin was killed")
	}
	waitFor(t, "the relaunch", func() bool {
		st := statusOf(t, s, inst)
		return st.Running && st.PID != old
	})
	st := statusOf(t, s, inst)
	if st.Restarts != 1 || !strings.Contains(st.LastError, "signal: killed") {
		t.Fatalf("status after relaunch = %+v", st)
	}
	if got := greet(t, c, "after"); got != "hello, after" {
		t.Fatalf("greet after relaunch = %q", got)
	}
	if !processGone(old) {
		t.Fatalf("killed plugin %d was not reaped", old)
	}
	if kids := children(t); len(kids) != 1 || kids[0] != st.PID {
		t.Fatalf("children = %v, want just %d", kids, st.PID)
	}
}

func TestSupervise_CallsWhileDownWaitForRelaunchOrGetRetryAfter(t *testing.T) {
	inst := install(t, "greeter-v1", "hub/greeter", "1.0.0")
	s := newSupervisor(t, supervisor.Options{MinBackoff: 400 * time.Millisecond, MaxBackoff: 400 * time.Millisecond})
	c := s.Connector(inst)
	greet(t, c, "before")
	old := statusOf(t, s, inst).PID
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the supervisor to notice the exit", func() bool { return !statusOf(t, s, inst).Running })

	// A call whose deadline ends before the relaunch is told when to come back.
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := execute(short, c, "greet", nil)
	fe := wantFault(t, err, fault.Retryable, fmt.Sprintf("hub/greeter 1.0.0 (pid %d) exited unexpectedly (signal: killed)", old))
	if fe.RetryAfter <= 0 || fe.RetryAfter > 400*time.Millisecond {
		t.Fatalf("RetryAfter = %s", fe.RetryAfter)
	}

	// A call that can wait gets the relaunched plugin.
	if got := greet(t, c, "patient"); got != "hello, patient" {
		t.Fatalf("greet = %q", got)
	}
	if st := statusOf(t, s, inst); st.PID == old || st.Restarts != 1 {
		t.Fatalf("status = %+v", st)
	}
}

// lockedBuffer is a log destination that tests read while plugins write.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLogs_PluginLinesCarryConnectorAndVersion(t *testing.T) {
	inst := install(t, "greeter-v1", "hub/greeter", "1.0.0")
	var out lockedBuffer
	s := newSupervisor(t, supervisor.Options{
		Logger: hclog.New(&hclog.LoggerOptions{Name: "hub", Level: hclog.Info, JSONFormat: true, Output: &out}),
	})
	if _, err := execute(context.Background(), s.Connector(inst), "log", map[string]string{"name": "ada"}); err != nil {
		t.Fatal(err)
	}
	// Close waits for go-plugin to forward everything the plugin wrote.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("host log line is not JSON: %q", sc.Text())
		}
		if line["@message"] != "greeting someone" {
			continue
		}
		if line["connector"] != "hub/greeter" || line["version"] != "1.0.0" || line["name"] != "ada" || line["@level"] != "info" {
			t.Fatalf("plugin line lacks its tags: %s", sc.Text())
		}
		return
	}
	t.Fatalf("the plugin's log line is not in the host's log:\n%s", out.String())
}

func TestClose_StopsEveryPluginAndLeavesNoProcess(t *testing.T) {
	dir := t.TempDir()
	v1 := installInto(t, dir, "greeter-v1", "hub/greeter", "1.0.0")
	v2 := installInto(t, dir, "greeter-v2", "hub/greeter", "2.0.0")
	s := supervisor.New(supervisor.Options{})
	c1, c2 := s.Connector(v1), s.Connector(v2)
	greet(t, c1, "x")
	greet(t, c2, "x")
	var pids []int
	for _, st := range s.Status() {
		pids = append(pids, st.PID)
	}
	if len(pids) != 2 || pids[0] == 0 || pids[1] == 0 {
		t.Fatalf("pids = %v", pids)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if !processGone(pid) {
			t.Errorf("plugin %d still exists after Close", pid)
		}
	}
	assertNoChildren(t)
	for _, st := range s.Status() {
		if st.Running || st.PID != 0 {
			t.Errorf("status after Close = %+v", st)
		}
	}
	_, err := execute(context.Background(), c1, "greet", nil)
	wantFault(t, err, fault.Retryable, "hub/greeter 1.0.0: the connector supervisor is shut down")
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	assertNoChildren(t)
}

// The requirement: two versions of one connector, with different
// behaviour, resolved by constraint and called concurrently from one host.
func TestSideBySide_TwoVersionsServeTheirOwnBehaviourConcurrently(t *testing.T) {
	dir := t.TempDir()
	installInto(t, dir, "greeter-v1", "hub/greeter", "1.0.0")
	installInto(t, dir, "greeter-v2", "hub/greeter", "2.0.0")
	all, problems, err := registry.Discover(dir)
	if err != nil || len(problems) != 0 {
		t.Fatalf("Discover: %v %v", err, problems)
	}
	v1, err := registry.Resolve(all, "greeter", "~> 1.0")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := registry.Resolve(all, "hub/greeter", ">= 2.0")
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version.String() != "1.0.0" || v2.Version.String() != "2.0.0" {
		t.Fatalf("resolved %s and %s", v1, v2)
	}

	s := newSupervisor(t, supervisor.Options{})
	handles := []wire.Connector{s.Connector(v1), s.Connector(v2)}
	const workers, calls = 32, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*calls)
	for w := range workers {
		wg.Go(func() {
			for i := range calls {
				ver := (w + i) % 2 // alternate versions
				name := fmt.Sprintf("w%dc%d", w, i)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				out, err := execute(ctx, handles[ver], "greet", map[string]string{"name": name})
				cancel()
				if err != nil {
					errs <- fmt.Errorf("v%d %s: %w", ver+1, name, err)
					continue
				}
				if err := checkGreeting(ver+1, name, out); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	sts := s.Status()
	if len(sts) != 2 || !sts[0].Running || !sts[1].Running || sts[0].PID == sts[1].PID ||
		sts[0].Installed.Version.String() != "1.0.0" || sts[1].Installed.Version.String() != "2.0.0" {
		t.Fatalf("want two running processes, one per version: %+v", sts)
	}
	if kids := children(t); len(kids) != 2 {
		t.Fatalf("children = %v, want one per version", kids)
	}
}

// checkGreeting checks that a greeting has the output shape of its version.
func checkGreeting(ver int, name string, out map[string]any) error {
	switch ver {
	case 1:
		if out["greeting"] != "hello, "+name || len(out) != 1 {
			return fmt.Errorf("v1 %s: got %v", name, out)
		}
	case 2:
		msg, _ := out["message"].(map[string]any)
		if msg == nil || msg["text"] != "Hello, "+strings.ToUpper(name)+"!" || msg["version"] != float64(2) || len(out) != 1 {
			return fmt.Errorf("v2 %s: got %v", name, out)
		}
	}
	return nil
}

func TestLaunch_RepairedBinaryIsLaunchedAfterTheBackoff(t *testing.T) {
	inst := install(t, "greeter-v1", "hub/greeter", "1.0.0")
	good, err := os.ReadFile(inst.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inst.Path, append(good, "tampered"...), 0o755); err != nil {
		t.Fatal(err)
	}
	s := newSupervisor(t, supervisor.Options{MinBackoff: 100 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	c := s.Connector(inst)
	_, err = execute(context.Background(), c, "greet", nil)
	wantFault(t, err, fault.Permanent, "does not match SHA256SUMS")

	// Put the installed binary back: once the backoff has passed, the
	// next call launches it, without restarting the host.
	if err := os.WriteFile(inst.Path, good, 0o755); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	if got := greet(t, c, "again"); got != "hello, again" {
		t.Fatalf("greet = %q", got)
	}
}

func TestHandle_CallGivesUpWaitingForALaunchAtItsDeadline(t *testing.T) {
	inst := install(t, "hang", "hub/hang", "1.0.0")
	s := newSupervisor(t, supervisor.Options{StartTimeout: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := execute(ctx, s.Connector(inst), "greet", nil)
	wantFault(t, err, fault.Retryable, "hub/hang 1.0.0 is starting; gave up waiting: context deadline exceeded")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error does not wrap the context's: %v", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("call waited %s past its 100ms deadline", d)
	}
}
