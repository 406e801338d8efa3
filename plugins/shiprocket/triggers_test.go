package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hubhq/hub/host/sandbox/shiprocket"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/wire"
)

// poll polls tracking_status once from cursor and returns the events'
// types and the next cursor, failing the test on an error.
func (e *env) poll(t *testing.T, awbs []string, cursor []byte) ([]wire.Event, []byte) {
	t.Helper()
	res, err := e.h.Poll("tracking_status", e.conn, map[string]any{"awbs": awbs}, cursor)
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	if res.HasMore {
		t.Fatal("poll says more are ready; one poll reads every AWB")
	}
	return res.Events, res.NextCursor
}

func types(evs []wire.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Type)
	}
	return strings.Join(s, ",")
}

func TestTrackingStatus_EmitsShippedOutForDeliveryDeliveredOnceEach(t *testing.T) {
	e := newEnv(t, nil)
	awbs := []string{shiprocket.SeedAWB}
	ctx := context.Background()
	seen := map[string]bool{}
	var all []wire.Event
	step := func(want string, cursor []byte) []byte {
		t.Helper()
		evs, next := e.poll(t, awbs, cursor)
		if got := types(evs); got != want {
			t.Fatalf("events = %q, want %q", got, want)
		}
		for _, ev := range evs {
			if seen[ev.ID] {
				t.Fatalf("event id %s seen twice", ev.ID)
			}
			seen[ev.ID] = true
		}
		all = append(all, evs...)
		return next
	}
	// The seeded shipment has shipped: the first poll reports where it is.
	cur := step("shipped", nil)
	cur = step("", cur)
	if err := e.sim.SetStatus(ctx, shiprocket.SeedAWB, shiprocket.StatusOutForDelivery); err != nil {
		t.Fatal(err)
	}
	cur = step("out_for_delivery", cur)
	cur = step("", cur)
	if err := e.sim.SetStatus(ctx, shiprocket.SeedAWB, shiprocket.StatusDelivered); err != nil {
		t.Fatal(err)
	}
	cur = step("delivered", cur)
	step("", cur)

	var p trackingEvent
	if err := json.Unmarshal(all[2].Payload, &p); err != nil {
		t.Fatal(err)
	}
	o, _ := e.sim.Order(shiprocket.SeedOrderID)
	if p.AWB != shiprocket.SeedAWB || p.Status != "delivered" || p.StatusCode != 7 || p.StatusLabel != "Delivered" ||
		p.ChannelOrderID != shiprocket.SeedOrderID || p.OrderID == "" || p.Courier != o.Courier || p.Activity != "Delivered" ||
		!strings.HasSuffix(p.Timestamp, "+05:30") || len(p.Raw) == 0 {
		t.Fatalf("payload = %+v", p)
	}
	if all[2].OccurredAt.IsZero() || !all[2].OccurredAt.After(all[1].OccurredAt) {
		t.Fatalf("occurred at %v after %v", all[2].OccurredAt, all[1].OccurredAt)
	}
}

func TestTrackingStatus_StatusesPassedBetweenPollsAreAllEmittedInOrder(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	awbs := []string{shiprocket.SeedAWB}
	_, cur := e.poll(t, awbs, nil)
	for range 3 { // in transit, out for delivery, delivered
		if _, err := e.sim.Advance(ctx, shiprocket.SeedAWB); err != nil {
			t.Fatal(err)
		}
	}
	evs, cur := e.poll(t, awbs, cur)
	if got := types(evs); got != "in_transit,out_for_delivery,delivered" {
		t.Fatalf("events = %q", got)
	}
	if evs, _ := e.poll(t, awbs, cur); len(evs) != 0 {
		t.Fatalf("repeat poll = %q", types(evs))
	}
}

func TestTrackingStatus_NewAWBsJoinAndUnknownOnesWait(t *testing.T) {
	e := newEnv(t, nil)
	var created orderOutput
	if err := e.exec("create_shipment_order", order("WEB-20"), &created); err != nil {
		t.Fatal(err)
	}
	var a assignOutput
	if err := e.exec("assign_awb", map[string]any{"shipment_id": created.ShipmentID}, &a); err != nil {
		t.Fatal(err)
	}
	evs, cur := e.poll(t, []string{shiprocket.SeedAWB, "999999999"}, nil)
	if types(evs) != "shipped" {
		t.Fatalf("events = %q", types(evs))
	}
	var c pollCursor
	if err := json.Unmarshal(cur, &c); err != nil || len(c.AWBs) != 1 {
		t.Fatalf("cursor = %s", cur)
	}
	// The operator adds the new AWB: its current status comes once.
	evs, cur = e.poll(t, []string{shiprocket.SeedAWB, a.AWBCode}, cur)
	if types(evs) != "awb_assigned" {
		t.Fatalf("events = %q", types(evs))
	}
	var p trackingEvent
	_ = json.Unmarshal(evs[0].Payload, &p)
	if p.ChannelOrderID != "WEB-20" || p.AWB != a.AWBCode {
		t.Fatalf("payload = %+v", p)
	}
	if evs, _ := e.poll(t, []string{shiprocket.SeedAWB, a.AWBCode}, cur); len(evs) != 0 {
		t.Fatalf("repeat = %q", types(evs))
	}
}

