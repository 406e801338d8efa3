package main

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/host/sandbox/warehouse"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/sdktest"
	"github.com/hubhq/hub/sdk/wire"
)

func newOrder(ref string) map[string]any {
	return map[string]any{
		"ref":              ref,
		"lines":            []any{map[string]any{"sku": "SKU-MUG", "qty": 2}},
		"shipping_address": map[string]any{"name": "Grace Hopper", "line1": "1 Main St", "city": "Arlington", "postcode": "22201", "country": "US"},
	}
}

func TestCreate_SameIdempotencyKeyTwiceMakesOneOrder(t *testing.T) {
	sim, base := sandbox(t)
	h := harness(t, fixedNow)
	req := wire.ActionRequest{Action: "create", Conn: warehouseConn(base, nil), IdempotencyKey: "run-9/step-create", Attempt: 1,
		Input: mustJSON(t, map[string]any{"path": "/api/orders", "body": newOrder("#5001"), "result": "data.order"})}
	first, err := h.ExecuteCall(req)
	if err != nil {
		t.Fatal(err)
	}
	req.Attempt = 2
	second, err := h.ExecuteCall(req)
	if err != nil {
		t.Fatal(err)
	}
	a, b := output(t, first), output(t, second)
	if a["status"] != 201.0 || dig(a, "result", "status") != "received" {
		t.Fatalf("first = %v", a)
	}
	if dig(a, "result", "id") != dig(b, "result", "id") || dig(b, "headers", "Idempotent-Replayed") != "true" {
		t.Fatalf("retry made another order: %v then %v", a, b)
	}
	if n := len(sim.Orders()); n != 2 { // the seeded order and this one
		t.Fatalf("%d orders in the warehouse, want 2", n)
	}
}

func TestCreate_EmptyIdempotencyHeaderSendsNoKey(t *testing.T) {
	_, base := sandbox(t)
	h := harness(t, fixedNow)
	conn := warehouseConn(base, map[string]any{"idempotency_header": ""})
	in := map[string]any{"path": "/api/orders", "body": newOrder("#5002")}
	if _, err := h.Execute("create", conn, in); err != nil {
		t.Fatal(err)
	}
	// Without the key the warehouse sees a second order with the same
	// ref, which it refuses: a permanent 409.
	_, err := h.Execute("create", conn, in)
	if e := wantKind(t, err, fault.Permanent); e.HTTPStatus != http.StatusConflict {
		t.Fatalf("status %d", e.HTTPStatus)
	}
}

func TestGetSearchUpdateDelete_AgainstTheWarehouse(t *testing.T) {
	sim, base := sandbox(t)
	h := harness(t, fixedNow)
	conn := warehouseConn(base, nil)

	out, err := h.Execute("get", conn, map[string]any{"path": "/api/orders/ord_1001", "result": "data.order"})
	if err != nil {
		t.Fatal(err)
	}
	if o := output(t, out); dig(o, "result", "ref") != "#1000" || dig(o, "body", "data", "order", "id") != "ord_1001" {
		t.Fatalf("get = %v", o)
	}

	out, err = h.Execute("search", conn, map[string]any{"path": "/api/orders", "query": map[string]any{"ref": "#1000"}, "result": "data.orders[0].id"})
	if err != nil {
		t.Fatal(err)
	}
	if o := output(t, out); o["result"] != "ord_1001" {
		t.Fatalf("search = %v", o)
	}
	out, err = h.Execute("search", conn, map[string]any{"path": "/api/orders", "query": map[string]any{"ref": "#nope"}, "result": "data.orders[0].id"})
	if err != nil {
		t.Fatal(err)
	}
	if o := output(t, out); o["result"] != nil {
		t.Fatalf("search for nothing: result = %v, want null", o["result"])
	}

	if _, err := h.Execute("update", conn, map[string]any{"path": "/api/orders/ord_1001", "body": map[string]any{"status": "delivered"}}); err != nil {
		t.Fatal(err)
	}
	if o, _ := sim.Order("ord_1001"); o.Status != warehouse.StatusDelivered {
		t.Fatalf("status %s after update", o.Status)
	}

	out, err = h.Execute("create", conn, map[string]any{"path": "/api/webhooks", "body": map[string]any{"url": "http://127.0.0.1:1/hook", "events": []string{"stock.changed"}, "secret": "0123456789abcdef"}, "result": "data.webhook.id"})
	if err != nil {
		t.Fatal(err)
	}
	id := output(t, out)["result"].(string)
	out, err = h.Execute("delete", conn, map[string]any{"path": "/api/webhooks/" + id})
	if err != nil {
		t.Fatal(err)
	}
	if o := output(t, out); o["status"] != 204.0 || o["body"] != nil || len(sim.Webhooks()) != 0 {
		t.Fatalf("delete = %v, webhooks %v", o, sim.Webhooks())
	}
}

