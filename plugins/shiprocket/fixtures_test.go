package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/sdktest"
	"github.com/hubhq/hub/sdk/wire"
)

func sdktestConn() wire.Connection { return sdktest.Connection(nil) }

// fixture reads ../shared/fixtures/shiprocket/<name> beside the
// repository root (the directory holding go.mod), skipping the test when
// the fixtures are not there (a clean clone has none).
func fixture(t *testing.T, name string) []byte {
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
			t.Skip("fixtures not found: no go.mod above the test")
		}
		dir = parent
	}
	path := filepath.Join(dir, "..", "shared", "fixtures", "shiprocket", name)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("fixtures not found at %s", path)
	}
	return b
}

type trackingCase struct {
	Name         string          `json:"name"`
	ResponseBody json.RawMessage `json:"response_body"`
}

func trackingCases(t *testing.T) map[string]json.RawMessage {
	var f struct {
		Cases []trackingCase `json:"cases"`
	}
	if err := json.Unmarshal(fixture(t, "tracking.responses.json"), &f); err != nil {
		t.Fatal(err)
	}
	m := map[string]json.RawMessage{}
	for _, c := range f.Cases {
		m[c.Name] = c.ResponseBody
	}
	return m
}

func TestFixture_TrackByAWBParses(t *testing.T) {
	tr, err := parseTracking("788830567028", trackingCases(t)["track by awb"])
	if err != nil {
		t.Fatal(err)
	}
	out := tr.output()
	if !out.Tracked || out.Status != "delivered" || out.StatusCode != 7 || out.CurrentStatus != "Delivered" ||
		out.Courier != "Xpressbees Surface" || out.OrderID != "237157589" || out.ShipmentID != "236612717" ||
		out.DeliveredDate != "2022-07-19 11:37:00" || out.PickupDate != "2022-07-18 20:28:00" ||
		out.TrackURL != "https://app.shiprocket.in/tracking/awb/788830567028" {
		t.Fatalf("out = %+v", out)
	}
	if len(out.Activities) != 1 || out.Activities[0].StatusCode != 7 || out.Activities[0].StatusLabel != "DELIVERED" || out.Activities[0].Status != "DLVD" {
		t.Fatalf("activities = %+v", out.Activities)
	}
	// The first poll of this AWB reports it delivered, at the scan's time.
	changes, st := transitions(tr, awbState{}, false)
	if len(changes) != 1 || changes[0].Code != 7 || st.At != "2022-07-19 11:37:00" || changes[0].Scan == nil {
		t.Fatalf("changes = %+v, state %+v", changes, st)
	}
}

func TestFixture_TrackByShipmentIDShapeParses(t *testing.T) {
	tr, err := parseTracking("1091188857722", trackingCases(t)["track by shipment id"])
	if err != nil {
		t.Fatal(err)
	}
	out := tr.output()
	if out.Status != "picked_up" || out.EDD != "2021-12-27 23:23:18" || out.OrderID != "168807908" {
		t.Fatalf("out = %+v", out)
	}
	// Newest first, as Shiprocket lists them; "NA" is no code.
	if len(out.Activities) != 2 || out.Activities[0].StatusCode != 42 || out.Activities[1].StatusCode != 0 || out.Activities[1].Status != "FMPUR-101" {
		t.Fatalf("activities = %+v", out.Activities)
	}
	// Seen before at the older scan with no status: the newer coded scan is the change.
	changes, st := transitions(tr, awbState{Code: 3, At: "2021-12-23 14:19:37"}, true)
	if len(changes) != 1 || changes[0].Code != 42 || changes[0].At != "2021-12-23 14:23:18" || st.Code != 42 {
		t.Fatalf("changes = %+v state %+v", changes, st)
	}
}

func TestFixture_TrackByAWBsEntriesParse(t *testing.T) {
	var byAWB map[string]json.RawMessage
	if err := json.Unmarshal(trackingCases(t)["track by awbs"], &byAWB); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"788829354408": "awb_assigned", "788830567028": "pickup_generated"}
	for awb, status := range want {
		tr, err := parseTracking(awb, byAWB[awb])
		if err != nil {
			t.Fatal(err)
		}
		// These entries name no courier: its id stands in.
		if out := tr.output(); out.Status != status || out.Courier != "courier 2" || len(out.Activities) != 1 {
			t.Errorf("%s: %+v", awb, out)
		}
	}
}

