package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

// ordersConfig configures the orders poll trigger.
type ordersConfig struct {
	Since    string `json:"since"`
	Status   string `json:"status"`
	PageSize int    `json:"page_size"`
}

// ordersCursor is where the orders poll resumes. A window starts at Since
// (inclusive, as Shopify's updated_at_min is) and is read page by page
// through Link URLs (Next) before the next window starts at the newest
// updated_at seen in it. IDs lists the orders already emitted at exactly
// Since, which the next window returns again because the bound is
// inclusive; they are skipped instead of emitted twice.
type ordersCursor struct {
	Since string  `json:"since,omitempty"`
	IDs   []int64 `json:"ids,omitempty"`
	Next  string  `json:"next,omitempty"`
	// Max and MaxIDs are the newest updated_at seen in the window so far
	// and the orders at it.
	Max    string  `json:"max,omitempty"`
	MaxIDs []int64 `json:"max_ids,omitempty"`
}

// maxPageSize is the most orders Shopify returns per page.
const maxPageSize = 250

func ordersPollTrigger() sdk.Trigger {
	return sdk.Trigger{
		Spec: schema.Trigger{
			Name: "orders", DisplayName: "Orders (poll)",
			Description: "Orders created or changed since the last poll, oldest change first: GET /orders.json?status=<status>&updated_at_min=<cursor>&order=updated_at asc, following Link rel=\"next\" pages. Each change of an order is one event, id \"<order id>@<updated_at>\".",
			Config: []schema.Field{
				{Name: "since", Type: schema.String, Format: schema.FormatDateTime,
					Description: "Where the first poll starts (ISO 8601); empty means every order the token can see (Shopify shows the last 60 days unless the app has read_all_orders)."},
				{Name: "status", Type: schema.String, Default: sdk.JSON("any"), Enum: sdk.Enum("any", "open", "closed", "cancelled"),
					Description: "Which orders to read by their open/closed/cancelled state."},
				{Name: "page_size", Type: schema.Integer, Default: sdk.JSON(50), Description: "Orders per request, 1 to 250 (the host's limit, when lower, wins)."},
			},
			Output:              orderShape(),
			DefaultPollInterval: time.Minute,
			Example:             exampleOrder(),
		},
		Poll: pollOrders,
	}
}

func pollOrders(ctx context.Context, c *sdk.Conn, req sdk.PollRequest) (sdk.PollResult, error) {
	var cfg ordersConfig
	if err := req.Config.Decode(&cfg); err != nil {
		return sdk.PollResult{}, err
	}
	if cfg.PageSize < 1 || cfg.PageSize > maxPageSize {
		return sdk.PollResult{}, sdk.Invalid("orders config out of range", sdk.Violation{Path: "page_size", Message: "must be between 1 and 250"})
	}
	a, err := newAPI(c)
	if err != nil {
		return sdk.PollResult{}, err
	}
	cur := ordersCursor{Since: cfg.Since}
	if len(req.Cursor) > 0 {
		if err := json.Unmarshal(req.Cursor, &cur); err != nil {
			return sdk.PollResult{}, sdk.CursorExpired("orders cursor %q is not one this connector wrote: %v", req.Cursor, err)
		}
	}
	since, err := parseStamp(cur.Since)
	if err != nil {
		return sdk.PollResult{}, sdk.CursorExpired("orders cursor since %q: %v", cur.Since, err)
	}

	target := cur.Next
	if target == "" {
		limit := cfg.PageSize
		if req.Limit > 0 && req.Limit < limit {
			limit = req.Limit
		}
		q := url.Values{"status": {cfg.Status}, "limit": {strconv.Itoa(limit)}, "order": {"updated_at asc"}}
		if cur.Since != "" {
			q.Set("updated_at_min", cur.Since)
		}
		target = a.endpoint("orders.json", q)
	}
	var page struct {
		Orders []json.RawMessage `json:"orders"`
	}
	h, err := a.call(ctx, http.MethodGet, target, nil, &page)
	if err != nil {
		return sdk.PollResult{}, err
	}

	var res sdk.PollResult
	maxT, err := parseStamp(cur.Max)
	if err != nil {
		return sdk.PollResult{}, sdk.CursorExpired("orders cursor max %q: %v", cur.Max, err)
	}
	for i, raw := range page.Orders {
		var head struct {
			ID        int64  `json:"id"`
			UpdatedAt string `json:"updated_at"`
		}
		if err := json.Unmarshal(raw, &head); err != nil || head.ID == 0 || head.UpdatedAt == "" {
			return sdk.PollResult{}, sdk.Permanent("order %d of the page has no id or updated_at", i)
		}
		t, err := time.Parse(time.RFC3339, head.UpdatedAt)
		if err != nil {
			return sdk.PollResult{}, sdk.Permanent("order %d updated_at %q: %v", head.ID, head.UpdatedAt, err)
		}
		if cur.Since != "" && t.Equal(since) && slices.Contains(cur.IDs, head.ID) {
			continue // emitted by the previous window
		}
		switch {
		case cur.Max == "" || t.After(maxT):
			cur.Max, maxT, cur.MaxIDs = head.UpdatedAt, t, []int64{head.ID}
		case t.Equal(maxT) && !slices.Contains(cur.MaxIDs, head.ID):
			cur.MaxIDs = append(cur.MaxIDs, head.ID)
		}
		res.Events = append(res.Events, sdk.Event{
			ID: strconv.FormatInt(head.ID, 10) + "@" + head.UpdatedAt, Type: "order", Payload: raw, OccurredAt: t,
		})
	}

	if next := nextLink(h); next != "" {
		cur.Next = next
		res.HasMore = true
	} else {
		// The window is read: the next one starts at its newest change.
		cur.Next = ""
		if cur.Max != "" {
			if t := maxT; cur.Since != "" && t.Equal(since) {
				for _, id := range cur.MaxIDs {
					if !slices.Contains(cur.IDs, id) {
						cur.IDs = append(cur.IDs, id)
					}
				}
			} else {
				cur.Since, cur.IDs = cur.Max, cur.MaxIDs
			}
		}
		cur.Max, cur.MaxIDs = "", nil
	}
	next, err := json.Marshal(cur)
	if err != nil {
		return sdk.PollResult{}, sdk.Permanent("encode orders cursor: %v", err)
	}
	res.NextCursor = next
	return res, nil
}

// parseStamp reads an ISO 8601 time; empty is the zero time.
func parseStamp(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339, s)
}
