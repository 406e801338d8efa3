package engine

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/hubhq/hub/host/config"
	"github.com/hubhq/hub/host/limiter"
	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/server"
	"github.com/hubhq/hub/host/store"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/wire"
)

// oneStep is a webhook workflow with one mapped step; extra is added to
// the step block.
func oneStep(extra string) string {
	return `
connection "svc" {
  connector = "fake"
}

workflow "orders" {
  trigger "svc" "order_created" {
    mode = "webhook"
  }
  action "create" {
    connection = "svc"
    action     = "create_order"
    input = {
      ref   = "order-${event.id}"
      qty   = event.qty * 2
      lines = [for l in event.lines : { sku = l.sku }]
      note  = event.note
    }
    ` + extra + `
  }
}
`
}

const fastRetry = `retry {
      attempts = 3
      backoff  = "constant"
      initial  = "10ms"
      max      = "10ms"
    }`

const order = `{"id": 7, "qty": 1.5, "lines": [{"sku": "a"}, {"sku": "b"}], "note": null}`

func TestEngine_WebhookRunsStepWithMappedInput(t *testing.T) {
	fc := &fakeConnector{action: func(_ context.Context, _ int, _ wire.ActionRequest) (json.RawMessage, error) {
		return json.RawMessage(`{"id":"wh-1","big":12345678901234567890}`), nil
	}}
	h := open(t, t.TempDir(), compile(t, oneStep(""), nil), fc, nil)
	h.deliver("orders", "e1", order)

	r := h.waitStatus(runID(1), runs.Succeeded)
	calls := fc.actionCalls()
	if len(calls) != 1 {
		t.Fatalf("action calls = %d, want 1", len(calls))
	}
	var in map[string]any
	if err := json.Unmarshal(calls[0].Input, &in); err != nil {
		t.Fatalf("input %s: %v", calls[0].Input, err)
	}
	want := `{"lines":[{"sku":"a"},{"sku":"b"}],"note":null,"qty":3,"ref":"order-7"}`
	if got, _ := json.Marshal(in); string(got) != want {
		t.Errorf("input = %s, want %s", got, want)
	}
	if calls[0].Action != "create_order" || calls[0].Attempt != 1 || calls[0].Conn.Name != "svc" {
		t.Errorf("request = %+v", calls[0])
	}
	step := r.Steps[0]
	if step.Status != runs.Succeeded || len(step.Attempts) != 1 || step.Attempts[0].Error != "" {
		t.Errorf("step = %+v", step)
	}
	if step.IdempotencyKey == "" || step.IdempotencyKey != calls[0].IdempotencyKey {
		t.Errorf("recorded key %q, sent %q", step.IdempotencyKey, calls[0].IdempotencyKey)
	}
	if string(step.Output) != `{"id":"wh-1","big":12345678901234567890}` {
		t.Errorf("output = %s", step.Output)
	}
	if r.FinishedAt == nil || r.EventID != "e1" || r.Workflow != "orders" || r.Step != 1 {
		t.Errorf("run = %+v", r)
	}
	if n := h.jobCount(); n != 0 {
		t.Errorf("%d jobs left in the store", n)
	}
}

func TestEngine_RetryableErrorIsRetriedUnderOneKey(t *testing.T) {
	fc := &fakeConnector{action: func(_ context.Context, n int, _ wire.ActionRequest) (json.RawMessage, error) {
		if n < 3 {
			return nil, fault.Retryablef("503 from upstream")
		}
		return json.RawMessage(`{}`), nil
	}}
	h := open(t, t.TempDir(), compile(t, oneStep(fastRetry), nil), fc, nil)
	h.deliver("orders", "e1", order)

	r := h.waitStatus(runID(1), runs.Succeeded)
	calls := fc.actionCalls()
	if len(calls) != 3 {
		t.Fatalf("action calls = %d, want 3", len(calls))
	}
	for i, c := range calls {
		if c.IdempotencyKey != calls[0].IdempotencyKey {
			t.Errorf("attempt %d key %q, first %q", i+1, c.IdempotencyKey, calls[0].IdempotencyKey)
		}
		if c.Attempt != i+1 {
			t.Errorf("call %d has Attempt %d", i+1, c.Attempt)
		}
	}
	atts := r.Steps[0].Attempts
	if len(atts) != 3 {
		t.Fatalf("attempts = %d, want 3", len(atts))
	}
	for _, a := range atts[:2] {
		if a.ErrorKind != "retryable" || a.RetryAt == nil || a.RetryAt.Before(a.StartedAt) {
			t.Errorf("failed attempt = %+v", a)
		}
	}
	if atts[2].Error != "" || atts[2].RetryAt != nil {
		t.Errorf("last attempt = %+v", atts[2])
	}
}