func TestFixture_StatusCodesTableIsTheConnectors(t *testing.T) {
	var f struct {
		Codes    map[string]string   `json:"codes"`
		Variants map[string][]string `json:"label_variants_seen"`
	}
	if err := json.Unmarshal(fixture(t, "shipment-status-codes.json"), &f); err != nil {
		t.Fatal(err)
	}
	norm := func(s string) string {
		return strings.NewReplacer("_", " ", "cancelled", "canceled").Replace(strings.ToLower(s))
	}
	for k, label := range f.Codes {
		code, _ := strconv.Atoi(k)
		got, ok := statusLabels[code]
		labels := append([]string{label}, f.Variants[k]...)
		if !ok || !slices.ContainsFunc(labels, func(l string) bool { return norm(l) == norm(got) }) {
			t.Errorf("code %d: connector says %q, table %q", code, got, label)
		}
	}
}

func TestFixture_CreateOrderRequiresTheDocumentedFields(t *testing.T) {
	var f struct {
		Request struct {
			Required []string `json:"required_fields"`
		} `json:"request"`
		Responses []struct {
			Status int             `json:"status"`
			Body   json.RawMessage `json:"body"`
		} `json:"responses"`
	}
	if err := json.Unmarshal(fixture(t, "orders-create-adhoc.json"), &f); err != nil {
		t.Fatal(err)
	}
	spec, _ := connector().Schema().Action("create_shipment_order")
	var required []string
	for _, p := range spec.Input.Properties {
		if p.Required {
			required = append(required, p.Name)
		}
	}
	slices.Sort(required)
	want := slices.Sorted(slices.Values(f.Request.Required))
	if !slices.Equal(required, want) {
		t.Fatalf("required = %v\nwant       %v", required, want)
	}

	// The documented answers, served as Shiprocket would.
	for _, r := range f.Responses {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(r.Status)
			_, _ = w.Write(r.Body)
		}))
		conn := sdktest.Connection(map[string]any{"base_url": srv.URL})
		out, err := sdktest.New(t, connector()).Execute("create_shipment_order", conn, order("16161616"))
		srv.Close()
		switch r.Status {
		case 200:
			var o orderOutput
			if err != nil || json.Unmarshal(out, &o) != nil || o.OrderID != 16161616 || o.ShipmentID != 15151515 || o.Status != "NEW" || o.AWBCode != "" {
				t.Errorf("200: %s, %v", out, err)
			}
		case 400:
			if k := fault.As(err); k == nil || k.Kind != fault.InvalidInput || !strings.Contains(k.Message, "Given channel id does not exist") {
				t.Errorf("400: %v", err)
			}
		case 422:
			k := fault.As(err)
			if k == nil || k.Kind != fault.InvalidInput || len(k.Violations) != 1 || k.Violations[0].Path != "order_id" ||
				k.Violations[0].Message != "The order id field is required." {
				t.Errorf("422: %v", err)
			}
		}
	}
}

func TestFixture_TrackingWebhookSampleBecomesAnEvent(t *testing.T) {
	body := fixture(t, "webhook-tracking.sample.body.json")
	req := httptest.NewRequest(http.MethodPost, "/hooks/shiprocket", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", "panel-token")
	h := sdktest.New(t, connector())
	res, err := h.Webhook("tracking_update", sdktestConn(), map[string]any{"token": "panel-token"}, req, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Response == nil || res.Response.Status != 200 || len(res.Events) != 1 {
		t.Fatalf("res = %+v", res)
	}
	ev := res.Events[0]
	if ev.ID != "19041424751540:18:23 05 2023 11:43:52" || ev.Type != "in_transit" || !ev.OccurredAt.Equal(time.Date(2023, 5, 23, 11, 43, 52, 0, ist)) {
		t.Fatalf("event %s %s at %v", ev.ID, ev.Type, ev.OccurredAt)
	}
	var p trackingEvent
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		t.Fatal(err)
	}
	if p.AWB != "19041424751540" || p.OrderID != "348456385" || p.ChannelOrderID != "1373900_150876814" || p.StatusCode != 18 ||
		p.CurrentStatus != "IN TRANSIT" || p.Courier != "Delhivery Surface" || p.Activity != "In Transit - Shipment Received at Facility" ||
		p.Location != "Mumbai_MiraRdIndEstate_I (Maharashtra)" || p.Timestamp != "2023-05-23T11:43:52+05:30" || !sameJSON(p.Raw, body) {
		t.Fatalf("payload = %+v", p)
	}
	// The same body with another token is refused.
	req = httptest.NewRequest(http.MethodPost, "/hooks/shiprocket", bytes.NewReader(body))
	req.Header.Set("x-api-key", "guess")
	if res, err := h.Webhook("tracking_update", sdktestConn(), map[string]any{"token": "panel-token"}, req, ""); err == nil || res.Response.Status != 401 {
		t.Fatalf("forged: %+v, %v", res, err)
	}
}

// sameJSON compares two JSON texts ignoring formatting.
func sameJSON(a, b []byte) bool {
	var x, y bytes.Buffer
	return json.Compact(&x, a) == nil && json.Compact(&y, b) == nil && bytes.Equal(x.Bytes(), y.Bytes())
}
