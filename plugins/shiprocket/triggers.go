package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
)

// trackingEvent is the payload of a tracking event, the same from the
// poll and the webhook trigger.
type trackingEvent struct {
	AWB            string          `json:"awb"`
	OrderID        string          `json:"order_id"`
	ChannelOrderID string          `json:"channel_order_id"`
	Status         string          `json:"status"`
	StatusCode     int             `json:"status_code"`
	StatusLabel    string          `json:"status_label"`
	CurrentStatus  string          `json:"current_status"`
	Courier        string          `json:"courier"`
	Timestamp      string          `json:"timestamp"`
	Activity       string          `json:"activity"`
	Location       string          `json:"location"`
	Raw            json.RawMessage `json:"raw"`
}

func trackingEventShape() *schema.Field {
	return sdk.Object(
		str("awb", "The AWB.", false),
		str("order_id", "Shiprocket's order id.", false),
		str("channel_order_id", "The merchant's order id (the order_id create_shipment_order was given), when Shiprocket says it.", false),
		str("status", "Normalized status: the code's label in lower snake case, e.g. shipped, out_for_delivery, delivered, rto_initiated.", false),
		schema.Field{Name: "status_code", Type: schema.Integer, Description: "Shiprocket shipment status code, e.g. 6 shipped, 17 out for delivery, 7 delivered."},
		str("status_label", "The code's label, e.g. Out For Delivery.", false),
		str("current_status", "Shiprocket's current_status text, as given.", false),
		str("courier", "Courier name.", false),
		str("timestamp", "When the status was reached (the scan's time; RFC 3339, IST offset).", false),
		str("activity", "The courier's words for the scan that reached the status.", false),
		str("location", "Where that scan happened.", false),
		schema.Field{Name: "raw", Type: schema.Any, Description: "What Shiprocket sent: tracking_data (poll) or the webhook body."},
	)
}

var trackingEventExample = map[string]any{
	"awb": "788830567028", "order_id": "237157589", "channel_order_id": "1001", "status": "delivered", "status_code": 7,
	"status_label": "Delivered", "current_status": "Delivered", "courier": "Xpressbees Surface", "timestamp": "2022-07-19T11:37:00+05:30",
	"activity": "Delivered", "location": "MADANPALLI, Madanapalli, ANDHRA PRADESH", "raw": map[string]any{"track_status": 1, "shipment_status": 7},
}

// ---- tracking_status (poll)

type pollConfig struct {
	AWBs []string `json:"awbs"`
}

// awbState is what the cursor remembers of one AWB: the last status
// code emitted and the date of the newest scan read.
type awbState struct {
	Code int    `json:"code"`
	At   string `json:"at"`
}

// pollCursor is the tracking_status cursor: per AWB, its state.
type pollCursor struct {
	AWBs map[string]awbState `json:"awbs"`
}

func trackingStatusTrigger() sdk.Trigger {
	return sdk.Trigger{
		Spec: schema.Trigger{
			Name: "tracking_status", DisplayName: "Tracking status changed",
			Description: "Polls each AWB's tracking (Shiprocket's API has no \"shipments changed since\" query) and emits an event each time an AWB reaches a new status: shipped, out_for_delivery, delivered and every other status of Shiprocket's table. The first poll of an AWB emits its current status; later polls emit each status change the scans show since, oldest first. The event type is the normalized status; its id is awb:status_code:scan time, so repeats are dropped.",
			Config: []schema.Field{{Name: "awbs", Type: schema.List, Required: true, Items: &schema.Field{Type: schema.String, Description: "An AWB."},
				Description: "The AWBs to watch.", Example: sdk.JSON([]string{"788830567028"})}},
			Output:              trackingEventShape(),
			DefaultPollInterval: 5 * time.Minute,
			Example:             sdk.JSON(trackingEventExample),
		},
		Poll: pollTracking,
	}
}

