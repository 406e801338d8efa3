package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/host/sandbox/woocommerce"
	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/sdktest"
	"github.com/hubhq/hub/sdk/wire"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, connector())
}

// shop is a simulator behind a loopback server and a harness whose
// connection reaches it.
type shop struct {
	sim  *woocommerce.Sim
	srv  *httptest.Server
	h    *sdktest.Harness
	conn wire.Connection
	// seen records the Authorization header and query of every request.
	mu   sync.Mutex
	seen []*http.Request
}

// newShop serves a simulator over TLS (Basic auth) or, with plain, over
// http (OAuth 1.0a).
func newShop(t *testing.T, opts woocommerce.Options, plain bool, props map[string]any) *shop {
	t.Helper()
	s := &shop{sim: woocommerce.New(opts)}
	api := s.sim.Handler()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, r.Clone(r.Context()))
		s.mu.Unlock()
		api.ServeHTTP(w, r)
	})
	var base *http.Client
	if plain {
		s.srv = httptest.NewServer(handler)
	} else {
		s.srv = httptest.NewTLSServer(handler)
		base = s.srv.Client()
	}
	t.Cleanup(s.srv.Close)
	var sdkOpts []sdk.Option
	if base != nil {
		sdkOpts = append(sdkOpts, sdk.WithHTTPClient(base))
	}
	s.h = sdktest.New(t, newConnector(base), sdkOpts...)
	p := map[string]any{"base_url": s.srv.URL}
	for k, v := range props {
		p[k] = v
	}
	raw, _ := json.Marshal(p)
	s.conn = wire.Connection{Name: "shop", Properties: raw,
		Auth: wire.Auth{Type: schema.AuthBasic, Username: s.sim.ConsumerKey(), Password: s.sim.ConsumerSecret()}}
	return s
}

func (s *shop) requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.seen...)
}

func decode[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

type order struct {
	ID              int    `json:"id"`
	Status          string `json:"status"`
	Total           string `json:"total"`
	DateModifiedGMT string `json:"date_modified_gmt"`
	LineItems       []struct {
		ProductID   int    `json:"product_id"`
		VariationID int    `json:"variation_id"`
		SKU         string `json:"sku"`
	} `json:"line_items"`
	MetaData []struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	} `json:"meta_data"`
}

