package shiprocket

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// tick is a clock that moves a minute each time it is read, so every
// scan has its own date.
func tick() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Minute)
		return t
	}
}

type client struct {
	t     *testing.T
	base  string
	token string
}

func newClient(t *testing.T) (*Sim, *client) {
	t.Helper()
	sim := New(Options{Now: tick()})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return sim, &client{t: t, base: srv.URL}
}

func (c *client) call(method, path string, body any) (int, map[string]any, http.Header) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, resp.Header
}

func (c *client) login() {
	c.t.Helper()
	code, out, _ := c.call("POST", "/v1/external/auth/login", map[string]string{"email": SeedEmail, "password": SeedPassword})
	if code != 200 || out["token"] == "" {
		c.t.Fatalf("login: %d %v", code, out)
	}
	c.token = out["token"].(string)
}

func validOrder(id string) map[string]any {
	return map[string]any{
		"order_id": id, "order_date": "2026-03-01 10:00", "pickup_location": SeedPickupLocation,
		"billing_customer_name": "Ravi", "billing_address": "1 Park St", "billing_city": "Kolkata", "billing_pincode": "700016",
		"billing_state": "West Bengal", "billing_country": "India", "billing_email": "ravi@example.com", "billing_phone": "9830000000",
		"shipping_is_billing": true, "payment_method": "Prepaid", "sub_total": 450, "length": 10, "breadth": 8, "height": 4, "weight": 0.4,
		"order_items": []map[string]any{{"name": "Tea", "sku": "TEA-250", "units": 2, "selling_price": "225"}},
	}
}

func TestSim_LoginRefusesWrongPasswordAndExpiredTokens(t *testing.T) {
	sim, c := newClient(t)
	if code, out, _ := c.call("POST", "/v1/external/auth/login", map[string]string{"email": SeedEmail, "password": "nope"}); code != 401 || out["message"] == nil {
		t.Fatalf("wrong password: %d %v", code, out)
	}
	if code, _, _ := c.call("GET", "/v1/external/settings/company/pickup", nil); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	c.login()
	code, out, _ := c.call("GET", "/v1/external/settings/company/pickup", nil)
	if code != 200 || out["data"].(map[string]any)["company_name"] != SeedCompany {
		t.Fatalf("pickup: %d %v", code, out)
	}
	sim.ExpireTokens()
	if code, _, _ := c.call("GET", "/v1/external/settings/company/pickup", nil); code != 401 {
		t.Fatalf("expired token: %d", code)
	}
	if sim.Logins() != 1 {
		t.Fatalf("logins = %d", sim.Logins())
	}
}

func TestSim_TokenExpiresAfterTenDays(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	sim := New(Options{Now: func() time.Time { return now }})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	c := &client{t: t, base: srv.URL}
	c.login()
	now = now.Add(TokenLifetime - time.Second)
	if code, _, _ := c.call("GET", "/v1/external/orders", nil); code != 200 {
		t.Fatalf("before expiry: %d", code)
	}
	now = now.Add(2 * time.Second)
	if code, _, _ := c.call("GET", "/v1/external/orders", nil); code != 401 {
		t.Fatalf("after expiry: %d", code)
	}
}

func TestSim_CreateOrderValidatesLikeShiprocket(t *testing.T) {
	_, c := newClient(t)
	c.login()
	body := validOrder("X-1")
	delete(body, "order_id")
	body["shipping_is_billing"] = false
	body["length"] = 0.2
	code, out, _ := c.call("POST", "/v1/external/orders/create/adhoc", body)
	if code != 422 || out["message"] != "Oops! Invalid Data." || out["status_code"] != float64(422) {
		t.Fatalf("create: %d %v", code, out)
	}
	errs := out["errors"].(map[string]any)
	if got := errs["order_id"].([]any)[0]; got != "The order id field is required." {
		t.Errorf("order_id error = %v", got)
	}
	for _, f := range []string{"shipping_customer_name", "length"} {
		if errs[f] == nil {
			t.Errorf("no error for %s: %v", f, errs)
		}
	}
	body = validOrder("X-2")
	body["pickup_location"] = "Nowhere"
	if code, out, _ := c.call("POST", "/v1/external/orders/create/adhoc", body); code != 422 || out["errors"].(map[string]any)["pickup_location"] == nil {
		t.Fatalf("unknown pickup: %d %v", code, out)
	}
}

