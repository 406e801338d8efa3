package woocommerce

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixtures returns ../shared/fixtures/woocommerce beside the repository
// root, skipping the test when a clean clone has no fixtures.
func fixtures(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no go.mod above the test directory")
		}
		dir = parent
	}
	fx := filepath.Join(dir, "..", "shared", "fixtures", "woocommerce")
	if _, err := os.Stat(fx); err != nil {
		t.Skip("fixtures not found at " + fx)
	}
	return fx
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncodeJSON_OrderMatchesTheWPJSONEncodeFixture(t *testing.T) {
	var o Order
	if err := json.Unmarshal(readFixture(t, "order.retrieve.response.json"), &o); err != nil {
		t.Fatal(err)
	}
	got, err := EncodeJSON(o)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.TrimSpace(readFixture(t, "order.webhook-body.derived.json"))
	if !bytes.Equal(got, want) {
		t.Fatalf("encoded order differs from the fixture\n got %s\nwant %s", got, want)
	}
}

func TestEncodeJSON_EscapesSlashesAndNonASCIIButNotHTML(t *testing.T) {
	got, err := EncodeJSON(map[string]string{"a": "https://x/y <b>&amp; é 😀"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":"https:\/\/x\/y <b>&amp; \u00e9 \ud83d\ude00"}`
	if string(got) != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

func TestSign_IsBase64HMACSHA256OfTheBody(t *testing.T) {
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(`{"id":1}`))
	if got, want := Sign([]byte(`{"id":1}`), "s3cret"), base64.StdEncoding.EncodeToString(mac.Sum(nil)); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

// client calls a TLS simulator with Basic auth.
type client struct {
	t   *testing.T
	srv *httptest.Server
	sim *Sim
}

func newTLS(t *testing.T, opts Options) *client {
	sim := New(opts)
	srv := httptest.NewTLSServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &client{t: t, srv: srv, sim: sim}
}

func (c *client) do(method, path string, body any, auth bool) (*http.Response, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.srv.URL+APIPrefix+path, r)
	if auth {
		req.SetBasicAuth(c.sim.ConsumerKey(), c.sim.ConsumerSecret())
	}
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

func errorCode(t *testing.T, data []byte) (string, int) {
	t.Helper()
	var e struct {
		Code string `json:"code"`
		Data struct {
			Status int `json:"status"`
		} `json:"data"`
	}
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatalf("error body %s: %v", data, err)
	}
	return e.Code, e.Data.Status
}

func TestAuth_AnonymousIsCannotView(t *testing.T) {
	c := newTLS(t, Options{})
	resp, data := c.do("GET", "/orders", nil, false)
	if code, st := errorCode(t, data); resp.StatusCode != 401 || code != "woocommerce_rest_cannot_view" || st != 401 {
		t.Fatalf("%d %s", resp.StatusCode, data)
	}
}

func TestAuth_BasicOverTLSAndWrongSecret(t *testing.T) {
	c := newTLS(t, Options{})
	if resp, data := c.do("GET", "/orders", nil, true); resp.StatusCode != 200 {
		t.Fatalf("basic: %d %s", resp.StatusCode, data)
	}
	req, _ := http.NewRequest("GET", c.srv.URL+APIPrefix+"/orders", nil)
	req.SetBasicAuth(c.sim.ConsumerKey(), "cs_wrong")
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(data), "Consumer secret is invalid.") {
		t.Fatalf("wrong secret: %d %s", resp.StatusCode, data)
	}
}

func TestAuth_QueryCredentialsOverTLS(t *testing.T) {
	c := newTLS(t, Options{})
	q := url.Values{"consumer_key": {c.sim.ConsumerKey()}, "consumer_secret": {c.sim.ConsumerSecret()}}
	resp, err := c.srv.Client().Get(c.srv.URL + APIPrefix + "/orders?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// oauthURL signs a GET the way WooCommerce checks it.
func oauthURL(srvURL, path, key, secret, nonce string, ts time.Time) string {
	q := url.Values{"oauth_consumer_key": {key}, "oauth_nonce": {nonce}, "oauth_signature_method": {"HMAC-SHA256"},
		"oauth_timestamp": {strconv.FormatInt(ts.Unix(), 10)}, "per_page": {"5"}}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		pairs = append(pairs, rfc3986(k)+"="+rfc3986(q.Get(k)))
	}
	base := "GET&" + rfc3986(srvURL+path) + "&" + rfc3986(strings.Join(pairs, "&"))
	mac := hmac.New(sha256.New, []byte(secret+"&"))
	mac.Write([]byte(base))
	q.Set("oauth_signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return srvURL + path + "?" + q.Encode()
}

func TestAuth_PlainHTTPNeedsOAuthAndRejectsReplayedNonces(t *testing.T) {
	sim := New(Options{})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+APIPrefix+"/orders", nil)
	req.SetBasicAuth(sim.ConsumerKey(), sim.ConsumerSecret())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("basic over http: %d, want 401", resp.StatusCode)
	}

	u := oauthURL(srv.URL, APIPrefix+"/orders", sim.ConsumerKey(), sim.ConsumerSecret(), "nonce-1", time.Now())
	for i, want := range []int{200, 401} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("request %d: %d %s, want %d", i, resp.StatusCode, data, want)
		}
	}
	bad := oauthURL(srv.URL, APIPrefix+"/orders", sim.ConsumerKey(), "cs_wrong", "nonce-2", time.Now())
	resp, err = http.Get(bad)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(data), "Invalid signature") {
		t.Fatalf("bad signature: %d %s", resp.StatusCode, data)
	}
	old := oauthURL(srv.URL, APIPrefix+"/orders", sim.ConsumerKey(), sim.ConsumerSecret(), "nonce-3", time.Now().Add(-time.Hour))
	if resp, err = http.Get(old); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("stale timestamp: %d", resp.StatusCode)
	}
}

