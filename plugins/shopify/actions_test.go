package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hubhq/hub/host/sandbox/shopify"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/wire"
)

// seeded ids from the simulator's seed (Shopify's reference examples).
const (
	seedOrder    = 450789469
	mainLocation = 655441491
)

func TestGetOrder_ReadsTheOrder(t *testing.T) {
	s := newShop(t)
	out, err := s.h.Execute("get_order", s.conn, map[string]any{"id": seedOrder})
	if err != nil {
		t.Fatal(err)
	}
	o := decode(t, out)
	if o["id"].(json.Number).String() != "450789469" || o["name"] != "#1001" || o["email"] != "bob.norman@mail.example.com" {
		t.Fatalf("order %s", out)
	}
	if lines := o["line_items"].([]any); len(lines) != 3 {
		t.Fatalf("%d lines", len(lines))
	}
}

func TestGetOrder_UnknownIDIsInvalidInput(t *testing.T) {
	s := newShop(t)
	_, err := s.h.Execute("get_order", s.conn, map[string]any{"id": 42})
	if e := wantKind(t, err, fault.InvalidInput); e.Violations[0].Path != "id" {
		t.Fatalf("violations %v", e.Violations)
	}
}

func searchNames(t *testing.T, out json.RawMessage) []string {
	t.Helper()
	var res struct {
		Orders []struct {
			Name string `json:"name"`
		} `json:"orders"`
		Count int `json:"count"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range res.Orders {
		names = append(names, o.Name)
	}
	if res.Count != len(names) {
		t.Fatalf("count %d, %d orders", res.Count, len(names))
	}
	return names
}

func TestSearchOrders_FiltersByNameEmailAndStatus(t *testing.T) {
	s := newShop(t)
	for _, c := range []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"name": "#1002"}, "#1002"},
		{map[string]any{"name": "1003"}, "#1003"},
		{map[string]any{"email": "JANE.DOE@mail.example.com"}, "#1002"},
		{map[string]any{"financial_status": "pending"}, "#1003"},
		{map[string]any{}, "#1003,#1002,#1001"},
		{map[string]any{"limit": 2}, "#1003,#1002"},
		{map[string]any{"created_at_min": "2025-04-03T00:00:00Z"}, "#1003,#1002"},
		{map[string]any{"email": "nobody@example.com"}, ""},
	} {
		out, err := s.h.Execute("search_orders", s.conn, c.in)
		if err != nil {
			t.Fatalf("%v: %v", c.in, err)
		}
		if got := strings.Join(searchNames(t, out), ","); got != c.want {
			t.Errorf("search %v = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCreateOrder_ResolvesSKUsAndTagsTheOrder(t *testing.T) {
	s := newShop(t)
	out, err := s.h.Execute("create_order", s.conn, map[string]any{
		"line_items": []any{
			map[string]any{"sku": "IPOD2008BLACK", "quantity": 2},
			map[string]any{"title": "Gift wrap", "price": "2.50", "quantity": 1},
		},
		"email": "wh@example.com", "financial_status": "paid", "tags": "warehouse", "note": "from the warehouse",
	})
	if err != nil {
		t.Fatal(err)
	}
	o := decode(t, out)
	if o["financial_status"] != "paid" || o["total_price"] != "400.50" || o["note"] != "from the warehouse" {
		t.Fatalf("order %s", out)
	}
	tags := splitTags(o["tags"].(string))
	if len(tags) != 2 || tags[0] != "warehouse" || tags[1] != idempotencyTag("sdktest-create_order") {
		t.Fatalf("tags %q", o["tags"])
	}
	line := o["line_items"].([]any)[0].(map[string]any)
	if line["variant_id"].(json.Number).String() != "457924702" || line["quantity"].(json.Number).String() != "2" {
		t.Fatalf("line %v", line)
	}
	s.sim.Wait()
}

func TestCreateOrder_RetriedStepReturnsTheOrderAlreadyCreated(t *testing.T) {
	s := newShop(t)
	call := func(attempt int) map[string]any {
		out, err := s.h.ExecuteCall(wire.ActionRequest{Action: "create_order", Conn: s.conn, IdempotencyKey: "run-9/create", Attempt: attempt,
			Input: json.RawMessage(`{"line_items":[{"variant_id":39072856,"quantity":1}],"email":"a@example.com"}`)})
		if err != nil {
			t.Fatal(err)
		}
		return decode(t, out)
	}
	first, second := call(1), call(2)
	if first["id"] != second["id"] {
		t.Fatalf("retry created order %v after %v", second["id"], first["id"])
	}
	if n := len(s.sim.Orders()); n != 4 {
		t.Fatalf("%d orders, want the 3 seeded and 1 created", n)
	}
	// Another step (another key) creates another order.
	out, err := s.h.ExecuteCall(wire.ActionRequest{Action: "create_order", Conn: s.conn, IdempotencyKey: "run-9/other", Attempt: 1,
		Input: json.RawMessage(`{"line_items":[{"variant_id":39072856,"quantity":1}]}`)})
	if err != nil || decode(t, out)["id"] == first["id"] {
		t.Fatalf("other step: %s, %v", out, err)
	}
}

func TestCreateOrder_UnknownSKUIsInvalidAtItsLine(t *testing.T) {
	s := newShop(t)
	_, err := s.h.Execute("create_order", s.conn, map[string]any{"line_items": []any{
		map[string]any{"variant_id": 39072856, "quantity": 1}, map[string]any{"sku": "NOPE", "quantity": 1}}})
	if e := wantKind(t, err, fault.InvalidInput); e.Violations[0].Path != "line_items[1].sku" {
		t.Fatalf("violations %v", e.Violations)
	}
}

func TestUpdateOrder_AddsTagsAndKeepsThoseItHas(t *testing.T) {
	s := newShop(t)
	out, err := s.h.Execute("update_order", s.conn, map[string]any{"id": 450789470, "tags": "Ready to ship, wholesale", "note": "packed"})
	if err != nil {
		t.Fatal(err)
	}
	o := decode(t, out)
	if o["tags"] != "wholesale, Ready to ship" || o["note"] != "packed" {
		t.Fatalf("tags %q note %q", o["tags"], o["note"])
	}
	got, _ := s.sim.Order(450789470)
	if got.Tags != "wholesale, Ready to ship" {
		t.Fatalf("shop has tags %q", got.Tags)
	}
}

func TestUpdateOrder_NothingNewSendsNothing(t *testing.T) {
	s := newShop(t)
	before, _ := s.sim.Order(450789470)
	if _, err := s.h.Execute("update_order", s.conn, map[string]any{"id": 450789470, "tags": "WHOLESALE"}); err != nil {
		t.Fatal(err)
	}
	after, _ := s.sim.Order(450789470)
	if after.UpdatedAt != before.UpdatedAt || after.Tags != before.Tags {
		t.Fatalf("order changed: %q/%q -> %q/%q", before.UpdatedAt, before.Tags, after.UpdatedAt, after.Tags)
	}
}

func TestUpdateOrder_NeedsTagsOrNote(t *testing.T) {
	s := newShop(t)
	_, err := s.h.Execute("update_order", s.conn, map[string]any{"id": seedOrder})
	wantKind(t, err, fault.InvalidInput)
}

func TestCreateFulfillment_ShipsWithTrackingAndRepeatsSafely(t *testing.T) {
	s := newShop(t)
	in := map[string]any{"order_id": seedOrder, "tracking_number": "1Z001985YW99744790", "tracking_company": "UPS",
		"tracking_url": "https://www.ups.com/track?n=1Z001985YW99744790", "notify_customer": true}
	out, err := s.h.Execute("create_fulfillment", s.conn, in)
	if err != nil {
		t.Fatal(err)
	}
	res := decode(t, out)
	f := res["fulfillment"].(map[string]any)
	if res["created"] != true || f["tracking_number"] != "1Z001985YW99744790" || f["tracking_company"] != "UPS" || f["status"] != "success" {
		t.Fatalf("fulfillment %s", out)
	}
	o, _ := s.sim.Order(seedOrder)
	if o.FulfillmentStatus == nil || *o.FulfillmentStatus != "fulfilled" || len(o.Fulfillments) != 1 {
		t.Fatalf("order fulfillment status %v, %d fulfillments", o.FulfillmentStatus, len(o.Fulfillments))
	}
	// The same step again finds the order shipped and returns what was made.
	out, err = s.h.Execute("create_fulfillment", s.conn, in)
	if err != nil {
		t.Fatal(err)
	}
	again := decode(t, out)
	if again["created"] != false || again["fulfillment"].(map[string]any)["id"] != f["id"] {
		t.Fatalf("repeat: %s", out)
	}
	if o, _ := s.sim.Order(seedOrder); len(o.Fulfillments) != 1 {
		t.Fatalf("%d fulfillments after repeat", len(o.Fulfillments))
	}
	// A different tracking number on a shipped order is a mistake to report.
	in["tracking_number"] = "OTHER"
	_, err = s.h.Execute("create_fulfillment", s.conn, in)
	wantKind(t, err, fault.InvalidInput)
}

func TestCreateFulfillment_UnknownOrderIsInvalid(t *testing.T) {
	s := newShop(t)
	_, err := s.h.Execute("create_fulfillment", s.conn, map[string]any{"order_id": 7})
	wantKind(t, err, fault.InvalidInput)
}

func TestSetInventoryLevel_SetsAvailableAtTheLocation(t *testing.T) {
	s := newShop(t)
	out, err := s.h.Execute("set_inventory_level", s.conn, map[string]any{"inventory_item_id": 808950810, "location_id": mainLocation, "available": 42})
	if err != nil {
		t.Fatal(err)
	}
	if l := decode(t, out); l["available"].(json.Number).String() != "42" {
		t.Fatalf("level %s", out)
	}
	if l, _ := s.sim.InventoryLevel(808950810, mainLocation); l.Available != 42 {
		t.Fatalf("shop has %d", l.Available)
	}
}

func TestSetInventoryLevel_UsesTheOnlyLocationWhenNoneGiven(t *testing.T) {
	s := newShop(t)
	if _, err := s.h.Execute("set_inventory_level", s.conn, map[string]any{"inventory_item_id": 39072856, "available": 7}); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.sim.InventoryLevel(39072856, shopify.MainLocationID); l.Available != 7 {
		t.Fatalf("shop has %d", l.Available)
	}
	// 808950810 is stocked at two locations: which one is ambiguous.
	_, err := s.h.Execute("set_inventory_level", s.conn, map[string]any{"inventory_item_id": 808950810, "available": 1})
	if e := wantKind(t, err, fault.InvalidInput); e.Violations[0].Path != "location_id" {
		t.Fatalf("violations %v", e.Violations)
	}
}

func TestSetInventoryLevel_UnknownItemIsInvalid(t *testing.T) {
	s := newShop(t)
	_, err := s.h.Execute("set_inventory_level", s.conn, map[string]any{"inventory_item_id": 1, "location_id": mainLocation, "available": 1})
	wantKind(t, err, fault.InvalidInput)
}

func TestFindInventoryItem_BySKU(t *testing.T) {
	s := newShop(t)
	out, err := s.h.Execute("find_inventory_item", s.conn, map[string]any{"sku": "crafty_shoes_red"})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"found":true,"sku":"crafty_shoes_red","inventory_item_id":808950810,"variant_id":389013007,"product_id":910489600,"title":"Crafty Shoes - Small"}` {
		t.Fatalf("found %s", out)
	}
	out, err = s.h.Execute("find_inventory_item", s.conn, map[string]any{"sku": "NOPE"})
	if err != nil || string(out) != `{"found":false,"sku":"NOPE"}` {
		t.Fatalf("not found: %s, %v", out, err)
	}
}
