package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/sdktest"
	"github.com/hubhq/hub/sdk/wire"
)

func eventIDs(evs []wire.Event) []string {
	var ids []string
	for _, e := range evs {
		ids = append(ids, e.ID)
	}
	return ids
}

func TestOrdersPoll_PagesThroughEveryOrderOldestChangeFirst(t *testing.T) {
	s := newShop(t)
	cfg := map[string]any{"page_size": 2}
	first, err := s.h.Poll("orders", s.conn, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Events) != 2 || !first.HasMore {
		t.Fatalf("first page: %v more=%v", eventIDs(first.Events), first.HasMore)
	}
	evs, cursor, err := s.h.PollAll("orders", s.conn, cfg, first.NextCursor, 5)
	if err != nil {
		t.Fatal(err)
	}
	all := append(eventIDs(first.Events), eventIDs(evs)...)
	want := []string{"450789469@2025-04-02T11:29:59-05:00", "450789470@2025-04-03T09:05:00-05:00", "450789471@2025-04-04T04:30:00-05:00"}
	if !slices.Equal(all, want) {
		t.Fatalf("events %v, want %v", all, want)
	}
	// Nothing changed: polling from the cursor finds nothing new, even
	// though updated_at_min is inclusive and returns the last order again.
	res, err := s.h.Poll("orders", s.conn, cfg, cursor)
	if err != nil || len(res.Events) != 0 || res.HasMore {
		t.Fatalf("idle poll: %v more=%v, %v", eventIDs(res.Events), res.HasMore, err)
	}
}

func TestOrdersPoll_ResumesAfterTheCursorWithNewChanges(t *testing.T) {
	s := newShop(t)
	_, cursor, err := s.h.PollAll("orders", s.conn, nil, nil, 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.h.Execute("update_order", s.conn, map[string]any{"id": seedOrder, "tags": "vip"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.h.Execute("create_order", s.conn, map[string]any{"line_items": []any{map[string]any{"variant_id": 39072856, "quantity": 1}}}); err != nil {
		t.Fatal(err)
	}
	evs, cursor, err := s.h.PollAll("orders", s.conn, nil, cursor, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || !strings.HasPrefix(evs[0].ID, "450789469@") && !strings.HasPrefix(evs[1].ID, "450789469@") {
		t.Fatalf("events %v", eventIDs(evs))
	}
	for _, e := range evs {
		if e.OccurredAt.IsZero() || !json.Valid(e.Payload) {
			t.Fatalf("event %+v", e)
		}
	}
	if evs, _, err := s.h.PollAll("orders", s.conn, nil, cursor, 5); err != nil || len(evs) != 0 {
		t.Fatalf("again: %v, %v", eventIDs(evs), err)
	}
}

func TestOrdersPoll_HostLimitSetsThePageSize(t *testing.T) {
	s := newShop(t)
	res, err := s.h.PollLimit("orders", s.conn, nil, nil, 1)
	if err != nil || len(res.Events) != 1 || !res.HasMore {
		t.Fatalf("%v more=%v, %v", eventIDs(res.Events), res.HasMore, err)
	}
}

func TestOrdersPoll_SinceStartsTheFirstWindow(t *testing.T) {
	s := newShop(t)
	evs, _, err := s.h.PollAll("orders", s.conn, map[string]any{"since": "2025-04-04T00:00:00Z"}, nil, 5)
	if err != nil || len(evs) != 1 || !strings.HasPrefix(evs[0].ID, "450789471@") {
		t.Fatalf("%v, %v", eventIDs(evs), err)
	}
}

func TestOrdersPoll_ForeignCursorIsExpired(t *testing.T) {
	s := newShop(t)
	_, err := s.h.Poll("orders", s.conn, nil, []byte("not json"))
	wantKind(t, err, fault.CursorExpired)
}

// TestOrdersPoll_FollowsLinksExactlyAsGiven serves Shopify-style pages
// whose Link headers carry previous links, fields with commas and a
// malformed entry, as in the official SDK's tests; the connector must use
// the next URL unmodified and stop when there is none.
func TestOrdersPoll_FollowsLinksExactlyAsGiven(t *testing.T) {
	var seen []string
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.RawQuery)
		if r.Header.Get("X-Shopify-Access-Token") != "t" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		base := srv.URL + "/admin/api/2025-07/orders.json?limit=2&fields=test1,test2&page_info="
		switch r.URL.Query().Get("page_info") {
		case "":
			w.Header().Set("Link", `<`+base+`previousToken>; rel="previous", <`+base+`nextToken>; rel="next", This invalid info header will be ignored`)
			_, _ = w.Write([]byte(`{"orders":[{"id":1,"updated_at":"2025-01-01T00:00:00Z"},{"id":2,"updated_at":"2025-01-02T00:00:00Z"}]}`))
		case "nextToken":
			w.Header().Set("Link", `<`+base+`previousToken>; rel="previous"`)
			_, _ = w.Write([]byte(`{"orders":[{"id":3,"updated_at":"2025-01-03T00:00:00Z"}]}`))
		}
	}))
	defer srv.Close()
	h := sdktest.New(t, connector())
	evs, cursor, err := h.PollAll("orders", connTo(srv.URL, "acme", "t"), map[string]any{"page_size": 2}, nil, 5)
	if err != nil {
		t.Fatal(err)
	}
	if got := eventIDs(evs); len(got) != 3 || got[2] != "3@2025-01-03T00:00:00Z" {
		t.Fatalf("events %v", got)
	}
	if len(seen) != 2 || seen[1] != "limit=2&fields=test1,test2&page_info=nextToken" {
		t.Fatalf("requests %q", seen)
	}
	if !strings.Contains(seen[0], "order=updated_at+asc") || !strings.Contains(seen[0], "status=any") {
		t.Fatalf("first request %q", seen[0])
	}
	var cur ordersCursor
	if err := json.Unmarshal(cursor, &cur); err != nil || cur.Since != "2025-01-03T00:00:00Z" || cur.Next != "" {
		t.Fatalf("cursor %s, %v", cursor, err)
	}
}

