package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hubhq/hub/host/runs"
)

// sandboxStream is examples/stream installed, initialised and applied
// against sb, with the warehouse's token as a secret.
func sandboxStream(t *testing.T, sb *sandboxProc) *serveWorkspace {
	t.Helper()
	dir, plugins := t.TempDir(), t.TempDir()
	src, err := os.ReadFile("../../examples/stream/main.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bin := range buildCommerceConnectors(t) {
		mustHub(t, plugins, "connectors", "install", bin)
	}
	mustHub(t, plugins, "connectors", "install", exampleBin)
	mustHub(t, plugins, "init", "-dir", dir)
	mustHubSecrets(t, "wh_sandbox_token\n", nil, "secrets", "set", "-dir", dir, "warehouse_token")
	mustHub(t, plugins, "apply", "-dir", dir, "-auto-approve", "-var", "sandbox_url="+sb.base())
	return appliedAt(dir, plugins)
}

// The stream example against the sandbox warehouse, with the real hub and
// connector binaries: stock changes arrive over the WebSocket stream, a
// dropped connection and a SIGKILL of the host lose and repeat nothing.
func TestStream_WarehouseEventsThroughTheSandbox(t *testing.T) {
	sb := startSandbox(t)
	ws := sandboxStream(t, sb)
	h := ws.start(t, "")

	stock := func(i int) {
		sb.call("POST", sb.apps["warehouse"].Control+"/stock", map[string]any{"sku": "IPOD2008GREEN", "qty": 100 + i}, nil, 204, nil)
	}
	count := func(h *served) map[string]int {
		seen := map[string]int{}
		for _, r := range h.runs("warehouse_events") {
			if r.Status == runs.Succeeded {
				seen[r.EventID]++
			}
		}
		return seen
	}
	waitRuns := func(h *served, n int) {
		t.Helper()
		var seen map[string]int
		if !eventually(20*time.Second, func() bool { seen = count(h); return len(seen) >= n }) {
			t.Fatalf("%d events ran, want %d", len(seen), n)
		}
	}
	for i := range 10 {
		stock(i)
	}
	waitRuns(h, 10)

	// The warehouse drops the connection without a close frame.
	sb.call("POST", sb.apps["warehouse"].Control+"/stream/drop", nil, nil, 204, nil)
	for i := 10; i < 20; i++ {
		stock(i)
	}
	waitRuns(h, 20)

	// SIGKILL the host; changes made while it is down arrive after.
	h.killGroup()
	for i := 20; i < 30; i++ {
		stock(i)
	}
	h2 := ws.start(t, "")
	waitRuns(h2, 30)
	time.Sleep(300 * time.Millisecond) // a few stream messages' time: nothing more may arrive
	seen := count(h2)
	if len(seen) != 30 {
		t.Fatalf("%d distinct events ran, want 30", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s ran %d times", id, n)
		}
	}
}

// A malformed frame costs a reconnect, never an event; a resume position
// the warehouse no longer keeps is reported as a gap in hub status, and
// the stream goes on from what the warehouse still has.
func TestStream_MalformedFrameAndExpiredPosition(t *testing.T) {
	sb := startSandbox(t)
	ws := sandboxStream(t, sb)
	ctl := sb.apps["warehouse"].Control
	stock := func(i int) {
		sb.call("POST", ctl+"/stock", map[string]any{"sku": "IPOD2008GREEN", "qty": 200 + i}, nil, 204, nil)
	}
	ran := func(h *served) int {
		n := 0
		for _, r := range h.runs("warehouse_events") {
			if r.Status != runs.Gap {
				n++
			}
		}
		return n
	}
	wait := func(h *served, n int, what string) {
		t.Helper()
		if !eventually(20*time.Second, func() bool { return ran(h) >= n }) {
			t.Fatalf("%s: %d runs, want %d", what, ran(h), n)
		}
	}

	h := ws.start(t, "")
	for i := range 3 {
		stock(i)
	}
	wait(h, 3, "before the malformed frame")
	sb.call("POST", ctl+"/stream/malformed", nil, nil, 204, nil)
	for i := 3; i < 6; i++ {
		stock(i)
	}
	wait(h, 6, "after the malformed frame")

	// The host is down while the warehouse moves on and forgets.
	h.killGroup()
	sb.call("POST", ctl+"/stream/retention", map[string]any{"keep": 2}, nil, 204, nil)
	for i := 6; i < 12; i++ {
		stock(i)
	}
	h2 := ws.start(t, "")
	wait(h2, 8, "after the gap (the 2 events the warehouse still keeps)")
	var triggers []*runs.TriggerStatus
	if !eventually(10*time.Second, func() bool {
		triggers = h2.status().Triggers
		for _, tr := range triggers {
			if tr.Workflow == "warehouse_events" && tr.LastGap != "" {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no gap in hub status: %+v", triggers)
	}
	events, gaps := 0, 0
	for _, r := range h2.runs("warehouse_events") {
		if r.Status == runs.Gap {
			gaps++
		} else {
			events++
		}
	}
	if events != 8 || gaps != 1 {
		t.Fatalf("%d runs and %d gaps in the history, want 8 (6 before, none of the 4 forgotten, the 2 kept) and 1", events, gaps)
	}
}
