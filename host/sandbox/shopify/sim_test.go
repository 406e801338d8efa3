package shopify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

type client struct {
	t   *testing.T
	srv *httptest.Server
	tok string
}

func start(t *testing.T) (*Sim, *client) {
	t.Helper()
	sim := New(Options{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		sim.Wait()
		srv.Close()
	})
	return sim, &client{t: t, srv: srv, tok: sim.AccessToken()}
}

// do sends a request to path (relative to the API root unless it starts
// with http) and returns status, headers and body.
func (c *client) do(method, path, body string) (int, http.Header, string) {
	c.t.Helper()
	u := path
	if !strings.HasPrefix(path, "http") {
		u = c.srv.URL + "/admin/api/2025-07/" + path
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("X-Shopify-Access-Token", c.tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

var nextRE = regexp.MustCompile(`<([^>]+)>; rel="next"`)

func TestAPI_RequiresTheAccessToken(t *testing.T) {
	_, c := start(t)
	c.tok = "wrong"
	status, _, body := c.do("GET", "orders.json", "")
	if status != 401 || body != `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}` {
		t.Fatalf("%d %s", status, body)
	}
}

func TestSign_MatchesTheOfficialSDKVector(t *testing.T) {
	if got := Sign("test_secret_key", []byte(`{"foo": "bar"}`)); got != "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=" {
		t.Fatalf("Sign = %s", got)
	}
}

func TestOrders_LinkPaginationVisitsEveryOrderOnce(t *testing.T) {
	_, c := start(t)
	var names []string
	target := "orders.json?status=any&limit=1&order=updated_at+asc"
	for pages := 0; target != ""; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		status, h, body := c.do("GET", target, "")
		if status != 200 {
			t.Fatalf("%s: %d %s", target, status, body)
		}
		var page struct{ Orders []Order }
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Orders {
			names = append(names, o.Name)
		}
		target = ""
		if m := nextRE.FindStringSubmatch(h.Get("Link")); m != nil {
			target = m[1]
			if q, _ := url.ParseQuery(strings.SplitN(target, "?", 2)[1]); q.Has("status") || q.Get("limit") != "1" {
				t.Fatalf("next link carries filters: %s", target)
			}
		}
	}
	if strings.Join(names, ",") != "#1001,#1002,#1003" {
		t.Fatalf("names %v", names)
	}
}

func TestOrders_PageInfoRefusesOtherFilters(t *testing.T) {
	_, c := start(t)
	_, h, _ := c.do("GET", "orders.json?status=any&limit=1", "")
	next := nextRE.FindStringSubmatch(h.Get("Link"))[1]
	if status, _, body := c.do("GET", next+"&status=any", ""); status != 400 || !strings.Contains(body, "page_info") {
		t.Fatalf("%d %s", status, body)
	}
	if status, _, _ := c.do("GET", "orders.json?page_info=garbage", ""); status != 400 {
		t.Fatalf("bad page_info: %d", status)
	}
}

func TestOrders_FiltersAndFields(t *testing.T) {
	_, c := start(t)
	_, _, body := c.do("GET", "orders.json?status=any&name=%231002&fields=id,name", "")
	if body != `{"orders":[{"id":450789470,"name":"#1002"}]}` {
		t.Fatalf("%s", body)
	}
	_, _, body = c.do("GET", "orders.json?status=any&updated_at_min=2025-04-04T04:30:00-05:00&fields=id", "")
	if body != `{"orders":[{"id":450789471}]}` {
		t.Fatalf("updated_at_min is inclusive: %s", body)
	}
	if status, _, _ := c.do("GET", "orders.json?updated_at_min=yesterday", ""); status != 400 {
		t.Fatalf("bad date: %d", status)
	}
}

func TestOrders_CreatedByTheAppAreAttributedToIt(t *testing.T) {
	_, c := start(t)
	status, _, body := c.do("POST", "orders.json", `{"order":{"line_items":[{"variant_id":39072856,"quantity":1}],"tags":"a, b,a"}}`)
	if status != 201 || !strings.Contains(body, `"tags":"a, b"`) || !strings.Contains(body, `"app_id":755357713`) {
		t.Fatalf("%d %s", status, body)
	}
	_, _, body = c.do("GET", "orders.json?status=any&attribution_app_id=current&fields=tags", "")
	if body != `{"orders":[{"tags":"a, b"}]}` {
		t.Fatalf("%s", body)
	}
	if status, _, _ := c.do("POST", "orders.json", `{"order":{"line_items":[]}}`); status != 422 {
		t.Fatalf("no lines: %d", status)
	}
}

func TestFulfillments_CloseTheFulfillmentOrder(t *testing.T) {
	sim, c := start(t)
	_, _, body := c.do("GET", "orders/450789470/fulfillment_orders.json", "")
	var fos struct {
		FulfillmentOrders []FulfillmentOrder `json:"fulfillment_orders"`
	}
	if err := json.Unmarshal([]byte(body), &fos); err != nil || len(fos.FulfillmentOrders) != 1 {
		t.Fatalf("%s, %v", body, err)
	}
	fo := fos.FulfillmentOrders[0]
	req := `{"fulfillment":{"line_items_by_fulfillment_order":[{"fulfillment_order_id":` + itoa(fo.ID) + `}],"tracking_info":{"number":"MS1562678","url":"https://t.example/MS1562678"}}}`
	status, _, body := c.do("POST", "fulfillments.json", req)
	if status != 201 || !strings.Contains(body, `"tracking_number":"MS1562678"`) || !strings.Contains(body, `"name":"#1002.1"`) {
		t.Fatalf("%d %s", status, body)
	}
	if status, _, _ := c.do("POST", "fulfillments.json", req); status != 422 {
		t.Fatalf("closed fulfillment order: %d", status)
	}
	o, _ := sim.Order(450789470)
	if *o.FulfillmentStatus != "fulfilled" || o.LineItems[0].FulfillableQuantity != 0 {
		t.Fatalf("order %+v", o)
	}
}

func TestInventory_SetUpdatesTheLevelAndVariant(t *testing.T) {
	sim, c := start(t)
	status, _, body := c.do("POST", "inventory_levels/set.json", `{"location_id":655441491,"inventory_item_id":808950810,"available":42}`)
	if status != 200 || !strings.Contains(body, `"available":42`) {
		t.Fatalf("%d %s", status, body)
	}
	if l, _ := sim.InventoryLevel(808950810, MainLocationID); l.Available != 42 {
		t.Fatalf("level %+v", l)
	}
	_, _, body = c.do("GET", "products.json?ids=910489600", "")
	if !strings.Contains(body, `"inventory_quantity":51`) { // 42 here + 9 at the second location
		t.Fatalf("%s", body)
	}
	if status, _, _ := c.do("POST", "inventory_levels/set.json", `{"location_id":655441491,"inventory_item_id":1,"available":1}`); status != 422 {
		t.Fatalf("unknown item: %d", status)
	}
}

func TestWebhooks_DeliveredSignedWithShopifysHeaders(t *testing.T) {
	sim, c := start(t)
	got := make(chan *http.Request, 8)
	bodies := make(chan []byte, 8)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
	}))
	defer recv.Close()
	for _, topic := range []string{"orders/create", "inventory_levels/update"} {
		if status, _, body := c.do("POST", "webhooks.json", `{"webhook":{"topic":"`+topic+`","address":"`+recv.URL+`","format":"json"}}`); status != 201 {
			t.Fatalf("%d %s", status, body)
		}
	}
	if status, _, _ := c.do("POST", "webhooks.json", `{"webhook":{"topic":"orders/create","address":"`+recv.URL+`"}}`); status != 422 {
		t.Fatalf("duplicate registration: %d", status)
	}
	if _, err := sim.PlaceOrder(context.Background(), NewOrder{Email: "a@example.com", LineItems: []NewLineItem{{SKU: "IPOD2008GREEN", Quantity: 1}}}); err != nil {
		t.Fatal(err)
	}
	sim.Wait()
	r, body := <-got, <-bodies
	h := r.Header
	if h.Get("X-Shopify-Topic") != "orders/create" || h.Get("X-Shopify-Shop-Domain") != DefaultShop || h.Get("X-Shopify-API-Version") != DefaultAPIVersion || h.Get("X-Shopify-Webhook-Id") == "" {
		t.Fatalf("headers %v", h)
	}
	if h.Get("X-Shopify-Hmac-Sha256") != Sign(DefaultClientSecret, body) {
		t.Fatal("signature does not match the body")
	}
	if ds := sim.Deliveries(); len(ds) != 1 || ds[0].Status != 200 {
		t.Fatalf("deliveries %+v", ds)
	}
	c.do("POST", "inventory_levels/set.json", `{"location_id":655441491,"inventory_item_id":39072856,"available":9}`)
	sim.Wait()
	if r := <-got; r.Header.Get("X-Shopify-Topic") != "inventory_levels/update" {
		t.Fatalf("topic %s", r.Header.Get("X-Shopify-Topic"))
	}
	if body := <-bodies; !strings.Contains(string(body), `"available":9`) {
		t.Fatalf("body %s", body)
	}
}

