package warehouse

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// client calls a simulator served on loopback.
type client struct {
	t     *testing.T
	base  string
	token string
}

func newClient(t *testing.T, s *Sim) *client {
	t.Helper()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &client{t: t, base: srv.URL, token: DefaultToken}
}

func (c *client) do(method, path string, body any, header map[string]string) (int, http.Header, map[string]any) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			c.t.Fatalf("%s %s: body %q is not JSON: %v", method, path, data, err)
		}
	}
	return resp.StatusCode, resp.Header, out
}

func orderBody(ref string) map[string]any {
	return map[string]any{
		"ref":              ref,
		"lines":            []map[string]any{{"sku": "SKU-MUG", "qty": 1}},
		"shipping_address": map[string]any{"name": "Grace Hopper", "line1": "1 Main St", "city": "Arlington", "postcode": "22201", "country": "US"},
	}
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestAPI_RequiresBearerToken(t *testing.T) {
	c := newClient(t, New(Options{}))
	c.token = ""
	if code, h, body := c.do("GET", "/api/orders", nil, nil); code != 401 || h.Get("WWW-Authenticate") == "" || dig(body, "error", "code") != "unauthorized" {
		t.Fatalf("no token: %d %v", code, body)
	}
	c.token = "wrong"
	if code, _, _ := c.do("GET", "/api/orders", nil, nil); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
}

func TestOrders_CreateGetSearchAndAdvance(t *testing.T) {
	s := New(Options{})
	c := newClient(t, s)
	code, h, body := c.do("POST", "/api/orders", orderBody("#2001"), nil)
	if code != 201 || dig(body, "data", "order", "status") != StatusReceived {
		t.Fatalf("create: %d %v", code, body)
	}
	id := dig(body, "data", "order", "id").(string)
	if h.Get("Location") != "/api/orders/"+id {
		t.Errorf("Location = %q", h.Get("Location"))
	}
	if code, _, body := c.do("GET", "/api/orders/"+id, nil, nil); code != 200 || dig(body, "data", "order", "ref") != "#2001" {
		t.Fatalf("get: %d %v", code, body)
	}
	if code, _, body := c.do("GET", "/api/orders?ref=%232001", nil, nil); code != 200 || len(dig(body, "data", "orders").([]any)) != 1 {
		t.Fatalf("search: %d %v", code, body)
	}
	if code, _, body := c.do("PATCH", "/api/orders/"+id, map[string]any{"status": "packed"}, nil); code != 200 || dig(body, "data", "order", "status") != "packed" {
		t.Fatalf("patch: %d %v", code, body)
	}
	if code, _, body := c.do("PATCH", "/api/orders/"+id, map[string]any{"status": "picking"}, nil); code != 422 || dig(body, "errors", "status") == nil {
		t.Fatalf("backwards: %d %v", code, body)
	}
	if code, _, _ := c.do("GET", "/api/orders/ord_nope", nil, nil); code != 404 {
		t.Fatalf("missing order: %d", code)
	}
	if code, _, body := c.do("POST", "/api/orders", orderBody("#2001"), nil); code != 409 || dig(body, "error", "code") != "duplicate_ref" {
		t.Fatalf("duplicate ref: %d %v", code, body)
	}
}

func TestOrders_ValidationListsFields(t *testing.T) {
	c := newClient(t, New(Options{}))
	code, _, body := c.do("POST", "/api/orders", map[string]any{"ref": "x", "lines": []map[string]any{{"sku": "", "qty": 0}}}, nil)
	if code != 422 {
		t.Fatalf("code %d", code)
	}
	errs := body["errors"].(map[string]any)
	for _, f := range []string{"lines[0].sku", "lines[0].qty", "shipping_address.city"} {
		if errs[f] == nil {
			t.Errorf("no error for %s in %v", f, errs)
		}
	}
}

func TestOrders_IdempotencyKeyReplaysTheFirstAnswer(t *testing.T) {
	s := New(Options{})
	c := newClient(t, s)
	key := map[string]string{"Idempotency-Key": "run-1/step-create"}
	_, _, first := c.do("POST", "/api/orders", orderBody("#3001"), key)
	code, h, second := c.do("POST", "/api/orders", orderBody("#3001"), key)
	if code != 201 || h.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %v", code, h)
	}
	if dig(first, "data", "order", "id") != dig(second, "data", "order", "id") {
		t.Fatalf("replay gave another order: %v vs %v", first, second)
	}
	if n := len(s.Orders()); n != 2 { // the seeded order and this one
		t.Fatalf("%d orders, want 2", n)
	}
	if code, _, body := c.do("POST", "/api/orders", orderBody("#3002"), key); code != 422 || dig(body, "error", "code") != "idempotency_key_reused" {
		t.Fatalf("reused key: %d %v", code, body)
	}
}

