package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hubhq/hub/host/runs"
)

// The stream example against the sandbox warehouse, with the real hub and
// connector binaries: stock changes arrive over the WebSocket stream, a
// dropped connection and a SIGKILL of the host lose and repeat nothing.
func TestStream_WarehouseEventsThroughTheSandbox(t *testing.T) {
	sb := startSandbox(t)
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
	h := startHost(t, dir, plugins)

	stock := func(i int) {
		sb.call("POST", sb.apps["warehouse"].Control+"/stock", map[string]any{"sku": "IPOD2008GREEN", "qty": 100 + i}, nil, 204, nil)
	}
	count := func(h *host) map[string]int {
		var list struct{ Runs []runs.Summary }
		h.get("/v1/runs?workflow=warehouse_events&limit=1000", &list)
		seen := map[string]int{}
		for _, r := range list.Runs {
			if r.Status == runs.Succeeded {
				seen[r.EventID]++
			}
		}
		return seen
	}
	waitRuns := func(h *host, n int) map[string]int {
		deadline := time.Now().Add(20 * time.Second)
		for {
			seen := count(h)
			if len(seen) >= n {
				return seen
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d events ran, want %d\nhost log:\n%s", len(seen), n, h.stderr)
			}
			time.Sleep(50 * time.Millisecond)
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
	_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
	_ = h.cmd.Wait()
	for i := 20; i < 30; i++ {
		stock(i)
	}
	h2 := startHost(t, dir, plugins)
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
	ctl := sb.apps["warehouse"].Control
	stock := func(i int) {
		sb.call("POST", ctl+"/stock", map[string]any{"sku": "IPOD2008GREEN", "qty": 200 + i}, nil, 204, nil)
	}
	ran := func(h *host) int {
		var list struct{ Runs []runs.Summary }
		h.get("/v1/runs?workflow=warehouse_events&limit=1000", &list)
		n := 0
		for _, r := range list.Runs {
			if r.Status != runs.Gap {
				n++
			}
		}
		return n
	}
	wait := func(h *host, n int, what string) {
		deadline := time.Now().Add(20 * time.Second)
		for ran(h) < n {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d runs, want %d\nhost log:\n%s", what, ran(h), n, h.stderr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	h := startHost(t, dir, plugins)
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
	_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
	_ = h.cmd.Wait()
	sb.call("POST", ctl+"/stream/retention", map[string]any{"keep": 2}, nil, 204, nil)
	for i := 6; i < 12; i++ {
		stock(i)
	}
	h2 := startHost(t, dir, plugins)
	wait(h2, 8, "after the gap (the 2 events the warehouse still keeps)")
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st runs.HostStatus
		h2.get("/v1/status", &st)
		gap := ""
		for _, tr := range st.Triggers {
			if tr.Workflow == "warehouse_events" {
				gap = tr.LastGap
			}
		}
		if gap != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no gap in hub status: %+v", st.Triggers)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var list struct{ Runs []runs.Summary }
	h2.get("/v1/runs?workflow=warehouse_events&limit=1000", &list)
	events, gaps := 0, 0
	for _, r := range list.Runs {
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