func TestFail_AnswersAsToldThenRecovers(t *testing.T) {
	sim, c := start(t)
	sim.Fail(Failure{Status: 429, RetryAfter: "2.0"})
	status, h, body := c.do("GET", "orders.json", "")
	if status != 429 || h.Get("Retry-After") != "2.0" || !strings.Contains(body, `"errors"`) {
		t.Fatalf("%d %v %s", status, h, body)
	}
	sim.Fail(Failure{Malformed: true, Path: "products"})
	if status, _, _ := c.do("GET", "orders.json", ""); status != 200 {
		t.Fatalf("failure leaked to another path: %d", status)
	}
	if _, _, body := c.do("GET", "products.json", ""); json.Valid([]byte(body)) {
		t.Fatalf("malformed answer is valid JSON: %s", body)
	}
	sim.Fail(Failure{Status: 502, Count: 2})
	for i := range 2 {
		if status, _, _ := c.do("GET", "shop.json", ""); status != 502 {
			t.Fatalf("call %d: %d", i, status)
		}
	}
	if status, h, _ := c.do("GET", "shop.json", ""); status != 200 || !regexp.MustCompile(`^\d+/40$`).MatchString(h.Get("X-Shopify-Shop-Api-Call-Limit")) {
		t.Fatalf("recovered: %d, call limit %q", status, h.Get("X-Shopify-Shop-Api-Call-Limit"))
	}
}