func placeOrder(t *testing.T, sim *woocommerce.Sim) woocommerce.Order {
	t.Helper()
	o, err := sim.PlaceOrder(woocommerce.NewOrder{SetPaid: true, LineItems: []woocommerce.NewLineItem{{ProductID: 93, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestCheck_NamesTheShop(t *testing.T) {
	s := newShop(t, woocommerce.Options{}, false, nil)
	account, err := s.h.Check(s.conn)
	if err != nil || account != "WooCommerce shop "+s.srv.URL {
		t.Fatalf("Check = %q, %v", account, err)
	}
}

func TestAuth_BasicHeaderOverHTTPS(t *testing.T) {
	s := newShop(t, woocommerce.Options{}, false, nil)
	if _, err := s.h.Execute("get_order", s.conn, map[string]any{"id": 701}); err != nil {
		t.Fatal(err)
	}
	r := s.requests()[0]
	if user, pass, ok := r.BasicAuth(); !ok || user != s.sim.ConsumerKey() || pass != s.sim.ConsumerSecret() || r.URL.RawQuery != "" {
		t.Fatalf("request carried %q and query %q", r.Header.Get("Authorization"), r.URL.RawQuery)
	}
}

func TestAuth_QueryStringWhenAsked(t *testing.T) {
	s := newShop(t, woocommerce.Options{}, false, map[string]any{"auth_in_query": true})
	if _, err := s.h.Execute("get_order", s.conn, map[string]any{"id": 701}); err != nil {
		t.Fatal(err)
	}
	r := s.requests()[0]
	q := r.URL.Query()
	if r.Header.Get("Authorization") != "" || q.Get("consumer_key") != s.sim.ConsumerKey() || q.Get("consumer_secret") != s.sim.ConsumerSecret() {
		t.Fatalf("request carried %q and query %q", r.Header.Get("Authorization"), r.URL.RawQuery)
	}
}

func TestAuth_PlainHTTPSignsWithOAuth1AndNeverSendsTheSecret(t *testing.T) {
	s := newShop(t, woocommerce.Options{}, true, map[string]any{"auth_in_query": true})
	for range 2 { // a second call needs a fresh nonce
		if _, err := s.h.Execute("get_order", s.conn, map[string]any{"id": 701}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range s.requests() {
		if r.Header.Get("Authorization") != "" || strings.Contains(r.URL.RawQuery, s.sim.ConsumerSecret()) || r.URL.Query().Get("oauth_signature") == "" {
			t.Fatalf("request carried %q and query %q", r.Header.Get("Authorization"), r.URL.RawQuery)
		}
	}
}

func TestAuth_WrongSecretIsAuthExpiredWithWooCommercesMessage(t *testing.T) {
	for _, plain := range []bool{false, true} {
		s := newShop(t, woocommerce.Options{}, plain, nil)
		s.conn.Auth.Password = "cs_wrong"
		_, err := s.h.Execute("get_order", s.conn, map[string]any{"id": 701})
		e := fault.As(err)
		if e.Kind != fault.AuthExpired || e.HTTPStatus != 401 || !strings.Contains(e.Message, "woocommerce_rest_authentication_error") {
			t.Fatalf("plain=%v: err = %v", plain, err)
		}
		if strings.Contains(e.Message, "cs_wrong") {
			t.Fatalf("the secret leaked into the error: %v", err)
		}
	}
}

func TestProperties_BadBaseURLAndMissingAuthAreInvalid(t *testing.T) {
	s := newShop(t, woocommerce.Options{}, false, nil)
	conn := s.conn
	conn.Properties = json.RawMessage(`{"base_url":"ftp://shop.example"}`)
	if _, err := s.h.Execute("get_order", conn, map[string]any{"id": 1}); fault.KindOf(err) != fault.InvalidInput {
		t.Fatalf("ftp base_url: %v", err)
	}
	conn = s.conn
	conn.Auth = wire.Auth{}
	if _, err := s.h.Execute("get_order", conn, map[string]any{"id": 1}); fault.KindOf(err) != fault.InvalidInput {
		t.Fatalf("no auth: %v", err)
	}
}

func TestErrors_AreClassifiedFromTheSimulator(t *testing.T) {
	s := newShop(t, woocommerce.Options{}, false, nil)
	get := func() *fault.Error {
		_, err := s.h.Execute("get_order", s.conn, map[string]any{"id": 701})
		return fault.As(err)
	}
	s.sim.Fail(429, 1, 7*time.Second)
	if e := get(); e.Kind != fault.RateLimited || e.RetryAfter != 7*time.Second {
		t.Errorf("429: %v", e)
	}
	s.sim.Fail(500, 1, 0)
	if e := get(); e.Kind != fault.Retryable || !strings.Contains(e.Message, "internal_server_error") {
		t.Errorf("500: %v", e)
	}
	s.sim.Fail(503, 1, 0)
	if e := get(); e.Kind != fault.Retryable {
		t.Errorf("503: %v", e)
	}
	s.sim.Fail(401, 1, 0)
	if e := get(); e.Kind != fault.AuthExpired {
		t.Errorf("401: %v", e)
	}
	s.sim.Malformed(1)
	if e := get(); e.Kind != fault.Retryable || !strings.Contains(e.Message, "decode") {
		t.Errorf("malformed: %v", e)
	}
	_, err := s.h.Execute("get_order", s.conn, map[string]any{"id": 9999})
	if e := fault.As(err); e.Kind != fault.Permanent || e.HTTPStatus != 404 || !strings.Contains(e.Message, "Invalid ID. (woocommerce_rest_shop_order_invalid_id)") {
		t.Errorf("404: %v", err)
	}
	_, err = s.h.Execute("update_order", s.conn, map[string]any{"id": 701, "status": "teleported"})
	if e := fault.As(err); e.Kind != fault.InvalidInput || len(e.Violations) != 1 || e.Violations[0].Path != "status" {
		t.Errorf("400 rest_invalid_param: %v (%v)", err, e.Violations)
	}
}

func errorResponse(status int, body string) *http.Response {
	req := httptest.NewRequest("GET", "https://shop.example/wp-json/wc/v3/orders/1", nil)
	return &http.Response{StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status),
		Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), Request: req}
}

func TestClassify_KeepsTheSDKKindAndAddsCodeAndParams(t *testing.T) {
	body := `{"code":"rest_invalid_param","message":"Invalid parameter(s): per_page","data":{"status":400,"params":{"per_page":"per_page must be between 1 (inclusive) and 100 (inclusive)"}}}`
	e := fault.As(classify(errorResponse(400, body)))
	if e.Kind != fault.InvalidInput || !strings.Contains(e.Message, "Invalid parameter(s): per_page (rest_invalid_param)") ||
		len(e.Violations) != 1 || e.Violations[0].Path != "per_page" {
		t.Fatalf("%v %v", e, e.Violations)
	}
	e = fault.As(classify(errorResponse(404, `{"code":"rest_no_route","message":"No route was found matching the URL and request method","data":{"status":404}}`)))
	if e.Kind != fault.Permanent || !strings.Contains(e.Message, "rest_no_route") {
		t.Fatalf("%v", e)
	}
	e = fault.As(classify(errorResponse(502, `<html>Bad gateway</html>`)))
	if e.Kind != fault.Retryable {
		t.Fatalf("%v", e)
	}
}

func TestGetOrder_ReturnsTheOrderAsServed(t *testing.T) {
	s := newShop(t, woocommerce.Options{}, false, nil)
	out, err := s.h.Execute("get_order", s.conn, map[string]any{"id": 702})
	if err != nil {
		t.Fatal(err)
	}
	o := decode[order](t, out)
	if o.ID != 702 || o.Status != "processing" || len(o.LineItems) != 2 || o.LineItems[1].SKU != "Bar3" {
		t.Fatalf("order = %+v", o)
	}
}

func TestSearchOrders_FiltersAndReportsTotals(t *testing.T) {
	s := newShop(t, woocommerce.Options{}, false, nil)
	for range 3 {
		placeOrder(t, s.sim)
	}
	out, err := s.h.Execute("search_orders", s.conn, map[string]any{"status": "processing", "search": "woo single", "per_page": 2})
	if err != nil {
		t.Fatal(err)
	}
	res := decode[struct {
		Orders     []order `json:"orders"`
		Total      int     `json:"total"`
		TotalPages int     `json:"total_pages"`
	}](t, out)
	// 702 and the three placed hold "Woo Single #1" and are processing.
	if res.Total != 4 || res.TotalPages != 2 || len(res.Orders) != 2 || res.Orders[0].ID != 705 {
		t.Fatalf("search = %+v", res)
	}
	out, err = s.h.Execute("search_orders", s.conn, map[string]any{"after": "2026-01-05T12:30:00Z", "before": "2026-01-05T13:30:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	if res := decode[struct{ Orders []order }](t, out); len(res.Orders) != 1 || res.Orders[0].ID != 702 {
		t.Fatalf("date window = %+v", res)
	}
	if _, err := s.h.Execute("search_orders", s.conn, map[string]any{"per_page": 500}); fault.KindOf(err) != fault.InvalidInput {
		t.Fatalf("per_page 500: %v", err)
	}
}

func TestCreateOrder_RetryWithTheSameKeyReturnsTheFirstOrder(t *testing.T) {
	s := newShop(t, woocommerce.Options{}, false, nil)
	input := json.RawMessage(`{"payment_method":"bacs","set_paid":true,"billing":{"first_name":"Ann","email":"ann@example.com"},
		"line_items":[{"product_id":93,"quantity":2},{"sku":"Bar3","quantity":1}],
		"shipping_lines":[{"method_id":"flat_rate","method_title":"Flat Rate","total":"10.00"}],
		"meta_data":[{"key":"source","value":"warehouse"}]}`)
	call := wire.ActionRequest{Action: "create_order", Conn: s.conn, Input: input, IdempotencyKey: "run-1/step-create", Attempt: 1}
	out, err := s.h.ExecuteCall(call)
	if err != nil {
		t.Fatal(err)
	}
	first := decode[order](t, out)
	if first.Total != "28.00" || first.Status != "processing" || first.LineItems[1].VariationID != 23 {
		t.Fatalf("created %+v", first)
	}
	keys := map[string]any{}
	for _, m := range first.MetaData {
		keys[m.Key] = m.Value
	}
	if keys["_hub_idempotency_key"] != "run-1/step-create" || keys["source"] != "warehouse" {
		t.Fatalf("meta = %v", keys)
	}
	call.Attempt = 2
	out, err = s.h.ExecuteCall(call)
	if err != nil {
		t.Fatal(err)
	}
	if again := decode[order](t, out); again.ID != first.ID || len(s.sim.Orders()) != 3 {
		t.Fatalf("retry created order %d; %d orders", again.ID, len(s.sim.Orders()))
	}
	call.IdempotencyKey = "run-2/step-create"
	if out, err = s.h.ExecuteCall(call); err != nil || decode[order](t, out).ID == first.ID {
		t.Fatalf("another key must create another order: %s %v", out, err)
	}
}

func TestCreateOrder_UnknownProductIsInvalidInput(t *testing.T) {
	s := newShop(t, woocommerce.Options{}, false, nil)
	_, err := s.h.Execute("create_order", s.conn, map[string]any{"line_items": []any{map[string]any{"product_id": 4242, "quantity": 1}}})
	if e := fault.As(err); e.Kind != fault.InvalidInput || !strings.Contains(e.Message, "woocommerce_rest_invalid_product_id") {
		t.Fatalf("err = %v", err)
	}
}

func TestUpdateOrder_SetsStatusMetaAndAddsTheNoteOnce(t *testing.T) {
	s := newShop(t, woocommerce.Options{}, false, nil)
	in := map[string]any{"id": 702, "status": "completed", "note": "Delivered by the carrier.",
		"meta_data": []any{map[string]any{"key": "tracking", "value": "AWB123"}}}
	var noteID int
	for attempt := range 2 {
		out, err := s.h.Execute("update_order", s.conn, in)
		if err != nil {
			t.Fatal(err)
		}
		res := decode[struct {
			Order  order `json:"order"`
			NoteID int   `json:"note_id"`
		}](t, out)
		if res.Order.Status != "completed" || res.NoteID == 0 || (attempt == 1 && res.NoteID != noteID) {
			t.Fatalf("attempt %d: %+v", attempt, res)
		}
		noteID = res.NoteID
	}
	if notes := s.sim.Notes(702); len(notes) != 1 || notes[0].Note != "Delivered by the carrier." || notes[0].CustomerNote {
		t.Fatalf("notes = %+v", notes)
	}
	o, _ := s.sim.Order(702)
	if o.Status != "completed" || o.MetaData[len(o.MetaData)-1].Key != "tracking" {
		t.Fatalf("order = %s %+v", o.Status, o.MetaData)
	}
}

func TestUpdateOrder_NoteOnlyLeavesTheOrderAlone(t *testing.T) {
	s := newShop(t, woocommerce.Options{}, false, nil)
	before, _ := s.sim.Order(701)
	out, err := s.h.Execute("update_order", s.conn, map[string]any{"id": 701, "note": "Thanks!", "note_to_customer": true})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := s.sim.Order(701)
	if decode[struct{ Order order }](t, out).Order.ID != 701 || after.DateModifiedGMT != before.DateModifiedGMT || !s.sim.Notes(701)[0].CustomerNote {
		t.Fatalf("out %s", out)
	}
}

func TestUpdateStock_ByProductIDAndByVariationSKU(t *testing.T) {
	s := newShop(t, woocommerce.Options{}, false, nil)
	out, err := s.h.Execute("update_stock", s.conn, map[string]any{"product_id": 34, "quantity": 11})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := s.sim.Product(34); !p.ManageStock || *p.StockQuantity != 11 || !strings.Contains(string(out), `"stock_quantity":11`) {
		t.Fatalf("product 34: %+v %s", p, out)
	}
	out, err = s.h.Execute("update_stock", s.conn, map[string]any{"sku": "Bar3", "quantity": 0})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"product_id":22,"variation_id":23,"sku":"Bar3","stock_quantity":0,"stock_status":"outofstock"}`
	if string(out) != want {
		t.Fatalf("variation: %s, want %s", out, want)
	}
	if p, _ := s.sim.Product(23); *p.StockQuantity != 0 {
		t.Fatalf("variation stock %d", *p.StockQuantity)
	}
	if _, err := s.h.Execute("update_stock", s.conn, map[string]any{"sku": "NOPE", "quantity": 1}); fault.KindOf(err) != fault.InvalidInput {
		t.Fatalf("unknown sku: %v", err)
	}
	if _, err := s.h.Execute("update_stock", s.conn, map[string]any{"sku": "Bar3", "product_id": 23, "quantity": 1}); fault.KindOf(err) != fault.InvalidInput {
		t.Fatalf("both: %v", err)
	}
}

func TestPoll_EmitsEveryChangeOnceInModificationOrder(t *testing.T) {
	s := newShop(t, woocommerce.Options{}, false, nil)
	cfg := map[string]any{"per_page": 2}
	events, cursor, err := s.h.PollAll("orders", s.conn, cfg, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].ID != "701@2026-01-05T12:00:00" || events[1].ID != "702@2026-01-05T13:00:00" {
		t.Fatalf("seeded events = %v", ids(events))
	}
	var placed []int
	for range 3 {
		placed = append(placed, placeOrder(t, s.sim).ID)
	}
	updated, err := s.sim.SetOrderStatus(701, "refunded")
	if err != nil {
		t.Fatal(err)
	}
	events, cursor, err = s.h.PollAll("orders", s.conn, cfg, cursor, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range events {
		if got[e.ID] {
			t.Fatalf("event %s twice", e.ID)
		}
		got[e.ID] = true
	}
	for _, id := range placed {
		o, _ := s.sim.Order(id)
		if !got[strconv.Itoa(id)+"@"+o.DateModifiedGMT] {
			t.Fatalf("order %d missing from %v", id, ids(events))
		}
	}
	if len(events) != 4 || !got["701@"+updated.DateModifiedGMT] {
		t.Fatalf("events after changes = %v (placed %v)", ids(events), placed)
	}
	for i, e := range events {
		o := decode[order](t, e.Payload)
		if i > 0 && (events[i-1].OccurredAt.After(e.OccurredAt)) {
			t.Fatalf("events out of modification order: %v", ids(events))
		}
		if o.ID == 701 && o.Status != "refunded" {
			t.Fatalf("payload %s", e.Payload)
		}
	}
	res, err := s.h.Poll("orders", s.conn, cfg, cursor)
	if err != nil || len(res.Events) != 0 || res.HasMore || string(res.NextCursor) != string(cursor) {
		t.Fatalf("nothing new: %+v, %v", res, err)
	}
}

func TestPoll_OrdersSharingOneSecondAcrossPagesAreNotLost(t *testing.T) {
	frozen := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s := newShop(t, woocommerce.Options{Now: func() time.Time { return frozen }}, false, nil)
	for range 7 {
		placeOrder(t, s.sim)
	}
	cfg := map[string]any{"per_page": 2, "modified_after": "2026-02-01T00:00:00Z"}
	events, _, err := s.h.PollAll("orders", s.conn, cfg, nil, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 7 || events[0].ID != "703@2026-03-01T10:00:00" || events[6].ID != "709@2026-03-01T10:00:00" {
		t.Fatalf("events = %v", ids(events))
	}
}

func TestPoll_LimitAndBadCursor(t *testing.T) {
	s := newShop(t, woocommerce.Options{}, false, nil)
	res, err := s.h.PollLimit("orders", s.conn, nil, nil, 1)
	if err != nil || len(res.Events) != 1 || !res.HasMore {
		t.Fatalf("limit 1: %+v, %v", res, err)
	}
	if _, err := s.h.Poll("orders", s.conn, nil, []byte("garbage")); fault.KindOf(err) != fault.CursorExpired {
		t.Fatalf("bad cursor: %v", err)
	}
	s.sim.Fail(429, 1, 2*time.Second)
	if _, err := s.h.Poll("orders", s.conn, nil, nil); fault.KindOf(err) != fault.RateLimited {
		t.Fatalf("429: %v", err)
	}
}

func ids(events []wire.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.ID)
	}
	return out
}

// inbox is a webhook receiver that hands every delivery to the trigger
// as the host would, answering what the connector answers.
type inbox struct {
	t       *testing.T
	h       *sdktest.Harness
	trigger string
	secret  string
	mu      sync.Mutex
	events  []wire.Event
	status  []int
}

func (in *inbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := httptest.NewRequest(r.Method, r.URL.String(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	res, err := in.h.Webhook(in.trigger, webhookConn(), nil, req, in.secret)
	status := http.StatusOK
	if res.Response != nil {
		status = res.Response.Status
	} else if err != nil {
		status = http.StatusInternalServerError
	}
	in.mu.Lock()
	in.events = append(in.events, res.Events...)
	in.status = append(in.status, status)
	in.mu.Unlock()
	w.WriteHeader(status)
}

func TestWebhook_SubscribeReceivesPingAndSignedOrdersThenUnsubscribe(t *testing.T) {
	s := newShop(t, woocommerce.Options{}, false, nil)
	box := &inbox{t: t, h: s.h, trigger: "order_created", secret: "hub-secret-&-more"}
	dst := httptest.NewServer(box)
	defer dst.Close()

	sub, err := s.h.Subscribe("order_created", s.conn, nil, dst.URL+"/hooks/shop", box.secret)
	if err != nil {
		t.Fatal(err)
	}
	hooks := s.sim.Webhooks()
	if len(hooks) != 1 || strconv.Itoa(hooks[0].ID) != sub.ID || hooks[0].Topic != "order.created" || hooks[0].DeliveryURL != dst.URL+"/hooks/shop" {
		t.Fatalf("registered %+v, subscription %+v", hooks, sub)
	}
	o := placeOrder(t, s.sim)
	if _, err := s.sim.SetOrderStatus(o.ID, "completed"); err != nil { // order.updated: not this trigger's
		t.Fatal(err)
	}
	s.sim.Flush()
	box.mu.Lock()
	if len(box.status) != 2 || box.status[0] != 200 || box.status[1] != 200 || len(box.events) != 1 {
		t.Fatalf("statuses %v, %d events", box.status, len(box.events))
	}
	ev := box.events[0]
	box.mu.Unlock()
	deliveries := s.sim.Deliveries()
	if ev.Type != "order.created" || ev.ID != fmt.Sprintf("order-%d@%s", o.ID, o.DateModifiedGMT) || decode[order](t, ev.Payload).ID != o.ID || ev.OccurredAt.IsZero() || deliveries[1].DeliveryID == "" {
		t.Fatalf("event %+v", ev)
	}

	if err := s.h.Unsubscribe("order_created", s.conn, nil, sub); err != nil {
		t.Fatal(err)
	}
	if len(s.sim.Webhooks()) != 0 {
		t.Fatal("webhook still registered")
	}
	if err := s.h.Unsubscribe("order_created", s.conn, nil, sub); err != nil {
		t.Fatalf("unsubscribing twice: %v", err)
	}
}

func TestWebhook_PingAndSignatureRules(t *testing.T) {
	h := sdktest.New(t, connector())
	body := []byte(`{"id":9,"date_modified_gmt":"2026-02-03T04:05:06","status":"processing"}`)
	sig := woocommerce.Sign(body, "k")

	status, got, err := deliver(t, h, "order_updated", []byte("webhook_id=31"), map[string]string{"User-Agent": "WooCommerce/9 Hookshot (WordPress/6)"}, "k")
	if err != nil || status != 200 || len(got) != 0 {
		t.Fatalf("ping: %d %v %v", status, got, err)
	}
	for name, headers := range map[string]map[string]string{
		"no signature":    {},
		"wrong signature": {"X-WC-Webhook-Signature": woocommerce.Sign(body, "other")},
		"not base64":      {"X-WC-Webhook-Signature": "%%%"},
	} {
		if status, got, err := deliver(t, h, "order_updated", body, headers, "k"); err == nil || status != 401 || len(got) != 0 {
			t.Errorf("%s: %d %v %v", name, status, got, err)
		}
	}
	if status, got, err := deliver(t, h, "order_updated", []byte("webhook_id=31"), map[string]string{"X-WC-Webhook-Signature": "x"}, "k"); err == nil || status != 401 || len(got) != 0 {
		t.Errorf("a signed form body is not a ping: %d %v %v", status, got, err)
	}
	// The event id is the resource, its id and its modification time,
	// whatever the delivery id (WooCommerce reuses one within a second).
	_, got, err = deliver(t, h, "order_updated", body, map[string]string{"X-WC-Webhook-Signature": sig, "X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Resource": "order", "X-WC-Webhook-Delivery-ID": "same-second"}, "k")
	if err != nil || len(got) != 1 || got[0] != "order-9@2026-02-03T04:05:06" {
		t.Fatalf("fallback id: %v %v", got, err)
	}
	// Another topic's delivery is answered 200 without an event.
	status, got, err = deliver(t, h, "order_created", body, map[string]string{"X-WC-Webhook-Signature": sig, "X-WC-Webhook-Topic": "order.updated"}, "k")
	if err != nil || status != 200 || len(got) != 0 {
		t.Fatalf("other topic: %d %v %v", status, got, err)
	}
	// A signed body that is not an order is refused.
	junk := []byte(`[1,2]`)
	if _, got, err := deliver(t, h, "order_updated", junk, map[string]string{"X-WC-Webhook-Signature": woocommerce.Sign(junk, "k")}, "k"); fault.KindOf(err) != fault.InvalidInput || len(got) != 0 {
		t.Fatalf("junk: %v %v", got, err)
	}
}

func TestSubscribe_WithoutSecretIsRefused(t *testing.T) {
	s := newShop(t, woocommerce.Options{}, false, nil)
	if _, err := s.h.Subscribe("order_created", s.conn, nil, "https://hub.example/hooks/x", ""); fault.KindOf(err) != fault.Permanent {
		t.Fatalf("err = %v", err)
	}
	if len(s.sim.Webhooks()) != 0 {
		t.Fatal("registered anyway")
	}
}
