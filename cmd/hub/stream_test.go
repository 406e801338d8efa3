package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubhq/hub/host/runs"
)

const streamWorkspace = `
hub {
  required_connectors {
    example = { source = "hub/example", version = "~> 1.0" }
  }
}

connection "demo" {
  connector = "example"
}

workflow "ticks" {
  trigger "demo" "ticks" {
    mode   = "stream"
    config = { count = 40, interval_ms = 40, batch_size = 2 }
  }
  action "note" {
    connection = "demo"
    action     = "echo"
    input      = { message = "tick ${event.seq}" }
  }
}
`

// A stream trigger through the real host and connector: SIGKILL the host
// while the stream delivers, restart it, and every event of the stream
// starts exactly one run: the position is stored with the events, and
// the restarted stream resumes after it.
func TestServe_StreamSurvivesSIGKILLEachEventOnce(t *testing.T) {
	dir, plugins := workspace(t, streamWorkspace)
	mustHub(t, plugins, "init", "-dir", dir)
	mustHub(t, plugins, "apply", "-dir", dir, "-auto-approve")
	h := startHost(t, dir, plugins)

	count := func(h *host) []runs.Summary {
		var list struct{ Runs []runs.Summary }
		h.get("/v1/runs?workflow=ticks&limit=1000", &list)
		return list.Runs
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(count(h)) < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("the stream started no runs:\n%s", h.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
	_ = h.cmd.Wait()

	h2 := startHost(t, dir, plugins)
	deadline = time.Now().Add(20 * time.Second)
	for {
		list := count(h2)
		done := 0
		for _, r := range list {
			if r.Status == runs.Succeeded {
				done++
			}
		}
		if done == 40 && len(list) == 40 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs (%d succeeded), want 40 each\nhost log:\n%s", len(list), done, h2.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	seen := map[string]int{}
	for _, r := range count(h2) {
		seen[r.EventID]++
	}
	for i := 1; i <= 40; i++ {
		if id := fmt.Sprintf("tick-%d", i); seen[id] != 1 {
			t.Errorf("event %s started %d runs, want 1", id, seen[id])
		}
	}
	var st runs.HostStatus
	h2.get("/v1/status", &st)
	for _, tr := range st.Triggers {
		if tr.Workflow == "ticks" && (tr.Mode != "stream" || tr.Connected == nil) {
			t.Errorf("stream status: %+v", tr)
		}
	}
	if strings.Contains(h2.stderr.String(), "panic") {
		t.Fatalf("host log:\n%s", h2.stderr)
	}
}

// SIGKILL the connector process mid-stream: the host relaunches it and
// the stream resumes from the stored position, losing and repeating
// nothing.
func TestServe_StreamResumesAfterThePluginIsKilled(t *testing.T) {
	ws := appliedWorkspace(t, streamWorkspace)
	s := ws.start(t, "")
	waitFor(t, 15*time.Second, "the first runs", func() bool { return len(s.runs("ticks")) >= 8 })
	pids := s.plugins()
	if len(pids) == 0 {
		t.Fatalf("no plugin process\n%s", s.logTail())
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	waitFor(t, 30*time.Second, "all 40 ticks to run", func() bool {
		done := 0
		for _, r := range s.runs("ticks") {
			if r.Status == runs.Succeeded {
				done++
			}
		}
		return done == 40
	})
	seen := map[string]int{}
	for _, r := range s.runs("ticks") {
		seen[r.EventID]++
	}
	for i := 1; i <= 40; i++ {
		if id := fmt.Sprintf("tick-%d", i); seen[id] != 1 {
			t.Errorf("event %s started %d runs, want 1", id, seen[id])
		}
	}
}

// A resume position the third party no longer keeps is reconciled through
// the connector's declared poll trigger: after a SIGKILL, the restarted
// stream finds its position expired, the tick poll fills the gap from it,
// dedup drops what the reopened stream sends again, and every tick runs
// exactly once; the gap shows in hub status and in the run history.
func TestServe_StreamGapIsReconciledThroughThePollTrigger(t *testing.T) {
	src := strings.Replace(streamWorkspace, `config = { count = 40, interval_ms = 40, batch_size = 2 }`,
		`config = { count = 30, interval_ms = 40, batch_size = 2, retain_from = 25 }`, 1)
	dir, plugins := workspace(t, src)
	mustHub(t, plugins, "init", "-dir", dir)
	mustHub(t, plugins, "apply", "-dir", dir, "-auto-approve")
	h := startHost(t, dir, plugins)
	list := func(h *host) []runs.Summary {
		var l struct{ Runs []runs.Summary }
		h.get("/v1/runs?workflow=ticks&limit=1000", &l)
		return l.Runs
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(list(h)) < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("the stream started no runs:\n%s", h.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
	_ = h.cmd.Wait()

	h2 := startHost(t, dir, plugins)
	deadline = time.Now().Add(20 * time.Second)
	for {
		done, gaps := 0, 0
		for _, r := range list(h2) {
			switch r.Status {
			case runs.Succeeded:
				done++
			case runs.Gap:
				gaps++
			}
		}
		if done == 30 && gaps == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs succeeded and %d gaps, want 30 and 1\n%s", done, gaps, h2.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	seen := map[string]int{}
	for _, r := range list(h2) {
		if r.Status == runs.Succeeded {
			seen[r.EventID]++
		}
	}
	for i := 1; i <= 30; i++ {
		if id := fmt.Sprintf("tick-%d", i); seen[id] != 1 {
			t.Errorf("%s ran %d times, want 1", id, seen[id])
		}
	}
	var st runs.HostStatus
	h2.get("/v1/status", &st)
	for _, tr := range st.Triggers {
		if tr.Workflow == "ticks" && !strings.Contains(tr.LastGap, "(reconciled)") {
			t.Errorf("status shows no reconciled gap: %+v", tr)
		}
	}
}