func TestOrders_PagingHeadersAndLinks(t *testing.T) {
	c := newTLS(t, Options{})
	for range 3 {
		if _, err := c.sim.PlaceOrder(NewOrder{LineItems: []NewLineItem{{ProductID: 93, Quantity: 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	resp, data := c.do("GET", "/orders?per_page=2&page=2&orderby=id&order=asc", nil, true)
	if resp.StatusCode != 200 || resp.Header.Get("X-WP-Total") != "5" || resp.Header.Get("X-WP-TotalPages") != "3" {
		t.Fatalf("%d total=%s pages=%s", resp.StatusCode, resp.Header.Get("X-WP-Total"), resp.Header.Get("X-WP-TotalPages"))
	}
	link := resp.Header.Get("Link")
	if !strings.Contains(link, `page=1&per_page=2>; rel="prev"`) || !strings.Contains(link, `page=3&per_page=2>; rel="next"`) {
		t.Fatalf("Link = %s", link)
	}
	var orders []Order
	if err := json.Unmarshal(data, &orders); err != nil || len(orders) != 2 || orders[0].ID != 703 {
		t.Fatalf("page 2 = %s (%v)", data, err)
	}
}

func TestOrders_ModifiedAfterIsLocalUnlessDatesAreGMT(t *testing.T) {
	c := newTLS(t, Options{})
	// The seeded orders were modified at 12:00 and 13:00 UTC (09:00 and
	// 10:00 in the shop's zone).
	_, data := c.do("GET", "/orders?modified_after=2026-01-05T12:30:00&dates_are_gmt=true", nil, true)
	var gmt []Order
	_ = json.Unmarshal(data, &gmt)
	_, data = c.do("GET", "/orders?modified_after=2026-01-05T09:30:00", nil, true)
	var local []Order
	_ = json.Unmarshal(data, &local)
	if len(gmt) != 1 || len(local) != 1 || gmt[0].ID != local[0].ID || gmt[0].ID != 702 {
		t.Fatalf("gmt %d orders, local %d orders", len(gmt), len(local))
	}
}

func TestOrders_CreateUpdateNotesAndErrors(t *testing.T) {
	c := newTLS(t, Options{})
	resp, data := c.do("POST", "/orders", map[string]any{"set_paid": true,
		"line_items": []any{map[string]any{"sku": "Bar3", "quantity": 2}}}, true)
	var o Order
	if err := json.Unmarshal(data, &o); err != nil || resp.StatusCode != 201 || o.Status != "processing" || o.LineItems[0].VariationID != 23 || o.Total != "24.00" {
		t.Fatalf("create: %d %s", resp.StatusCode, data)
	}
	// 8 seeded, 1 taken by the seeded order 702, 2 by this one.
	if p, _ := c.sim.Product(23); *p.StockQuantity != 5 {
		t.Fatalf("stock after order = %d, want 5", *p.StockQuantity)
	}
	resp, data = c.do("PUT", "/orders/"+strconv.Itoa(o.ID), map[string]any{"status": "shipped"}, true)
	if code, _ := errorCode(t, data); resp.StatusCode != 400 || code != "rest_invalid_param" || !strings.Contains(string(data), `"params":{"status"`) {
		t.Fatalf("bad status: %d %s", resp.StatusCode, data)
	}
	resp, data = c.do("POST", "/orders/"+strconv.Itoa(o.ID)+"/notes", map[string]any{"note": "Packed"}, true)
	if resp.StatusCode != 201 || len(c.sim.Notes(o.ID)) != 1 {
		t.Fatalf("note: %d %s", resp.StatusCode, data)
	}
	resp, data = c.do("GET", "/orders/9999", nil, true)
	if code, _ := errorCode(t, data); resp.StatusCode != 404 || code != "woocommerce_rest_shop_order_invalid_id" {
		t.Fatalf("missing order: %d %s", resp.StatusCode, data)
	}
	resp, data = c.do("GET", "/nope", nil, true)
	if code, _ := errorCode(t, data); resp.StatusCode != 404 || code != "rest_no_route" {
		t.Fatalf("no route: %d %s", resp.StatusCode, data)
	}
}

func TestProducts_SKUFindsVariationsWhichUpdateOnlyThroughTheirParent(t *testing.T) {
	c := newTLS(t, Options{})
	_, data := c.do("GET", "/products?sku=Bar3", nil, true)
	var ps []Product
	if err := json.Unmarshal(data, &ps); err != nil || len(ps) != 1 || ps[0].Type != "variation" || ps[0].ParentID != 22 {
		t.Fatalf("sku search: %s", data)
	}
	resp, data := c.do("PUT", "/products/23", map[string]any{"stock_quantity": 3}, true)
	if resp.StatusCode != 404 || !strings.Contains(string(data), "woocommerce_rest_invalid_product_id") {
		t.Fatalf("variation through /products: %d %s", resp.StatusCode, data)
	}
	resp, data = c.do("PUT", "/products/22/variations/23", map[string]any{"manage_stock": true, "stock_quantity": 3}, true)
	if p, _ := c.sim.Product(23); resp.StatusCode != 200 || *p.StockQuantity != 3 {
		t.Fatalf("variation update: %d %s", resp.StatusCode, data)
	}
}

func TestSwitches_FailAndMalformedAnswerOnceEach(t *testing.T) {
	c := newTLS(t, Options{})
	c.sim.Fail(429, 1, 3*time.Second)
	c.sim.Fail(503, 1, 0)
	c.sim.Malformed(1)
	resp, data := c.do("GET", "/orders", nil, true)
	if code, _ := errorCode(t, data); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" || code == "" {
		t.Fatalf("429: %d %s", resp.StatusCode, data)
	}
	if resp, _ = c.do("GET", "/orders", nil, true); resp.StatusCode != 503 {
		t.Fatalf("503: %d", resp.StatusCode)
	}
	if resp, data = c.do("GET", "/orders", nil, true); resp.StatusCode != 200 || json.Valid(data) {
		t.Fatalf("malformed: %d %s", resp.StatusCode, data)
	}
	if resp, _ = c.do("GET", "/orders", nil, true); resp.StatusCode != 200 {
		t.Fatalf("after the switches: %d", resp.StatusCode)
	}
}

// receiver records deliveries and answers with status.
type receiver struct {
	mu     sync.Mutex
	reqs   []*http.Request
	bodies [][]byte
	status int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, r)
	rc.bodies = append(rc.bodies, body)
	st := rc.status
	rc.mu.Unlock()
	w.WriteHeader(st)
}

func TestWebhooks_PingThenSignedOrderDeliveries(t *testing.T) {
	c := newTLS(t, Options{SiteURL: "https://shop.test"})
	rc := &receiver{status: 200}
	dst := httptest.NewServer(rc)
	defer dst.Close()

	resp, data := c.do("POST", "/webhooks", map[string]any{"name": "t", "topic": "order.created", "delivery_url": dst.URL, "secret": "a&b"}, true)
	if resp.StatusCode != 201 || strings.Contains(string(data), "a&b") {
		t.Fatalf("create webhook: %d %s", resp.StatusCode, data)
	}
	o, err := c.sim.PlaceOrder(NewOrder{LineItems: []NewLineItem{{ProductID: 93, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.sim.SetOrderStatus(o.ID, "completed"); err != nil { // order.updated: no webhook
		t.Fatal(err)
	}
	c.sim.Flush()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.reqs) != 2 {
		t.Fatalf("%d deliveries, want ping + order.created", len(rc.reqs))
	}
	ping := rc.reqs[0]
	if string(rc.bodies[0]) != "webhook_id=142" || ping.Header.Get("X-WC-Webhook-Signature") != "" || !strings.Contains(ping.UserAgent(), "Hookshot") {
		t.Fatalf("ping: %s %v", rc.bodies[0], ping.Header)
	}
	d := rc.reqs[1]
	h := d.Header
	if h.Get("X-WC-Webhook-Topic") != "order.created" || h.Get("X-WC-Webhook-Resource") != "order" || h.Get("X-WC-Webhook-Event") != "created" ||
		h.Get("X-WC-Webhook-ID") != "142" || h.Get("X-WC-Webhook-Delivery-ID") == "" || h.Get("X-WC-Webhook-Source") != "https://shop.test/" {
		t.Fatalf("headers: %v", h)
	}
	if h.Get("X-WC-Webhook-Signature") != Sign(rc.bodies[1], "a&b") {
		t.Fatal("signature does not verify under the secret as entered")
	}
	if !bytes.Contains(rc.bodies[1], []byte(`"status":"pending"`)) || !bytes.Contains(rc.bodies[1], []byte(`https:\/\/shop.test\/wp-json`)) {
		t.Fatalf("body: %s", rc.bodies[1])
	}
}

func TestWebhooks_DisabledAfterRepeatedFailuresAndDeleteNeedsForce(t *testing.T) {
	c := newTLS(t, Options{})
	rc := &receiver{status: 500}
	dst := httptest.NewServer(rc)
	defer dst.Close()
	_, data := c.do("POST", "/webhooks", map[string]any{"topic": "order.updated", "delivery_url": dst.URL, "secret": "s"}, true)
	var hook Webhook
	_ = json.Unmarshal(data, &hook)
	for range 7 {
		if _, err := c.sim.SetOrderStatus(701, "on-hold"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.sim.SetOrderStatus(701, "completed"); err != nil {
			t.Fatal(err)
		}
	}
	c.sim.Flush()
	if got := c.sim.Webhooks()[0].Status; got != "disabled" {
		t.Fatalf("status after 14 failures = %s, want disabled", got)
	}
	path := "/webhooks/" + strconv.Itoa(hook.ID)
	if resp, data := c.do("DELETE", path, nil, true); resp.StatusCode != 501 {
		t.Fatalf("delete without force: %d %s", resp.StatusCode, data)
	}
	if resp, _ := c.do("DELETE", path+"?force=true", nil, true); resp.StatusCode != 200 || len(c.sim.Webhooks()) != 0 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
}

func TestReset_RestoresTheSeedAndKeepsWebhooks(t *testing.T) {
	c := newTLS(t, Options{})
	c.do("POST", "/webhooks", map[string]any{"topic": "order.created", "delivery_url": "http://127.0.0.1:1/", "secret": "s"}, true)
	if _, err := c.sim.PlaceOrder(NewOrder{LineItems: []NewLineItem{{ProductID: 34, Quantity: 1}}}); err != nil {
		t.Fatal(err)
	}
	c.sim.Fail(500, 5, 0)
	c.sim.Flush()
	c.sim.Reset()
	if n := len(c.sim.Orders()); n != 2 {
		t.Fatalf("%d orders after reset, want the 2 seeded", n)
	}
	if len(c.sim.Webhooks()) != 1 || len(c.sim.Deliveries()) != 0 {
		t.Fatal("reset should keep webhooks and clear the delivery log")
	}
	if resp, _ := c.do("GET", "/orders", nil, true); resp.StatusCode != 200 {
		t.Fatalf("switches survive reset: %d", resp.StatusCode)
	}
}

func TestControl_PlacesOrdersAndResets(t *testing.T) {
	sim := New(Options{})
	ctl := httptest.NewServer(sim.Control())
	defer ctl.Close()
	resp, err := http.Post(ctl.URL+"/orders", "application/json", strings.NewReader(`{"line_items":[{"product_id":93,"quantity":3}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || len(sim.Orders()) != 3 {
		t.Fatalf("place: %d, %d orders", resp.StatusCode, len(sim.Orders()))
	}
	resp, err = http.Post(ctl.URL+"/orders/703/status", "application/json", strings.NewReader(`{"status":"completed"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if o, _ := sim.Order(703); resp.StatusCode != 200 || o.Status != "completed" {
		t.Fatalf("status: %d %s", resp.StatusCode, o.Status)
	}
	if resp, err = http.Post(ctl.URL+"/reset", "", nil); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(sim.Orders()) != 2 {
		t.Fatal("reset through Control did not reset")
	}
}