func TestGet_ExpectedNotFoundIsAnAnswer(t *testing.T) {
	_, base := sandbox(t)
	h := harness(t, fixedNow)
	conn := warehouseConn(base, nil)
	out, err := h.Execute("get", conn, map[string]any{"path": "/api/orders/ord_404", "expect": []int{200, 404}, "result": "data.order"})
	if err != nil {
		t.Fatal(err)
	}
	if o := output(t, out); o["status"] != 404.0 || o["result"] != nil || dig(o, "body", "error", "code") != "not_found" {
		t.Fatalf("get = %v", o)
	}
	_, err = h.Execute("get", conn, map[string]any{"path": "/api/orders/ord_404"})
	if e := wantKind(t, err, fault.Permanent); e.HTTPStatus != 404 {
		t.Fatalf("status %d", e.HTTPStatus)
	}
	// A success status the step did not expect is not success either.
	_, err = h.Execute("get", conn, map[string]any{"path": "/api/orders/ord_1001", "expect": []int{204}})
	wantKind(t, err, fault.Permanent)
}

func TestErrors_AreClassified(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault warehouse.Fault
		token string
		kind  fault.Kind
	}{
		{"401 token expired", warehouse.FaultUnauthorized, "", fault.AuthExpired},
		{"401 wrong token", "", "wrong", fault.AuthExpired},
		{"429 with Retry-After", warehouse.FaultRateLimit, "", fault.RateLimited},
		{"500", warehouse.FaultServerError, "", fault.Retryable},
		{"malformed JSON", warehouse.FaultMalformed, "", fault.Permanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, base := sandbox(t)
			h := harness(t, fixedNow)
			conn := warehouseConn(base, nil)
			if tc.token != "" {
				conn.Auth.Token = tc.token
			}
			if tc.fault != "" {
				sim.Fail(tc.fault, 1)
			}
			_, err := h.Execute("get", conn, map[string]any{"path": "/api/orders/ord_1001"})
			e := wantKind(t, err, tc.kind)
			if tc.kind == fault.RateLimited && e.RetryAfter != time.Second {
				t.Errorf("retry after %v, want 1s", e.RetryAfter)
			}
		})
	}
}

func TestCreate_InvalidOrderListsTheWarehousesFieldErrors(t *testing.T) {
	_, base := sandbox(t)
	h := harness(t, fixedNow)
	_, err := h.Execute("create", warehouseConn(base, nil), map[string]any{"path": "/api/orders", "body": map[string]any{"ref": "#x", "lines": []any{map[string]any{"sku": "A", "qty": 0}}}})
	e := wantKind(t, err, fault.InvalidInput)
	found := false
	for _, v := range e.Violations {
		found = found || v.Path == "lines[0].qty"
	}
	if !found {
		t.Fatalf("violations %v lack lines[0].qty", e.Violations)
	}
}

// recorder is a third party that records what it was sent.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recorder) serve(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.reqs = append(r.reqs, req.Clone(req.Context()))
		r.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (r *recorder) last() *http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs[len(r.reqs)-1]
}

