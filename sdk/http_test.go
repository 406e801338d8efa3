package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
)

// answer returns a server that always answers status with header and body.
func answer(t *testing.T, status int, header map[string]string, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, c *Client, url string) error {
	t.Helper()
	return c.DoJSON(context.Background(), http.MethodGet, url, nil, nil)
}

func TestHTTP_429MapsToRateLimitedWithRetryAfter(t *testing.T) {
	srv := answer(t, 429, map[string]string{"Retry-After": "7"}, `{"errors":"Exceeded 2 calls per second"}`)
	e := fault.As(get(t, NewClient(Auth{}, nil), srv.URL+"/orders.json"))
	if e.Kind != fault.RateLimited || e.RetryAfter != 7*time.Second || e.HTTPStatus != 429 {
		t.Fatalf("err = %v (kind %s, after %s, status %d)", e, e.Kind, e.RetryAfter, e.HTTPStatus)
	}
	if !strings.Contains(e.Message, "Exceeded 2 calls per second") {
		t.Fatalf("message %q lacks the body's message", e.Message)
	}
}

func TestHTTP_RetryAfterAcceptsFractionalSecondsAndHTTPDate(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"2.0":                           2 * time.Second,
		"100":                           100 * time.Second,
		"Mon, 23 Nov 2026 10:01:30 GMT": 90 * time.Second,
		"Mon, 23 Nov 2026 09:00:00 GMT": 0,
		"-3":                            0,
		"soon":                          0,
		"":                              0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestHTTP_429WithHTTPDateRetryAfterWaitsUntilThen(t *testing.T) {
	at := time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat)
	srv := answer(t, 429, map[string]string{"Retry-After": at}, "")
	e := fault.As(get(t, NewClient(Auth{}, nil), srv.URL))
	if e.Kind != fault.RateLimited || e.RetryAfter < 110*time.Second || e.RetryAfter > 121*time.Second {
		t.Fatalf("err = %v, after %s", e, e.RetryAfter)
	}
}

func TestHTTP_StatusesMapToClassifiedErrors(t *testing.T) {
	cases := map[int]fault.Kind{
		400: fault.InvalidInput, 401: fault.AuthExpired, 403: fault.Permanent, 404: fault.Permanent,
		408: fault.Retryable, 409: fault.Permanent, 422: fault.InvalidInput, 425: fault.Retryable,
		500: fault.Retryable, 501: fault.Permanent, 502: fault.Retryable, 503: fault.Retryable,
		504: fault.Retryable,
	}
	for status, want := range cases {
		srv := answer(t, status, nil, `{"message":"nope"}`)
		e := fault.As(get(t, NewClient(Auth{}, nil), srv.URL))
		if e.Kind != want || e.HTTPStatus != status || !strings.Contains(e.Message, "nope") {
			t.Errorf("%d: got %s (status %d, %q), want %s", status, e.Kind, e.HTTPStatus, e.Message, want)
		}
	}
}

func TestHTTP_503HonoursRetryAfter(t *testing.T) {
	srv := answer(t, 503, map[string]string{"Retry-After": "30"}, "maintenance")
	e := fault.As(get(t, NewClient(Auth{}, nil), srv.URL))
	if e.Kind != fault.Retryable || e.RetryAfter != 30*time.Second {
		t.Fatalf("err = %v", e)
	}
}

func TestHTTP_422FieldErrorsBecomeViolations(t *testing.T) {
	srv := answer(t, 422, nil, `{"message":"Oops! Invalid data.","errors":{"billing_pincode":["The billing pincode field is required."],"sub_total":"must be positive"}}`)
	e := fault.As(get(t, NewClient(Auth{}, nil), srv.URL))
	if e.Kind != fault.InvalidInput || !strings.Contains(e.Message, "Oops! Invalid data.") {
		t.Fatalf("err = %v", e)
	}
	if len(e.Violations) != 2 || e.Violations[0].Path != "billing_pincode" || e.Violations[1].Message != "must be positive" {
		t.Fatalf("violations = %v", e.Violations)
	}
}

func TestHTTP_ErrorMessagesComeFromCommonBodyShapes(t *testing.T) {
	for body, want := range map[string]string{
		`{"error":{"message":"bad sku"}}`:                   "bad sku",
		`{"error":"invalid_grant","error_description":"x"}`: "x",
		`{"errors":{"title":["can't be blank"]}}`:           `{"title":["can't be blank"]}`,
		`plain text failure`:                                "plain text failure",
	} {
		srv := answer(t, 400, nil, body)
		if e := fault.As(get(t, NewClient(Auth{}, nil), srv.URL)); !strings.Contains(e.Message, want) {
			t.Errorf("body %s: message %q lacks %q", body, e.Message, want)
		}
	}
}

func TestHTTP_ErrorBodyIsTruncated(t *testing.T) {
	srv := answer(t, 500, nil, strings.Repeat("<html>", 2000))
	e := fault.As(get(t, NewClient(Auth{}, nil), srv.URL))
	if len(e.Message) > maxErrorSnippet+200 || !strings.Contains(e.Message, "(12000 bytes)") {
		t.Fatalf("message not truncated: %d bytes: %.80s…", len(e.Message), e.Message)
	}
}