func pollTracking(ctx context.Context, c *sdk.Conn, req sdk.PollRequest) (sdk.PollResult, error) {
	var cfg pollConfig
	if err := req.Config.Decode(&cfg); err != nil {
		return sdk.PollResult{}, err
	}
	var awbs []string
	for _, a := range cfg.AWBs {
		if a = strings.TrimSpace(a); a != "" && !slices.Contains(awbs, a) {
			awbs = append(awbs, a)
		}
	}
	if len(awbs) == 0 {
		return sdk.PollResult{}, sdk.Invalid("no AWB to watch", sdk.Violation{Path: "awbs", Message: "list at least one AWB"})
	}
	prev := pollCursor{AWBs: map[string]awbState{}}
	if len(req.Cursor) > 0 {
		if err := json.Unmarshal(req.Cursor, &prev); err != nil || prev.AWBs == nil {
			return sdk.PollResult{}, sdk.CursorExpired("tracking_status cursor %q is not an AWB state map", req.Cursor)
		}
	}
	next := pollCursor{AWBs: map[string]awbState{}}
	channelIDs := map[string]string{} // Shiprocket order id → merchant order id, for this poll
	var events []sdk.Event
	for _, awb := range awbs {
		st, seen := prev.AWBs[awb]
		t, err := fetchTracking(ctx, c, awb)
		if err != nil {
			if k := fault.KindOf(err); k == fault.Permanent || k == fault.InvalidInput {
				// One AWB Shiprocket refuses must not stop the others
				// from being watched; it is tried again next poll.
				c.Logger().Warn("tracking refused, skipping this AWB", "awb", awb, "error", err.Error())
				if seen {
					next.AWBs[awb] = st
				}
				continue
			}
			return sdk.PollResult{}, err
		}
		if !t.Tracked {
			if seen {
				next.AWBs[awb] = st
			}
			continue
		}
		changes, after := transitions(t, st, seen)
		next.AWBs[awb] = after
		for _, ch := range changes {
			ev, err := pollEvent(ctx, c, t, ch, channelIDs)
			if err != nil {
				return sdk.PollResult{}, err
			}
			events = append(events, ev)
		}
	}
	sort.SliceStable(events, func(i, k int) bool { return events[i].OccurredAt.Before(events[k].OccurredAt) })
	cur, err := json.Marshal(next)
	if err != nil {
		return sdk.PollResult{}, sdk.Permanent("encode tracking_status cursor: %v", err)
	}
	return sdk.PollResult{Events: events, NextCursor: cur}, nil
}

// change is one status an AWB reached.
type change struct {
	Code int
	At   string
	Scan *trackActivity
}

// transitions works out the statuses an AWB reached since st. Scans
// newer than st.At that carry a status code drive it, oldest first, so
// statuses passed between two polls are not lost; when no new scan
// carries one, a shipment_status different from the last one emitted is
// the change (Shiprocket updates it without a coded scan at times).
// On first sight only the current status counts: the AWB's history
// before it was watched is not news.
func transitions(t tracking, st awbState, seen bool) ([]change, awbState) {
	last := t.lastDate()
	if !seen {
		return []change{{Code: t.Code, At: last, Scan: t.scanAt(last, t.Code)}}, awbState{Code: t.Code, At: last}
	}
	var out []change
	cur := st
	for i := range t.Activities {
		a := &t.Activities[i]
		if a.Date <= st.At {
			continue
		}
		cur.At = a.Date
		if a.SRStatus < 0 || int(a.SRStatus) == cur.Code {
			continue
		}
		cur.Code = int(a.SRStatus)
		out = append(out, change{Code: cur.Code, At: a.Date, Scan: a})
	}
	if len(out) == 0 && t.Code != cur.Code {
		cur.Code = t.Code
		out = append(out, change{Code: t.Code, At: last, Scan: t.scanAt(last, t.Code)})
	}
	if last > cur.At {
		cur.At = last
	}
	return out, cur
}

// scanAt is the scan at date with code, or the one at date, or nil.
func (t tracking) scanAt(date string, code int) *trackActivity {
	var found *trackActivity
	for i := range t.Activities {
		a := &t.Activities[i]
		if a.Date != date {
			continue
		}
		if int(a.SRStatus) == code {
			return a
		}
		found = a
	}
	return found
}