func TestFeeds_PageBySeq(t *testing.T) {
	s := New(Options{})
	c := newClient(t, s)
	for _, st := range []string{"picking", "packed", "shipped"} {
		if err := s.Advance("ord_1001", st); err != nil {
			t.Fatal(err)
		}
	}
	_, _, body := c.do("GET", "/api/shipments?since=0&limit=2", nil, nil)
	items := dig(body, "data", "items").([]any)
	if len(items) != 2 || dig(body, "data", "has_more") != true || dig(body, "data", "next_since") != 2.0 {
		t.Fatalf("page 1: %v", body)
	}
	_, _, body = c.do("GET", "/api/shipments?since=2&limit=2", nil, nil)
	items = dig(body, "data", "items").([]any)
	if len(items) != 1 || dig(items[0], "status") != "shipped" || dig(body, "data", "has_more") != false {
		t.Fatalf("page 2: %v", body)
	}
	if code, _, _ := c.do("GET", "/api/shipments?since=x", nil, nil); code != 400 {
		t.Fatalf("bad since: %d", code)
	}
	if code, _, _ := c.do("PUT", "/api/stock/SKU-MUG", map[string]any{"qty": 7}, nil); code != 200 {
		t.Fatalf("put stock: %d", code)
	}
	_, _, body = c.do("GET", "/api/stock?since=0", nil, nil)
	items = dig(body, "data", "items").([]any)
	if len(items) != 1 || dig(items[0], "qty") != 7.0 || dig(items[0], "previous_qty") != 12.0 || dig(items[0], "seq") != 4.0 {
		t.Fatalf("stock feed: %v", body)
	}
}