func TestSim_OrderToDeliveryThroughTheAPI(t *testing.T) {
	sim, c := newClient(t)
	c.login()
	code, out, _ := c.call("POST", "/v1/external/orders/create/adhoc", validOrder("X-3"))
	if code != 200 || out["status"] != "NEW" || out["awb_code"] != nil {
		t.Fatalf("create: %d %v", code, out)
	}
	shipment := out["shipment_id"]
	// Creating again with the same order_id leaves the order as it was.
	_, again, _ := c.call("POST", "/v1/external/orders/create/adhoc", validOrder("X-3"))
	if again["order_id"] != out["order_id"] || again["shipment_id"] != shipment {
		t.Fatalf("duplicate create = %v, first %v", again, out)
	}
	code, out, _ = c.call("POST", "/v1/external/courier/assign/awb", map[string]any{"shipment_id": shipment})
	data := out["response"].(map[string]any)["data"].(map[string]any)
	awb, _ := data["awb_code"].(string)
	if code != 200 || out["awb_assign_status"] != float64(1) || awb == "" || data["courier_name"] != "Xpressbees Surface" {
		t.Fatalf("assign: %d %v", code, out)
	}
	var seen []float64
	for range Progression[1:] {
		if _, err := sim.Advance(context.Background(), awb); err != nil {
			t.Fatal(err)
		}
		_, tr, _ := c.call("GET", "/v1/external/courier/track/awb/"+awb, nil)
		td := tr["tracking_data"].(map[string]any)
		seen = append(seen, td["shipment_status"].(float64))
	}
	want := []float64{3, 42, 6, 18, 17, 7}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("progression = %v, want %v", seen, want)
		}
	}
	_, tr, _ := c.call("GET", "/v1/external/courier/track/awb/"+awb, nil)
	td := tr["tracking_data"].(map[string]any)
	acts := td["shipment_track_activities"].([]any)
	if len(acts) != 7 || acts[0].(map[string]any)["sr-status"] != "7" || acts[0].(map[string]any)["sr-status-label"] != "DELIVERED" {
		t.Fatalf("activities = %v", acts)
	}
	if st := td["shipment_track"].([]any)[0].(map[string]any); st["current_status"] != "Delivered" || st["delivered_date"] == nil {
		t.Fatalf("shipment_track = %v", st)
	}
	o, _ := sim.Order("X-3")
	if o.ShipmentStatus != StatusDelivered || o.AWB != awb {
		t.Fatalf("order = %+v", o)
	}
	_, list, _ := c.call("GET", "/v1/external/orders?search=X-3", nil)
	if rows := list["data"].([]any); len(rows) != 1 || rows[0].(map[string]any)["channel_order_id"] != "X-3" {
		t.Fatalf("search = %v", list)
	}
}

func TestSim_CancelledOrderIDCannotBeReused(t *testing.T) {
	sim, c := newClient(t)
	c.login()
	c.call("POST", "/v1/external/orders/create/adhoc", validOrder("X-4"))
	if err := sim.Cancel("X-4"); err != nil {
		t.Fatal(err)
	}
	code, out, _ := c.call("POST", "/v1/external/orders/create/adhoc", validOrder("X-4"))
	if code != 422 || out["errors"].(map[string]any)["order_id"] == nil {
		t.Fatalf("reuse: %d %v", code, out)
	}
}