func pollEvent(ctx context.Context, c *sdk.Conn, t tracking, ch change, channelIDs map[string]string) (sdk.Event, error) {
	ev := trackingEvent{AWB: t.AWB, OrderID: t.OrderID, Status: StatusName(ch.Code), StatusCode: ch.Code, StatusLabel: statusLabel(ch.Code),
		CurrentStatus: t.CurrentStatus, Courier: t.Courier, Raw: t.Raw}
	at := parseDate(ch.At)
	if !at.IsZero() {
		ev.Timestamp = at.Format(time.RFC3339)
	}
	if ch.Scan != nil {
		ev.Activity, ev.Location = ch.Scan.Activity, ch.Scan.Location
	}
	if t.OrderID != "" {
		id, ok := channelIDs[t.OrderID]
		if !ok {
			var err error
			if id, err = channelOrderID(ctx, c, t.OrderID); err != nil {
				return sdk.Event{}, err
			}
			channelIDs[t.OrderID] = id
		}
		ev.ChannelOrderID = id
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return sdk.Event{}, sdk.Permanent("encode tracking event for %s: %v", t.AWB, err)
	}
	return sdk.Event{ID: t.AWB + ":" + strconv.Itoa(ch.Code) + ":" + ch.At, Type: ev.Status, Payload: payload, OccurredAt: at}, nil
}

// channelOrderID finds the merchant's order id of a Shiprocket order, for
// workflows that update the order elsewhere; the tracking answer only has
// Shiprocket's. An order Shiprocket does not show (404) leaves it empty.
func channelOrderID(ctx context.Context, c *sdk.Conn, orderID string) (string, error) {
	id, err := strconv.ParseInt(orderID, 10, 64)
	if err != nil || id <= 0 {
		return "", nil
	}
	d, _, err := showOrder(ctx, c, id)
	if err != nil {
		if k := fault.KindOf(err); k == fault.Permanent || k == fault.InvalidInput {
			return "", nil
		}
		return "", err
	}
	return flexString(d.ChannelOrderID), nil
}

// ---- tracking_update (webhook)

// TokenHeader carries the security token Shiprocket sends with tracking
// webhooks ("Security token should be an x-api-key").
const TokenHeader = "X-Api-Key"

type webhookConfig struct {
	Token string `json:"token"`
}

// webhookBody is Shiprocket's tracking webhook body (documented sample).
type webhookBody struct {
	AWB              json.RawMessage `json:"awb"`
	CourierName      string          `json:"courier_name"`
	CurrentStatus    string          `json:"current_status"`
	CurrentStatusID  flexCode        `json:"current_status_id"`
	ShipmentStatus   string          `json:"shipment_status"`
	ShipmentStatusID flexCode        `json:"shipment_status_id"`
	CurrentTimestamp string          `json:"current_timestamp"`
	OrderID          json.RawMessage `json:"order_id"`
	SROrderID        json.RawMessage `json:"sr_order_id"`
	Scans            []trackActivity `json:"scans"`
}

func trackingUpdateTrigger() sdk.Trigger {
	return sdk.Trigger{
		Spec: schema.Trigger{
			Name: "tracking_update", DisplayName: "Tracking update (webhook)",
			Description: "Receives Shiprocket's tracking webhook (set the URL and token in the panel: Settings → API → Webhooks). Shiprocket signs nothing: a delivery is accepted only when its " + TokenHeader + " header equals the trigger's token (or, without one, the subscription secret), compared in constant time, and is answered 200. Each delivery is one event typed by the normalized status of shipment_status_id; its id is awb:status_code:current_timestamp.",
			Config: []schema.Field{{Name: "token", Type: schema.String, Secret: true,
				Description: "The security token entered in Shiprocket's webhook settings; empty means the subscription's secret."}},
			Output:  trackingEventShape(),
			Example: sdk.JSON(trackingEventExample),
		},
		Webhook: &sdk.Webhook{Handle: handleTrackingWebhook},
	}
}