func TestWebhooks_DeliveriesAreSigned(t *testing.T) {
	type got struct {
		header http.Header
		body   []byte
	}
	var (
		mu       sync.Mutex
		received []got
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		received = append(received, got{r.Header.Clone(), b})
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(recv.Close)
	s := New(Options{})
	c := newClient(t, s)
	secret := "0123456789abcdef0123"
	code, _, body := c.do("POST", "/api/webhooks", map[string]any{"url": recv.URL, "events": []string{EventStockChanged, EventOrderStatusChanged}, "secret": secret}, nil)
	if code != 201 {
		t.Fatalf("subscribe: %d %v", code, body)
	}
	s.SetStock("SKU-MUG", 3)
	if err := s.Advance("ord_1001", StatusPicking); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(received) != 2 {
		t.Fatalf("%d deliveries", len(received))
	}
	for i, r := range received {
		if r.header.Get(SignatureHeader) != Sign(secret, r.body) || r.header.Get(DeliveryHeader) == "" {
			t.Errorf("delivery %d: headers %v", i, r.header)
		}
	}
	if !strings.Contains(string(received[1].body), `"status":"picking"`) {
		t.Errorf("order delivery body %s", received[1].body)
	}
	if d := s.Deliveries(); len(d) != 2 || d[0].Status != 202 {
		t.Errorf("deliveries %+v", d)
	}
	id := dig(body, "data", "webhook", "id").(string)
	if code, _, _ := c.do("DELETE", "/api/webhooks/"+id, nil, nil); code != 204 {
		t.Fatalf("unsubscribe: %d", code)
	}
	mu.Unlock()
	s.SetStock("SKU-MUG", 4)
	mu.Lock()
	if len(received) != 2 {
		t.Fatal("delivered after unsubscribe")
	}
}

func TestFail_InjectsFaultsThenRecovers(t *testing.T) {
	s := New(Options{})
	c := newClient(t, s)
	s.Fail(FaultRateLimit, 1)
	s.Fail(FaultServerError, 1)
	if code, h, _ := c.do("GET", "/api/orders", nil, nil); code != 429 || h.Get("Retry-After") != "1" {
		t.Fatalf("429: %d %v", code, h)
	}
	if code, _, _ := c.do("GET", "/api/orders", nil, nil); code != 500 {
		t.Fatalf("500: %d", code)
	}
	if code, _, _ := c.do("GET", "/api/orders", nil, nil); code != 200 {
		t.Fatalf("recovered: %d", code)
	}
}

func TestLogin_SessionTokenWorksUntilExpired(t *testing.T) {
	s := New(Options{})
	c := newClient(t, s)
	c.token = ""
	code, _, body := c.do("POST", "/api/auth/login", map[string]any{"username": DefaultUsername, "password": DefaultPassword}, nil)
	if code != 200 {
		t.Fatalf("login: %d %v", code, body)
	}
	c.token = dig(body, "data", "token").(string)
	if code, _, _ := c.do("GET", "/api/orders", nil, nil); code != 200 {
		t.Fatalf("with session: %d", code)
	}
	s.ExpireSessions()
	if code, _, _ := c.do("GET", "/api/orders", nil, nil); code != 401 {
		t.Fatalf("expired session: %d", code)
	}
	c.token = ""
	if code, _, _ := c.do("POST", "/api/auth/login", map[string]any{"username": DefaultUsername, "password": "nope"}, nil); code != 401 {
		t.Fatalf("bad password: %d", code)
	}
}

func TestReset_ReturnsToSeed(t *testing.T) {
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	s := New(Options{Now: func() time.Time { return now }})
	s.SetStock("SKU-NEW", 5)
	s.Fail(FaultMalformed, 3)
	s.Reset()
	if _, ok := s.Stock("SKU-NEW"); ok {
		t.Error("stock survived reset")
	}
	if o := s.Orders(); len(o) != 1 || o[0].ID != "ord_1001" {
		t.Errorf("orders after reset: %+v", o)
	}
	c := newClient(t, s)
	if code, _, _ := c.do("GET", "/api/orders", nil, nil); code != 200 {
		t.Errorf("fault survived reset: %d", code)
	}
}

func TestControl_Switches(t *testing.T) {
	s := New(Options{})
	ctl := httptest.NewServer(s.Control())
	t.Cleanup(ctl.Close)
	post := func(path, body string) int {
		resp, err := http.Post(ctl.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/advance", `{"order_id":"ord_1001","status":"packed"}`); code != 204 {
		t.Fatalf("advance: %d", code)
	}
	if o, _ := s.Order("ord_1001"); o.Status != StatusPacked {
		t.Fatalf("status %s", o.Status)
	}
	if code := post("/stock", `{"sku":"SKU-MUG","qty":1}`); code != 204 {
		t.Fatalf("stock: %d", code)
	}
	if code := post("/fail", `{"fault":"malformed"}`); code != 204 {
		t.Fatalf("fail: %d", code)
	}
	if code := post("/fail", `{"fault":"nope"}`); code != 422 {
		t.Fatalf("unknown fault: %d", code)
	}
	if code := post("/reset", ``); code != 204 {
		t.Fatalf("reset: %d", code)
	}
	if q, _ := s.Stock("SKU-MUG"); q != 12 {
		t.Fatalf("stock after reset %d", q)
	}
}

func TestRateLimit_WindowHeadersAnd429(t *testing.T) {
	now := time.Date(2026, 2, 1, 10, 0, 15, 0, time.UTC)
	s := New(Options{RateLimit: 2, Now: func() time.Time { return now }})
	c := newClient(t, s)
	code, h, _ := c.do("GET", "/api/orders", nil, nil)
	if code != 200 || h.Get("X-RateLimit-Limit") != "2" || h.Get("X-RateLimit-Remaining") != "1" || h.Get("X-RateLimit-Reset") != "45" {
		t.Fatalf("first: %d %v", code, h)
	}
	c.do("GET", "/api/orders", nil, nil)
	code, h, body := c.do("GET", "/api/orders", nil, nil)
	if code != 429 || h.Get("Retry-After") != "45" || h.Get("X-RateLimit-Remaining") != "0" || dig(body, "error", "code") != "rate_limited" {
		t.Fatalf("over the limit: %d %v %v", code, h, body)
	}
	now = now.Add(45 * time.Second)
	if code, _, _ := c.do("GET", "/api/orders", nil, nil); code != 200 {
		t.Fatalf("next window: %d", code)
	}
}
