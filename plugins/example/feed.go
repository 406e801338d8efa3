package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

// ---- feed (poll)

type feedConfig struct {
	URL      string `json:"url"`
	PageSize int    `json:"page_size"`
}

// feedPage is one answer of a feed: items after the cursor asked for, the
// cursor after them, and whether more are ready now.
type feedPage struct {
	Items   []json.RawMessage `json:"items"`
	Next    string            `json:"next"`
	HasMore bool              `json:"has_more"`
}

// defaultFeedPageSize is page_size when the config leaves it out.
const defaultFeedPageSize = 50

func feedTrigger() sdk.Trigger {
	return sdk.Trigger{
		Spec: schema.Trigger{
			Name: "feed", DisplayName: "Feed",
			Description: "Reads a JSON feed page by page: GET <url>?after=<cursor>&limit=<page_size> answering " +
				`{"items": [{"id": "...", ...}], "next": "<cursor>", "has_more": bool}; each item is one event.`,
			Config: []schema.Field{
				{Name: "url", Type: schema.String, Required: true, Format: "uri", Description: "The feed's address (http or https); after and limit are added to its query."},
				{Name: "page_size", Type: schema.Integer, Default: sdk.JSON(defaultFeedPageSize), Description: "Items asked for per request (the host's limit, when lower, wins)."},
			},
			Output: &schema.Field{Type: schema.Object, AdditionalProperties: true,
				Properties:  []schema.Field{{Name: "id", Type: schema.String, Required: true, Description: "The item's id, also the event id."}},
				Description: "The feed item as served."},
			DefaultPollInterval: 30 * time.Second,
			Example:             sdk.JSON(map[string]any{"id": "rec-1", "total": 12}),
		},
		Poll: pollFeed,
	}
}

func pollFeed(ctx context.Context, c *sdk.Conn, req sdk.PollRequest) (sdk.PollResult, error) {
	var cfg feedConfig
	if err := req.Config.Decode(&cfg); err != nil {
		return sdk.PollResult{}, err
	}
	if cfg.PageSize <= 0 {
		return sdk.PollResult{}, sdk.Invalid("feed config out of range", sdk.Violation{Path: "page_size", Message: "must be positive"})
	}
	u, err := url.Parse(cfg.URL)
	if err == nil && u.Scheme != "http" && u.Scheme != "https" {
		err = fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if err != nil {
		return sdk.PollResult{}, sdk.Invalid("feed url is not usable", sdk.Violation{Path: "url", Message: err.Error()})
	}
	limit := cfg.PageSize
	if req.Limit > 0 && req.Limit < limit {
		limit = req.Limit
	}
	q := u.Query()
	q.Set("after", string(req.Cursor))
	q.Set("limit", strconv.Itoa(limit))
	u.RawQuery = q.Encode()

	// DoJSON classifies the answer like every SDK call: 429 with
	// Retry-After is rate_limited, 5xx and network failures retryable.
	var page feedPage
	if err := c.HTTP().DoJSON(ctx, http.MethodGet, u.String(), nil, &page); err != nil {
		return sdk.PollResult{}, err
	}
	res := sdk.PollResult{NextCursor: req.Cursor, HasMore: page.HasMore}
	if page.Next != "" {
		res.NextCursor = []byte(page.Next)
	}
	for i, item := range page.Items {
		var head struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(item, &head); err != nil || head.ID == "" {
			// Without an id the host cannot tell a new item from one it
			// stored before; asking again returns the same page.
			return sdk.PollResult{}, sdk.Permanent("feed item %d of the page after %q has no string id", i, req.Cursor)
		}
		res.Events = append(res.Events, sdk.Event{ID: head.ID, Type: "feed", Payload: item})
	}
	return res, nil
}
