package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/host/sandbox/shiprocket"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/sdktest"
	"github.com/hubhq/hub/sdk/wire"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, connector())
}

// clock moves a minute each time it is read, so every simulated scan has
// its own time.
func clock() func() time.Time {
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Minute)
		return now
	}
}

type env struct {
	sim  *shiprocket.Sim
	h    *sdktest.Harness
	conn wire.Connection // logged in
	url  string
}

var seedCreds = map[string]string{"email": shiprocket.SeedEmail, "password": shiprocket.SeedPassword}

// newEnv serves the simulator (through wrap, when given) on loopback and
// logs a connection in to it.
func newEnv(t *testing.T, wrap func(http.Handler) http.Handler) *env {
	t.Helper()
	sim := shiprocket.New(shiprocket.Options{Now: clock()})
	var hd http.Handler = sim.Handler()
	if wrap != nil {
		hd = wrap(hd)
	}
	srv := httptest.NewServer(hd)
	t.Cleanup(srv.Close)
	e := &env{sim: sim, h: sdktest.New(t, connector()), url: srv.URL}
	e.conn = sdktest.Connection(map[string]any{"base_url": srv.URL})
	e.conn.Auth = wire.Auth{Type: schema.AuthSession}
	e.login(t)
	return e
}

func (e *env) login(t *testing.T) {
	t.Helper()
	res, err := e.h.Login(e.conn, seedCreds)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	e.conn.Auth = res.Auth
}

func (e *env) exec(action string, input any, out any) error {
	raw, err := e.h.Execute(action, e.conn, input)
	if err != nil {
		return err
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func kindOf(t *testing.T, err error) *fault.Error {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	return fault.As(err)
}

func TestLogin_ExchangesCredentialsForABearerSessionOfTenDays(t *testing.T) {
	e := newEnv(t, nil)
	a := e.conn.Auth
	if a.Type != schema.AuthSession || !strings.HasPrefix(a.Headers["Authorization"], "Bearer sandbox.") {
		t.Fatalf("auth = %#v headers %v", a, len(a.Headers))
	}
	if left := time.Until(a.Expiry); left < TokenLifetime-time.Minute || left > TokenLifetime {
		t.Fatalf("expiry in %v, want about 240h", left)
	}
	account, err := e.h.Check(e.conn)
	if err != nil || !strings.Contains(account, shiprocket.SeedCompany) || !strings.Contains(account, shiprocket.SeedPickupLocation) {
		t.Fatalf("check = %q, %v", account, err)
	}
}

func TestLogin_WrongPasswordIsAuthExpired(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.h.Login(e.conn, map[string]string{"email": shiprocket.SeedEmail, "password": "wrong"})
	if k := kindOf(t, err); k.Kind != fault.AuthExpired || !strings.Contains(k.Message, "refused the login") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatalf("error shows the password: %v", err)
	}
}

func TestLogin_MissingPasswordIsRefusedBeforeCalling(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.h.Login(e.conn, map[string]string{"email": shiprocket.SeedEmail})
	if k := kindOf(t, err); k.Kind != fault.InvalidInput || k.Violations[0].Path != "credentials.password" {
		t.Fatalf("err = %v", err)
	}
	if e.sim.Logins() != 1 {
		t.Fatalf("logins = %d", e.sim.Logins())
	}
}

func TestLogin_TwoFactorUserIsPermanent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"is_mfa_enabled": true, "user_id": 7, "is_subuser": true, "data": "OTP has been generated"}`))
	}))
	defer srv.Close()
	h := sdktest.New(t, connector())
	_, err := h.Login(sdktest.Connection(map[string]any{"base_url": srv.URL}), seedCreds)
	if k := kindOf(t, err); k.Kind != fault.Permanent || !strings.Contains(k.Message, "two-factor") {
		t.Fatalf("err = %v", err)
	}
}

func TestSession_ExpiredTokenIsAuthExpiredThenANewLoginWorks(t *testing.T) {
	e := newEnv(t, nil)
	e.sim.ExpireTokens()
	err := e.exec("track_shipment", map[string]any{"awb": shiprocket.SeedAWB}, nil)
	if k := kindOf(t, err); k.Kind != fault.AuthExpired || k.HTTPStatus != 401 {
		t.Fatalf("err = %v", err)
	}
	// What the host does on auth_expired: log in once more, retry.
	e.login(t)
	var out trackOutput
	if err := e.exec("track_shipment", map[string]any{"awb": shiprocket.SeedAWB}, &out); err != nil || out.Status != "shipped" {
		t.Fatalf("after re-login: %+v, %v", out, err)
	}
	if n := e.sim.Logins(); n != 2 {
		t.Fatalf("logins = %d, want 2", n)
	}
}

func TestLogout_EndsTheSession(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.h.Remote().AuthStep(context.Background(), wire.AuthStepRequest{Step: wire.StepLogout, Conn: e.conn}); err != nil {
		t.Fatal(err)
	}
	err := e.exec("track_shipment", map[string]any{"awb": shiprocket.SeedAWB}, nil)
	if kindOf(t, err).Kind != fault.AuthExpired {
		t.Fatalf("after logout: %v", err)
	}
	// Logging out a dead session is not an error.
	if _, err := e.h.Remote().AuthStep(context.Background(), wire.AuthStepRequest{Step: wire.StepLogout, Conn: e.conn}); err != nil {
		t.Fatalf("second logout: %v", err)
	}
}

func TestErrors_AreClassified(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fail  shiprocket.Failure
		kind  fault.Kind
		after time.Duration
	}{
		{"429 with Retry-After", shiprocket.Failure{Status: 429, RetryAfter: 7}, fault.RateLimited, 7 * time.Second},
		{"500", shiprocket.Failure{Status: 500}, fault.Retryable, 0},
		{"503", shiprocket.Failure{Status: 503}, fault.Retryable, 0},
		{"401", shiprocket.Failure{Status: 401}, fault.AuthExpired, 0},
		{"403", shiprocket.Failure{Status: 403}, fault.Permanent, 0},
		{"malformed JSON", shiprocket.Failure{Malformed: true}, fault.Retryable, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.sim.Fail(tc.fail)
			err := e.exec("track_shipment", map[string]any{"awb": shiprocket.SeedAWB}, nil)
			k := kindOf(t, err)
			if k.Kind != tc.kind || k.RetryAfter != tc.after {
				t.Fatalf("err = %v (kind %v, retry after %v), want %v after %v", err, k.Kind, k.RetryAfter, tc.kind, tc.after)
			}
			// The failure was one request: the next call goes through.
			if err := e.exec("track_shipment", map[string]any{"awb": shiprocket.SeedAWB}, nil); err != nil {
				t.Fatalf("next call: %v", err)
			}
		})
	}
}

func TestBaseURL_MustBeHTTP(t *testing.T) {
	h := sdktest.New(t, connector())
	_, err := h.Login(sdktest.Connection(map[string]any{"base_url": "ftp://example.com"}), seedCreds)
	if k := kindOf(t, err); k.Kind != fault.InvalidInput {
		t.Fatalf("err = %v", err)
	}
}