func TestNextLink_PaginationFixtureCases(t *testing.T) {
	var fx struct {
		Cases []struct {
			ID              string            `json:"id"`
			ResponseHeaders map[string]string `json:"response_headers"`
			Pages           []struct {
				Link string `json:"link"`
			} `json:"pages"`
			Expected json.RawMessage `json:"expected"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(readFixture(t, "rest/pagination.json"), &fx); err != nil {
		t.Fatal(err)
	}
	for _, c := range fx.Cases {
		t.Run(c.ID, func(t *testing.T) {
			var want struct {
				NextPageURL  *string `json:"next_page_url"`
				NextPageInfo *string `json:"next_page_info"`
			}
			_ = json.Unmarshal(c.Expected, &want) // a string for the prose cases
			links := []string{c.ResponseHeaders["link"]}
			if len(c.Pages) > 0 {
				links = nil
				for _, p := range c.Pages {
					links = append(links, p.Link)
				}
			}
			var got []string
			for _, l := range links {
				h := http.Header{}
				if l != "" {
					h.Set("Link", l)
				}
				got = append(got, nextLink(h))
			}
			switch {
			case want.NextPageURL != nil:
				if got[0] != *want.NextPageURL {
					t.Fatalf("next %q, want %q", got[0], *want.NextPageURL)
				}
			case want.NextPageInfo != nil:
				if !strings.HasSuffix(got[0], "page_info="+*want.NextPageInfo) {
					t.Fatalf("next %q, want page_info %q", got[0], *want.NextPageInfo)
				}
			case len(c.Pages) > 0:
				// Three pages: next, next, then none.
				if got[0] == "" || got[1] == "" || got[2] != "" {
					t.Fatalf("walk %q", got)
				}
			default:
				if got[0] != "" {
					t.Fatalf("next %q, want none", got[0])
				}
			}
		})
	}
}

// TestFixtureOrders_ParseThroughTheActions serves the published REST
// answers (orders_get.json) and reads them through get_order and the poll.
func TestFixtureOrders_ParseThroughTheActions(t *testing.T) {
	var fx struct {
		Exchanges []struct {
			Test     string                `json:"test"`
			Request  struct{ Path string } `json:"request"`
			Response struct {
				Body json.RawMessage `json:"body"`
			} `json:"response"`
		} `json:"exchanges"`
	}
	if err := json.Unmarshal(readFixture(t, "rest/orders_get.json"), &fx); err != nil {
		t.Fatal(err)
	}
	bodies := map[string]json.RawMessage{}
	for _, x := range fx.Exchanges {
		if x.Test == "test_1" || x.Test == "test_8" {
			bodies[x.Request.Path] = x.Response.Body
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := bodies[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"errors":"Not Found"}`))
			return
		}
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	h := sdktest.New(t, connector())
	conn := connTo(srv.URL, "jsmith", "this_is_a_test_token")
	out, err := h.Execute("get_order", conn, map[string]any{"id": 450789469})
	if err != nil {
		t.Fatal(err)
	}
	o := decode(t, out)
	if o["id"].(json.Number).String() != "450789469" || o["name"] != "#1001" || len(o["line_items"].([]any)) != 3 {
		t.Fatalf("order %v %v", o["id"], o["name"])
	}
	res, err := h.Poll("orders", conn, nil, nil)
	if err != nil || len(res.Events) != 1 || !strings.HasPrefix(res.Events[0].ID, "450789469@") {
		t.Fatalf("poll %v, %v", eventIDs(res.Events), err)
	}
}
