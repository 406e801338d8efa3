package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/host/runs"
)

// These tests run the hub binary against a fake of hub serve's admin API
// on loopback, so they pin what the operator commands send and print.

const testKey = "k-test-123"

// seen is one request the fake received.
type seen struct {
	method, path, auth, body string
	query                    url.Values
}

// fakeHub fakes the admin API routes with fixed answers.
type fakeHub struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

// newFakeHub starts the fake; logs, when set, serves GET /v1/logs.
func newFakeHub(t *testing.T, logs http.HandlerFunc) *fakeHub {
	t.Helper()
	f := &fakeHub{}
	mux := http.NewServeMux()
	now := time.Now()
	answer := func(v any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, v) }
	}
	mux.HandleFunc("GET /v1/status", answer(statusFixture(now)))
	mux.HandleFunc("GET /v1/webhooks", func(w http.ResponseWriter, r *http.Request) {
		// Written by hand, with a field the CLI does not know, to prove
		// -json passes the server's document through.
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, webhooksFixture)
	})
	mux.HandleFunc("GET /v1/runs", func(w http.ResponseWriter, r *http.Request) {
		if st := r.URL.Query().Get("status"); st == "bogus" {
			apiErr(w, http.StatusBadRequest, "bad_request", `status "bogus": want one of [running succeeded failed dead discarded]`)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"runs": summariesFixture(now), "next": "r-1"})
	})
	mux.HandleFunc("GET /v1/runs/{id}", func(w http.ResponseWriter, r *http.Request) {
		run := runFixture(now)
		switch id := r.PathValue("id"); id {
		case "r-2":
		case "r-ok":
			run.ID, run.Status = "r-ok", runs.Succeeded
		default:
			apiErr(w, http.StatusNotFound, "not_found", "run "+id+" not found")
			return
		}
		writeJSON(w, http.StatusOK, run)
	})
	mux.HandleFunc("GET /v1/dlq", answer(map[string]any{"dead_letters": deadFixture(now)}))
	for _, verb := range []string{"replay", "discard"} {
		done := map[string]string{"replay": "replayed", "discard": "discarded"}[verb]
		mux.HandleFunc("POST /v1/dlq/{id}/"+verb, func(w http.ResponseWriter, r *http.Request) {
			id := r.PathValue("id")
			if id == "r-404" {
				apiErr(w, http.StatusNotFound, "not_found", "run "+id+" is not in the dead-letter queue")
				return
			}
			writeJSON(w, http.StatusOK, map[string][]string{done: {id}})
		})
		mux.HandleFunc("POST /v1/dlq/"+verb, func(w http.ResponseWriter, r *http.Request) {
			var sel struct{ Workflow string }
			_ = json.NewDecoder(r.Body).Decode(&sel)
			if sel.Workflow == "partial" {
				// As hub serve reports a dead letter it could not act on.
				io.WriteString(w, `{"`+done+`":["r-2"],"failed":[{"id":"r-3","error":{"code":"internal","message":"internal error, see the host log"}}]}`+"\n")
				return
			}
			writeJSON(w, http.StatusOK, map[string][]string{done: {"r-2", "r-3"}})
		})
	}
	if logs != nil {
		mux.HandleFunc("GET /v1/logs", logs)
	}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{r.Method, r.URL.Path, r.Header.Get("Authorization"), string(body), r.URL.Query()})
		f.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+testKey {
			apiErr(w, http.StatusUnauthorized, "unauthorized", "missing or wrong API key")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeHub) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

// only fails unless the fake received exactly one request, and returns it.
func (f *fakeHub) only(t *testing.T) seen {
	t.Helper()
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("want one request, got %d: %+v", len(reqs), reqs)
	}
	return reqs[0]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func ptr[T any](v T) *T { return &v }