func TestEngine_RetriesRunOutIntoDeadLetter(t *testing.T) {
	fc := &fakeConnector{action: func(context.Context, int, wire.ActionRequest) (json.RawMessage, error) {
		return nil, fault.Retryablef("timeout")
	}}
	h := open(t, t.TempDir(), compile(t, oneStep(fastRetry), nil), fc, nil)
	h.deliver("orders", "e1", order)

	r := h.waitStatus(runID(1), runs.Dead)
	if got := len(fc.actionCalls()); got != 3 {
		t.Errorf("action calls = %d, want 3 (attempts = 3)", got)
	}
	dead, err := h.e.ListDead(context.Background(), store.DefaultTenant, runs.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].ErrorKind != "retryable" || dead[0].Attempts != 3 || dead[0].Step != "create" {
		t.Errorf("dead letters = %+v", dead)
	}
	if r.Steps[0].Status != runs.Failed {
		t.Errorf("step status = %s", r.Steps[0].Status)
	}
}

func TestEngine_PermanentErrorDeadLettersAtOnce(t *testing.T) {
	fc := &fakeConnector{action: func(context.Context, int, wire.ActionRequest) (json.RawMessage, error) {
		return nil, fault.Invalid("bad sku", fault.Violation{Path: "lines[0].sku", Message: "unknown"})
	}}
	h := open(t, t.TempDir(), compile(t, oneStep(fastRetry), nil), fc, nil)
	h.deliver("orders", "e1", order)

	r := h.waitStatus(runID(1), runs.Dead)
	if got := len(fc.actionCalls()); got != 1 {
		t.Errorf("action calls = %d, want 1", got)
	}
	if r.Error == "" || r.Steps[0].Attempts[0].ErrorKind != "invalid_input" {
		t.Errorf("run = %+v, attempt = %+v", r, r.Steps[0].Attempts[0])
	}
	st, err := h.e.Status(context.Background(), store.DefaultTenant)
	if err != nil {
		t.Fatal(err)
	}
	if st.Queue.DeadLetters != 1 || st.Queue.Due != 0 || st.Queue.Scheduled != 0 {
		t.Errorf("queue = %+v", st.Queue)
	}
}

func TestEngine_ReplayedDeadLetterSucceedsUnderTheSameKey(t *testing.T) {
	fail := true
	fc := &fakeConnector{}
	fc.action = func(context.Context, int, wire.ActionRequest) (json.RawMessage, error) {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		if fail {
			return nil, fault.Permanentf("upstream said no")
		}
		return json.RawMessage(`{"done":true}`), nil
	}
	h := open(t, t.TempDir(), compile(t, oneStep(""), nil), fc, nil)
	h.deliver("orders", "e1", order)
	h.waitStatus(runID(1), runs.Dead)

	fc.mu.Lock()
	fail = false
	fc.mu.Unlock()
	if err := h.e.Replay(context.Background(), store.DefaultTenant, runID(1)); err != nil {
		t.Fatalf("replay: %v", err)
	}
	r := h.waitStatus(runID(1), runs.Succeeded)
	calls := fc.actionCalls()
	if len(calls) != 2 || calls[0].IdempotencyKey != calls[1].IdempotencyKey {
		t.Fatalf("calls = %+v, want two under one key", calls)
	}
	if string(r.Steps[0].Output) != `{"done":true}` || r.Error != "" {
		t.Errorf("run = %+v", r)
	}
	if dead, _ := h.e.ListDead(context.Background(), store.DefaultTenant, runs.Filter{}); len(dead) != 0 {
		t.Errorf("dead letters after replay = %+v", dead)
	}
	if err := h.e.Replay(context.Background(), store.DefaultTenant, runID(1)); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("second replay: %v, want ErrNotFound", err)
	}
	st, _ := h.e.Status(context.Background(), store.DefaultTenant)
	if st.Queue.DeadLetters != 0 {
		t.Errorf("dead letters counted = %d", st.Queue.DeadLetters)
	}
}

