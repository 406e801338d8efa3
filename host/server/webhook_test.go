package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWebhook_HandsTheDeliveryToTheBackendAndAnswersWithItsResponse(t *testing.T) {
	f := newFixture(t, Options{})
	f.b.onHook = func(_ context.Context, req WebhookRequest) (*WebhookResponse, error) {
		return &WebhookResponse{
			Status: http.StatusAccepted,
			Header: http.Header{"X-Hook": {"ok"}, "Content-Length": {"999"}},
			Body:   []byte("thanks"),
		}, nil
	}
	req := httptest.NewRequest(http.MethodPost, "/t/acme/webhooks/orders?src=shop", strings.NewReader(`{"id":7}`))
	req.Header.Set("X-Signature", "sig")
	req.RemoteAddr = "192.0.2.1:4711"
	rec := httptest.NewRecorder()
	f.s.Handler().ServeHTTP(rec, req)

	if rec.Code != http.StatusAccepted || rec.Body.String() != "thanks" || rec.Header().Get("X-Hook") != "ok" {
		t.Fatalf("response = %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	if got := rec.Header().Get("Content-Length"); got == "999" {
		t.Fatal("the backend's Content-Length was copied")
	}
	if len(f.b.webhooks) != 1 {
		t.Fatalf("backend got %d deliveries", len(f.b.webhooks))
	}
	got := f.b.webhooks[0]
	if got.Tenant != "acme" || got.Workflow != "orders" || got.Method != http.MethodPost ||
		got.URL != "/t/acme/webhooks/orders?src=shop" || string(got.Body) != `{"id":7}` ||
		got.Header.Get("X-Signature") != "sig" || got.RemoteAddr != "192.0.2.1:4711" {
		t.Fatalf("delivery = %+v", got)
	}
	// The Backend gets its own copy of the header.
	got.Header.Set("X-Signature", "changed")
	if req.Header.Get("X-Signature") != "sig" {
		t.Fatal("the delivery shares the request's header map")
	}
}

func TestWebhook_WithoutATenantIsTheDefaultTenantAndStatusDefaultsTo200(t *testing.T) {
	f := newFixture(t, Options{})
	f.b.onHook = func(context.Context, WebhookRequest) (*WebhookResponse, error) {
		return &WebhookResponse{}, nil
	}
	rec := f.do(t, http.MethodPost, "/webhooks/orders", "", strings.NewReader("{}"))
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", rec.Code)
	}
	if got := f.b.webhooks[0].Tenant; got != DefaultTenant {
		t.Fatalf("tenant = %q, want %q", got, DefaultTenant)
	}
}

func TestWebhook_BodyOverTheLimitIs413AndNeverReachesTheBackend(t *testing.T) {
	for _, tc := range []struct {
		name   string
		length int64 // request's Content-Length; -1 for unknown (chunked)
	}{
		{"declared length", 9},
		{"unknown length", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{MaxBodyBytes: 8})
			req := httptest.NewRequest(http.MethodPost, "/webhooks/orders", strings.NewReader("123456789"))
			req.ContentLength = tc.length
			rec := httptest.NewRecorder()
			f.s.Handler().ServeHTTP(rec, req)
			wantError(t, rec, http.StatusRequestEntityTooLarge, CodeTooLarge)
			if calls := f.b.called(); len(calls) != 0 {
				t.Fatalf("backend called: %v", calls)
			}
		})
	}

	t.Run("exactly the limit is accepted", func(t *testing.T) {
		f := newFixture(t, Options{MaxBodyBytes: 8})
		rec := f.do(t, http.MethodPost, "/webhooks/orders", "", strings.NewReader("12345678"))
		if rec.Code != http.StatusAccepted {
			t.Fatalf("status = %d, want 202", rec.Code)
		}
	})
}

func TestWebhook_ConnectorRefusalIsPassedThrough(t *testing.T) {
	f := newFixture(t, Options{})
	f.b.onHook = func(context.Context, WebhookRequest) (*WebhookResponse, error) {
		return &WebhookResponse{
			Status: http.StatusUnauthorized,
			Header: http.Header{"Content-Type": {"text/plain"}},
			Body:   []byte("bad signature"),
		}, errors.New("verify signature: mismatch")
	}
	rec := f.do(t, http.MethodPost, "/webhooks/orders", "", strings.NewReader("{}"))
	if rec.Code != http.StatusUnauthorized || rec.Body.String() != "bad signature" ||
		rec.Header().Get("Content-Type") != "text/plain" {
		t.Fatalf("response = %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	if !strings.Contains(f.log.String(), "verify signature: mismatch") {
		t.Fatalf("refusal not logged:\n%s", f.log)
	}
}

func TestWebhook_BackendErrorsMapToStatus(t *testing.T) {
	for _, tc := range []struct {
		err        error
		status     int
		code       string
		retryAfter bool
	}{
		{fmt.Errorf("workflow orders: %w", ErrNotFound), http.StatusNotFound, CodeNotFound, false},
		{fmt.Errorf("engine starting: %w", ErrUnavailable), http.StatusServiceUnavailable, CodeUnavailable, true},
		{fmt.Errorf("store: %w", context.DeadlineExceeded), http.StatusServiceUnavailable, CodeUnavailable, true},
		{context.Canceled, http.StatusServiceUnavailable, CodeUnavailable, true},
		{errors.New("open /var/secret token=hunter2: denied"), http.StatusInternalServerError, CodeInternal, false},
	} {
		t.Run(tc.code+" "+tc.err.Error(), func(t *testing.T) {
			f := newFixture(t, Options{})
			f.b.onHook = func(context.Context, WebhookRequest) (*WebhookResponse, error) { return nil, tc.err }
			rec := f.do(t, http.MethodPost, "/webhooks/orders", "", strings.NewReader("{}"))
			e := wantError(t, rec, tc.status, tc.code)
			if got := rec.Header().Get("Retry-After") != ""; got != tc.retryAfter {
				t.Errorf("Retry-After set = %v, want %v", got, tc.retryAfter)
			}
			if tc.code == CodeNotFound && e.Message != tc.err.Error() {
				t.Errorf("message = %q, want the backend's %q", e.Message, tc.err)
			}
			if tc.code == CodeInternal {
				if strings.Contains(rec.Body.String(), "hunter2") {
					t.Errorf("internal error echoed to the client: %s", rec.Body)
				}
				if e.Message != internalMessage {
					t.Errorf("message = %q, want %q", e.Message, internalMessage)
				}
				if log := f.log.String(); !strings.Contains(log, "hunter2") || !strings.Contains(log, "[ERROR]") {
					t.Errorf("internal error not logged at error level:\n%s", log)
				}
			}
		})
	}
}

func TestWebhook_TenantWithASlashIsRefused(t *testing.T) {
	f := newFixture(t, Options{})
	rec := f.do(t, http.MethodPost, "/t/a%2Fb/webhooks/orders", "", strings.NewReader("{}"))
	wantError(t, rec, http.StatusBadRequest, CodeBadRequest)
	if calls := f.b.called(); len(calls) != 0 {
		t.Fatalf("backend called: %v", calls)
	}
}

func TestWebhook_NeedsNoAPIKey(t *testing.T) {
	f := newFixture(t, Options{})
	req := httptest.NewRequest(http.MethodPost, "/webhooks/orders", io.NopCloser(strings.NewReader("{}")))
	rec := httptest.NewRecorder()
	f.s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status = %d, want 202", rec.Code)
	}
}
