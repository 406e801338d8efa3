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

// restartedMidStream starts hub serve on ws, SIGKILLs its whole process
// group (hub serve and the connector) once the stream has started n runs
// of ticks, and starts it again.
func restartedMidStream(t *testing.T, ws *serveWorkspace, n int) *served {
	t.Helper()
	h := ws.start(t, "")
	waitFor(t, 15*time.Second, fmt.Sprintf("the stream to start %d runs", n), func() bool { return len(h.runs("ticks")) >= n })
	h.killGroup()
	return ws.start(t, "")
}

// eachTickOnce fails the test unless events tick-1 … tick-n each have
// exactly one run in list.
func eachTickOnce(t *testing.T, list []runs.Summary, n int) {
	t.Helper()
	seen := map[string]int{}
	for _, r := range list {
		seen[r.EventID]++
	}
	for i := 1; i <= n; i++ {
		if id := fmt.Sprintf("tick-%d", i); seen[id] != 1 {
			t.Errorf("event %s has %d runs, want 1", id, seen[id])
		}
	}
}

// succeededRuns is the runs of list that succeeded.
func succeededRuns(list []runs.Summary) []runs.Summary {
	var out []runs.Summary
	for _, r := range list {
		if r.Status == runs.Succeeded {
			out = append(out, r)
		}
	}
	return out
}

// A stream trigger through the real host and connector: SIGKILL the host
// while the stream delivers, restart it, and every event of the stream
// starts exactly one run: the position is stored with the events, and
// the restarted stream resumes after it.
func TestServe_StreamSurvivesSIGKILLEachEventOnce(t *testing.T) {
	h := restartedMidStream(t, appliedWorkspace(t, streamWorkspace), 10)
	var all, done int
	if !eventually(20*time.Second, func() bool {
		list := h.runs("ticks")
		all, done = len(list), len(succeededRuns(list))
		return all == 40 && done == 40
	}) {
		t.Fatalf("%d runs (%d succeeded), want 40 each", all, done)
	}
	eachTickOnce(t, h.runs("ticks"), 40)
	for _, tr := range h.status().Triggers {
		// The example's ticks happened in January 2026: the stream is
		// far behind them.
		if tr.Workflow == "ticks" && (tr.Mode != "stream" || tr.Connected == nil || tr.BehindSeconds == nil || *tr.BehindSeconds < 3600) {
			t.Errorf("stream status: %+v", tr)
		}
	}
	if code, body := h.apiRaw("GET", "/metrics"); code != 200 || !strings.Contains(string(body), `hub_stream_behind_seconds{workflow="ticks"}`) || !strings.Contains(string(body), `hub_stream_connected{workflow="ticks"}`) {
		t.Errorf("/metrics (%d) lacks the stream's series:\n%s", code, body)
	}
	if strings.Contains(h.log(), "panic") {
		t.Fatal("hub serve panicked")
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
	waitFor(t, 30*time.Second, "all 40 ticks to run", func() bool { return len(succeededRuns(s.runs("ticks"))) == 40 })
	eachTickOnce(t, s.runs("ticks"), 40)
}

// A resume position the third party no longer keeps is reconciled through
// the connector's declared poll trigger: after a SIGKILL, the restarted
// stream finds its position expired, the tick poll fills the gap from it,
// dedup drops what the reopened stream sends again, and every tick runs
// exactly once; the gap shows in hub status and in the run history.
func TestServe_StreamGapIsReconciledThroughThePollTrigger(t *testing.T) {
	src := strings.Replace(streamWorkspace, `config = { count = 40, interval_ms = 40, batch_size = 2 }`,
		`config = { count = 30, interval_ms = 40, batch_size = 2, retain_from = 25 }`, 1)
	h := restartedMidStream(t, appliedWorkspace(t, src), 6)
	var done, gaps int
	if !eventually(20*time.Second, func() bool {
		done, gaps = 0, 0
		for _, r := range h.runs("ticks") {
			switch r.Status {
			case runs.Succeeded:
				done++
			case runs.Gap:
				gaps++
			}
		}
		return done == 30 && gaps == 1
	}) {
		t.Fatalf("%d runs succeeded and %d gaps, want 30 and 1", done, gaps)
	}
	eachTickOnce(t, succeededRuns(h.runs("ticks")), 30)
	for _, tr := range h.status().Triggers {
		if tr.Workflow == "ticks" && !strings.Contains(tr.LastGap, "(reconciled)") {
			t.Errorf("status shows no reconciled gap: %+v", tr)
		}
	}
}