func TestEngine_DiscardedDeadLetterIsGone(t *testing.T) {
	fc := &fakeConnector{action: func(context.Context, int, wire.ActionRequest) (json.RawMessage, error) {
		return nil, fault.Permanentf("no")
	}}
	h := open(t, t.TempDir(), compile(t, oneStep(""), nil), fc, nil)
	h.deliver("orders", "e1", order)
	h.waitStatus(runID(1), runs.Dead)

	if err := h.e.Discard(context.Background(), store.DefaultTenant, runID(1)); err != nil {
		t.Fatalf("discard: %v", err)
	}
	r := h.run(runID(1))
	if r.Status != runs.Discarded || r.FinishedAt == nil {
		t.Errorf("run = %+v", r)
	}
	if err := h.e.Replay(context.Background(), store.DefaultTenant, runID(1)); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("replay after discard: %v, want ErrNotFound", err)
	}
	if err := h.e.Discard(context.Background(), "other", runID(1)); !errors.Is(err, server.ErrNotFound) {
		t.Errorf("discard in another tenant: %v, want ErrNotFound", err)
	}
	if got := len(fc.actionCalls()); got != 1 {
		t.Errorf("action calls = %d, want 1", got)
	}
	if h.jobCount() != 0 {
		t.Error("a job is left after discard")
	}
}

func TestEngine_TriggerWhenFalseStartsNoRun(t *testing.T) {
	ws := `
connection "svc" {
  connector = "fake"
}
workflow "paid" {
  trigger "svc" "order_created" {
    mode = "webhook"
    when = event.status == "paid"
  }
  action "ship" {
    connection = "svc"
    action     = "ship"
  }
}
`
	fc := &fakeConnector{}
	h := open(t, t.TempDir(), compile(t, ws, nil), fc, nil)
	h.deliver("paid", "e1", `{"status":"pending"}`)
	h.deliver("paid", "e2", `{"nostatus":true}`) // when fails: dropped
	h.deliver("paid", "e3", `{"status":"paid"}`)

	// Events route in order, so once the third ran the first two were seen.
	h.waitStatus(runID(3), runs.Succeeded)
	list, err := h.e.ListRuns(context.Background(), store.DefaultTenant, runs.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].EventID != "e3" {
		t.Errorf("runs = %+v, want only e3's", list)
	}
	if got := len(fc.actionCalls()); got != 1 {
		t.Errorf("action calls = %d, want 1", got)
	}
}

func TestEngine_StepWhenFalseIsSkipped(t *testing.T) {
	ws := `
connection "svc" {
  connector = "fake"
}
workflow "w" {
  trigger "svc" "t" {
    mode = "webhook"
  }
  action "find" {
    connection = "svc"
    action     = "find"
  }
  action "create" {
    connection = "svc"
    action     = "create"
    when       = length(action.find.output.found) == 0
  }
  action "tag" {
    connection = "svc"
    action     = "tag"
    input      = { created = action.create.output == null }
  }
}
`
	fc := &fakeConnector{action: func(_ context.Context, _ int, req wire.ActionRequest) (json.RawMessage, error) {
		if req.Action == "find" {
			return json.RawMessage(`{"found":["x"]}`), nil
		}
		return json.RawMessage(`{}`), nil
	}}
	h := open(t, t.TempDir(), compile(t, ws, nil), fc, nil)
	h.deliver("w", "e1", `{}`)

	r := h.waitStatus(runID(1), runs.Succeeded)
	var got []string
	for _, c := range fc.actionCalls() {
		got = append(got, c.Action)
	}
	if len(got) != 2 || got[0] != "find" || got[1] != "tag" {
		t.Fatalf("actions called = %v, want [find tag]", got)
	}
	if r.Steps[1].Status != runs.Skipped || len(r.Steps[1].Attempts) != 0 {
		t.Errorf("create = %+v, want skipped", r.Steps[1])
	}
	if string(fc.actionCalls()[1].Input) != `{"created":true}` {
		t.Errorf("tag input = %s: a skipped step's output is null", fc.actionCalls()[1].Input)
	}
}

