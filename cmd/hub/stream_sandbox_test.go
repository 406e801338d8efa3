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
