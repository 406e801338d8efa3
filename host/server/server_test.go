package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hubhq/hub/host/logbus"
	"github.com/hubhq/hub/host/runs"
)

const testKey = "test-key-0123456789"

// fakeBackend records calls and answers from its fields. Runs are kept
// newest first, as the engine lists them.
type fakeBackend struct {
	mu       sync.Mutex
	calls    []string
	webhooks []WebhookRequest
	onHook   func(ctx context.Context, req WebhookRequest) (*WebhookResponse, error)
	ready    error
	err      error // returned by every admin method when set
	failOn   map[string]error
	status   runs.HostStatus
	hooks    []runs.Webhook
	runs     []runs.Summary
	runDocs  map[string]*runs.Run
	dead     []runs.DeadLetter
	filters  []runs.Filter
	tenants  []string
}

func (f *fakeBackend) record(call, tenant string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	f.tenants = append(f.tenants, tenant)
	return f.err
}

func (f *fakeBackend) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeBackend) Webhook(ctx context.Context, req WebhookRequest) (*WebhookResponse, error) {
	f.mu.Lock()
	f.calls = append(f.calls, "Webhook")
	f.webhooks = append(f.webhooks, req)
	on := f.onHook
	f.mu.Unlock()
	if on != nil {
		return on(ctx, req)
	}
	return &WebhookResponse{Status: http.StatusAccepted}, nil
}

func (f *fakeBackend) Ready() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ready
}

func (f *fakeBackend) setReady(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ready = err
}

func (f *fakeBackend) Status(_ context.Context, tenant string) (*runs.HostStatus, error) {
	if err := f.record("Status", tenant); err != nil {
		return nil, err
	}
	st := f.status
	return &st, nil
}

func (f *fakeBackend) Webhooks(_ context.Context, tenant string) ([]runs.Webhook, error) {
	if err := f.record("Webhooks", tenant); err != nil {
		return nil, err
	}
	return f.hooks, nil
}

func (f *fakeBackend) ListRuns(_ context.Context, tenant string, flt runs.Filter) ([]runs.Summary, error) {
	if err := f.record("ListRuns", tenant); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filters = append(f.filters, flt)
	var out []runs.Summary
	for _, r := range f.runs {
		if (flt.Workflow == "" || r.Workflow == flt.Workflow) &&
			(flt.Status == "" || r.Status == flt.Status) &&
			(flt.Before == "" || r.ID < flt.Before) {
			out = append(out, r)
		}
		if flt.Limit > 0 && len(out) == flt.Limit {
			break
		}
	}
	return out, nil
}

func (f *fakeBackend) Run(_ context.Context, tenant, id string) (*runs.Run, error) {
	if err := f.record("Run", tenant); err != nil {
		return nil, err
	}
	r, ok := f.runDocs[id]
	if !ok {
		return nil, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	return r, nil
}

func (f *fakeBackend) ListDead(_ context.Context, tenant string, flt runs.Filter) ([]runs.DeadLetter, error) {
	if err := f.record("ListDead", tenant); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filters = append(f.filters, flt)
	var out []runs.DeadLetter
	for _, d := range f.dead {
		if (flt.Workflow == "" || d.Workflow == flt.Workflow) &&
			(flt.Connection == "" || d.Connection == flt.Connection) &&
			(flt.Error == "" || d.ErrorKind == flt.Error || strings.Contains(d.Error, flt.Error)) {
			out = append(out, d)
		}
		if flt.Limit > 0 && len(out) == flt.Limit {
			break
		}
	}
	return out, nil
}

func (f *fakeBackend) take(call, tenant, id string) error {
	if err := f.record(call, tenant); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failOn[id]; err != nil {
		return err
	}
	for i, d := range f.dead {
		if d.Run == id {
			f.dead = slices.Delete(f.dead, i, i+1)
			return nil
		}
	}
	return errors.Join(errors.New("dead letter "+id), ErrNotFound)
}

func (f *fakeBackend) Replay(_ context.Context, tenant, id string) error {
	return f.take("Replay", tenant, id)
}

func (f *fakeBackend) Discard(_ context.Context, tenant, id string) error {
	return f.take("Discard", tenant, id)
}

func (f *fakeBackend) deadIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, d := range f.dead {
		ids = append(ids, d.Run)
	}
	return ids
}