func TestHTTP_NetworkErrorIsRetryableAndHidesTheQuery(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/x?api_key=SECRET"
	srv.Close()
	err := get(t, NewClient(Auth{}, nil), url)
	if fault.KindOf(err) != fault.Retryable {
		t.Fatalf("err = %v, want retryable", err)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("error leaks the query: %v", err)
	}
}

func TestHTTP_TimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	err := get(t, NewClient(Auth{}, &http.Client{Timeout: 50 * time.Millisecond}), srv.URL)
	if fault.KindOf(err) != fault.Retryable {
		t.Fatalf("err = %v, want retryable", err)
	}
}

func TestHTTP_DoJSONSendsAndDecodes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]int
		if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&in) != nil {
			w.WriteHeader(400)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]int{"doubled": in["n"] * 2})
	}))
	defer srv.Close()
	var out struct{ Doubled int }
	if err := NewClient(Auth{}, nil).DoJSON(context.Background(), "POST", srv.URL, map[string]int{"n": 21}, &out); err != nil || out.Doubled != 42 {
		t.Fatalf("out = %+v, err = %v", out, err)
	}
}

func TestHTTP_SendLeavesStatusesToTheCaller(t *testing.T) {
	srv := answer(t, 404, nil, "")
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, err := NewClient(Auth{}, nil).Send(req)
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("resp = %v, err = %v", resp, err)
	}
	resp.Body.Close()
}

func TestHTTP_AppliesEachAuthScheme(t *testing.T) {
	cases := []struct {
		name  string
		auth  Auth
		check func(r *http.Request) bool
	}{
		{"basic", Auth{Type: schema.AuthBasic, Username: "ck", Password: "cs"}, func(r *http.Request) bool {
			u, p, ok := r.BasicAuth()
			return ok && u == "ck" && p == "cs"
		}},
		{"api key in header with prefix", Auth{Type: schema.AuthAPIKey, APIKey: "k1",
			APIKeySpec: schema.APIKeySpec{In: schema.InHeader, Name: "Authorization", Prefix: "Token "}},
			func(r *http.Request) bool { return r.Header.Get("Authorization") == "Token k1" }},
		{"api key in query", Auth{Type: schema.AuthAPIKey, APIKey: "k2", APIKeySpec: schema.APIKeySpec{In: schema.InQuery, Name: "key"}},
			func(r *http.Request) bool { return r.URL.Query().Get("key") == "k2" && r.URL.Query().Get("q") == "1" }},
		{"bearer", Auth{Type: schema.AuthBearer, Token: "t"}, func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer t" }},
		{"oauth2 lower-case token type", Auth{Type: schema.AuthOAuth2, Token: "at", TokenType: "bearer"},
			func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer at" }},
		{"oauth2 other token type", Auth{Type: schema.AuthOAuth2, Token: "at", TokenType: "MAC"},
			func(r *http.Request) bool { return r.Header.Get("Authorization") == "MAC at" }},
		{"session", Auth{Type: schema.AuthSession, Headers: map[string]string{"X-Session": "h"},
			Cookies: map[string]string{"sid": "c1", "csrf": "c2"}, Query: map[string]string{"token": "qv"}},
			func(r *http.Request) bool {
				sid, err1 := r.Cookie("sid")
				csrf, err2 := r.Cookie("csrf")
				return r.Header.Get("X-Session") == "h" && err1 == nil && sid.Value == "c1" && err2 == nil && csrf.Value == "c2" &&
					r.URL.Query().Get("token") == "qv" && r.URL.Query().Get("q") == "1"
			}},
		{"none", Auth{}, func(r *http.Request) bool { return r.Header.Get("Authorization") == "" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !c.check(r) {
					w.WriteHeader(http.StatusUnauthorized)
				}
			}))
			defer srv.Close()
			if err := get(t, NewClient(c.auth, nil), srv.URL+"/?q=1"); err != nil {
				t.Fatalf("server refused the credentials: %v", err)
			}
		})
	}
}

func TestHTTP_CallerRequestIsNotModified(t *testing.T) {
	srv := answer(t, 200, nil, "")
	req, _ := http.NewRequest("GET", srv.URL+"/?q=1", nil)
	resp, err := NewClient(Auth{Type: schema.AuthAPIKey, APIKey: "k", APIKeySpec: schema.APIKeySpec{In: schema.InQuery, Name: "key"}}, nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.URL.RawQuery != "q=1" || req.Header.Get("Authorization") != "" {
		t.Fatalf("request changed: %s %v", req.URL, req.Header)
	}
}

func TestHTTP_CanceledContextIsNotHidden(t *testing.T) {
	srv := answer(t, 200, nil, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := NewClient(Auth{}, nil).DoJSON(ctx, "GET", srv.URL, nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want it to wrap context.Canceled", err)
	}
}