func TestEngine_OnErrorContinueAndFail(t *testing.T) {
	ws := func(onError string) string {
		return `
connection "svc" {
  connector = "fake"
}
workflow "w" {
  trigger "svc" "t" {
    mode = "webhook"
  }
  action "first" {
    connection = "svc"
    action     = "first"
    on_error   = "` + onError + `"
  }
  action "second" {
    connection = "svc"
    action     = "second"
  }
}
`
	}
	failFirst := func(_ context.Context, _ int, req wire.ActionRequest) (json.RawMessage, error) {
		if req.Action == "first" {
			return nil, fault.Permanentf("nope")
		}
		return json.RawMessage(`{}`), nil
	}

	t.Run("continue", func(t *testing.T) {
		fc := &fakeConnector{action: failFirst}
		h := open(t, t.TempDir(), compile(t, ws("continue"), nil), fc, nil)
		h.deliver("w", "e1", `{}`)
		r := h.waitStatus(runID(1), runs.Succeeded)
		if r.Steps[0].Status != runs.Failed || r.Steps[1].Status != runs.Succeeded {
			t.Errorf("steps = %s, %s", r.Steps[0].Status, r.Steps[1].Status)
		}
		if got := len(fc.actionCalls()); got != 2 {
			t.Errorf("action calls = %d, want 2", got)
		}
	})
	t.Run("fail", func(t *testing.T) {
		fc := &fakeConnector{action: failFirst}
		h := open(t, t.TempDir(), compile(t, ws("fail"), nil), fc, nil)
		h.deliver("w", "e1", `{}`)
		r := h.waitStatus(runID(1), runs.Failed)
		if r.Steps[0].Status != runs.Failed || r.Steps[1].Status != runs.Pending || r.Error == "" {
			t.Errorf("run = %+v", r)
		}
		if got := len(fc.actionCalls()); got != 1 {
			t.Errorf("action calls = %d, want 1", got)
		}
		if dead, _ := h.e.ListDead(context.Background(), store.DefaultTenant, runs.Filter{}); len(dead) != 0 {
			t.Errorf("a failed run is not a dead letter: %+v", dead)
		}
	})
}

func TestEngine_RateLimitedWaitsForRetryAfter(t *testing.T) {
	const after = 150 * time.Millisecond
	fc := &fakeConnector{action: func(_ context.Context, n int, _ wire.ActionRequest) (json.RawMessage, error) {
		if n == 1 {
			return nil, fault.RateLimitedf(after, "429")
		}
		return json.RawMessage(`{}`), nil
	}}
	h := open(t, t.TempDir(), compile(t, oneStep(fastRetry), nil), fc, nil)
	h.deliver("orders", "e1", order)

	r := h.waitStatus(runID(1), runs.Succeeded)
	atts := r.Steps[0].Attempts
	if len(atts) != 2 {
		t.Fatalf("attempts = %d, want 2", len(atts))
	}
	a := atts[0]
	if a.ErrorKind != "rate_limited" || a.RetryAt == nil {
		t.Fatalf("first attempt = %+v", a)
	}
	if a.RetryAt.Before(a.StartedAt.Add(after)) {
		t.Errorf("retry at %s, before start %s + Retry-After %s", a.RetryAt, a.StartedAt, after)
	}
}

func TestEngine_AuthExpiredLogsInAgainOnce(t *testing.T) {
	fc := &fakeConnector{}
	fc.action = func(_ context.Context, n int, req wire.ActionRequest) (json.RawMessage, error) {
		if req.Conn.Auth.Headers["X-Session"] != "s2" {
			return nil, fault.AuthExpiredf("session %q expired", req.Conn.Auth.Headers["X-Session"])
		}
		return json.RawMessage(`{}`), nil
	}
	h := open(t, t.TempDir(), compile(t, sessionWorkspace, map[string]string{"pw": "hunter2"}), fc, nil)
	// The subscription at apply time logged in once: s1.
	if fc.loginCount() != 1 {
		t.Fatalf("logins at apply = %d, want 1", fc.loginCount())
	}
	h.deliver("w", "e1", `{}`)
	r := h.waitStatus(runID(1), runs.Succeeded)
	if got := fc.loginCount(); got != 2 {
		t.Errorf("logins = %d, want 2 (one at apply, one refresh)", got)
	}
	if len(r.Steps[0].Attempts) != 1 {
		t.Errorf("attempts = %d: a refresh happens within one attempt", len(r.Steps[0].Attempts))
	}
	calls := fc.actionCalls()
	if len(calls) != 2 || calls[0].IdempotencyKey != calls[1].IdempotencyKey {
		t.Errorf("calls = %+v", calls)
	}
	fc.mu.Lock()
	creds := fc.logins[1].Credentials
	fc.mu.Unlock()
	if creds["password"] != "hunter2" || creds["user"] != "ops" {
		t.Errorf("login credentials = %v", creds)
	}
}