type fixture struct {
	b   *fakeBackend
	s   *Server
	reg *prometheus.Registry
	bus *logbus.Bus
	log *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	f := &fixture{
		b:   &fakeBackend{runDocs: map[string]*runs.Run{}},
		reg: prometheus.NewRegistry(),
		bus: logbus.New(100),
		log: &syncBuffer{},
	}
	t.Cleanup(f.bus.Close)
	if opts.APIKey == "" {
		opts.APIKey = testKey
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	opts.Metrics = f.reg
	opts.Logs = f.bus
	opts.Logger = hclog.New(&hclog.LoggerOptions{Output: f.log, Level: hclog.Debug})
	s, err := New(f.b, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.s = s
	return f
}

// do runs one request through the handler; key "" sends no key.
func (f *fixture) do(t *testing.T, method, target, key string, body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	f.s.Handler().ServeHTTP(rec, req)
	return rec
}

func (f *fixture) get(t *testing.T, target string) *httptest.ResponseRecorder {
	t.Helper()
	return f.do(t, http.MethodGet, target, testKey, nil)
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %q: %v", rec.Body.String(), err)
	}
	return v
}

// wantError checks an error response's status, JSON shape and code.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) APIError {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	e := decode[ErrorResponse](t, rec).Error
	if e.Code != code || e.Message == "" {
		t.Fatalf("error = %+v, want code %q and a message", e, code)
	}
	return e
}

func TestNew_RefusesToServeWithoutAnAPIKey(t *testing.T) {
	if _, err := New(&fakeBackend{}, Options{}); err == nil {
		t.Fatal("New without an API key succeeded")
	}
}