func TestTrackingStatus_FailuresStopThePollWithTheirClass(t *testing.T) {
	e := newEnv(t, nil)
	awbs := []string{shiprocket.SeedAWB}
	e.sim.ExpireTokens()
	_, err := e.h.Poll("tracking_status", e.conn, map[string]any{"awbs": awbs}, nil)
	if kindOf(t, err).Kind != fault.AuthExpired {
		t.Fatalf("err = %v", err)
	}
	e.login(t)
	e.sim.Fail(shiprocket.Failure{Status: 429, RetryAfter: 3})
	_, err = e.h.Poll("tracking_status", e.conn, map[string]any{"awbs": awbs}, nil)
	if k := kindOf(t, err); k.Kind != fault.RateLimited || k.RetryAfter.Seconds() != 3 {
		t.Fatalf("err = %v", err)
	}
	_, err = e.h.Poll("tracking_status", e.conn, map[string]any{"awbs": awbs}, []byte("not json"))
	if kindOf(t, err).Kind != fault.CursorExpired {
		t.Fatalf("err = %v", err)
	}
	_, err = e.h.Poll("tracking_status", e.conn, map[string]any{"awbs": []string{" "}}, nil)
	if kindOf(t, err).Kind != fault.InvalidInput {
		t.Fatalf("err = %v", err)
	}
}

func TestTrackingUpdate_SimulatorDeliveryBecomesAnEvent(t *testing.T) {
	type got struct {
		header http.Header
		body   []byte
	}
	var mu sync.Mutex
	var deliveries []got
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		deliveries = append(deliveries, got{r.Header.Clone(), b})
		mu.Unlock()
	}))
	defer recv.Close()
	e := newEnv(t, nil)
	e.sim.SetWebhook(recv.URL+"/hooks/tracking", "s3cret")
	if err := e.sim.SetStatus(context.Background(), shiprocket.SeedAWB, shiprocket.StatusOutForDelivery); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	d := deliveries[0]
	mu.Unlock()
	req := httptest.NewRequest(http.MethodPost, "/hooks/tracking", bytes.NewReader(d.body))
	req.Header = d.header
	res, err := e.h.Webhook("tracking_update", e.conn, map[string]any{"token": "s3cret"}, req, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Response == nil || res.Response.Status != 200 || len(res.Events) != 1 || res.Events[0].Type != "out_for_delivery" {
		t.Fatalf("result = %+v", res)
	}
	var p trackingEvent
	_ = json.Unmarshal(res.Events[0].Payload, &p)
	if p.AWB != shiprocket.SeedAWB || p.ChannelOrderID != shiprocket.SeedOrderID || p.StatusCode != 17 {
		t.Fatalf("payload = %+v", p)
	}
}

func TestTrackingUpdate_TokenIsRequiredAndCompared(t *testing.T) {
	h := newEnv(t, nil).h
	body := []byte(`{"awb":"1","shipment_status_id":7,"current_timestamp":"01 02 2026 10:00:00"}`)
	for _, tc := range []struct {
		name, header, token, secret string
		ok                          bool
	}{
		{"configured token", "tok", "tok", "", true},
		{"subscription secret when no token", "sec", "", "sec", true},
		{"wrong token", "nope", "tok", "", false},
		{"missing header", "", "tok", "", false},
		{"nothing configured", "", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
			if tc.header != "" {
				req.Header.Set("x-api-key", tc.header)
			}
			res, err := h.Webhook("tracking_update", sdktestConn(), map[string]any{"token": tc.token}, req, tc.secret)
			if tc.ok {
				if err != nil || len(res.Events) != 1 || res.Events[0].ID != "1:7:01 02 2026 10:00:00" || res.Events[0].Type != "delivered" {
					t.Fatalf("res = %+v, %v", res, err)
				}
				return
			}
			if err == nil || res.Response == nil || res.Response.Status != 401 || len(res.Events) != 0 {
				t.Fatalf("res = %+v, %v", res, err)
			}
		})
	}
}

func TestTrackingUpdate_BodyWithoutAWBIsRefused(t *testing.T) {
	h := newEnv(t, nil).h
	req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(`{"shipment_status_id": 7}`))
	req.Header.Set("x-api-key", "t")
	res, err := h.Webhook("tracking_update", sdktestConn(), map[string]any{"token": "t"}, req, "")
	if kindOf(t, err).Kind != fault.InvalidInput || res.Response == nil || res.Response.Status != 400 {
		t.Fatalf("res = %+v, %v", res, err)
	}
}

func TestStatusName_NormalizesLabels(t *testing.T) {
	for code, want := range map[int]string{6: "shipped", 7: "delivered", 17: "out_for_delivery", 18: "in_transit", 42: "picked_up",
		23: "partial_delivered", 38: "reached_at_destination_hub", 99: "status_99"} {
		if got := StatusName(code); got != want {
			t.Errorf("StatusName(%d) = %q, want %q", code, got, want)
		}
	}
}
