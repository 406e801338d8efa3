package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"time"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

// pollConfig is the poll trigger's configuration.
type pollConfig struct {
	Path        string                     `json:"path"`
	Query       map[string]json.RawMessage `json:"query"`
	Headers     map[string]any             `json:"headers"`
	ItemsPath   string                     `json:"items_path"`
	IDField     string                     `json:"id_field"`
	CursorField string                     `json:"cursor_field"`
	CursorParam string                     `json:"cursor_param"`
	NextPath    string                     `json:"next_path"`
	NextParam   string                     `json:"next_param"`
	HasMorePath string                     `json:"has_more_path"`
	TimeField   string                     `json:"time_field"`
}

// pollState is the cursor hub stores between polls.
type pollState struct {
	// Since is the highest cursor value of a finished run of pages: the
	// next run asks for what comes after it.
	Since json.RawMessage `json:"since,omitempty"`
	// Seen are the ids of items whose cursor value is Since, so an API
	// whose cursor parameter is inclusive (>=) does not repeat them.
	Seen []string `json:"seen,omitempty"`
	// Next is the page token of a run of pages under way; Max and MaxSeen
	// are what that run has seen so far.
	Next    string          `json:"next,omitempty"`
	Max     json.RawMessage `json:"max,omitempty"`
	MaxSeen []string        `json:"max_seen,omitempty"`
}

func (k *kit) pollTrigger() sdk.Trigger {
	return sdk.Trigger{
		Spec: schema.Trigger{
			Name: "poll", DisplayName: "Poll",
			Description: "GETs a list from the API and emits one event per item, each item once: after each poll the highest cursor_field value is kept and sent back as cursor_param, and next_path/next_param follow page tokens. An item's event id is its id_field value and, with a cursor_field, its cursor value, so an item that changes again is a new event.",
			Config: []schema.Field{
				{Name: "path", Type: schema.String, Required: true, Description: "Path of the list, appended to base_url, e.g. \"/api/shipments\"."},
				{Name: "query", Type: schema.Object, AdditionalProperties: true, Description: "Query parameters sent with every poll, e.g. {limit = 50}."},
				{Name: "headers", Type: schema.Object, AdditionalProperties: true, Description: "Request headers, name to string value."},
				{Name: "items_path", Type: schema.String, Default: sdk.JSON(""), Description: "JSON path of the list of items in the answer, e.g. \"data.items\"; \"\" when the answer is the list."},
				{Name: "id_field", Type: schema.String, Required: true, Description: "JSON path of an item's id within the item, e.g. \"id\"."},
				{Name: "cursor_field", Type: schema.String, Description: "JSON path of the item's ever-increasing value (a number such as \"seq\", or a timestamp such as \"updated_at\")."},
				{Name: "cursor_param", Type: schema.String, Description: "Query parameter that carries the highest cursor value seen so far, e.g. \"since\"."},
				{Name: "next_path", Type: schema.String, Description: "JSON path of the next page's token in the answer (empty or absent on the last page)."},
				{Name: "next_param", Type: schema.String, Description: "Query parameter that carries the next page's token."},
				{Name: "time_field", Type: schema.String, Description: "JSON path of the item's RFC 3339 time, the event's time, e.g. \"changed_at\" (a timestamp cursor_field is used without it)."},
				{Name: "has_more_path", Type: schema.String, Description: "JSON path of a boolean saying more items are ready now, e.g. \"data.has_more\"; without it hub polls again at once while polls bring new items."},
			},
			Output:              &schema.Field{Type: schema.Any, Description: "One item of the list, as the API gave it."},
			DefaultPollInterval: time.Minute,
			Example:             sdk.JSON(map[string]any{"seq": 7, "shipment_id": "shp_1001", "order_id": "ord_1001", "order_ref": "#1001", "status": "packed", "changed_at": "2026-01-05T10:00:00Z"}),
		},
		Poll: k.poll,
	}
}