func TestSim_FailuresOnDemand(t *testing.T) {
	sim, c := newClient(t)
	c.login()
	sim.Fail(Failure{Status: 429, RetryAfter: 7, Path: "/v1/external/orders"})
	code, _, h := c.call("GET", "/v1/external/orders", nil)
	if code != 429 || h.Get("Retry-After") != "7" {
		t.Fatalf("429: %d %v", code, h)
	}
	if code, _, _ := c.call("GET", "/v1/external/orders", nil); code != 200 {
		t.Fatalf("after one failure: %d", code)
	}
	sim.Fail(Failure{Status: 503, Times: 2})
	for range 2 {
		if code, _, _ := c.call("GET", "/v1/external/orders", nil); code != 503 {
			t.Fatalf("503: %d", code)
		}
	}
	sim.Fail(Failure{Malformed: true})
	code, out, _ := c.call("GET", "/v1/external/courier/track/awb/"+SeedAWB, nil)
	if code != 200 || out != nil {
		t.Fatalf("malformed: %d %v", code, out)
	}
}

func TestSim_ResetRestoresTheSeed(t *testing.T) {
	sim, c := newClient(t)
	c.login()
	c.call("POST", "/v1/external/orders/create/adhoc", validOrder("X-5"))
	sim.Fail(Failure{Status: 500, Times: 5})
	sim.Reset()
	if _, ok := sim.Order("X-5"); ok {
		t.Fatal("order survived reset")
	}
	o, ok := sim.Order(SeedOrderID)
	if !ok || o.AWB != SeedAWB || o.ShipmentStatus != StatusShipped {
		t.Fatalf("seed = %+v %v", o, ok)
	}
	if code, _, _ := c.call("GET", "/v1/external/orders", nil); code != 401 {
		t.Fatalf("token survived reset: %d", code)
	}
	c.login()
	if code, _, _ := c.call("GET", "/v1/external/orders", nil); code != 200 {
		t.Fatalf("failure survived reset: %d", code)
	}
}

func TestSim_StatusChangeDeliversTheTrackingWebhook(t *testing.T) {
	got := make(chan *http.Request, 1)
	var body []byte
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		got <- r
	}))
	defer recv.Close()
	sim, _ := newClient(t)
	sim.SetWebhook(recv.URL+"/hooks/carrier", "tok-1")
	if err := sim.SetStatus(context.Background(), SeedAWB, StatusOutForDelivery); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.Header.Get("x-api-key") != "tok-1" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers = %v", r.Header)
	}
	var b map[string]any
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	if b["awb"] != SeedAWB || b["shipment_status_id"] != float64(17) || b["order_id"] != SeedOrderID || len(b["scans"].([]any)) != 5 {
		t.Fatalf("body = %s", body)
	}
	if d := sim.Deliveries(); len(d) != 1 || d[0].Code != 200 {
		t.Fatalf("deliveries = %+v", d)
	}
}

func TestSim_ControlSwitches(t *testing.T) {
	sim := New(Options{Now: tick()})
	ctl := httptest.NewServer(sim.Control())
	defer ctl.Close()
	post := func(path, body string) (int, map[string]any) {
		resp, err := http.Post(ctl.URL+path, "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, out := post("/advance", `{"awb":"`+SeedAWB+`"}`); code != 200 || out["status_code"] != float64(StatusInTransit) {
		t.Fatalf("advance: %d %v", code, out)
	}
	if code, _ := post("/status", `{"awb":"nope","status_code":7}`); code != 404 {
		t.Fatalf("unknown awb: %d", code)
	}
	if code, _ := post("/fail", `{"status":200}`); code != 400 {
		t.Fatalf("bad failure: %d", code)
	}
	if code, _ := post("/reset", `{}`); code != 200 {
		t.Fatalf("reset: %d", code)
	}
	if o, _ := sim.Order(SeedOrderID); o.ShipmentStatus != StatusShipped {
		t.Fatalf("after reset: %+v", o)
	}
}