func TestEngine_SecondAuthExpiredDeadLetters(t *testing.T) {
	ws := `
connection "svc" {
  connector = "fake"
  auth "session" {
    credentials = { user = "ops" }
  }
}
workflow "w" {
  trigger "svc" "t" {
    mode = "webhook"
  }
  action "a" {
    connection = "svc"
    action     = "a"
  }
}
`
	fc := &fakeConnector{action: func(context.Context, int, wire.ActionRequest) (json.RawMessage, error) {
		return nil, fault.AuthExpiredf("revoked")
	}}
	h := open(t, t.TempDir(), compile(t, ws, nil), fc, nil)
	h.deliver("w", "e1", `{}`)
	r := h.waitStatus(runID(1), runs.Dead)
	if got := len(fc.actionCalls()); got != 2 {
		t.Errorf("action calls = %d, want 2 (the call and one after the refresh)", got)
	}
	if r.Steps[0].Attempts[0].ErrorKind != "auth_expired" {
		t.Errorf("attempt = %+v", r.Steps[0].Attempts[0])
	}
}

func TestEngine_SensitiveInputIsRedactedInTheRecord(t *testing.T) {
	ws := `
connection "svc" {
  connector = "fake"
}
workflow "w" {
  trigger "svc" "t" {
    mode = "webhook"
  }
  action "a" {
    connection = "svc"
    action     = "a"
    input = {
      token  = secret("api")
      header = "Bearer ${secret("api")}"
      plain  = event.n
    }
  }
}
`
	fc := &fakeConnector{}
	h := open(t, t.TempDir(), compile(t, ws, map[string]string{"api": "s3cr3t"}), fc, nil)
	h.deliver("w", "e1", `{"n": 1}`)
	r := h.waitStatus(runID(1), runs.Succeeded)
	if got := string(fc.actionCalls()[0].Input); got != `{"header":"Bearer s3cr3t","plain":1,"token":"s3cr3t"}` {
		t.Errorf("connector got %s, want the secret's value", got)
	}
	if got := string(r.Steps[0].Input); got != `{"header":"(sensitive)","plain":1,"token":"(sensitive)"}` {
		t.Errorf("recorded input = %s", got)
	}
}

func TestEngine_RestartRunsTheQueuedJob(t *testing.T) {
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
	h1.stop(10 * time.Millisecond) // grace runs out: the call is cancelled
	firstKey := blocked.actionCalls()[0].IdempotencyKey

	fc := &fakeConnector{}
	h2 := open(t, dir, compile(t, oneStep(""), nil), fc, nil)
	r := h2.waitStatus(runID(1), runs.Succeeded)
	calls := fc.actionCalls()
	if len(calls) != 1 || calls[0].IdempotencyKey != firstKey {
		t.Fatalf("calls after restart = %+v, want one under key %s", calls, firstKey)
	}
	if len(r.Steps[0].Attempts) != 1 {
		t.Errorf("attempts = %d: the cancelled call is not an attempt", len(r.Steps[0].Attempts))
	}
}