// headerValue reads a header whatever the case of its name.
func headerValue(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, vs := range h {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

func handleTrackingWebhook(_ context.Context, _ *sdk.Conn, req sdk.WebhookRequest) (sdk.WebhookResult, error) {
	var cfg webhookConfig
	if err := req.Config.Decode(&cfg); err != nil {
		return sdk.WebhookResult{}, err
	}
	want := cfg.Token
	if want == "" {
		want = req.Secret
	}
	if want == "" {
		return sdk.WebhookResult{Response: sdk.Reply(http.StatusUnauthorized, "text/plain", []byte("no token configured\n"))},
			sdk.Permanent("webhook %s: no token configured to check %s against; set the trigger's token", req.Trigger, TokenHeader)
	}
	got := headerValue(req.HTTP.Header, TokenHeader)
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return sdk.WebhookResult{Response: sdk.Reply(http.StatusUnauthorized, "text/plain", []byte("token does not match\n"))},
			sdk.Permanent("webhook %s: %s does not match the configured token", req.Trigger, TokenHeader)
	}
	ev, id, at, err := parseWebhook(req.HTTP.Body)
	if err != nil {
		return sdk.WebhookResult{Response: sdk.Reply(http.StatusBadRequest, "text/plain", []byte(err.Error()+"\n"))}, err
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return sdk.WebhookResult{}, sdk.Permanent("encode tracking event for %s: %v", ev.AWB, err)
	}
	return sdk.WebhookResult{
		Events:   []sdk.Event{{ID: id, Type: ev.Status, Payload: payload, OccurredAt: at}},
		Response: sdk.Reply(http.StatusOK, "", nil),
	}, nil
}

// parseWebhook turns a tracking webhook body into an event, its id and
// time. The status is shipment_status_id mapped with the status table;
// current_status text is kept as given (current_status_id is another code
// space in the sample).
func parseWebhook(body []byte) (trackingEvent, string, time.Time, error) {
	var b webhookBody
	if err := json.Unmarshal(body, &b); err != nil {
		return trackingEvent{}, "", time.Time{}, sdk.Invalid("webhook body is not Shiprocket's tracking JSON", sdk.Violation{Path: "body", Message: err.Error()})
	}
	awb := flexString(b.AWB)
	if awb == "" {
		return trackingEvent{}, "", time.Time{}, sdk.Invalid("webhook body has no awb", sdk.Violation{Path: "body.awb", Message: "required"})
	}
	code := int(b.ShipmentStatusID)
	if code < 0 {
		return trackingEvent{}, "", time.Time{}, sdk.Invalid("webhook body has no shipment_status_id", sdk.Violation{Path: "body.shipment_status_id", Message: "required"})
	}
	ev := trackingEvent{AWB: awb, OrderID: flexString(b.SROrderID), ChannelOrderID: flexString(b.OrderID), Status: StatusName(code),
		StatusCode: code, StatusLabel: statusLabel(code), CurrentStatus: b.CurrentStatus, Courier: b.CourierName, Raw: body}
	// current_timestamp is "23 05 2023 11:43:52" (day month year, IST).
	at, err := time.ParseInLocation("02 01 2006 15:04:05", strings.TrimSpace(b.CurrentTimestamp), ist)
	if err != nil {
		at = time.Time{}
	}
	if n := len(b.Scans); n > 0 {
		scans := slices.Clone(b.Scans)
		sort.SliceStable(scans, func(i, k int) bool { return scans[i].Date < scans[k].Date })
		lastScan := scans[len(scans)-1]
		ev.Activity, ev.Location = lastScan.Activity, lastScan.Location
		if at.IsZero() {
			at = parseDate(lastScan.Date)
		}
	}
	if !at.IsZero() {
		ev.Timestamp = at.Format(time.RFC3339)
	}
	return ev, awb + ":" + strconv.Itoa(code) + ":" + strings.TrimSpace(b.CurrentTimestamp), at, nil
}