func statusFixture(now time.Time) *runs.HostStatus {
	return &runs.HostStatus{
		Version:   "1.2.3",
		StartedAt: now.Add(-3 * time.Hour),
		Ready:     true,
		Connections: []*runs.ConnectionStatus{
			{Name: "shop", Connector: "hub/shop@1.2.0", Breaker: "closed", InFlight: 2, Queued: 5, LastSuccess: ptr(now)},
			{Name: "warehouse", Connector: "acme/warehouse@0.3.1", Breaker: "open", LastError: "dial tcp: connection refused", LastErrorAt: ptr(now.Add(-2 * time.Hour))},
		},
		Triggers: []*runs.TriggerStatus{
			{Workflow: "paid_orders", Connection: "shop", Trigger: "order_created", Mode: "webhook", Events: 42, LastSuccess: ptr(now.Add(-2 * time.Hour)), LagSeconds: 7200},
			{Workflow: "stock_sync", Connection: "warehouse", Trigger: "stock_changed", Mode: "poll", Events: 0,
				LastError: "401 unauthorized: token expired", LastErrorAt: ptr(now.Add(-time.Hour)), FailingSince: ptr(now.Add(-time.Hour))},
			{Workflow: "wh_events", Connection: "warehouse", Trigger: "events", Mode: "stream", Events: 9000, LastSuccess: ptr(now), LastEventAt: ptr(now.Add(-2 * time.Second)),
				Connected: ptr(true), ConnectedSince: ptr(now.Add(-30 * time.Minute)), Reconnects: 3, BehindSeconds: ptr(0.042),
				LastGap: "2026-11-24T00:00:00Z: the third party could not resume from position \"812\" (reconciled)"},
		},
		Queue: runs.QueueStatus{Due: 3, Scheduled: 1, DeadLetters: 2},
	}
}

const webhooksFixture = `{"webhooks":[{"workflow":"paid_orders","connection":"shop","trigger":"order_created","url":"https://hooks.example.com/hooks/default/paid_orders/shop/order_created","path":"/hooks/default/paid_orders/shop/order_created","secret":"whsec-top-secret","extra_field":1}]}`

func summariesFixture(now time.Time) []runs.Summary {
	return []runs.Summary{
		{ID: "r-3", Workflow: "paid_orders", Status: runs.Succeeded, Attempts: 1, CreatedAt: now.Add(-time.Hour)},
		{ID: "r-2", Workflow: "paid_orders", Status: runs.Dead, Step: "charge", Attempts: 3, CreatedAt: now.Add(-2 * time.Hour),
			Error: "permanent: the card was declined by the issuing bank for reasons it does not disclose to merchants"},
	}
}

func runFixture(now time.Time) *runs.Run {
	t0 := time.Date(2026, 11, 23, 22, 1, 2, 123e6, time.UTC)
	return &runs.Run{
		ID: "r-2", Tenant: "default", Workflow: "paid_orders", Trigger: "shop/order_created",
		EventSeq: 7, EventID: "evt-7", Event: json.RawMessage(`{"order":{"id":"o-1","total":42}}`),
		Status: runs.Dead, Step: 1, Error: "charge: card declined",
		ReceivedAt: t0, CreatedAt: t0, UpdatedAt: t0.Add(time.Minute),
		Steps: []*runs.Step{
			{Name: "lookup", Connection: "shop", Action: "get_order", Connector: "hub/shop@1.2.0", Status: runs.Succeeded,
				Input: json.RawMessage(`{"id":"o-1"}`), Output: json.RawMessage(`{"email":"a@example.com"}`),
				Attempts: []*runs.Attempt{{N: 1, StartedAt: t0, DurationMS: 12.5}}},
			{Name: "charge", Connection: "payments", Action: "create_charge", Connector: "hub/payments@2.0.1", Status: runs.Dead,
				Input: json.RawMessage(`{"amount":42,"currency":"EUR"}`), IdempotencyKey: "idem-r-2-charge",
				Attempts: []*runs.Attempt{
					{N: 1, StartedAt: t0, DurationMS: 1500, Error: "timeout after 1.5s", ErrorKind: "retryable", RetryAt: ptr(t0.Add(10 * time.Second))},
					{N: 2, StartedAt: t0.Add(10 * time.Second), DurationMS: 80, Error: "card declined", ErrorKind: "permanent"},
				}},
		},
	}
}

func deadFixture(now time.Time) []runs.DeadLetter {
	return []runs.DeadLetter{
		{Run: "r-2", Workflow: "paid_orders", Step: "charge", Connection: "payments", Action: "create_charge", Error: "card declined", ErrorKind: "permanent", Attempts: 2, At: now.Add(-time.Hour)},
		{Run: "r-3", Workflow: "stock_sync", Step: "push", Connection: "warehouse", Action: "set_stock", Error: "connection refused", ErrorKind: "retryable", Attempts: 5, At: now.Add(-2 * time.Hour)},
	}
}