func (k *kit) poll(ctx context.Context, c *sdk.Conn, req sdk.PollRequest) (sdk.PollResult, error) {
	var cfg pollConfig
	if err := req.Config.Decode(&cfg); err != nil {
		return sdk.PollResult{}, err
	}
	e, err := open(c)
	if err != nil {
		return sdk.PollResult{}, err
	}
	var st pollState
	if len(req.Cursor) > 0 {
		if err := json.Unmarshal(req.Cursor, &st); err != nil {
			return sdk.PollResult{}, sdk.CursorExpired("cursor %q is not this connector's: %v", req.Cursor, err)
		}
	}
	answer, err := e.fetchPage(ctx, cfg, st)
	if err != nil {
		return sdk.PollResult{}, err
	}
	var items []any
	switch v, _, err := lookupPath(answer, cfg.ItemsPath, "items_path"); {
	case err != nil:
		return sdk.PollResult{}, err
	case v == nil:
	default:
		list, ok := v.([]any)
		if !ok {
			return sdk.PollResult{}, sdk.Permanent("poll %s: the answer at items_path %q is %s, not a list", cfg.Path, cfg.ItemsPath, jsonKind(v))
		}
		items = list
	}

	var since any
	if st.Since != nil {
		if since, err = schema.DecodeJSON(st.Since); err != nil {
			return sdk.PollResult{}, sdk.CursorExpired("cursor holds a bad value: %v", err)
		}
	}
	// max and maxSeen run over a whole run of pages.
	var max any = since
	maxSeen := st.Seen
	if st.Next != "" && st.Max != nil {
		if max, err = schema.DecodeJSON(st.Max); err != nil {
			return sdk.PollResult{}, sdk.CursorExpired("cursor holds a bad value: %v", err)
		}
		maxSeen = st.MaxSeen
	}
	var res sdk.PollResult
	for i, item := range items {
		idv, ok, err := lookupPath(item, cfg.IDField, "id_field")
		if err != nil {
			return sdk.PollResult{}, err
		}
		id, terr := scalarText(idv)
		if !ok || terr != nil || id == "" {
			return sdk.PollResult{}, sdk.Permanent("poll %s: item %d has no string or number id at %q", cfg.Path, i, cfg.IDField)
		}
		ev := sdk.Event{ID: id, Type: "item"}
		if cfg.CursorField != "" {
			cv, ok, err := lookupPath(item, cfg.CursorField, "cursor_field")
			if err != nil {
				return sdk.PollResult{}, err
			}
			ct, terr := scalarText(cv)
			if _, isBool := cv.(bool); !ok || terr != nil || isBool {
				return sdk.PollResult{}, sdk.Permanent("poll %s: item %s has no string or number cursor at %q", cfg.Path, id, cfg.CursorField)
			}
			if since != nil {
				// APIs differ on whether the cursor parameter is
				// inclusive; filtering here makes either work, and
				// an API that ignores the parameter too.
				if c := compareCursor(cv, since); c < 0 || (c == 0 && slices.Contains(st.Seen, id)) {
					continue
				}
			}
			switch c := compareCursor(cv, max); {
			case max == nil || c > 0:
				max, maxSeen = cv, []string{id}
			case c == 0 && !slices.Contains(maxSeen, id):
				maxSeen = append(slices.Clip(maxSeen), id)
			}
			ev.ID = id + "@" + ct
			if s, ok := cv.(string); ok {
				if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
					ev.OccurredAt = t
				}
			}
		}
		if cfg.TimeField != "" {
			v, _, err := lookupPath(item, cfg.TimeField, "time_field")
			if err != nil {
				return sdk.PollResult{}, err
			}
			if s, ok := v.(string); ok {
				if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
					ev.OccurredAt = t
				}
			}
		}
		payload, err := json.Marshal(item)
		if err != nil {
			return sdk.PollResult{}, sdk.Permanent("poll %s: encode item %s: %v", cfg.Path, id, err)
		}
		ev.Payload = payload
		res.Events = append(res.Events, ev)
	}

	next := ""
	if cfg.NextPath != "" {
		v, ok, err := lookupPath(answer, cfg.NextPath, "next_path")
		if err != nil {
			return sdk.PollResult{}, err
		}
		if ok && v != nil {
			if next, err = scalarText(v); err != nil {
				return sdk.PollResult{}, sdk.Permanent("poll %s: the page token at %q %v", cfg.Path, cfg.NextPath, err)
			}
		}
		if next == st.Next {
			// An API that hands back the token it was given would
			// otherwise keep hub paging in place.
			next = ""
		}
	}
	var ns pollState
	if next != "" {
		ns = pollState{Since: st.Since, Seen: st.Seen, Next: next, MaxSeen: maxSeen}
		if ns.Max, err = encodeCursor(max); err != nil {
			return sdk.PollResult{}, err
		}
		res.HasMore = true
	} else {
		ns = pollState{Seen: maxSeen}
		if ns.Since, err = encodeCursor(max); err != nil {
			return sdk.PollResult{}, err
		}
		res.HasMore = cfg.CursorField != "" && len(res.Events) > 0
		if cfg.HasMorePath != "" {
			v, _, err := lookupPath(answer, cfg.HasMorePath, "has_more_path")
			if err != nil {
				return sdk.PollResult{}, err
			}
			res.HasMore = v == true && len(res.Events) > 0
		}
	}
	if res.NextCursor, err = json.Marshal(ns); err != nil {
		return sdk.PollResult{}, sdk.Permanent("encode the cursor: %v", err)
	}
	return res, nil
}