func TestNew_SecondServerOnTheSameRegistryFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(&fakeBackend{}, Options{APIKey: "k", Metrics: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(&fakeBackend{}, Options{APIKey: "k", Metrics: reg}); err == nil {
		t.Fatal("second New on one registry succeeded")
	}
}

func TestHealthz_AlwaysOK(t *testing.T) {
	f := newFixture(t, Options{})
	f.b.setReady(ErrUnavailable)
	rec := f.do(t, http.MethodGet, "/healthz", "", nil)
	if rec.Code != http.StatusOK || decode[map[string]string](t, rec)["status"] != "ok" {
		t.Fatalf("healthz = %d %s", rec.Code, rec.Body)
	}
}

func TestReadyz_FollowsBackendReady(t *testing.T) {
	f := newFixture(t, Options{})
	f.b.setReady(errors.New("loading plugins"))
	rec := f.do(t, http.MethodGet, "/readyz", "", nil)
	got := decode[map[string]string](t, rec)
	if rec.Code != http.StatusServiceUnavailable || got["status"] != "not ready" || got["error"] != "loading plugins" {
		t.Fatalf("not ready: %d %v", rec.Code, got)
	}
	f.b.setReady(nil)
	rec = f.do(t, http.MethodGet, "/readyz", "", nil)
	if got := decode[map[string]string](t, rec); rec.Code != http.StatusOK || got["status"] != "ready" {
		t.Fatalf("ready: %d %v", rec.Code, got)
	}
}

func TestRouting_UnknownRouteAndWrongMethodAnswerJSON(t *testing.T) {
	f := newFixture(t, Options{})
	wantError(t, f.do(t, http.MethodGet, "/nope", "", nil), http.StatusNotFound, CodeNotFound)
	wantError(t, f.get(t, "/v1/nope"), http.StatusNotFound, CodeNotFound)

	rec := f.do(t, http.MethodGet, "/webhooks/orders", "", nil)
	wantError(t, rec, http.StatusMethodNotAllowed, CodeMethodNotAllowed)
	if allow := rec.Header().Get("Allow"); allow != "POST" {
		t.Fatalf("Allow = %q, want POST", allow)
	}
	if calls := f.b.called(); len(calls) != 0 {
		t.Fatalf("backend called: %v", calls)
	}
}

func TestMetrics_ExposeRequestWebhookAndTooLargeSeries(t *testing.T) {
	f := newFixture(t, Options{MaxBodyBytes: 8})
	f.do(t, http.MethodPost, "/webhooks/orders", "", strings.NewReader("{}"))
	f.do(t, http.MethodPost, "/webhooks/orders", "", strings.NewReader("far too long a body"))
	f.get(t, "/v1/status")

	rec := f.do(t, http.MethodGet, "/metrics", "", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics = %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`hub_http_requests_total{code="202",route="POST /webhooks/{workflow}"} 1`,
		`hub_http_requests_total{code="413",route="POST /webhooks/{workflow}"} 1`,
		`hub_http_requests_total{code="200",route="GET /v1/status"} 1`,
		`hub_webhook_request_duration_seconds_count{code="202"} 1`,
		`hub_webhook_request_duration_seconds_count{code="413"} 1`,
		`hub_http_request_body_too_large_total{route="POST /webhooks/{workflow}"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}

// startTCP serves f.s on a loopback port and returns its base URL and a
// channel with Serve's result.
func startTCP(t *testing.T, f *fixture) (string, <-chan error) {
	t.Helper()
	addr, err := f.s.Listen()
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	if tcp, ok := addr.(*net.TCPAddr); !ok || tcp.Port == 0 || !tcp.IP.IsLoopback() {
		t.Fatalf("Listen = %v, want a loopback address with its real port", addr)
	}
	served := make(chan error, 1)
	go func() { served <- f.s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = f.s.Shutdown(ctx)
	})
	return "http://" + addr.String(), served
}

func TestShutdown_LetsAnInFlightWebhookFinishAndRefusesNewConnections(t *testing.T) {
	f := newFixture(t, Options{})
	entered, release := make(chan struct{}), make(chan struct{})
	f.b.onHook = func(ctx context.Context, req WebhookRequest) (*WebhookResponse, error) {
		close(entered)
		<-release // the engine still syncing to disk
		return &WebhookResponse{Status: http.StatusOK, Body: []byte("stored")}, nil
	}
	base, served := startTCP(t, f)

	type result struct {
		status int
		body   string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Post(base+"/webhooks/orders", "application/json", strings.NewReader(`{"id":1}`))
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{resp.StatusCode, string(b), err}
	}()
	<-entered

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- f.s.Shutdown(ctx)
	}()

	// Wait for the listener to close: new connections are refused while
	// the in-flight webhook is still held.
	host := strings.TrimPrefix(base, "http://")
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, err := net.Dial("tcp", host)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting 5s after Shutdown began")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a webhook was in flight", err)
	default:
	}

	close(release)
	r := <-got
	if r.err != nil || r.status != http.StatusOK || r.body != "stored" {
		t.Fatalf("in-flight webhook: %+v, want 200 stored", r)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after Shutdown = %v, want nil", err)
	}
}

func TestShutdown_BeforeServeClosesTheListener(t *testing.T) {
	f := newFixture(t, Options{})
	addr, err := f.s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := f.s.Serve(); err != nil {
		t.Fatalf("Serve after Shutdown = %v, want nil", err)
	}
	if c, err := net.Dial("tcp", addr.String()); err == nil {
		c.Close()
		t.Fatal("listener still open after Shutdown")
	}
}

func newRequest(method, target, body string) *http.Request {
	return httptest.NewRequest(method, target, strings.NewReader(body))
}

func authed(req *http.Request) *http.Request {
	req.Header.Set("Authorization", "Bearer "+testKey)
	return req
}

func serve(f *fixture, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.s.Handler().ServeHTTP(rec, req)
	return rec
}
