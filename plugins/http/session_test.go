package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/host/sandbox/warehouse"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/sdktest"
)

func TestSession_LoginThenCallWithTheToken(t *testing.T) {
	sim, base := sandbox(t)
	h := harness(t, fixedNow)
	conn := sdktest.Connection(map[string]any{"base_url": base, "login": map[string]any{
		"url": "/api/auth/login", "token_path": "data.token", "expires_in_path": "data.expires_in"}})
	conn.Auth.Type = schema.AuthSession

	res, err := h.Login(conn, map[string]string{"username": warehouse.DefaultUsername, "password": warehouse.DefaultPassword})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Auth.Headers["Authorization"], "Bearer whs_") || !res.Auth.Expiry.Equal(fixedNow().Add(time.Hour)) {
		t.Fatalf("session headers %d, expiry %v", len(res.Auth.Headers), res.Auth.Expiry)
	}
	conn.Auth = res.Auth
	if _, err := h.Execute("get", conn, map[string]any{"path": "/api/orders/ord_1001"}); err != nil {
		t.Fatal(err)
	}
	// An expired session is auth_expired: the host logs in again.
	sim.ExpireSessions()
	_, err = h.Execute("get", conn, map[string]any{"path": "/api/orders/ord_1001"})
	wantKind(t, err, fault.AuthExpired)

	_, err = h.Login(conn, map[string]string{"username": warehouse.DefaultUsername, "password": "wrong"})
	wantKind(t, err, fault.AuthExpired)
}

func TestSession_LoginShapeFollowsTheProperty(t *testing.T) {
	var form url.Values
	var contentType string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ = url.ParseQuery(string(body))
		contentType = r.Header.Get("Content-Type")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"auth": {"access": "tok-1"}}`))
	}))
	t.Cleanup(srv.Close)
	h := harness(t, fixedNow)
	conn := sdktest.Connection(map[string]any{"base_url": "http://127.0.0.1:1", "login": map[string]any{
		"url": srv.URL + "/oauth/login", "format": "form", "username_field": "email", "body": map[string]any{"grant_type": "password"},
		"token_path": "auth.access", "header": "X-Session", "prefix": ""}})
	conn.Auth.Type = schema.AuthSession
	res, err := h.Login(conn, map[string]string{"username": "ops@example.com", "password": "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "application/x-www-form-urlencoded" || form.Get("email") != "ops@example.com" || form.Get("password") != "pw" || form.Get("grant_type") != "password" {
		t.Fatalf("login sent %q as %s", form, contentType)
	}
	if res.Auth.Headers["X-Session"] != "tok-1" || !res.Auth.Expiry.IsZero() {
		t.Fatalf("session %v %v", res.Auth.Headers, res.Auth.Expiry)
	}
}

func TestSession_LoginFailures(t *testing.T) {
	sim, base := sandbox(t)
	h := harness(t, fixedNow)
	creds := map[string]string{"username": warehouse.DefaultUsername, "password": warehouse.DefaultPassword}
	conn := sdktest.Connection(map[string]any{"base_url": base})
	_, err := h.Login(conn, creds)
	wantKind(t, err, fault.InvalidInput) // no login property

	conn = sdktest.Connection(map[string]any{"base_url": base, "login": map[string]any{"url": "/api/auth/login", "token_path": "data.nothing"}})
	_, err = h.Login(conn, creds)
	wantKind(t, err, fault.Permanent)

	sim.Fail(warehouse.FaultServerError, 1)
	conn = sdktest.Connection(map[string]any{"base_url": base, "login": map[string]any{"url": "/api/auth/login", "token_path": "data.token"}})
	_, err = h.Login(conn, creds)
	wantKind(t, err, fault.Retryable)
}
