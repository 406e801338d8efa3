package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/host/runs"
)

var adminRoutes = []struct{ method, path string }{
	{http.MethodGet, "/v1/status"},
	{http.MethodGet, "/v1/webhooks"},
	{http.MethodGet, "/v1/runs"},
	{http.MethodGet, "/v1/runs/r1"},
	{http.MethodGet, "/v1/dlq"},
	{http.MethodPost, "/v1/dlq/r1/replay"},
	{http.MethodPost, "/v1/dlq/r1/discard"},
	{http.MethodPost, "/v1/dlq/replay"},
	{http.MethodPost, "/v1/dlq/discard"},
	{http.MethodGet, "/v1/logs"},
}

func TestAPI_EveryRouteRequiresTheKey(t *testing.T) {
	f := newFixture(t, Options{})
	for _, rt := range adminRoutes {
		for _, auth := range []string{
			"",
			"Bearer",
			"Bearer wrong",
			"Bearer " + testKey + "x",
			"Bearer " + testKey[:len(testKey)-1],
			"Basic " + testKey,
			testKey,
		} {
			req := newRequest(rt.method, rt.path, `{"all":true}`)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			rec := serve(f, req)
			wantError(t, rec, http.StatusUnauthorized, CodeUnauthorized)
			if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%s %s: WWW-Authenticate = %q", rt.method, rt.path, rec.Header().Get("WWW-Authenticate"))
			}
		}
	}
	if calls := f.b.called(); len(calls) != 0 {
		t.Fatalf("backend called without the key: %v", calls)
	}
}

func TestAPI_KeyIsAcceptedWithAnyCaseOfBearer(t *testing.T) {
	f := newFixture(t, Options{})
	for _, auth := range []string{"Bearer " + testKey, "bearer " + testKey, "BEARER  " + testKey} {
		req := newRequest(http.MethodGet, "/v1/status", "")
		req.Header.Set("Authorization", auth)
		if rec := serve(f, req); rec.Code != http.StatusOK {
			t.Errorf("%q: status %d", auth, rec.Code)
		}
	}
}

func TestKeyMatches_ComparesDigestsOfAnyLength(t *testing.T) {
	f := newFixture(t, Options{APIKey: "k"})
	for auth, want := range map[string]bool{
		"Bearer k":                              true,
		"Bearer kk":                             false,
		"Bearer ":                               false,
		"Bearer " + strings.Repeat("k", 10_000): false,
	} {
		if got := f.s.keyMatches(auth); got != want {
			t.Errorf("keyMatches(%.20q) = %v, want %v", auth, got, want)
		}
	}
}

func TestAPI_TenantComesFromTheQueryAndIsValidated(t *testing.T) {
	f := newFixture(t, Options{})
	f.get(t, "/v1/status")
	f.get(t, "/v1/status?tenant=acme")
	if got := fmt.Sprint(f.b.tenants); got != "[default acme]" {
		t.Fatalf("tenants = %s", got)
	}
	wantError(t, f.get(t, "/v1/status?tenant="), http.StatusBadRequest, CodeBadRequest)
	wantError(t, f.get(t, "/v1/status?tenant=a/b"), http.StatusBadRequest, CodeBadRequest)
}

func TestStatus_IsTheBackendsHostStatus(t *testing.T) {
	f := newFixture(t, Options{})
	f.b.status = runs.HostStatus{Version: "1.2.3", Ready: true, Queue: runs.QueueStatus{Due: 4}}
	rec := f.get(t, "/v1/status")
	got := decode[runs.HostStatus](t, rec)
	if rec.Code != http.StatusOK || got.Version != "1.2.3" || !got.Ready || got.Queue.Due != 4 {
		t.Fatalf("status = %d %s", rec.Code, rec.Body)
	}
}

func TestWebhooks_ListIsWrappedAndNeverNull(t *testing.T) {
	f := newFixture(t, Options{})
	if body := strings.TrimSpace(f.get(t, "/v1/webhooks").Body.String()); body != `{"webhooks":[]}` {
		t.Fatalf("empty list = %s", body)
	}
	f.b.hooks = []runs.Webhook{{Workflow: "orders", Path: "/webhooks/orders", Secret: "s"}}
	got := decode[WebhookList](t, f.get(t, "/v1/webhooks"))
	if len(got.Webhooks) != 1 || got.Webhooks[0].Path != "/webhooks/orders" {
		t.Fatalf("webhooks = %+v", got)
	}
}

