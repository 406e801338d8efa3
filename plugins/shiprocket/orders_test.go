package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hubhq/hub/host/sandbox/shiprocket"
	"github.com/hubhq/hub/sdk/fault"
)

func order(id string) map[string]any {
	return map[string]any{
		"order_id": id, "order_date": "2026-03-01 10:00", "pickup_location": shiprocket.SeedPickupLocation,
		"billing_customer_name": "Ravi", "billing_address": "1 Park St", "billing_city": "Kolkata", "billing_pincode": "700016",
		"billing_state": "West Bengal", "billing_country": "India", "billing_email": "ravi@example.com", "billing_phone": "9830000000",
		"shipping_is_billing": true, "payment_method": "Prepaid", "sub_total": 450, "length": 10, "breadth": 8, "height": 4, "weight": 0.4,
		"order_items": []map[string]any{{"name": "Tea", "sku": "TEA-250", "units": 2, "selling_price": 225}},
	}
}

func violations(e *fault.Error) map[string]string {
	m := map[string]string{}
	for _, v := range e.Violations {
		m[v.Path] = v.Message
	}
	return m
}

func TestCreateOrder_CreatesTheOrderAndItsShipment(t *testing.T) {
	e := newEnv(t, nil)
	var out orderOutput
	if err := e.exec("create_shipment_order", order("WEB-1"), &out); err != nil {
		t.Fatal(err)
	}
	o, ok := e.sim.Order("WEB-1")
	if !ok || out.OrderID != int64(o.ID) || out.ShipmentID != int64(o.ShipmentID) || out.Status != "NEW" || out.StatusCode != 1 ||
		out.ChannelOrderID != "WEB-1" || out.AWBCode != "" || out.Existing {
		t.Fatalf("out = %+v, sim %+v", out, o)
	}
	if o.SubTotal != 450 || o.Items != 1 || o.PickupLocation != shiprocket.SeedPickupLocation {
		t.Fatalf("sim order = %+v", o)
	}
}

func TestCreateOrder_RulesAreCheckedBeforeCalling(t *testing.T) {
	e := newEnv(t, nil)
	in := order("WEB-2")
	in["shipping_is_billing"] = false
	in["length"] = 0.2
	in["weight"] = 0
	in["billing_city"] = strings.Repeat("x", 31)
	in["order_items"] = []map[string]any{{"name": "Tea", "sku": "", "units": 0, "selling_price": 1}}
	err := e.exec("create_shipment_order", in, nil)
	k := kindOf(t, err)
	if k.Kind != fault.InvalidInput {
		t.Fatalf("err = %v", err)
	}
	got := violations(k)
	for _, p := range []string{"shipping_customer_name", "shipping_address", "shipping_phone", "length", "weight", "billing_city", "order_items[0].sku", "order_items[0].units"} {
		if got[p] == "" {
			t.Errorf("no violation at %s: %v", p, got)
		}
	}
	if _, ok := e.sim.Order("WEB-2"); ok {
		t.Fatal("an invalid order reached Shiprocket")
	}
}

func TestCreateOrder_MissingRequiredFieldsAreInvalidBeforeTheHandler(t *testing.T) {
	e := newEnv(t, nil)
	in := order("WEB-3")
	delete(in, "order_id")
	delete(in, "payment_method")
	k := kindOf(t, e.exec("create_shipment_order", in, nil))
	got := violations(k)
	if k.Kind != fault.InvalidInput || got["order_id"] == "" || got["payment_method"] == "" {
		t.Fatalf("violations = %v", got)
	}
}

func TestCreateOrder_Shiprocket422FieldErrorsBecomeViolations(t *testing.T) {
	e := newEnv(t, nil)
	in := order("WEB-4")
	in["pickup_location"] = "Nowhere"
	k := kindOf(t, e.exec("create_shipment_order", in, nil))
	if k.Kind != fault.InvalidInput || k.HTTPStatus != 422 || violations(k)["pickup_location"] != "The selected pickup location is invalid." {
		t.Fatalf("err = %v, violations %v", k, k.Violations)
	}
}

func TestCreateOrder_SameOrderIDReturnsTheSameOrder(t *testing.T) {
	e := newEnv(t, nil)
	var first, again orderOutput
	if err := e.exec("create_shipment_order", order("WEB-5"), &first); err != nil {
		t.Fatal(err)
	}
	if err := e.exec("create_shipment_order", order("WEB-5"), &again); err != nil {
		t.Fatal(err)
	}
	if again.OrderID != first.OrderID || again.ShipmentID != first.ShipmentID {
		t.Fatalf("again = %+v, first %+v", again, first)
	}
}

