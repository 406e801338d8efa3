package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

// maxPollPages bounds the pages one poll reads looking for orders after
// the cursor.
const maxPollPages = 5

type pollConfig struct {
	PerPage       int    `json:"per_page"`
	Status        string `json:"status"`
	ModifiedAfter string `json:"modified_after"`
}

// pollCursor is the last order emitted: its date_modified_gmt and id.
type pollCursor struct {
	Modified string `json:"modified_gmt"`
	ID       int64  `json:"id"`
}

func (c pollCursor) before(t time.Time, id int64) bool {
	ct := parseGMT(c.Modified)
	return ct.Before(t) || ct.Equal(t) && c.ID < id
}

func (w *wc) ordersPoll() sdk.Trigger {
	return sdk.Trigger{
		Spec: schema.Trigger{
			Name: "orders", DisplayName: "Orders (poll)",
			Description: "Polls GET /orders?modified_after=…&orderby=modified&order=asc for orders created or changed since the last poll, oldest change first; " +
				"one event per order version (event id <id>@<date_modified_gmt>). The cursor is the last order's date_modified_gmt and id.",
			Config: []schema.Field{
				{Name: "per_page", Type: schema.Integer, Default: sdk.JSON(50), Description: "Orders asked for per request (1–100); the host's limit, when lower, wins."},
				{Name: "status", Type: schema.String, Description: "Only orders with this status (comma-separated for several); empty means any."},
				{Name: "modified_after", Type: schema.String, Format: schema.FormatDateTime,
					Description: "Where the first poll starts (RFC 3339): orders modified after it. Empty means every order the shop has."},
			},
			Output:              orderShape("The order, as GET /orders returns it."),
			DefaultPollInterval: time.Minute,
			Example:             exampleOrder(),
		},
		Poll: w.pollOrders,
	}
}

type polledOrder struct {
	raw      json.RawMessage
	id       int64
	modified time.Time
	stamp    string
}

func (w *wc) pollOrders(ctx context.Context, c *sdk.Conn, req sdk.PollRequest) (sdk.PollResult, error) {
	var cfg pollConfig
	if err := req.Config.Decode(&cfg); err != nil {
		return sdk.PollResult{}, err
	}
	if cfg.PerPage < 1 || cfg.PerPage > 100 {
		return sdk.PollResult{}, sdk.Invalid("poll config out of range", sdk.Violation{Path: "per_page", Message: "must be between 1 and 100"})
	}
	cur := pollCursor{}
	switch {
	case len(req.Cursor) > 0:
		if err := json.Unmarshal(req.Cursor, &cur); err != nil || parseGMT(cur.Modified).IsZero() {
			return sdk.PollResult{}, sdk.CursorExpired("cursor %q is not an orders cursor", req.Cursor)
		}
	case cfg.ModifiedAfter != "":
		t, err := time.Parse(time.RFC3339, cfg.ModifiedAfter)
		if err != nil {
			return sdk.PollResult{}, sdk.Invalid("poll config", sdk.Violation{Path: "modified_after", Message: err.Error()})
		}
		cur.Modified = t.UTC().Format(gmtLayout)
	}
	a, err := w.api(c)
	if err != nil {
		return sdk.PollResult{}, err
	}
	limit := cfg.PerPage
	if req.Limit > 0 && req.Limit < limit {
		limit = req.Limit
	}

	q := url.Values{
		"orderby": {"modified"}, "order": {"asc"}, "per_page": {strconv.Itoa(cfg.PerPage)},
		// Without it modified_after is read in the shop's time zone.
		"dates_are_gmt": {"true"},
	}
	if cur.Modified != "" {
		// modified_after is exclusive and dates have whole seconds: ask
		// from a second earlier so orders sharing the cursor's second are
		// seen, and drop the ones at or before the cursor below.
		q.Set("modified_after", parseGMT(cur.Modified).Add(-time.Second).Format(gmtLayout))
	}
	if cfg.Status != "" {
		q.Set("status", cfg.Status)
	}
	var found []polledOrder
	var last time.Time // newest modification seen on the pages read
	more := false
	for page := 1; page <= maxPollPages; page++ {
		q.Set("page", strconv.Itoa(page))
		var orders []json.RawMessage
		h, err := a.do(ctx, http.MethodGet, "/orders", q, nil, &orders)
		if err != nil {
			return sdk.PollResult{}, err
		}
		for i, raw := range orders {
			var head orderHead
			if err := json.Unmarshal(raw, &head); err != nil || head.ID == 0 || parseGMT(head.DateModifiedGMT).IsZero() {
				return sdk.PollResult{}, sdk.Retryable("order %d of page %d has no id or date_modified_gmt", i, page)
			}
			t := parseGMT(head.DateModifiedGMT)
			if t.After(last) {
				last = t
			}
			if cur.Modified == "" || cur.before(t, head.ID) {
				found = append(found, polledOrder{raw: raw, id: head.ID, modified: t, stamp: head.DateModifiedGMT})
			}
		}
		more = hasNextPage(h, page)
		// Stop at the first page with something new: the next poll asks
		// again from the new cursor. Reading page 2 after page 1 would
		// miss an order that moved from page 2 onto page 1 because another
		// order changed in between; page numbers are only followed while
		// every order read so far was already seen (a second shared by
		// more orders than a page holds).
		if !more || len(found) > 0 {
			break
		}
	}
	slices.SortFunc(found, func(x, y polledOrder) int {
		return cmp.Or(x.modified.Compare(y.modified), cmp.Compare(x.id, y.id))
	})
	if more {
		// Pages not read yet may hold more orders of the newest second
		// seen, in an order WooCommerce does not define; leave that second
		// for the next poll unless it is all there is.
		keep := slices.IndexFunc(found, func(o polledOrder) bool { return o.modified.Equal(last) })
		if keep > 0 {
			found = found[:keep]
		}
	}
	if len(found) > limit {
		found, more = found[:limit], true
	}
	res := sdk.PollResult{NextCursor: req.Cursor, HasMore: more && len(found) > 0}
	if cur.Modified != "" && len(req.Cursor) == 0 {
		res.NextCursor, _ = json.Marshal(cur)
	}
	for _, o := range found {
		res.Events = append(res.Events, sdk.Event{
			ID: fmt.Sprintf("%d@%s", o.id, o.stamp), Type: "order", Payload: o.raw, OccurredAt: o.modified,
		})
	}
	if n := len(found); n > 0 {
		res.NextCursor, _ = json.Marshal(pollCursor{Modified: found[n-1].stamp, ID: found[n-1].id})
	}
	return res, nil
}