func TestRuns_PagesNewestFirstWithANextCursor(t *testing.T) {
	f := newFixture(t, Options{})
	for i := 5; i >= 1; i-- {
		f.b.runs = append(f.b.runs, runs.Summary{ID: fmt.Sprintf("r%d", i), Workflow: "orders", Status: runs.Succeeded})
	}
	var pages []string
	next := ""
	for range 4 {
		rec := f.get(t, "/v1/runs?limit=2&before="+next)
		page := decode[RunList](t, rec)
		var ids []string
		for _, r := range page.Runs {
			ids = append(ids, r.ID)
		}
		pages = append(pages, fmt.Sprintf("%v next=%q", ids, page.Next))
		if page.Next == "" {
			break
		}
		next = page.Next
	}
	want := `[r5 r4] next="r4"|[r3 r2] next="r2"|[r1] next=""`
	if got := strings.Join(pages, "|"); got != want {
		t.Fatalf("pages:\n got %s\nwant %s", got, want)
	}
}

func TestRuns_FiltersAndLimitReachTheBackend(t *testing.T) {
	f := newFixture(t, Options{})
	f.get(t, "/v1/runs")
	f.get(t, "/v1/runs?workflow=orders&status=dead&before=r9&limit=5000")
	if len(f.b.filters) != 2 {
		t.Fatalf("filters = %+v", f.b.filters)
	}
	if got := f.b.filters[0]; got.Limit != DefaultLimit {
		t.Errorf("default limit = %d, want %d", got.Limit, DefaultLimit)
	}
	want := runs.Filter{Workflow: "orders", Status: runs.Dead, Before: "r9", Limit: MaxLimit}
	if got := f.b.filters[1]; got != want {
		t.Errorf("filter = %+v, want %+v", got, want)
	}
	wantError(t, f.get(t, "/v1/runs?limit=0"), http.StatusBadRequest, CodeBadRequest)
	wantError(t, f.get(t, "/v1/runs?limit=x"), http.StatusBadRequest, CodeBadRequest)
	wantError(t, f.get(t, "/v1/runs?status=skipped"), http.StatusBadRequest, CodeBadRequest)
}

func TestRun_IsTheRunDocumentOr404(t *testing.T) {
	f := newFixture(t, Options{})
	f.b.runDocs["r1"] = &runs.Run{ID: "r1", Workflow: "orders", Status: runs.Running,
		Steps: []*runs.Step{{Name: "create", Status: runs.Pending}}, CreatedAt: time.Unix(0, 0).UTC()}
	got := decode[runs.Run](t, f.get(t, "/v1/runs/r1"))
	if got.ID != "r1" || len(got.Steps) != 1 || got.Steps[0].Name != "create" {
		t.Fatalf("run = %+v", got)
	}
	e := wantError(t, f.get(t, "/v1/runs/r2"), http.StatusNotFound, CodeNotFound)
	if !strings.Contains(e.Message, "r2") {
		t.Errorf("message %q does not name the run", e.Message)
	}
}

func TestAPI_UnexpectedBackendErrorIs500WithoutDetail(t *testing.T) {
	f := newFixture(t, Options{})
	f.b.err = errors.New("badger: corrupt value log at /data/000001.vlog")
	for _, rt := range adminRoutes {
		if rt.path == "/v1/logs" {
			continue // served from the bus, not the backend
		}
		rec := serve(f, authed(newRequest(rt.method, rt.path, `{"all":true}`)))
		wantError(t, rec, http.StatusInternalServerError, CodeInternal)
		if strings.Contains(rec.Body.String(), "vlog") {
			t.Fatalf("%s %s echoed the error: %s", rt.method, rt.path, rec.Body)
		}
	}
}

func deadLetters() []runs.DeadLetter {
	return []runs.DeadLetter{
		{Run: "r1", Workflow: "orders", Connection: "shop", Error: "429 rate limit", ErrorKind: "rate_limited"},
		{Run: "r2", Workflow: "orders", Connection: "wms", Error: "boom", ErrorKind: "permanent"},
		{Run: "r3", Workflow: "parcels", Connection: "shop", Error: "429 again", ErrorKind: "rate_limited"},
		{Run: "r4", Workflow: "orders", Connection: "shop", Error: "rate limited by shop", ErrorKind: "retryable"},
	}
}

func TestDLQ_ListPassesFiltersAndLimit(t *testing.T) {
	f := newFixture(t, Options{})
	f.b.dead = deadLetters()
	got := decode[DeadLetterList](t, f.get(t, "/v1/dlq?workflow=orders&connection=shop&error=rate_limited&limit=10"))
	if len(got.DeadLetters) != 1 || got.DeadLetters[0].Run != "r1" {
		t.Fatalf("dead letters = %+v", got)
	}
	want := runs.Filter{Workflow: "orders", Connection: "shop", Error: "rate_limited", Limit: 10}
	if f.b.filters[0] != want {
		t.Fatalf("filter = %+v, want %+v", f.b.filters[0], want)
	}
	if body := strings.TrimSpace(f.get(t, "/v1/dlq?workflow=none").Body.String()); body != `{"dead_letters":[]}` {
		t.Fatalf("empty list = %s", body)
	}
}