func TestCreateOrder_DuplicateRefusalReturnsTheExistingOrder(t *testing.T) {
	// A Shiprocket that refuses a taken order_id with a 422 (the docs do
	// not say which answer it gives): the action finds the order instead.
	var refuse atomic.Bool
	e := newEnv(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refuse.Load() && r.URL.Path == "/v1/external/orders/create/adhoc" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(422)
				_, _ = w.Write([]byte(`{"message":"Oops! Invalid Data.","errors":{"order_id":["Order id already exists."]},"status_code":422}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	var first, again orderOutput
	if err := e.exec("create_shipment_order", order("WEB-6"), &first); err != nil {
		t.Fatal(err)
	}
	refuse.Store(true)
	if err := e.exec("create_shipment_order", order("WEB-6"), &again); err != nil {
		t.Fatal(err)
	}
	if !again.Existing || again.OrderID != first.OrderID || again.ShipmentID != first.ShipmentID || again.ChannelOrderID != "WEB-6" {
		t.Fatalf("again = %+v, first %+v", again, first)
	}
	// A refusal for an order that is not there stays the refusal.
	k := kindOf(t, e.exec("create_shipment_order", order("WEB-7"), nil))
	if k.Kind != fault.InvalidInput || violations(k)["order_id"] != "Order id already exists." {
		t.Fatalf("err = %v", k)
	}
}

func TestCreateOrder_CancelledOrderIDCannotBeReused(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.exec("create_shipment_order", order("WEB-8"), nil); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Cancel("WEB-8"); err != nil {
		t.Fatal(err)
	}
	k := kindOf(t, e.exec("create_shipment_order", order("WEB-8"), nil))
	if k.Kind != fault.InvalidInput || !strings.Contains(violations(k)["order_id"], "cancelled") {
		t.Fatalf("err = %v %v", k, k.Violations)
	}
}

func TestCreateOrder_200WithoutAnOrderIsInvalid(t *testing.T) {
	e := newEnv(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1/external/orders/create/adhoc" {
				_, _ = w.Write([]byte(`{"message":"Given channel id does not exist","status_code":400}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	k := kindOf(t, e.exec("create_shipment_order", order("WEB-9"), nil))
	if k.Kind != fault.InvalidInput || !strings.Contains(k.Message, "Given channel id does not exist") {
		t.Fatalf("err = %v", k)
	}
}

func TestCreateOrder_SendsShiprocketsFieldNames(t *testing.T) {
	var (
		mu   sync.Mutex
		body []byte
	)
	e := newEnv(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1/external/orders/create/adhoc" {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				body = b
				mu.Unlock()
				r.Body = io.NopCloser(bytes.NewReader(b))
			}
			next.ServeHTTP(w, r)
		})
	})
	if err := e.exec("create_shipment_order", order("WEB-10"), nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{`"order_id":"WEB-10"`, `"shipping_is_billing":true`, `"order_items":[{"name":"Tea","sku":"TEA-250","units":2,"selling_price":225}]`, `"sub_total":450`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body lacks %s: %s", want, body)
		}
	}
	if strings.Contains(string(body), "shipping_city") {
		t.Errorf("empty shipping fields sent: %s", body)
	}
}

func TestAssignAWB_ThenGetOrderAndTrack(t *testing.T) {
	e := newEnv(t, nil)
	var created orderOutput
	if err := e.exec("create_shipment_order", order("WEB-11"), &created); err != nil {
		t.Fatal(err)
	}
	var assigned assignOutput
	if err := e.exec("assign_awb", map[string]any{"shipment_id": created.ShipmentID}, &assigned); err != nil {
		t.Fatal(err)
	}
	if assigned.AWBCode == "" || assigned.CourierName != "Xpressbees Surface" || assigned.OrderID != created.OrderID {
		t.Fatalf("assigned = %+v", assigned)
	}
	// A second assignment is refused by Shiprocket: not retried, not idempotent.
	if k := kindOf(t, e.exec("assign_awb", map[string]any{"shipment_id": created.ShipmentID}, nil)); k.Kind != fault.InvalidInput {
		t.Fatalf("reassign = %v", k)
	}
	var got getOrderOutput
	if err := e.exec("get_order", map[string]any{"order_id": created.OrderID}, &got); err != nil {
		t.Fatal(err)
	}
	if got.ChannelOrderID != "WEB-11" || got.AWBCode != assigned.AWBCode || got.ShipmentID != created.ShipmentID || len(got.Raw) == 0 {
		t.Fatalf("get_order = %+v", got)
	}
	var tr trackOutput
	if err := e.exec("track_shipment", map[string]any{"awb": assigned.AWBCode}, &tr); err != nil {
		t.Fatal(err)
	}
	if !tr.Tracked || tr.Status != "awb_assigned" || tr.StatusCode != 1 || tr.OrderID == "" || len(tr.Activities) != 1 {
		t.Fatalf("track = %+v", tr)
	}
}

func TestGetOrder_UnknownIsPermanent(t *testing.T) {
	e := newEnv(t, nil)
	if k := kindOf(t, e.exec("get_order", map[string]any{"order_id": 42}, nil)); k.Kind != fault.Permanent || k.HTTPStatus != 404 {
		t.Fatalf("err = %v", k)
	}
}

func TestTrackShipment_UnknownAWBIsNotTrackedYet(t *testing.T) {
	e := newEnv(t, nil)
	var tr trackOutput
	if err := e.exec("track_shipment", map[string]any{"awb": "000"}, &tr); err != nil {
		t.Fatal(err)
	}
	if tr.Tracked || tr.Status != "" || tr.Message == "" {
		t.Fatalf("track = %+v", tr)
	}
}
