package engine

import (
	"context"
	"encoding/json"
	"github.com/hubhq/hub/host/server"
	"net/http"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/hubhq/hub/host/config"
	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/store"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/wire"
)

// The tests in this file specify promises the engine does not keep yet;
// each is skipped with the bug it shows until the engine is fixed.

func TestEngine_ReplayStartsAFreshSeriesOfAttempts(t *testing.T) {
	retry2 := `retry {
      attempts = 2
      backoff  = "constant"
      initial  = "10ms"
      max      = "10ms"
    }`
	fc := &fakeConnector{action: func(_ context.Context, n int, _ wire.ActionRequest) (json.RawMessage, error) {
		if n <= 3 {
			return nil, fault.Retryablef("503")
		}
		return json.RawMessage(`{}`), nil
	}}
	h := open(t, t.TempDir(), compile(t, oneStep(retry2), nil), fc, nil)
	h.deliver("orders", "e1", order)
	h.waitStatus(runID(1), runs.Dead)
	if err := h.e.Replay(context.Background(), store.DefaultTenant, runID(1)); err != nil {
		t.Fatal(err)
	}
	// Call 3 fails retryably: the replayed series has a second attempt.
	waitFor(t, "the replayed run to finish", func() bool {
		r := h.run(runID(1))
		return r.Status != runs.Running
	})
	if r := h.run(runID(1)); r.Status != runs.Succeeded {
		t.Fatal("regression: exec.go finishAttempt compares len(rec.Attempts) across replays with policy.attempts, so a replayed step gets no retries (run is " + string(r.Status) + ")")
	}
}

func TestEngine_EventsAfterARestartAreRouted(t *testing.T) {
	dir := t.TempDir()
	fc := &fakeConnector{}
	h1 := open(t, dir, compile(t, oneStep(""), nil), fc, nil)
	h1.deliver("orders", "e1", order)
	h1.waitStatus(runID(1), runs.Succeeded)
	h1.stop(time.Second)

	h2 := open(t, dir, compile(t, oneStep(""), nil), fc, nil)
	h2.deliver("orders", "e2", order)
	deadline := time.Now().Add(750 * time.Millisecond)
	for {
		list, err := h2.e.ListRuns(context.Background(), store.DefaultTenant, runs.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		var e1, e2 int
		for _, s := range list {
			switch s.EventID {
			case "e1":
				e1++
			case "e2":
				e2++
			}
		}
		if e1 == 1 && e2 == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("regression: the router deletes every routed event, so after a restart ingest's seq starts at 1 again (nextSeq reads the last stored event) and Read(after=routed position) skips the new events; runs = %+v", list)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A connector that turns a delivery into an event whose payload is not
// JSON gets the delivery refused (502), and routing goes on for the rest.
func TestEngine_NonJSONEventPayloadIsRefusedAndRoutingGoesOn(t *testing.T) {
	fc := &fakeConnector{}
	h := open(t, t.TempDir(), compile(t, oneStep(""), nil), fc, nil)
	res, err := h.e.Webhook(context.Background(), server.WebhookRequest{
		Tenant: store.DefaultTenant, Workflow: "orders", Method: http.MethodPost, URL: "/webhooks/orders",
		Header: http.Header{"X-Event-Id": {"bad"}}, Body: []byte(`not json`),
	})
	if err == nil || res == nil || res.Status != http.StatusBadGateway {
		t.Fatalf("non-JSON event: %+v, %v; want a 502 and an error", res, err)
	}
	h.deliver("orders", "good", order)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if r := h.run(runID(1)); r != nil && r.Status == runs.Succeeded && r.EventID == "good" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the good event after a refused one did not run")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEngine_NonJSONActionOutputEndsTheRun(t *testing.T) {
	fc := &fakeConnector{action: func(context.Context, int, wire.ActionRequest) (json.RawMessage, error) {
		return json.RawMessage(`not json`), nil
	}}
	h := open(t, t.TempDir(), compile(t, oneStep(""), nil), fc, nil)
	h.deliver("orders", "e1", order)
	waitFor(t, "the call", func() bool { return len(fc.actionCalls()) == 1 })
	deadline := time.Now().Add(500 * time.Millisecond)
	for {
		if r := h.run(runID(1)); r != nil && r.Status != runs.Running {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("regression: exec.go transition cannot encode a run whose step output is not JSON, logs and returns: the job leaves memory, the run stays running, and every restart calls the action again")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEngine_SkippedStepDoesNotRunInItsLane(t *testing.T) {
	ws := `
connection "a" {
  connector = "fake"
}
connection "b" {
  connector = "fake"
}
workflow "w" {
  trigger "a" "t" {
    mode = "webhook"
  }
  action "maybe" {
    connection = "a"
    action     = "maybe"
    when       = false
  }
  action "always" {
    connection = "b"
    action     = "always"
  }
}
`
	fc := &fakeConnector{}
	h := open(t, t.TempDir(), compile(t, ws, nil), fc, nil)
	h.deliver("w", "e1", `{}`)
	h.waitStatus(runID(1), runs.Succeeded)
	st, err := h.e.Status(context.Background(), store.DefaultTenant)
	if err != nil {
		t.Fatal(err)
	}
	health := map[string]bool{}
	for _, c := range st.Connections {
		health[c.Name] = c.LastSuccess != nil
	}
	if !health["b"] || health["a"] {
		t.Fatalf("regression: exec.go runs the first step whose when holds in the lane of the job's (skipped) step, with that connection's limiter and breaker; last success by connection = %v", health)
	}
}

func TestEngine_QueuedJobSurvivesStartBeforeApply(t *testing.T) {
	dir := t.TempDir()
	rt := compile(t, oneStep(""), nil)
	started := make(chan struct{}, 1)
	blocked := &fakeConnector{action: func(ctx context.Context, _ int, _ wire.ActionRequest) (json.RawMessage, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	h1 := open(t, dir, rt, blocked, nil)
	h1.deliver("orders", "e1", order)
	<-started
	h1.stop(10 * time.Millisecond)

	fc := &fakeConnector{}
	h2 := open(t, dir, nil, fc, nil)
	if err := h2.e.Apply(compile(t, oneStep(""), nil)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the run to finish", func() bool { return h2.run(runID(1)).Status != runs.Running })
	if r := h2.run(runID(1)); r.Status != runs.Succeeded {
		t.Fatalf("regression: Start loads the queue (starting the lanes' workers) before the runtime is stored, so a job that runs first finds no workflow and is dead-lettered as workflow_changed (run is %s: %s)", r.Status, r.Error)
	}
}

func TestRedactedJSON_SensitiveElementOfAList(t *testing.T) {
	v := cty.ListVal([]cty.Value{cty.NumberIntVal(1), cty.NumberIntVal(2).Mark(config.Sensitive)})
	var got json.RawMessage
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("regression: compile.go redactedJSON panics on a list with a sensitive number (cty.Transform rebuilds a list of mixed types): %v", r)
			}
		}()
		got = redactedJSON(v)
	}()
	if string(got) == "" || json.Valid(got) == false || string(got) == "[1,2]" {
		t.Errorf("redacted = %s", got)
	}
}