func TestDLQ_ReplayAndDiscardOne(t *testing.T) {
	f := newFixture(t, Options{})
	f.b.dead = deadLetters()
	rec := f.do(t, http.MethodPost, "/v1/dlq/r1/replay", testKey, nil)
	if body := strings.TrimSpace(rec.Body.String()); rec.Code != http.StatusOK || body != `{"replayed":["r1"]}` {
		t.Fatalf("replay = %d %s", rec.Code, body)
	}
	rec = f.do(t, http.MethodPost, "/v1/dlq/r2/discard?tenant=acme", testKey, nil)
	if body := strings.TrimSpace(rec.Body.String()); rec.Code != http.StatusOK || body != `{"discarded":["r2"]}` {
		t.Fatalf("discard = %d %s", rec.Code, body)
	}
	if got := fmt.Sprint(f.b.tenants); got != "[default acme]" {
		t.Fatalf("tenants = %s", got)
	}
	wantError(t, f.do(t, http.MethodPost, "/v1/dlq/r1/replay", testKey, nil), http.StatusNotFound, CodeNotFound)
}

func TestDLQ_BulkReplayActsOnEveryMatchAndOnlyThose(t *testing.T) {
	f := newFixture(t, Options{})
	f.b.dead = deadLetters()
	rec := f.do(t, http.MethodPost, "/v1/dlq/replay", testKey,
		strings.NewReader(`{"workflow":"orders","connection":"shop","error":"rate"}`))
	if body := strings.TrimSpace(rec.Body.String()); rec.Code != http.StatusOK || body != `{"replayed":["r1","r4"]}` {
		t.Fatalf("bulk replay = %d %s", rec.Code, body)
	}
	if got := fmt.Sprint(f.b.deadIDs()); got != "[r2 r3]" {
		t.Fatalf("left in the queue: %s", got)
	}
	// The listing behind a bulk action is unbounded.
	if lim := f.b.filters[0].Limit; lim != 0 {
		t.Fatalf("ListDead limit = %d, want 0 (all)", lim)
	}

	rec = f.do(t, http.MethodPost, "/v1/dlq/discard", testKey, strings.NewReader(`{"all":true}`))
	if body := strings.TrimSpace(rec.Body.String()); rec.Code != http.StatusOK || body != `{"discarded":["r2","r3"]}` {
		t.Fatalf("discard all = %d %s", rec.Code, body)
	}
	rec = f.do(t, http.MethodPost, "/v1/dlq/replay", testKey, strings.NewReader(`{"all":true}`))
	if body := strings.TrimSpace(rec.Body.String()); body != `{"replayed":[]}` {
		t.Fatalf("replay of an empty queue = %s", body)
	}
}

func TestDLQ_BulkWithoutAFilterOrWithATypoIsRefused(t *testing.T) {
	f := newFixture(t, Options{})
	f.b.dead = deadLetters()
	for _, body := range []string{``, `{}`, `{"all":false}`, `{"workflw":"orders"}`, `{"all":true} x`, `[]`} {
		rec := f.do(t, http.MethodPost, "/v1/dlq/discard", testKey, strings.NewReader(body))
		wantError(t, rec, http.StatusBadRequest, CodeBadRequest)
	}
	if got := len(f.b.deadIDs()); got != 4 {
		t.Fatalf("%d dead letters left, want all 4", got)
	}
}

func TestDLQ_BulkBodyOverTheLimitIs413(t *testing.T) {
	f := newFixture(t, Options{MaxBodyBytes: 16})
	rec := f.do(t, http.MethodPost, "/v1/dlq/replay", testKey,
		strings.NewReader(`{"workflow":"`+strings.Repeat("o", 32)+`"}`))
	wantError(t, rec, http.StatusRequestEntityTooLarge, CodeTooLarge)
	if calls := f.b.called(); len(calls) != 0 {
		t.Fatalf("backend called: %v", calls)
	}
}

func TestDLQ_BulkReportsTheOnesItCouldNotActOn(t *testing.T) {
	f := newFixture(t, Options{})
	f.b.dead = deadLetters()
	f.b.failOn = map[string]error{
		"r2": errors.New("disk full at /data"),
		"r3": fmt.Errorf("run r3: %w", ErrNotFound),
	}
	rec := f.do(t, http.MethodPost, "/v1/dlq/replay", testKey, strings.NewReader(`{"all":true}`))
	got := decode[ReplayResult](t, rec)
	if rec.Code != http.StatusOK || fmt.Sprint(got.Replayed) != "[r1 r4]" || len(got.Failed) != 2 {
		t.Fatalf("result = %d %s", rec.Code, rec.Body)
	}
	if f0 := got.Failed[0]; f0.ID != "r2" || f0.Error.Code != CodeInternal || strings.Contains(f0.Error.Message, "disk") {
		t.Errorf("failed[0] = %+v", f0)
	}
	if f1 := got.Failed[1]; f1.ID != "r3" || f1.Error.Code != CodeNotFound {
		t.Errorf("failed[1] = %+v", f1)
	}
	if !strings.Contains(f.log.String(), "disk full") {
		t.Errorf("internal failure not logged:\n%s", f.log)
	}
}