// cleanEnv is the test process's environment without HUB_ settings, so
// that an operator's own $HUB_ADDR cannot point these tests elsewhere.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HUB_") {
			out = append(out, kv)
		}
	}
	return out
}

// adminHub runs the hub binary in an empty working directory (so the
// default workspace holds no serve.json), with env added.
func adminHub(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, hubBin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	return runHub(t, cmd)
}

// against runs hub with -addr and -api-key pointing at the fake.
func (f *fakeHub) hub(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return adminHub(t, nil, stdin, append(args, "-addr", f.URL, "-api-key", testKey)...)
}

func (f *fakeHub) mustHub(t *testing.T, args ...string) result {
	t.Helper()
	return succeeded(t, f.hub(t, "", args...), args)
}

func contains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

// row returns the fields of the output line whose first field is first.
func row(t *testing.T, out, first string) []string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == first {
			return f
		}
	}
	t.Fatalf("no row %q in:\n%s", first, out)
	return nil
}

// writeServeFiles writes what a running hub serve leaves in its data
// directory.
func writeServeFiles(t *testing.T, dataDir, addr, key string) {
	t.Helper()
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	info, _ := json.Marshal(serveInfo{Addr: addr, URL: "http://" + addr, PID: os.Getpid()})
	if err := os.WriteFile(filepath.Join(dataDir, serveInfoFile), info, 0o600); err != nil {
		t.Fatal(err)
	}
	if key != "" {
		if err := os.WriteFile(filepath.Join(dataDir, apiKeyFile), []byte(key+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestAdmin_StatusShowsConnectionsTriggersAndQueue(t *testing.T) {
	f := newFakeHub(t, nil)
	r := f.mustHub(t, "status")
	req := f.only(t)
	if req.auth != "Bearer "+testKey || req.method != "GET" || req.path != "/v1/status" || req.query.Get("tenant") != "default" {
		t.Fatalf("request: %+v", req)
	}
	contains(t, "status", r.stdout,
		"hub 1.2.3, up 3h, ready",
		"Connections:", "Triggers:",
		"Queue: 3 due, 1 scheduled, 2 dead letters",
		"dial tcp: connection refused (2h ago)",
		"1 of 3 triggers FAILING",
		"Streams:",
		"401 unauthorized: token expired (failing for 1h)",
	)
	if got := row(t, r.stdout, "shop"); strings.Join(got, " ") != "shop hub/shop@1.2.0 closed 2 5 -" {
		t.Errorf("connection row: %q", got)
	}
	if got := row(t, r.stdout, "warehouse"); got[2] != "open" {
		t.Errorf("connection row: %q", got)
	}
	if got := row(t, r.stdout, "paid_orders"); strings.Join(got[:8], " ") != "paid_orders shop/order_created webhook 42 2h ago 2h ok" {
		t.Errorf("trigger row: %q", got)
	}
	if got := row(t, r.stdout, "stock_sync"); strings.Join(got[:7], " ") != "stock_sync warehouse/stock_changed poll 0 never - FAILING" {
		t.Errorf("failing trigger row: %q", got)
	}
	// The stream's row in Streams: the last row starting with its name.
	streams := r.stdout[strings.Index(r.stdout, "Streams:"):]
	if got := row(t, streams, "wh_events"); strings.Join(got[:9], " ") != "wh_events connected 30m ago 2s ago 42ms 3 2026-11-24T00:00:00Z:" {
		t.Errorf("stream row: %q", got)
	}
}

func TestAdmin_JSONPrintsTheAPIAnswerAsIs(t *testing.T) {
	f := newFakeHub(t, nil)
	for _, c := range []struct {
		args  []string
		route string
	}{
		{[]string{"status"}, "/v1/status"},
		{[]string{"webhooks", "-show-secrets"}, "/v1/webhooks"},
		{[]string{"runs", "list"}, "/v1/runs"},
		{[]string{"runs", "show", "r-2"}, "/v1/runs/r-2"},
		{[]string{"dlq", "list"}, "/v1/dlq"},
		{[]string{"dlq", "show", "r-2"}, "/v1/runs/r-2"},
	} {
		r := f.mustHub(t, append(c.args, "-json")...)
		if want := get(t, f.URL+c.route); r.stdout != want {
			t.Errorf("hub %s -json:\n%s\nwant the API's answer:\n%s", strings.Join(c.args, " "), r.stdout, want)
		}
	}
}

// get fetches a route of the fake with the test key.
func get(t *testing.T, u string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !bytes.HasSuffix(b, []byte("\n")) {
		b = append(b, '\n')
	}
	return string(b)
}

func TestAdmin_FindsTheServerThroughServeJSONAndItsAPIKey(t *testing.T) {
	f := newFakeHub(t, nil)
	addr := strings.TrimPrefix(f.URL, "http://")

	ws := t.TempDir()
	writeServeFiles(t, filepath.Join(ws, ".hub", "data"), addr, testKey)
	r := adminHub(t, nil, "", "status", "-dir", ws)
	if r.code != 0 || !strings.Contains(r.stdout, "hub 1.2.3") {
		t.Fatalf("status -dir: %+v", r)
	}

	// A serve.json with only the listen address.
	if err := os.WriteFile(filepath.Join(ws, ".hub", "data", serveInfoFile), []byte(`{"addr":"`+addr+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := adminHub(t, nil, "", "status", "-dir", ws); r.code != 0 {
		t.Fatalf("status with serve.json naming only addr: %+v", r)
	}

	data := t.TempDir()
	writeServeFiles(t, data, addr, testKey)
	for _, env := range [][]string{{"HUB_DATA_DIR=" + data}, nil} {
		args := []string{"status"}
		if env == nil {
			args = append(args, "-data-dir", data)
		}
		if r := adminHub(t, env, "", args...); r.code != 0 || !strings.Contains(r.stdout, "hub 1.2.3") {
			t.Fatalf("status with %v %v: %+v", env, args, r)
		}
	}

	// $HUB_ADDR and $HUB_API_KEY, and -addr given as host:port.
	if r := adminHub(t, []string{"HUB_ADDR=" + addr, "HUB_API_KEY=" + testKey}, "", "status"); r.code != 0 {
		t.Fatalf("status with $HUB_ADDR: %+v", r)
	}
	for _, req := range f.requests() {
		if req.auth != "Bearer "+testKey {
			t.Errorf("request without the key: %+v", req)
		}
	}
}

func TestAdmin_TenantIsSentWithEveryRequest(t *testing.T) {
	f := newFakeHub(t, nil)
	f.mustHub(t, "runs", "list", "-tenant", "acme")
	if q := f.only(t).query; q.Get("tenant") != "acme" {
		t.Fatalf("query: %v", q)
	}
}

func TestAdmin_WrongAPIKeyPrintsTheServerMessageAndWhereTheKeyCameFrom(t *testing.T) {
	f := newFakeHub(t, nil)
	r := adminHub(t, nil, "", "status", "-addr", f.URL, "-api-key", "wrong")
	if r.code != 1 || !strings.Contains(r.stderr, "hub status: missing or wrong API key") || !strings.Contains(r.stderr, "-api-key") {
		t.Fatalf("got %+v", r)
	}
	oneLine(t, r)

	data := t.TempDir()
	writeServeFiles(t, data, strings.TrimPrefix(f.URL, "http://"), "stale-key")
	r = adminHub(t, nil, "", "status", "-data-dir", data)
	if r.code != 1 || !strings.Contains(r.stderr, "missing or wrong API key") || !strings.Contains(r.stderr, filepath.Join(data, "api-key")) {
		t.Fatalf("got %+v", r)
	}
	oneLine(t, r)
}

func TestAdmin_UnknownRunPrintsTheServerMessage(t *testing.T) {
	f := newFakeHub(t, nil)
	r := f.hub(t, "", "runs", "show", "nope")
	if r.code != 1 || r.stderr != "hub runs: run nope not found\n" {
		t.Fatalf("got %+v", r)
	}
}

func TestAdmin_AValueTheServerRefusesIsAUsageError(t *testing.T) {
	f := newFakeHub(t, nil)
	r := f.hub(t, "", "runs", "list", "-status", "bogus")
	if r.code != 2 || r.stderr != "hub runs: status \"bogus\": want one of [running succeeded failed dead discarded]\n" {
		t.Fatalf("got %+v", r)
	}
}

func TestAdmin_NoServerSaysHowToStartOne(t *testing.T) {
	ws := t.TempDir()
	data := filepath.Join(ws, ".hub", "data")
	r := adminHub(t, nil, "", "status", "-dir", ws)
	if r.code != 1 || !strings.Contains(r.stderr, "no running hub serve found for "+data+" (start one with hub serve, or pass -addr)") {
		t.Fatalf("no serve.json: %+v", r)
	}
	oneLine(t, r)

	// A serve.json left by a server that is gone.
	writeServeFiles(t, data, closedAddr(t), testKey)
	r = adminHub(t, nil, "", "runs", "list", "-dir", ws)
	if r.code != 1 || !strings.Contains(r.stderr, "no running hub serve found for "+data) || !strings.Contains(r.stderr, "refuses connections") {
		t.Fatalf("stale serve.json: %+v", r)
	}
	oneLine(t, r)

	addr := closedAddr(t)
	r = adminHub(t, nil, "", "dlq", "list", "-addr", addr)
	if r.code != 1 || !strings.Contains(r.stderr, "no running hub serve at http://"+addr+": connection refused") {
		t.Fatalf("-addr refused: %+v", r)
	}
	oneLine(t, r)
}

func TestAdmin_WebhooksHideSecretsUnlessAsked(t *testing.T) {
	f := newFakeHub(t, nil)
	r := f.mustHub(t, "webhooks")
	contains(t, "webhooks", r.stdout, "paid_orders", "shop/order_created", "https://hooks.example.com/hooks/default/paid_orders/shop/order_created", "(hidden; -show-secrets)")
	if strings.Contains(r.stdout, "whsec-top-secret") {
		t.Fatalf("secret shown without -show-secrets:\n%s", r.stdout)
	}
	if r := f.mustHub(t, "webhooks", "-show-secrets"); !strings.Contains(r.stdout, "whsec-top-secret") {
		t.Fatalf("-show-secrets:\n%s", r.stdout)
	}
	r = f.mustHub(t, "webhooks", "-json")
	var doc struct{ Webhooks []map[string]any }
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Webhooks) != 1 {
		t.Fatalf("-json: %v\n%s", err, r.stdout)
	}
	if _, ok := doc.Webhooks[0]["secret"]; ok || doc.Webhooks[0]["extra_field"] != 1.0 || doc.Webhooks[0]["url"] == nil {
		t.Fatalf("-json without -show-secrets: %v", doc.Webhooks[0])
	}
}

func TestAdmin_RunsListSendsTheFiltersAndPrintsATable(t *testing.T) {
	f := newFakeHub(t, nil)
	r := f.mustHub(t, "runs", "list", "-workflow", "paid_orders", "-status", "dead", "-limit", "2", "-before", "r-9")
	q := f.only(t).query
	if q.Get("workflow") != "paid_orders" || q.Get("status") != "dead" || q.Get("limit") != "2" || q.Get("before") != "r-9" {
		t.Fatalf("query: %v", q)
	}
	if got := row(t, r.stdout, "ID"); strings.Join(got, " ") != "ID WORKFLOW STATUS STEP ATTEMPTS AGE ERROR" {
		t.Errorf("header: %q", got)
	}
	if got := row(t, r.stdout, "r-3"); strings.Join(got, " ") != "r-3 paid_orders succeeded - 1 1h -" {
		t.Errorf("row: %q", got)
	}
	got := row(t, r.stdout, "r-2")
	if strings.Join(got[:6], " ") != "r-2 paid_orders dead charge 3 2h" || !strings.HasSuffix(got[len(got)-1], "...") {
		t.Errorf("row with a long error: %q", got)
	}
	contains(t, "runs list", r.stdout, "\nMore: hub runs list -workflow paid_orders -status dead -limit 2 -before r-1\n")
	if r := f.mustHub(t, "runs", "list", "-workflow", "it's"); !strings.Contains(r.stdout, `More: hub runs list -workflow 'it'\''s' -before r-1`) {
		t.Errorf("a filter that needs quoting:\n%s", r.stdout)
	}
}

func TestAdmin_RunsShowPrintsEveryStepWithItsAttempts(t *testing.T) {
	f := newFakeHub(t, nil)
	r := f.mustHub(t, "runs", "show", "r-2")
	if req := f.only(t); req.path != "/v1/runs/r-2" {
		t.Fatalf("request: %+v", req)
	}
	contains(t, "runs show", r.stdout,
		"Run r-2\n",
		"status:    dead",
		"trigger:   shop/order_created",
		"event:     evt-7 (seq 7)",
		"received:  2026-11-23T22:01:02.123Z",
		"error:     charge: card declined",
		"Step 1/2 lookup [succeeded] shop.get_order (hub/shop@1.2.0)",
		"Step 2/2 charge [dead] payments.create_charge (hub/payments@2.0.1)",
		"idempotency key: idem-r-2-charge",
		"retryable: timeout after 1.5s",
		"retry at 2026-11-23T22:01:12.123Z",
		"permanent: card declined",
		"    {\n      \"amount\": 42,\n      \"currency\": \"EUR\"\n    }",
		"\"email\": \"a@example.com\"",
		"\"total\": 42",
	)
	attempt := row(t, r.stdout, "#1")
	if strings.Join(attempt, " ") != "#1 2026-11-23T22:01:02.123Z 13ms ok" {
		t.Errorf("first attempt: %q", attempt)
	}
}

func TestAdmin_DLQListAndShow(t *testing.T) {
	f := newFakeHub(t, nil)
	r := f.mustHub(t, "dlq", "list", "-workflow", "paid_orders", "-connection", "payments", "-error", "permanent")
	q := f.only(t).query
	if q.Get("workflow") != "paid_orders" || q.Get("connection") != "payments" || q.Get("error") != "permanent" {
		t.Fatalf("query: %v", q)
	}
	if got := row(t, r.stdout, "r-2"); strings.Join(got, " ") != "r-2 paid_orders charge payments.create_charge permanent 2 1h card declined" {
		t.Errorf("row: %q", got)
	}

	r = f.mustHub(t, "dlq", "show", "r-2")
	contains(t, "dlq show", r.stdout,
		"Dead letter r-2\n",
		"step:      charge (payments.create_charge)",
		"error:     permanent: card declined",
		"attempts:  2",
		"replay:    hub dlq replay r-2",
		"discard:   hub dlq discard r-2",
		"Run r-2\n",
		"Step 2/2 charge [dead]",
	)

	r = f.hub(t, "", "dlq", "show", "r-ok")
	if r.code != 1 || !strings.Contains(r.stderr, "run r-ok is not in the dead-letter queue (it is succeeded)") {
		t.Fatalf("dlq show of a run that is not dead: %+v", r)
	}
}

func TestAdmin_DLQReplayByIDAndBySelection(t *testing.T) {
	f := newFakeHub(t, nil)
	r := f.mustHub(t, "dlq", "replay", "r-2", "r-3")
	if r.stdout != "replayed r-2\nreplayed r-3\n" {
		t.Fatalf("replay by id: %q", r.stdout)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[0].method != "POST" || reqs[0].path != "/v1/dlq/r-2/replay" || reqs[1].path != "/v1/dlq/r-3/replay" {
		t.Fatalf("requests: %+v", reqs)
	}

	f = newFakeHub(t, nil)
	r = f.mustHub(t, "dlq", "replay", "-workflow", "paid_orders", "-error", "timeout")
	req := f.only(t)
	if req.path != "/v1/dlq/replay" || !jsonEqual(req.body, `{"workflow":"paid_orders","error":"timeout"}`) {
		t.Fatalf("request: %+v", req)
	}
	if r.stdout != "replayed r-2\nreplayed r-3\n" {
		t.Fatalf("replay by selection: %q", r.stdout)
	}

	f = newFakeHub(t, nil)
	r = f.mustHub(t, "dlq", "replay", "-all", "-json")
	if req := f.only(t); req.path != "/v1/dlq/replay" || !jsonEqual(req.body, `{"all":true}`) {
		t.Fatalf("request: %+v", req)
	}
	if !jsonEqual(r.stdout, `{"replayed":["r-2","r-3"]}`) {
		t.Fatalf("-json: %q", r.stdout)
	}
}

func TestAdmin_DLQReplayGoesOnPastAnIDThatIsNotDead(t *testing.T) {
	f := newFakeHub(t, nil)
	r := f.hub(t, "", "dlq", "replay", "r-404", "r-2")
	if r.code != 1 || r.stdout != "replayed r-2\n" ||
		!strings.Contains(r.stderr, "r-404: run r-404 is not in the dead-letter queue") || !strings.Contains(r.stderr, "1 of 2 dead letters were not replayed") {
		t.Fatalf("got %+v", r)
	}
}

func TestAdmin_DLQBulkReportsWhatTheServerCouldNotDo(t *testing.T) {
	f := newFakeHub(t, nil)
	r := f.hub(t, "", "dlq", "replay", "-workflow", "partial")
	if r.code != 1 || r.stdout != "replayed r-2\n" ||
		!strings.Contains(r.stderr, "hub dlq replay: r-3: internal error, see the host log") || !strings.Contains(r.stderr, "1 of 2 dead letters were not replayed") {
		t.Fatalf("got %+v", r)
	}
	r = f.hub(t, "", "dlq", "discard", "-workflow", "partial", "-auto-approve", "-json")
	if r.code != 1 || !jsonEqual(r.stdout, `{"discarded":["r-2"],"failed":[{"id":"r-3","error":{"code":"internal","message":"internal error, see the host log"}}]}`) {
		t.Fatalf("-json: %+v", r)
	}
}

func TestAdmin_DLQSelectionMistakesAreUsageErrors(t *testing.T) {
	f := newFakeHub(t, nil)
	for _, args := range [][]string{
		{"dlq", "replay"},
		{"dlq", "replay", "r-2", "-all"},
		{"dlq", "discard", "r-2", "-workflow", "w"},
		{"dlq", "replay", "-all", "-error", "timeout"},
		{"dlq", "discard", "-json", "r-2"},
		{"dlq", "frobnicate"},
		{"runs", "show"},
	} {
		if r := f.hub(t, "", args...); r.code != 2 {
			t.Errorf("hub %s: %+v", strings.Join(args, " "), r)
		}
	}
	if reqs := f.requests(); len(reqs) != 0 {
		t.Fatalf("a usage error still called the API: %+v", reqs)
	}
}

func TestAdmin_DLQDiscardAsksForYes(t *testing.T) {
	f := newFakeHub(t, nil)
	r := f.hub(t, "no\n", "dlq", "discard", "r-2")
	if r.code != 1 || !strings.Contains(r.stdout, "hub will discard these dead letters for good: r-2") ||
		!strings.Contains(r.stdout, "Discard them? Only 'yes' is accepted:") || !strings.Contains(r.stderr, "Discard cancelled.") {
		t.Fatalf("answered no: %+v", r)
	}
	if reqs := f.requests(); len(reqs) != 0 {
		t.Fatalf("discarded without a yes: %+v", reqs)
	}

	r = f.hub(t, "yes\n", "dlq", "discard", "r-2")
	if r.code != 0 || !strings.HasSuffix(r.stdout, "discarded r-2\n") {
		t.Fatalf("answered yes: %+v", r)
	}
	if req := f.only(t); req.method != "POST" || req.path != "/v1/dlq/r-2/discard" {
		t.Fatalf("request: %+v", req)
	}

	// A selection is listed before the question.
	f = newFakeHub(t, nil)
	r = f.hub(t, "yes\n", "dlq", "discard", "-all")
	contains(t, "discard -all", r.stdout, "hub will discard 2 dead letters for good:", "r-3", "discarded r-2\ndiscarded r-3\n")
	reqs := f.requests()
	if len(reqs) != 2 || reqs[0].method != "GET" || reqs[0].path != "/v1/dlq" || reqs[1].path != "/v1/dlq/discard" || !jsonEqual(reqs[1].body, `{"all":true}`) {
		t.Fatalf("requests: %+v", reqs)
	}

	f = newFakeHub(t, nil)
	r = f.mustHub(t, "dlq", "discard", "-workflow", "paid_orders", "-auto-approve")
	if req := f.only(t); req.path != "/v1/dlq/discard" || !jsonEqual(req.body, `{"workflow":"paid_orders"}`) {
		t.Fatalf("-auto-approve request: %+v", req)
	}
	if strings.Contains(r.stdout, "Discard them?") {
		t.Fatalf("-auto-approve asked: %q", r.stdout)
	}
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

const logLines = `{"time":"2026-11-23T22:01:02.123456Z","level":"info","message":"charged card","tenant":"default","workflow":"paid_orders","run":"r-2","step":"charge","attempt":2,"fields":{"amount":42,"note":"two words","ok":true}}
{"time":"2026-11-23T23:01:03+01:00","level":"warn","message":"host started","tenant":"default"}
`

func TestAdmin_LogsFollowPrintsStreamedLines(t *testing.T) {
	f := newFakeHub(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		for _, line := range strings.SplitAfter(logLines, "\n") {
			io.WriteString(w, line)
			w.(http.Flusher).Flush()
		}
	})
	r := f.mustHub(t, "logs", "-f", "-workflow", "paid_orders", "-run", "r-2", "-n", "5", "-level", "warn")
	want := "2026-11-23T22:01:02.123Z INFO  paid_orders/r-2 charge#2 charged card amount=42 note=\"two words\" ok=true\n" +
		"2026-11-23T22:01:03.000Z WARN  host started\n"
	if r.stdout != want {
		t.Fatalf("logs:\n%s\nwant:\n%s", r.stdout, want)
	}
	contains(t, "logs stderr", r.stderr, "ended the log stream")
	q := f.only(t).query
	if q.Get("follow") != "true" || q.Get("workflow") != "paid_orders" || q.Get("run") != "r-2" || q.Get("backlog") != "5" || q.Get("level") != "warn" {
		t.Fatalf("query: %v", q)
	}

	r = f.mustHub(t, "logs", "-json")
	if r.stdout != logLines {
		t.Fatalf("logs -json:\n%s", r.stdout)
	}
	if q := f.requests()[1].query; q.Has("follow") || q.Get("backlog") != "100" {
		t.Fatalf("query without -f: %v", q)
	}
}

func TestAdmin_LogsFollowExitsZeroOnInterrupt(t *testing.T) {
	f := newFakeHub(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.SplitAfter(logLines, "\n")[0])
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the stream stays open until the client goes
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, hubBin, "logs", "-f", "-addr", f.URL, "-api-key", testKey)
	cmd.Dir = t.TempDir()
	cmd.Env = cleanEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.Contains(line, "charged card") {
		t.Fatalf("first line %q: %v", line, err)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("hub logs -f after an interrupt: %v\n%s", err, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Fatalf("stderr: %s", stderr.String())
	}
}

func TestAdmin_HelpAndMissingSubcommands(t *testing.T) {
	for _, args := range [][]string{{"status", "-h"}, {"logs", "-h"}, {"dlq", "discard", "-h"}, {"runs", "list", "-h"}, {"webhooks", "-h"}} {
		if r := adminHub(t, nil, "", args...); r.code != 0 || !strings.Contains(r.stderr, "-addr") || !strings.Contains(r.stderr, "-api-key") {
			t.Errorf("hub %s: %+v", strings.Join(args, " "), r)
		}
	}
	for _, cmd := range []string{"runs", "dlq"} {
		if r := adminHub(t, nil, "", cmd); r.code != 2 || !strings.Contains(r.stdout, "Subcommands:") {
			t.Errorf("hub %s: %+v", cmd, r)
		}
		if r := adminHub(t, nil, "", cmd, "-h"); r.code != 0 {
			t.Errorf("hub %s -h: %+v", cmd, r)
		}
	}
	r := adminHub(t, nil, "", "help")
	for _, c := range []string{"status", "webhooks", "runs", "dlq", "logs"} {
		if !strings.Contains(r.stdout, "\n  "+c+" ") {
			t.Errorf("usage lacks %s:\n%s", c, r.stdout)
		}
	}
}

func TestBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080":             "http://127.0.0.1:8080",
		":8080":                      "http://127.0.0.1:8080",
		"0.0.0.0:8080":               "http://127.0.0.1:8080",
		"[::]:8080":                  "http://[::1]:8080",
		"localhost:9":                "http://localhost:9",
		"https://hub.example.com/":   "https://hub.example.com",
		"http://proxy:80/hub/":       "http://proxy:80/hub",
		"http://h:1/x?tenant=a#frag": "http://h:1/x",
	} {
		if got, err := baseURL(in); err != nil || got != want {
			t.Errorf("baseURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"ftp://h", "http://"} {
		if _, err := baseURL(bad); err == nil {
			t.Errorf("baseURL(%q) accepted", bad)
		}
	}
}

func TestSpan(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 45 * time.Second: "45s", 5*time.Minute + 12*time.Second: "5m12s",
		time.Hour: "1h", 3*time.Hour + 12*time.Minute: "3h12m", 50 * time.Hour: "2d2h",
	} {
		if got := span(d); got != want {
			t.Errorf("span(%v) = %q, want %q", d, got, want)
		}
	}
}