func TestEngine_ListRunsPagesNewestFirst(t *testing.T) {
	fc := &fakeConnector{}
	h := open(t, t.TempDir(), compile(t, oneStep(""), nil), fc, nil)
	for _, id := range []string{"e1", "e2", "e3", "e4", "e5"} {
		h.deliver("orders", id, order)
	}
	for i := uint64(1); i <= 5; i++ {
		h.waitStatus(runID(i), runs.Succeeded)
	}
	var pages [][]string
	f := runs.Filter{Limit: 2}
	for range 4 {
		list, err := h.e.ListRuns(context.Background(), store.DefaultTenant, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 0 {
			break
		}
		var ids []string
		for _, s := range list {
			ids = append(ids, s.EventID)
		}
		pages = append(pages, ids)
		f.Before = list[len(list)-1].ID
	}
	want := [][]string{{"e5", "e4"}, {"e3", "e2"}, {"e1"}}
	if len(pages) != len(want) {
		t.Fatalf("pages = %v, want %v", pages, want)
	}
	for i := range want {
		if len(pages[i]) != len(want[i]) || pages[i][0] != want[i][0] || pages[i][len(pages[i])-1] != want[i][len(want[i])-1] {
			t.Errorf("page %d = %v, want %v", i, pages[i], want[i])
		}
	}
}

func TestEngine_StatusCountsQueueAndDeadLetters(t *testing.T) {
	fc := &fakeConnector{action: func(_ context.Context, _ int, req wire.ActionRequest) (json.RawMessage, error) {
		var in struct{ Ref string }
		_ = json.Unmarshal(req.Input, &in)
		switch in.Ref {
		case "order-1":
			return nil, fault.Permanentf("no")
		case "order-2":
			return nil, fault.RateLimitedf(time.Hour, "come back later")
		}
		return json.RawMessage(`{}`), nil
	}}
	h := open(t, t.TempDir(), compile(t, oneStep(fastRetry), nil), fc, nil)
	h.deliver("orders", "e1", `{"id": 1, "qty": 1, "lines": [], "note": ""}`)
	h.deliver("orders", "e2", `{"id": 2, "qty": 1, "lines": [], "note": ""}`)
	h.deliver("orders", "e3", `{"id": 3, "qty": 1, "lines": [], "note": ""}`)
	h.waitStatus(runID(1), runs.Dead)
	h.waitStatus(runID(3), runs.Succeeded)
	waitFor(t, "the rate-limited attempt", func() bool {
		r := h.run(runID(2))
		return r != nil && len(r.Steps[0].Attempts) == 1
	})

	st, err := h.e.Status(context.Background(), store.DefaultTenant)
	if err != nil {
		t.Fatal(err)
	}
	if st.Queue != (runs.QueueStatus{Due: 0, Scheduled: 1, DeadLetters: 1}) {
		t.Errorf("queue = %+v", st.Queue)
	}
	if !st.Ready || len(st.Connections) != 1 || st.Connections[0].Name != "svc" || st.Connections[0].Queued != 1 ||
		st.Connections[0].Connector != "hub/fake@1.0.0" || st.Connections[0].LastSuccess == nil {
		t.Errorf("connections = %+v", st.Connections)
	}
	if len(st.Triggers) != 1 || st.Triggers[0].Events != 3 || st.Triggers[0].Mode != "webhook" || st.Triggers[0].URL == "" {
		t.Errorf("triggers = %+v", st.Triggers)
	}
	if other, _ := h.e.Status(context.Background(), "other"); len(other.Connections) != 0 || other.Queue.DeadLetters != 0 {
		t.Errorf("another tenant's status = %+v", other)
	}
}

func TestEngine_DuplicateDeliveryStartsOneRun(t *testing.T) {
	fc := &fakeConnector{}
	h := open(t, t.TempDir(), compile(t, oneStep(""), nil), fc, nil)
	h.deliver("orders", "e1", order)
	h.deliver("orders", "e1", order)
	h.deliver("orders", "e2", order)
	h.waitStatus(runID(2), runs.Succeeded)
	list, _ := h.e.ListRuns(context.Background(), store.DefaultTenant, runs.Filter{})
	if len(list) != 2 {
		t.Errorf("runs = %+v, want 2", list)
	}
}

func TestEngine_UnknownWorkflowWebhookIsNotFound(t *testing.T) {
	h := open(t, t.TempDir(), compile(t, oneStep(""), nil), &fakeConnector{}, nil)
	_, err := h.e.Webhook(context.Background(), server.WebhookRequest{Tenant: store.DefaultTenant, Workflow: "nope"})
	if !errors.Is(err, server.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
	_, err = h.e.Webhook(context.Background(), server.WebhookRequest{Tenant: "other", Workflow: "orders"})
	if !errors.Is(err, server.ErrNotFound) {
		t.Errorf("other tenant: err = %v, want ErrNotFound", err)
	}
}

func TestEngine_ShutdownStartsNoNewSteps(t *testing.T) {
	release := make(chan struct{})
	fc := &fakeConnector{action: func(context.Context, int, wire.ActionRequest) (json.RawMessage, error) {
		<-release
		return json.RawMessage(`{}`), nil
	}}
	h := open(t, t.TempDir(), compile(t, oneStep(""), nil), fc, func(o *Options) { o.Workers = 1; o.DefaultLimits = limiter.Limits{Concurrency: 1} })
	h.deliver("orders", "e1", order)
	h.deliver("orders", "e2", order)
	waitFor(t, "the first call and both jobs", func() bool { return len(fc.actionCalls()) == 1 && h.jobCount() == 2 })

	done := make(chan struct{})
	go func() { h.e.Shutdown(5 * time.Second); close(done) }()
	waitFor(t, "shutdown to begin", func() bool { return h.e.closed.Load() })
	close(release)
	<-done
	if n := len(fc.actionCalls()); n != 1 {
		t.Errorf("%d calls, want 1: a step started after shutdown began", n)
	}
}

func TestEngine_OneLoginAfterManyCallsFindTheSessionExpired(t *testing.T) {
	ws := `
connection "svc" {
  connector = "fake"
  auth "session" {
    credentials = { user = "ops" }
  }
}
workflow "w" {
  trigger "svc" "t" {
    mode = "webhook"
  }
  action "a" {
    connection = "svc"
    action     = "a"
  }
}
`
	const parallel = 4
	fc := &fakeConnector{}
	var (
		mu     sync.Mutex
		latest string
		onS1   int
		gate   = make(chan struct{})
	)
	fc.login = func(_ context.Context, n int, _ wire.AuthStepRequest) (wire.AuthStepResult, error) {
		s := "s" + string(rune('0'+n))
		mu.Lock()
		latest = s // a new login ends every earlier session
		mu.Unlock()
		return wire.AuthStepResult{Auth: wire.Auth{Headers: map[string]string{"X-Session": s}}}, nil
	}
	fc.action = func(_ context.Context, _ int, req wire.ActionRequest) (json.RawMessage, error) {
		s := req.Conn.Auth.Headers["X-Session"]
		if s == "s1" {
			// The first session expires while every call is in flight.
			mu.Lock()
			onS1++
			if onS1 == parallel {
				close(gate)
			}
			mu.Unlock()
			select {
			case <-gate:
			case <-time.After(2 * time.Second):
			}
			return nil, fault.AuthExpiredf("session expired")
		}
		mu.Lock()
		ok := s == latest
		mu.Unlock()
		if !ok {
			return nil, fault.AuthExpiredf("session %s was ended by a later login", s)
		}
		return json.RawMessage(`{}`), nil
	}
	h := open(t, t.TempDir(), compile(t, ws, nil), fc, func(o *Options) { o.Workers = parallel })
	for i := range parallel {
		h.deliver("w", "e"+string(rune('1'+i)), `{}`)
	}
	for i := range parallel {
		waitFor(t, "every run to finish", func() bool { return h.run(runID(uint64(i+1))).Status != runs.Running })
	}
	dead := 0
	for i := range parallel {
		if h.run(runID(uint64(i+1))).Status != runs.Succeeded {
			dead++
		}
	}
	if n := fc.loginCount(); n != 2 || dead > 0 {
		t.Errorf("%d logins (want 2), %d runs dead-lettered: calls failing together must share one login", n, dead)
	}
}

func TestRedactedJSON(t *testing.T) {
	s := cty.StringVal("s3cr3t").Mark(config.Sensitive)
	for _, tt := range []struct {
		name string
		v    cty.Value
		want string
	}{
		{"plain", cty.ObjectVal(map[string]cty.Value{"a": cty.NumberIntVal(1)}), `{"a":1}`},
		{"null", cty.NullVal(cty.DynamicPseudoType), `null`},
		{"nested secret", cty.ObjectVal(map[string]cty.Value{"a": cty.TupleVal([]cty.Value{s, cty.True})}), `{"a":["(sensitive)",true]}`},
		{"whole value", s, `"(sensitive)"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(redactedJSON(tt.v)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
