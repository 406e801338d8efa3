package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/host/runs"
)

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

workflow "stream_ticks" {
  trigger "demo" "ticks" {
    mode   = "stream"
    config = { count = 12, interval_ms = 20, batch_size = 2 }
  }
  action "note" {
    connection = "demo"
    action     = "echo"
    input      = { message = "streamed tick ${event.seq}" }
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
	h := appliedAt(dir, plugins).start(t, "")

	// Run a: its first step blocks at the sink while the apply happens.
	secret := h.secret("orders")
	if code := h.deliver("orders", secret, `{"id":"a"}`); code/100 != 2 {
		t.Fatalf("delivery a: %d", code)
	}
	select {
	case <-first:
	case <-time.After(20 * time.Second):
		t.Fatal("run a never reached the sink")
	}
	// Every tick is polled, and streamed, and run on 1.0.0 before the
	// move.
	waitTicks := func() {
		for _, wf := range []string{"ticks", "stream_ticks"} {
			waitFor(t, 20*time.Second, "12 succeeded runs of "+wf, func() bool {
				var list struct{ Runs []runs.Summary }
				h.api("GET", "/v1/runs?workflow="+wf+"&status=succeeded&limit=100", &list)
				return len(list.Runs) == 12
			})
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
	if !strings.Contains(h.log(), "applied") {
		t.Fatal("the host did not take the apply")
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
	resp, err := http.Get(h.info.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics := readBody(resp)
	for _, wf := range []string{"ticks", "stream_ticks"} {
		if strings.Contains(metrics, `hub_events_duplicate_total{workflow="`+wf+`"}`) {
			t.Errorf("%s were delivered again after the version move:\n%s", wf, grepLines(metrics, "hub_events_"))
		}
		if !strings.Contains(grepLines(h.log(), "cursor migrated"), "workflow="+wf) {
			t.Errorf("the cursor of %s was not migrated to 2.0.0:\n%s", wf, grepLines(h.log(), "migrat"))
		}
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
	appliedAt(dir, plugins).start(t, "")
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
	h := appliedAt(dir, plugins).start(t, "")
	var before struct {
		State  json.RawMessage
		SHA256 string
	}
	h.api("GET", "/v1/state", &before)

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
	req, _ := http.NewRequest("POST", h.info.URL+"/v1/apply", bytes.NewReader(body))
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
	h.api("GET", "/v1/state", &after)
	if after.SHA256 != before.SHA256 {
		t.Fatal("the applied state changed after a refused apply")
	}
	// And it still works.
	if code := h.deliver("orders", h.secret("orders"), `{"id":"still-up"}`); code/100 != 2 {
		t.Fatalf("delivery after a refused apply: %d", code)
	}
	if resp, err := http.Get(h.info.URL + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("host not ready after a refused apply: %v", err)
	}
}
