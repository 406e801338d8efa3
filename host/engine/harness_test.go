package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/host/config"
	"github.com/hubhq/hub/host/ingest"
	"github.com/hubhq/hub/host/internal/enginetest"
	"github.com/hubhq/hub/host/limiter"
	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/server"
	"github.com/hubhq/hub/host/store"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// fakeConnector is a connector plugin in memory. Unset hooks succeed.
type fakeConnector struct {
	wire.Connector // nil: a method the tests do not expect panics

	// action answers ExecuteAction; n counts its calls from 1.
	action func(ctx context.Context, n int, req wire.ActionRequest) (json.RawMessage, error)
	// login answers AuthStep; n counts its calls from 1.
	login func(ctx context.Context, n int, req wire.AuthStepRequest) (wire.AuthStepResult, error)

	// schema answers Schema; nil is an empty schema.
	schema *schema.Schema
	// subscribe answers SubscribeWebhook; nil answers subscription
	// "sub-1".
	subscribe func(ctx context.Context, req wire.SubscribeRequest) (wire.Subscription, error)

	mu     sync.Mutex
	calls  []wire.ActionRequest
	logins []wire.AuthStepRequest
}

func (f *fakeConnector) Schema(context.Context) (*schema.Schema, error) {
	if f.schema == nil {
		return &schema.Schema{Name: "fake", Version: "1.0.0"}, nil
	}
	return f.schema, nil
}

func (f *fakeConnector) ExecuteAction(ctx context.Context, req wire.ActionRequest) (json.RawMessage, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	n := len(f.calls)
	f.mu.Unlock()
	if f.action == nil {
		return json.RawMessage(`{"ok":true}`), nil
	}
	return f.action(ctx, n, req)
}

func (f *fakeConnector) AuthStep(ctx context.Context, req wire.AuthStepRequest) (wire.AuthStepResult, error) {
	f.mu.Lock()
	f.logins = append(f.logins, req)
	n := len(f.logins)
	f.mu.Unlock()
	if f.login == nil {
		return wire.AuthStepResult{Auth: wire.Auth{Headers: map[string]string{"X-Session": fmt.Sprint("s", n)}}}, nil
	}
	return f.login(ctx, n, req)
}

// HandleWebhook takes the body as the one event's payload and the
// X-Event-Id header as its id.
func (f *fakeConnector) HandleWebhook(_ context.Context, req wire.WebhookRequest) (wire.WebhookResult, error) {
	return wire.WebhookResult{Events: []wire.Event{{ID: req.HTTP.Header.Get("X-Event-Id"), Payload: req.HTTP.Body}}}, nil
}

func (f *fakeConnector) SubscribeWebhook(ctx context.Context, req wire.SubscribeRequest) (wire.Subscription, error) {
	if f.subscribe != nil {
		return f.subscribe(ctx, req)
	}
	return wire.Subscription{ID: "sub-1"}, nil
}

func (f *fakeConnector) UnsubscribeWebhook(context.Context, wire.UnsubscribeRequest) error {
	return nil
}

func (f *fakeConnector) actionCalls() []wire.ActionRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]wire.ActionRequest(nil), f.calls...)
}

func (f *fakeConnector) loginCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.logins)
}

// compile compiles workspace (HCL after enginetest.HubBlock) against
// the fake connector's lock and installation; secrets answers secret().
func compile(t *testing.T, workspace string, secrets map[string]string) *Runtime {
	t.Helper()
	return compileWith(t, workspace, func(name string) (string, error) {
		if v, ok := secrets[name]; ok {
			return v, nil
		}
		return "", fmt.Errorf("no secret %q", name)
	})
}

// compileWith is compile with secret() answered by secret.
func compileWith(t *testing.T, workspace string, secret config.SecretFunc) *Runtime {
	t.Helper()
	lock, installed := enginetest.Lock()
	rt, err := Compile(enginetest.Workspace(t, workspace), lock, installed, nil, secret, store.DefaultTenant)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return rt
}

// host is an engine over a real store and ingester in dir.
type host struct {
	t    *testing.T
	dir  string
	st   *store.Store
	in   *ingest.Ingester
	e    *Engine
	once sync.Once
}

// open starts an engine on the store in dir running rt (nil: Start(nil))
// with fc as every connector; mod adjusts the options first.
func open(t *testing.T, dir string, rt *Runtime, fc *fakeConnector, mod func(*Options)) *host {
	t.Helper()
	h := &host{t: t, dir: dir}
	st, err := store.Open(dir, nil)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	h.st = st
	h.in = ingest.New(st, ingest.Options{})
	opts := Options{
		Store: st, Ingest: h.in, Connector: func(registry.Installed) wire.Connector { return fc },
		Workers: 2, ActionTimeout: 5 * time.Second, BaseURL: "http://127.0.0.1:1",
		// A breaker that stays closed, so retry tests see every attempt.
		Breaker: limiter.BreakerOptions{Threshold: 1000},
	}
	if mod != nil {
		mod(&opts)
	}
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.e = e
	if err := e.Start(rt); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { h.stop(time.Second) })
	return h
}

// stop shuts the engine down with grace and closes the ingester and the
// store, once.
func (h *host) stop(grace time.Duration) {
	h.once.Do(func() {
		h.e.Shutdown(grace)
		if err := h.in.Close(); err != nil {
			h.t.Errorf("close ingester: %v", err)
		}
		if err := h.st.Close(); err != nil {
			h.t.Errorf("close store: %v", err)
		}
	})
}

// deliver posts one webhook delivery of event id with payload to
// workflow and requires it to be accepted.
func (h *host) deliver(workflow, id, payload string) {
	h.t.Helper()
	res, err := h.e.Webhook(context.Background(), server.WebhookRequest{
		Tenant: store.DefaultTenant, Workflow: workflow, Method: http.MethodPost, URL: "/webhooks/" + workflow,
		Header: http.Header{"X-Event-Id": {id}}, Body: []byte(payload),
	})
	if err != nil {
		h.t.Fatalf("deliver %s: %v", id, err)
	}
	if res.Status != http.StatusOK {
		h.t.Fatalf("deliver %s: status %d: %s", id, res.Status, res.Body)
	}
}

// waitFor polls cond until it holds, failing the test after 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// run returns run id, or nil when it does not exist (yet).
func (h *host) run(id string) *runs.Run {
	h.t.Helper()
	r, err := h.e.Run(context.Background(), store.DefaultTenant, id)
	if errors.Is(err, server.ErrNotFound) {
		return nil
	}
	if err != nil {
		h.t.Fatalf("run %s: %v", id, err)
	}
	return r
}

// waitStatus waits until run id has status st and returns it.
func (h *host) waitStatus(id string, st runs.Status) *runs.Run {
	h.t.Helper()
	var r *runs.Run
	waitFor(h.t, fmt.Sprintf("run %s to be %s", id, st), func() bool {
		r = h.run(id)
		return r != nil && r.Status == st
	})
	return r
}

// jobCount returns how many jobs are stored.
func (h *host) jobCount() int {
	h.t.Helper()
	n := 0
	err := h.st.View(func(tx *store.Tx) error {
		return tx.Scan(store.DefaultTenant, runs.KindJob, "", 0, func(string, []byte) error { n++; return nil })
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// runID is the id of the run of the n-th event accepted in a fresh store.
func runID(n uint64) string { return runs.RunID(n) }