func TestReset_ReturnsToTheSeed(t *testing.T) {
	sim, c := start(t)
	c.do("PUT", "orders/450789469.json", `{"order":{"id":450789469,"tags":"changed"}}`)
	c.do("POST", "webhooks.json", `{"webhook":{"topic":"orders/updated","address":"https://hub.example/h"}}`)
	sim.Fail(Failure{Status: 500, Count: 10})
	sim.Reset()
	if o, _ := sim.Order(450789469); o.Tags != "" || len(sim.Webhooks()) != 0 || len(sim.Orders()) != 3 {
		t.Fatalf("after reset: tags %q, %d webhooks, %d orders", o.Tags, len(sim.Webhooks()), len(sim.Orders()))
	}
	if status, _, _ := c.do("GET", "shop.json", ""); status != 200 {
		t.Fatalf("failures survived reset: %d", status)
	}
}

func TestControl_PlacesOrdersFailsResetsAndShowsState(t *testing.T) {
	sim := New(Options{})
	ctl := httptest.NewServer(sim.Control())
	defer ctl.Close()
	post := func(path, body string) (int, string) {
		resp, err := http.Post(ctl.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := post("/orders", `{"email":"c@example.com","line_items":[{"sku":"IPOD2008RED","quantity":1}]}`); status != 201 || !strings.Contains(body, `"name":"#1004"`) {
		t.Fatalf("%d %s", status, body)
	}
	if status, _ := post("/fail", `{"status":200}`); status != 422 {
		t.Fatalf("fail with a 2xx: %d", status)
	}
	if status, _ := post("/fail", `{"status":503}`); status != 204 {
		t.Fatalf("fail: %d", status)
	}
	resp, err := http.Get(ctl.URL + "/state")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Orders []Order `json:"orders"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || len(st.Orders) != 4 {
		t.Fatalf("state: %d orders, %v", len(st.Orders), err)
	}
	resp.Body.Close()
	if status, _ := post("/reset", ""); status != 204 || len(sim.Orders()) != 3 {
		t.Fatalf("reset: %d, %d orders", status, len(sim.Orders()))
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