// fetchPage GETs the page the state asks for and decodes it.
func (e *endpoint) fetchPage(ctx context.Context, cfg pollConfig, st pollState) (any, error) {
	u, err := e.resolve(cfg.Path, "path")
	if err != nil {
		return nil, err
	}
	if err := addQuery(u, cfg.Query, "query"); err != nil {
		return nil, err
	}
	q := u.Query()
	if cfg.CursorParam != "" && st.Since != nil {
		v, err := schema.DecodeJSON(st.Since)
		if err != nil {
			return nil, sdk.CursorExpired("cursor holds a bad value: %v", err)
		}
		s, err := scalarText(v)
		if err != nil {
			return nil, sdk.CursorExpired("cursor holds a bad value: %v", err)
		}
		q.Set(cfg.CursorParam, s)
	}
	if cfg.NextParam != "" && st.Next != "" {
		q.Set(cfg.NextParam, st.Next)
	}
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, sdk.Permanent("poll %s: %v", cfg.Path, err)
	}
	e.defaultHeaders(req)
	for name, v := range cfg.Headers {
		s, ok := v.(string)
		if !ok {
			return nil, invalidSetting("headers."+name, "must be a string")
		}
		req.Header.Set(name, s)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, sdk.Retryable("poll %s: read the answer: %v", cfg.Path, err)
	}
	answer, err := schema.DecodeJSON(data)
	if err != nil {
		// A poll changes nothing, so trying again later is safe; a
		// cut-off answer usually is not there the next time.
		return nil, sdk.Retryable("poll %s: the answer (%s) is not JSON: %v", cfg.Path, resp.Status, err)
	}
	return answer, nil
}

func encodeCursor(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, sdk.Permanent("encode the cursor value: %v", err)
	}
	return b, nil
}

// compareCursor orders two cursor values: numbers by value, timestamps
// (RFC 3339, any offset or precision) by time, other strings as text.
// nil sorts first.
func compareCursor(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	an, aok := a.(json.Number)
	bn, bok := b.(json.Number)
	if aok && bok {
		x, _, xerr := big.ParseFloat(an.String(), 10, 256, big.ToNearestEven)
		y, _, yerr := big.ParseFloat(bn.String(), 10, 256, big.ToNearestEven)
		if xerr == nil && yerr == nil {
			return x.Cmp(y)
		}
	}
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		at, aerr := time.Parse(time.RFC3339Nano, as)
		bt, berr := time.Parse(time.RFC3339Nano, bs)
		if aerr == nil && berr == nil {
			return at.Compare(bt)
		}
	}
	x, _ := scalarText(a)
	y, _ := scalarText(b)
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// jsonKind names a decoded JSON value's type for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
