package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/hubhq/hub/host/sandbox/warehouse"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/sdktest"
	"github.com/hubhq/hub/sdk/wire"
)

// shipmentsPoll is the poll config docs/no-code.md uses for the
// warehouse's shipment feed, two items a page.
func shipmentsPoll() map[string]any {
	return map[string]any{
		"path": "/api/shipments", "query": map[string]any{"limit": 2},
		"items_path": "data.items", "id_field": "shipment_id", "cursor_field": "seq", "cursor_param": "since",
		"has_more_path": "data.has_more", "time_field": "changed_at",
	}
}

func eventIDs(evs []wire.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func TestPoll_FollowsTheCursorAcrossPagesAndResumes(t *testing.T) {
	sim, base := sandbox(t)
	h := harness(t, fixedNow)
	conn := warehouseConn(base, nil)
	for _, st := range []string{"picking", "packed", "shipped"} {
		if err := sim.Advance("ord_1001", st); err != nil {
			t.Fatal(err)
		}
	}
	first, err := h.Poll("poll", conn, shipmentsPoll(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Events) != 2 || !first.HasMore {
		t.Fatalf("first page: %v more=%v", eventIDs(first.Events), first.HasMore)
	}
	evs, cursor, err := h.PollAll("poll", conn, shipmentsPoll(), first.NextCursor, 10)
	if err != nil {
		t.Fatal(err)
	}
	all := append(eventIDs(first.Events), eventIDs(evs)...)
	if fmt.Sprint(all) != "[shp_1001@1 shp_1001@2 shp_1001@3]" {
		t.Fatalf("events %v", all)
	}
	var payload map[string]any
	if err := json.Unmarshal(evs[0].Payload, &payload); err != nil || payload["status"] != "shipped" {
		t.Fatalf("payload %s", evs[0].Payload)
	}
	if evs[0].OccurredAt.IsZero() {
		t.Error("OccurredAt not taken from time_field")
	}

	// Nothing new: nothing emitted, the cursor stays.
	again, err := h.Poll("poll", conn, shipmentsPoll(), cursor)
	if err != nil || len(again.Events) != 0 || again.HasMore {
		t.Fatalf("idle poll: %v %v %v", eventIDs(again.Events), again.HasMore, err)
	}
	// Resuming from the stored cursor sees only what happened since.
	if err := sim.Advance("ord_1001", "delivered"); err != nil {
		t.Fatal(err)
	}
	evs, _, err = h.PollAll("poll", conn, shipmentsPoll(), again.NextCursor, 10)
	if err != nil || fmt.Sprint(eventIDs(evs)) != "[shp_1001@4]" {
		t.Fatalf("resumed: %v %v", eventIDs(evs), err)
	}
}

func TestPoll_StockFeedWithoutHasMorePollsUntilEmpty(t *testing.T) {
	sim, base := sandbox(t)
	h := harness(t, fixedNow)
	conn := warehouseConn(base, nil)
	sim.SetStock("SKU-MUG", 3)
	sim.SetStock("SKU-POSTER", 9)
	sim.SetStock("SKU-MUG", 2)
	cfg := map[string]any{"path": "/api/stock", "query": map[string]any{"limit": 2}, "items_path": "data.items", "id_field": "sku", "cursor_field": "seq", "cursor_param": "since"}
	evs, _, err := h.PollAll("poll", conn, cfg, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(eventIDs(evs)) != "[SKU-MUG@1 SKU-POSTER@2 SKU-MUG@3]" {
		t.Fatalf("events %v", eventIDs(evs))
	}
}

// pagedFeed is a third party with page tokens and an inclusive
// timestamp filter (updated_at >= since), as many APIs have.
func pagedFeed(t *testing.T, items []map[string]any) (string, *[]string) {
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		since := r.URL.Query().Get("updated_since")
		start, _ := strconv.Atoi(r.URL.Query().Get("page"))
		var match []map[string]any
		for _, it := range items {
			if since == "" || it["updated_at"].(string) >= since {
				match = append(match, it)
			}
		}
		end := min(start+2, len(match))
		resp := map[string]any{"results": match[min(start, end):end]}
		if end < len(match) {
			resp["next"] = strconv.Itoa(end)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &queries
}

func TestPoll_PageTokensAndAnInclusiveCursor(t *testing.T) {
	items := []map[string]any{
		{"id": 1, "updated_at": "2026-01-01T10:00:00Z"},
		{"id": 2, "updated_at": "2026-01-01T11:00:00Z"},
		{"id": 3, "updated_at": "2026-01-01T12:00:00Z"},
		{"id": 4, "updated_at": "2026-01-01T12:00:00Z"},
		{"id": 5, "updated_at": "2026-01-01T11:30:00Z"},
	}
	base, queries := pagedFeed(t, items)
	h := harness(t, fixedNow)
	conn := sdktest.Connection(map[string]any{"base_url": base})
	cfg := map[string]any{"path": "/changes", "items_path": "results", "id_field": "id", "cursor_field": "updated_at",
		"cursor_param": "updated_since", "next_path": "next", "next_param": "page"}
	evs, cursor, err := h.PollAll("poll", conn, cfg, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 5 {
		t.Fatalf("events %v, want all five", eventIDs(evs))
	}
	if (*queries)[1] != "page=2" {
		t.Fatalf("second page asked with %q", (*queries)[1])
	}
	var st pollState
	if err := json.Unmarshal(cursor, &st); err != nil || string(st.Since) != `"2026-01-01T12:00:00Z"` || fmt.Sprint(st.Seen) != "[3 4]" {
		t.Fatalf("cursor %s", cursor)
	}
	// The API repeats items at the cursor's own time; they are not new.
	again, err := h.Poll("poll", conn, cfg, cursor)
	if err != nil || len(again.Events) != 0 || again.HasMore {
		t.Fatalf("repeat: %v %v %v", eventIDs(again.Events), again.HasMore, err)
	}
	if last := (*queries)[len(*queries)-1]; last != "updated_since=2026-01-01T12%3A00%3A00Z" {
		t.Fatalf("cursor sent as %q", last)
	}
	if want := "2026-01-01 10:00:00 +0000 UTC"; evs[0].OccurredAt.String() != want {
		t.Error("a timestamp cursor should set OccurredAt")
	}
}

func TestPoll_BadAnswersAndCursors(t *testing.T) {
	sim, base := sandbox(t)
	h := harness(t, fixedNow)
	conn := warehouseConn(base, nil)

	sim.Fail(warehouse.FaultMalformed, 1)
	_, err := h.Poll("poll", conn, shipmentsPoll(), nil)
	wantKind(t, err, fault.Retryable)

	sim.Fail(warehouse.FaultRateLimit, 1)
	_, err = h.Poll("poll", conn, shipmentsPoll(), nil)
	wantKind(t, err, fault.RateLimited)

	_, err = h.Poll("poll", conn, shipmentsPoll(), []byte("not json"))
	wantKind(t, err, fault.CursorExpired)

	cfg := shipmentsPoll()
	cfg["items_path"] = "data"
	_, err = h.Poll("poll", conn, cfg, nil)
	wantKind(t, err, fault.Permanent)

	cfg = shipmentsPoll()
	cfg["items_path"] = "data..items"
	_, err = h.Poll("poll", conn, cfg, nil)
	wantKind(t, err, fault.InvalidInput)
}

func TestCompareCursor_NumbersTimesAndText(t *testing.T) {
	for _, tc := range []struct {
		a, b any
		want int
	}{
		{json.Number("10"), json.Number("9"), 1},
		{json.Number("123456789012345679"), json.Number("123456789012345678"), 1},
		{json.Number("1.50"), json.Number("1.5"), 0},
		{"2026-01-01T10:00:00+02:00", "2026-01-01T09:00:00Z", -1},
		{"2026-01-01T10:00:00.5Z", "2026-01-01T10:00:00Z", 1},
		{"b", "a", 1},
		{nil, "a", -1},
	} {
		if got := compareCursor(tc.a, tc.b); got != tc.want {
			t.Errorf("compare(%v, %v) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