func TestAuth_PlacedAsTheConnectionSays(t *testing.T) {
	rec := &recorder{}
	base := rec.serve(t)
	h := harness(t, fixedNow)
	for _, tc := range []struct {
		name  string
		auth  wire.Auth
		props map[string]any
		check func(*http.Request) bool
	}{
		{"api key in the declared header", wire.Auth{Type: schema.AuthAPIKey, APIKey: "k1"}, nil,
			func(r *http.Request) bool { return r.Header.Get(APIKeyHeader) == "k1" }},
		{"api key in another header with a prefix", wire.Auth{Type: schema.AuthAPIKey, APIKey: "k2"}, map[string]any{"api_key_header": "Authorization", "api_key_prefix": "Token "},
			func(r *http.Request) bool {
				return r.Header.Get("Authorization") == "Token k2" && r.Header.Get(APIKeyHeader) == ""
			}},
		{"api key in the query", wire.Auth{Type: schema.AuthAPIKey, APIKey: "k3"}, map[string]any{"api_key_query": "apikey"},
			func(r *http.Request) bool {
				return r.URL.Query().Get("apikey") == "k3" && r.Header.Get(APIKeyHeader) == ""
			}},
		{"basic", wire.Auth{Type: schema.AuthBasic, Username: "u", Password: "p"}, nil,
			func(r *http.Request) bool { u, p, ok := r.BasicAuth(); return ok && u == "u" && p == "p" }},
		{"bearer", wire.Auth{Type: schema.AuthBearer, Token: "t"}, nil,
			func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer t" }},
		{"none, with default headers", wire.Auth{Type: schema.AuthNone}, map[string]any{"headers": map[string]any{"X-Tenant": "acme"}},
			func(r *http.Request) bool {
				return r.Header.Get("X-Tenant") == "acme" && r.Header.Get("Authorization") == ""
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			props := map[string]any{"base_url": base}
			for k, v := range tc.props {
				props[k] = v
			}
			conn := sdktest.Connection(props)
			conn.Auth = tc.auth
			out, err := h.Execute("get", conn, map[string]any{"path": "/x"})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(rec.last()) {
				t.Fatalf("request headers %v, query %q", rec.last().Header, rec.last().URL.RawQuery)
			}
			if o := output(t, out); o["body"] != "ok" {
				t.Fatalf("a text answer should come back as text: %v", o)
			}
		})
	}
}

func TestRequest_SendsQueryHeadersBodyAndKey(t *testing.T) {
	var got struct {
		query, ct, key, custom, body string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.query, got.ct, got.key, got.custom, got.body = r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Get("X-Idem"), r.Header.Get("X-Custom"), string(b)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id": 123456789012345678}`))
	}))
	t.Cleanup(srv.Close)
	h := harness(t, fixedNow)
	conn := sdktest.Connection(map[string]any{"base_url": srv.URL + "/v2", "idempotency_header": "X-Idem"})
	out, err := h.ExecuteCall(wire.ActionRequest{Action: "update", Conn: conn, IdempotencyKey: "k-1", Attempt: 1, Input: json.RawMessage(
		`{"path": "/items/7?fields=all", "query": {"n": 123456789012345678, "tag": ["a", "b"], "skip": null}, "headers": {"X-Custom": "yes"}, "body": {"qty": 3}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if got.query != "fields=all&n=123456789012345678&tag=a&tag=b" || got.ct != "application/json" || got.key != "k-1" || got.custom != "yes" || got.body != `{"qty": 3}` {
		t.Fatalf("sent %+v", got)
	}
	if string(out) == "" || !json.Valid(out) {
		t.Fatal("bad output")
	}
	var o struct {
		Body struct {
			ID json.Number `json:"id"`
		} `json:"body"`
	}
	if err := json.Unmarshal(out, &o); err != nil || o.Body.ID != "123456789012345678" {
		t.Fatalf("long id lost digits: %s", out)
	}
}

func TestRequest_PathMustStayOnTheBaseURL(t *testing.T) {
	h := harness(t, fixedNow)
	conn := sdktest.Connection(map[string]any{"base_url": "http://127.0.0.1:1"})
	for _, p := range []string{"orders", "//evil.example/x", "http://evil.example/x"} {
		_, err := h.Execute("get", conn, map[string]any{"path": p})
		wantKind(t, err, fault.InvalidInput)
	}
}

func TestConnection_BadPropertiesAreInvalid(t *testing.T) {
	h := harness(t, fixedNow)
	for _, props := range []map[string]any{
		{"base_url": "ftp://x"},
		{"base_url": "http://127.0.0.1:1", "timeout": "soon"},
		{"base_url": "http://127.0.0.1:1", "headers": map[string]any{"X-N": 1}},
	} {
		_, err := h.Execute("get", sdktest.Connection(props), map[string]any{"path": "/"})
		wantKind(t, err, fault.InvalidInput)
	}
}

func TestCheck_GetsTheCheckPath(t *testing.T) {
	_, base := sandbox(t)
	h := harness(t, fixedNow)
	conn := warehouseConn(base, map[string]any{"check_path": "/api/orders?ref=none"})
	if account, err := h.Check(conn); err != nil || account == "" {
		t.Fatalf("check = %q, %v", account, err)
	}
	conn.Auth.Token = "wrong"
	_, err := h.Check(conn)
	wantKind(t, err, fault.AuthExpired)
}

func TestRequest_PathParamsAreEscapedAsOneSegment(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.EscapedPath() + "?" + r.URL.RawQuery
	}))
	t.Cleanup(srv.Close)
	h := harness(t, fixedNow)
	conn := sdktest.Connection(map[string]any{"base_url": srv.URL})
	if _, err := h.Execute("get", conn, map[string]any{"path": "/orders/{ref}/lines/{n}", "params": map[string]any{"ref": "#10/01?x", "n": 2}}); err != nil {
		t.Fatal(err)
	}
	if got != "/orders/%2310%2F01%3Fx/lines/2?" {
		t.Fatalf("path sent as %q", got)
	}
	_, err := h.Execute("get", conn, map[string]any{"path": "/orders/{id}"})
	wantKind(t, err, fault.InvalidInput)
}

// digestServer answers an RFC 7616 MD5 challenge for user:pass and 200
// once the response matches.
func digestServer(t *testing.T, user, pass string) string {
	md5hex := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		params := map[string]string{}
		if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Digest "); ok {
			for _, part := range strings.Split(h, ",") {
				k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
				params[k] = strings.Trim(v, `"`)
			}
		}
		ha1 := md5hex(user + ":wms:" + pass)
		ha2 := md5hex(r.Method + ":" + params["uri"])
		want := md5hex(strings.Join([]string{ha1, "n0nce", params["nc"], params["cnonce"], "auth", ha2}, ":"))
		if params["username"] != user || params["response"] != want {
			w.Header().Set("WWW-Authenticate", `Digest realm="wms", qop="auth", nonce="n0nce", algorithm=MD5`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAuth_DigestAnswersTheChallenge(t *testing.T) {
	base := digestServer(t, "ops", "pw")
	h := harness(t, fixedNow)
	conn := sdktest.Connection(map[string]any{"base_url": base})
	conn.Auth = wire.Auth{Type: schema.AuthDigest, Username: "ops", Password: "pw"}
	out, err := h.Execute("get", conn, map[string]any{"path": "/api/orders", "result": "ok"})
	if err != nil {
		t.Fatal(err)
	}
	if o := output(t, out); o["result"] != true {
		t.Fatalf("output %v", o)
	}
	conn.Auth.Password = "wrong"
	_, err = h.Execute("get", conn, map[string]any{"path": "/api/orders"})
	wantKind(t, err, fault.AuthExpired)
}
