package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hubhq/hub/host/runs"
)

// host is a hub serve started by a test.
type host struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	key    string
	stderr *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startHost starts hub serve on dir's applied workspace and waits until
// it is ready. The process is killed when the test ends.
func startHost(t *testing.T, dir, plugins string, args ...string) *host {
	t.Helper()
	dataDir := filepath.Join(dir, ".hub", "data")
	_ = os.Remove(filepath.Join(dataDir, "serve.json"))
	cmd := exec.Command(hubBin, append([]string{"serve", "-dir", dir, "-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "HUB_PLUGIN_DIR="+plugins)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	h := &host{t: t, cmd: cmd, stderr: &syncBuffer{}}
	cmd.Stderr = h.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The whole group: the host and the plugins it started.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(filepath.Join(dataDir, "serve.json"))
		if err == nil {
			var info serveInfo
			if json.Unmarshal(b, &info) == nil && info.PID == cmd.Process.Pid {
				h.url = info.URL
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if h.url == "" {
		t.Fatalf("hub serve did not start:\n%s", h.stderr)
	}
	key, err := os.ReadFile(filepath.Join(dataDir, "api-key"))
	if err != nil {
		t.Fatal(err)
	}
	h.key = strings.TrimSpace(string(key))
	return h
}

// get decodes GET path of the admin API into out.
func (h *host) get(path string, out any) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+h.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("GET %s: %s: %s", path, resp.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		h.t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

// deliver posts a signed delivery to workflow's webhook.
func (h *host) deliver(workflow, secret, body string) int {
	h.t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	req, _ := http.NewRequest("POST", h.url+"/webhooks/"+workflow, strings.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (h *host) secret(workflow string) string {
	h.t.Helper()
	var list struct{ Webhooks []runs.Webhook }
	h.get("/v1/webhooks", &list)
	for _, w := range list.Webhooks {
		if w.Workflow == workflow {
			return w.Secret
		}
	}
	h.t.Fatalf("no webhook for %s in %+v", workflow, list)
	return ""
}

// waitEvent waits until the run of workflow started by event id has
// status.
func (h *host) waitEvent(workflow, id string, status runs.Status) *runs.Run {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var list struct{ Runs []runs.Summary }
		h.get("/v1/runs?limit=1000&workflow="+workflow, &list)
		for _, s := range list.Runs {
			if s.EventID == id {
				return h.waitRun(s.ID, status)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("no run of %s for event %s\nhost log:\n%s", workflow, id, h.stderr)
	return nil
}

// waitRun waits until run id has status.
func (h *host) waitRun(id string, status runs.Status) *runs.Run {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var r runs.Run
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", h.url+"/v1/runs/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+h.key)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && json.Unmarshal(b, &r) == nil && r.Status == status {
				return &r
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("run %s did not reach %s (last: %+v)\nhost log:\n%s", id, status, r, h.stderr)
	return nil
}

const versionMoveWorkspace = `
hub {
  required_connectors {
    example = { source = "hub/example", version = "%s" }
  }
}

connection "demo" {
  connector = "example"
}

workflow "orders" {
  trigger "demo" "incoming" {
    mode = "webhook"
  }
  action "ship" {
    connection = "demo"
    action     = "deliver"
    input      = { url = "%s", body = { id = event.id } }
  }
  action "confirm" {
    connection = "demo"
    action     = "echo"
    input      = { message = "done ${event.id}" }
  }
}

workflow "ticks" {
  trigger "demo" "tick" {
    mode     = "poll"
    interval = "100ms"
    config   = { count = 12 }
  }
  action "note" {
    connection = "demo"
    action     = "echo"
    input      = { message = "tick ${event.seq}" }
  }
}
`

// A running host takes hub apply through its API: a workflow moved from
// connector 1.0.0 to 2.0.0 starts new runs on 2.0.0 while a run already
// in flight finishes on 1.0.0, and the poll trigger keeps its cursor, so
// no event is polled again.
func TestServe_ApplyToARunningHostMovesVersionsWithoutLosingWork(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	first := make(chan struct{})
	sinkSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(readAll(r), `"a"`) {
			once.Do(func() { close(first) })
			<-release
		}
	}))
	defer sinkSrv.Close()

	dir, plugins := workspace(t, fmt.Sprintf(versionMoveWorkspace, "~> 1.0", sinkSrv.URL))
	mustHub(t, plugins, "connectors", "install", exampleV2Bin)
	mustHub(t, plugins, "init", "-dir", dir)
	mustHub(t, plugins, "apply", "-dir", dir, "-auto-approve")
	h := startHost(t, dir, plugins)

	// Run a: its first step blocks at the sink while the apply happens.
	secret := h.secret("orders")
	if code := h.deliver("orders", secret, `{"id":"a"}`); code/100 != 2 {
		t.Fatalf("delivery a: %d", code)
	}
	select {
	case <-first:
	case <-time.After(20 * time.Second):
		t.Fatalf("run a never reached the sink\n%s", h.stderr)
	}
	// Every tick is polled and run on 1.0.0 before the move.
	waitTicks := func() {
		deadline := time.Now().Add(20 * time.Second)
		for {
			var list struct{ Runs []runs.Summary }
			h.get("/v1/runs?workflow=ticks&status=succeeded&limit=100", &list)
			if len(list.Runs) == 12 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d tick runs succeeded, want 12\n%s", len(list.Runs), h.stderr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitTicks()

	// Move to 2.x through the running host.
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(fmt.Sprintf(versionMoveWorkspace, "~> 2.0", sinkSrv.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	mustHub(t, plugins, "init", "-upgrade", "-dir", dir)
	plan := mustHub(t, plugins, "plan", "-dir", dir)
	if !strings.Contains(plan.stdout, "2.0.0") {
		t.Fatalf("the plan does not show the version move:\n%s", plan.stdout)
	}
	mustHub(t, plugins, "apply", "-dir", dir, "-auto-approve")
	if !strings.Contains(h.stderr.String(), "applied") {
		t.Fatalf("the host did not take the apply:\n%s", h.stderr)
	}

	// A new run goes to 2.0.0; run a finishes on 1.0.0.
	if code := h.deliver("orders", secret, `{"id":"b"}`); code/100 != 2 {
		t.Fatalf("delivery b: %d", code)
	}
	b := h.waitEvent("orders", "b", runs.Succeeded)
	close(release)
	a := h.waitEvent("orders", "a", runs.Succeeded)
	version := func(r *runs.Run) string {
		var out struct {
			ConnectorVersion string `json:"connector_version"`
		}
		_ = json.Unmarshal(r.Steps[1].Output, &out)
		return out.ConnectorVersion
	}
	if got := version(a); got != "1.0.0" {
		t.Errorf("run a finished its last step on %q, want 1.0.0 (the version it started on)", got)
	}
	if got := version(b); got != "2.0.0" {
		t.Errorf("run b ran on %q, want 2.0.0", got)
	}

	// The poll trigger kept its cursor: nothing polled again, no new runs.
	time.Sleep(500 * time.Millisecond) // several poll intervals on 2.0.0
	waitTicks()
	resp, err := http.Get(h.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics := readBody(resp)
	if strings.Contains(metrics, `hub_events_duplicate_total{workflow="ticks"}`) {
		t.Errorf("ticks were polled again after the version move:\n%s", grepLines(metrics, "hub_events_"))
	}
	if !strings.Contains(h.stderr.String(), "cursor migrated") {
		t.Errorf("the cursor was not migrated to 2.0.0:\n%s", h.stderr)
	}
}

func readAll(r *http.Request) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func readBody(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// hub connections test checks a connection's credentials through the
// connector, with a running host and without one; list shows the
// running host's view.
func TestConnections_TestAndList(t *testing.T) {
	dir, plugins := workspace(t, helloWorkspace)
	mustHub(t, plugins, "init", "-dir", dir)
	mustHub(t, plugins, "apply", "-dir", dir, "-auto-approve")

	offline := mustHub(t, plugins, "connections", "test", "-dir", dir, "-plugin-dir", plugins, "demo")
	if !strings.Contains(offline.stdout, "Connection demo works") {
		t.Fatalf("offline test: %s", offline.stdout)
	}
	startHost(t, dir, plugins)
	online := mustHub(t, plugins, "connections", "test", "-dir", dir, "demo")
	if !strings.Contains(online.stdout, "Connection demo works") {
		t.Fatalf("test through the host: %s", online.stdout)
	}
	list := mustHub(t, plugins, "connections", "list", "-dir", dir)
	if !strings.Contains(list.stdout, "demo") || !strings.Contains(list.stdout, "hub/example@1.0.0") {
		t.Fatalf("list: %s", list.stdout)
	}
	r := hub(t, plugins, "connections", "test", "-dir", dir, "nope")
	if r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("unknown connection: exit %d: %s", r.code, r.stderr)
	}
}

// A workspace that does not validate is refused, by hub apply and by the
// host itself, and the running host goes on with what it had.
func TestServe_InvalidApplyLeavesTheRunningHostAsItWas(t *testing.T) {
	dir, plugins := workspace(t, fmt.Sprintf(versionMoveWorkspace, "~> 1.0", "http://127.0.0.1:1/unused"))
	mustHub(t, plugins, "init", "-dir", dir)
	mustHub(t, plugins, "apply", "-dir", dir, "-auto-approve")
	h := startHost(t, dir, plugins)
	var before struct {
		State  json.RawMessage
		SHA256 string
	}
	h.get("/v1/state", &before)

	// The CLI refuses it before the host sees it.
	good, _ := os.ReadFile(filepath.Join(dir, "main.hcl"))
	bad := strings.Replace(string(good), `action     = "echo"`, `action     = "no_such_action"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	r := hub(t, plugins, "apply", "-dir", dir, "-auto-approve")
	if r.code == 0 || !strings.Contains(r.stderr, "no_such_action") {
		t.Fatalf("apply of an invalid workspace: exit %d\n%s", r.code, r.stderr)
	}

	// The host refuses it too when a client sends it anyway: 422, and
	// the applied state is unchanged.
	lock, err := os.ReadFile(filepath.Join(dir, "hub.lock.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	src, _ := json.Marshal(map[string]any{"files": map[string]string{"main.hcl": bad, "hub.lock.hcl": string(lock)}})
	body, _ := json.Marshal(map[string]any{"source": json.RawMessage(src), "state": before.State, "applied_sha256": before.SHA256})
	req, _ := http.NewRequest("POST", h.url+"/v1/apply", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+h.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer := readBody(resp)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(answer, "no_such_action") {
		t.Fatalf("host took an invalid workspace: %d %s", resp.StatusCode, answer)
	}
	var after struct {
		State  json.RawMessage
		SHA256 string
	}
	h.get("/v1/state", &after)
	if after.SHA256 != before.SHA256 {
		t.Fatal("the applied state changed after a refused apply")
	}
	// And it still works.
	if code := h.deliver("orders", h.secret("orders"), `{"id":"still-up"}`); code/100 != 2 {
		t.Fatalf("delivery after a refused apply: %d", code)
	}
	if resp, err := http.Get(h.url + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("host not ready after a refused apply: %v", err)
	}
}
