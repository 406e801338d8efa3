package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/sdktest"
)

// feedServer is a fake third-party feed of records rec-1 … rec-n, paged
// after a numeric cursor. It records every query it was asked and answers
// with fail's status (and Retry-After) instead while fail is set.
type feedServer struct {
	srv *httptest.Server

	mu         sync.Mutex
	n          int
	queries    []string
	fail       int
	retryAfter string
	omitNext   bool
}

func newFeedServer(t *testing.T, n int) *feedServer {
	f := &feedServer{n: n}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *feedServer) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, r.URL.RawQuery)
	if f.fail != 0 {
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		http.Error(w, "feed unavailable", f.fail)
		return
	}
	after, _ := strconv.Atoi(r.URL.Query().Get("after"))
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	items := []map[string]any{}
	last := after
	for seq := after + 1; seq <= f.n && len(items) < limit; seq++ {
		items = append(items, map[string]any{"id": "rec-" + strconv.Itoa(seq), "seq": seq})
		last = seq
	}
	page := map[string]any{"items": items, "has_more": last < f.n}
	if !f.omitNext {
		page["next"] = strconv.Itoa(last)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(page)
}

func (f *feedServer) lastQuery() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries[len(f.queries)-1]
}

func TestFeed_PagesAfterTheCursorWithPageSize(t *testing.T) {
	f := newFeedServer(t, 5)
	h := sdktest.New(t, connector())
	cfg := map[string]any{"url": f.srv.URL + "/records?tenant=acme", "page_size": 2}
	res, err := h.Poll("feed", sdktest.Connection(nil), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q := f.lastQuery(); q != "after=&limit=2&tenant=acme" {
		t.Fatalf("first query %q", q)
	}
	if len(res.Events) != 2 || res.Events[0].ID != "rec-1" || res.Events[1].ID != "rec-2" || !res.HasMore || string(res.NextCursor) != "2" {
		t.Fatalf("first page: %+v", res)
	}
	if string(res.Events[0].Payload) != `{"id":"rec-1","seq":1}` {
		t.Fatalf("payload %s, want the item as served", res.Events[0].Payload)
	}
	res, err = h.Poll("feed", sdktest.Connection(nil), cfg, res.NextCursor)
	if err != nil {
		t.Fatal(err)
	}
	if q := f.lastQuery(); q != "after=2&limit=2&tenant=acme" {
		t.Fatalf("second query %q", q)
	}
	events, cursor, err := h.PollAll("feed", sdktest.Connection(nil), cfg, res.NextCursor, 10)
	if err != nil || len(events) != 1 || events[0].ID != "rec-5" || string(cursor) != "5" {
		t.Fatalf("rest: %d events, cursor %s, %v", len(events), cursor, err)
	}
}

func TestFeed_PageSizeDefaultsTo50AndTheHostLimitCapsIt(t *testing.T) {
	f := newFeedServer(t, 0)
	h := sdktest.New(t, connector())
	if _, err := h.Poll("feed", sdktest.Connection(nil), map[string]any{"url": f.srv.URL}, []byte("7")); err != nil {
		t.Fatal(err)
	}
	if q := f.lastQuery(); q != "after=7&limit=50" {
		t.Fatalf("query %q, want the default page size", q)
	}
	if _, err := h.PollLimit("feed", sdktest.Connection(nil), map[string]any{"url": f.srv.URL}, nil, 3); err != nil {
		t.Fatal(err)
	}
	if q := f.lastQuery(); q != "after=&limit=3" {
		t.Fatalf("query %q, want the host's lower limit", q)
	}
}

func TestFeed_EmptyNextKeepsTheCursor(t *testing.T) {
	f := newFeedServer(t, 3)
	f.omitNext = true
	res, err := sdktest.New(t, connector()).Poll("feed", sdktest.Connection(nil), map[string]any{"url": f.srv.URL}, []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 2 || string(res.NextCursor) != "1" {
		t.Fatalf("events %d, cursor %q: want the old cursor kept", len(res.Events), res.NextCursor)
	}
}

func TestFeed_HTTPErrorsAreClassified(t *testing.T) {
	for _, tc := range []struct {
		status     int
		retryAfter string
		want       fault.Kind
	}{
		{http.StatusServiceUnavailable, "", fault.Retryable},
		{http.StatusTooManyRequests, "2", fault.RateLimited},
		{http.StatusNotFound, "", fault.Permanent},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			f := newFeedServer(t, 3)
			f.fail, f.retryAfter = tc.status, tc.retryAfter
			_, err := sdktest.New(t, connector()).Poll("feed", sdktest.Connection(nil), map[string]any{"url": f.srv.URL}, nil)
			if fault.KindOf(err) != tc.want {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
		})
	}
}

func TestFeed_ItemWithoutIDIsPermanent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"items":[{"id":"a"},{"name":"no id"}],"next":"2"}`)
	}))
	t.Cleanup(srv.Close)
	_, err := sdktest.New(t, connector()).Poll("feed", sdktest.Connection(nil), map[string]any{"url": srv.URL}, nil)
	if e := fault.As(err); e == nil || e.Kind != fault.Permanent {
		t.Fatalf("err = %v, want permanent", err)
	}
}

func TestFeed_BadConfigIsInvalidInput(t *testing.T) {
	h := sdktest.New(t, connector())
	for name, tc := range map[string]struct {
		cfg  map[string]any
		path string
	}{
		"missing url":        {map[string]any{}, "url"},
		"unsupported scheme": {map[string]any{"url": "ftp://127.0.0.1/feed"}, "url"},
		"zero page size":     {map[string]any{"url": "http://127.0.0.1:1/", "page_size": 0}, "page_size"},
		"fractional size":    {map[string]any{"url": "http://127.0.0.1:1/", "page_size": 2.5}, "page_size"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := h.Poll("feed", sdktest.Connection(nil), tc.cfg, nil)
			e := fault.As(err)
			if e == nil || e.Kind != fault.InvalidInput || len(e.Violations) == 0 || e.Violations[0].Path != tc.path {
				t.Fatalf("err = %v, want invalid input at %s", err, tc.path)
			}
		})
	}
}
