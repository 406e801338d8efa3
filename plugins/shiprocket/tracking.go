package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

// statusLabels is Shiprocket's "Shipment Status Codes" table (the codes
// of shipment_status, shipment_status_id and a scan's sr-status). 0-5 and
// 11 come from one copy of the table only, but 1 and 3 appear in the
// published tracking examples with these meanings.
var statusLabels = map[int]string{
	0: "New", 1: "AWB Assigned", 2: "Label Generated", 3: "Pickup Generated", 4: "Pickup Queued", 5: "Manifest Generated",
	6: "Shipped", 7: "Delivered", 8: "Canceled", 9: "RTO Initiated", 10: "RTO Delivered", 11: "Pending", 12: "Lost",
	13: "Pickup Error", 14: "RTO Acknowledged", 15: "Pickup Rescheduled", 16: "Cancellation Requested",
	17: "Out For Delivery", 18: "In Transit", 19: "Out For Pickup", 20: "Pickup Exception", 21: "Undelivered",
	22: "Delayed", 23: "Partial Delivered", 24: "Destroyed", 25: "Damaged", 26: "Fulfilled", 27: "Pickup Booked",
	38: "Reached At Destination Hub", 39: "Misrouted", 40: "RTO NDR", 41: "RTO OFD", 42: "Picked Up",
	43: "Self Fulfilled", 44: "Disposed Off", 45: "Cancelled Before Dispatched", 46: "RTO In Transit", 47: "QC Failed",
	48: "Reached Warehouse", 49: "Custom Cleared", 50: "In Flight", 51: "Handover To Courier", 52: "Shipment Booked",
	54: "In Transit Overseas", 55: "Connection Aligned", 56: "Reached Overseas Warehouse", 57: "Custom Cleared Overseas",
	59: "Box Packing", 60: "FC Allocated", 61: "Picklist Generated", 62: "Ready To Pack", 63: "Packed",
	67: "FC Manifest Generated", 68: "Processed At Warehouse", 71: "Handover Exception", 72: "Packed Exception",
	75: "RTO Lock", 76: "Untraceable", 77: "Issue Related To The Recipient", 78: "Reached Back At Seller City",
}

// StatusName is the normalized name of a status code: its label in
// lower snake case ("out_for_delivery"), or "status_<code>" for a code
// the table does not list. Event types and the status field use it.
func StatusName(code int) string {
	l, ok := statusLabels[code]
	if !ok {
		return "status_" + strconv.Itoa(code)
	}
	return strings.ReplaceAll(strings.ToLower(l), " ", "_")
}

// statusLabel is the human label of a code, "" when unknown.
func statusLabel(code int) string { return statusLabels[code] }

// ist is India Standard Time: Shiprocket writes dates without an offset,
// in IST.
var ist = time.FixedZone("IST", 5*3600+1800)

// parseDate reads Shiprocket's "2022-07-19 11:37:00" (IST); zero when it
// is not one.
func parseDate(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", strings.TrimSpace(s), ist)
	if err != nil {
		return time.Time{}
	}
	return t
}

// flexCode reads a status code sent as a number, a numeric string, or
// "NA" (no code): -1 when there is none.
type flexCode int

func (c *flexCode) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		*c = -1
		return nil
	}
	*c = flexCode(n)
	return nil
}

type trackActivity struct {
	Date          string   `json:"date"`
	Status        string   `json:"status"`
	Activity      string   `json:"activity"`
	Location      string   `json:"location"`
	SRStatus      flexCode `json:"sr-status"`
	SRStatusLabel string   `json:"sr-status-label"`
}

// trackingData is the "tracking_data" object of a tracking answer.
type trackingData struct {
	TrackStatus    int      `json:"track_status"`
	ShipmentStatus flexCode `json:"shipment_status"`
	ShipmentTrack  []struct {
		AWBCode          json.RawMessage `json:"awb_code"`
		CourierCompanyID json.RawMessage `json:"courier_company_id"`
		ShipmentID       json.RawMessage `json:"shipment_id"`
		OrderID          json.RawMessage `json:"order_id"`
		PickupDate       *string         `json:"pickup_date"`
		DeliveredDate    *string         `json:"delivered_date"`
		CurrentStatus    string          `json:"current_status"`
		CourierName      string          `json:"courier_name"`
		EDD              *string         `json:"edd"`
	} `json:"shipment_track"`
	Activities []trackActivity `json:"shipment_track_activities"`
	TrackURL   string          `json:"track_url"`
	ETD        string          `json:"etd"`
	Error      string          `json:"error"`
}

// tracking is one AWB's tracking answer, normalized.
type tracking struct {
	AWB           string
	Tracked       bool
	Code          int
	CurrentStatus string
	Courier       string
	OrderID       string
	ShipmentID    string
	DeliveredDate string
	PickupDate    string
	EDD           string
	TrackURL      string
	Message       string
	// Activities are the scans oldest first.
	Activities []trackActivity
	Raw        json.RawMessage
}

// parseTracking reads a track-by-AWB answer ({"tracking_data": {...}}).
func parseTracking(awb string, body []byte) (tracking, error) {
	var env struct {
		TrackingData json.RawMessage `json:"tracking_data"`
	}
	if err := json.Unmarshal(body, &env); err != nil || len(env.TrackingData) == 0 {
		return tracking{}, sdk.Retryable("tracking of %s: the answer is not a tracking_data object", awb)
	}
	var td trackingData
	if err := json.Unmarshal(env.TrackingData, &td); err != nil {
		return tracking{}, sdk.Retryable("tracking of %s: tracking_data does not read: %v", awb, err)
	}
	return normalize(awb, td, env.TrackingData), nil
}

func normalize(awb string, td trackingData, raw json.RawMessage) tracking {
	t := tracking{AWB: awb, Tracked: td.TrackStatus == 1, Code: int(td.ShipmentStatus), TrackURL: td.TrackURL, EDD: td.ETD, Message: td.Error, Raw: raw}
	if t.Code < 0 {
		t.Code = 0
	}
	if len(td.ShipmentTrack) > 0 {
		st := td.ShipmentTrack[0]
		if a := flexString(st.AWBCode); a != "" && t.AWB == "" {
			t.AWB = a
		}
		t.CurrentStatus, t.Courier = st.CurrentStatus, st.CourierName
		t.OrderID, t.ShipmentID = flexString(st.OrderID), flexString(st.ShipmentID)
		if st.DeliveredDate != nil {
			t.DeliveredDate = *st.DeliveredDate
		}
		if st.PickupDate != nil {
			t.PickupDate = *st.PickupDate
		}
		if st.EDD != nil && *st.EDD != "" {
			t.EDD = *st.EDD
		}
		if t.Courier == "" {
			if id := flexString(st.CourierCompanyID); id != "" {
				t.Courier = "courier " + id
			}
		}
	}
	// The tracking API lists scans newest first, the webhook oldest
	// first: turn a newest-first list round, then a stable sort by date
	// keeps scans of the same second in the order they happened.
	acts := slices.Clone(td.Activities)
	if len(acts) > 1 && acts[0].Date > acts[len(acts)-1].Date {
		slices.Reverse(acts)
	}
	sort.SliceStable(acts, func(i, k int) bool { return acts[i].Date < acts[k].Date })
	t.Activities = acts
	return t
}

// lastDate is the date of the newest scan, "" when there is none.
func (t tracking) lastDate() string {
	if len(t.Activities) == 0 {
		return ""
	}
	return t.Activities[len(t.Activities)-1].Date
}

// fetchTracking is GET /v1/external/courier/track/awb/{awb}.
func fetchTracking(ctx context.Context, c *sdk.Conn, awb string) (tracking, error) {
	var body json.RawMessage
	if err := call(ctx, c, http.MethodGet, "/v1/external/courier/track/awb/"+url.PathEscape(awb), nil, &body); err != nil {
		return tracking{}, err
	}
	return parseTracking(awb, body)
}

// ---- track_shipment

type trackInput struct {
	AWB string `json:"awb"`
}

type activityOutput struct {
	Date        string `json:"date"`
	Status      string `json:"status"`
	Activity    string `json:"activity"`
	Location    string `json:"location"`
	StatusCode  int    `json:"status_code"`
	StatusLabel string `json:"status_label"`
}

type trackOutput struct {
	AWB           string           `json:"awb"`
	Tracked       bool             `json:"tracked"`
	Status        string           `json:"status"`
	StatusCode    int              `json:"status_code"`
	StatusLabel   string           `json:"status_label"`
	CurrentStatus string           `json:"current_status"`
	Courier       string           `json:"courier"`
	OrderID       string           `json:"order_id"`
	ShipmentID    string           `json:"shipment_id"`
	PickupDate    string           `json:"pickup_date"`
	DeliveredDate string           `json:"delivered_date"`
	EDD           string           `json:"edd"`
	TrackURL      string           `json:"track_url"`
	Message       string           `json:"message"`
	Activities    []activityOutput `json:"activities"`
	Raw           json.RawMessage  `json:"raw"`
}

func (t tracking) output() trackOutput {
	out := trackOutput{AWB: t.AWB, Tracked: t.Tracked, StatusCode: t.Code, CurrentStatus: t.CurrentStatus, Courier: t.Courier,
		OrderID: t.OrderID, ShipmentID: t.ShipmentID, PickupDate: t.PickupDate, DeliveredDate: t.DeliveredDate, EDD: t.EDD,
		TrackURL: t.TrackURL, Message: t.Message, Activities: []activityOutput{}, Raw: t.Raw}
	if t.Tracked {
		out.Status, out.StatusLabel = StatusName(t.Code), statusLabel(t.Code)
	}
	for i := len(t.Activities) - 1; i >= 0; i-- { // newest first, as Shiprocket lists them
		a := t.Activities[i]
		ao := activityOutput{Date: a.Date, Status: a.Status, Activity: a.Activity, Location: a.Location, StatusLabel: a.SRStatusLabel}
		if a.SRStatus >= 0 {
			ao.StatusCode = int(a.SRStatus)
			if ao.StatusLabel == "" {
				ao.StatusLabel = statusLabel(ao.StatusCode)
			}
		}
		out.Activities = append(out.Activities, ao)
	}
	return out
}

func trackShipmentAction() sdk.Action {
	act := sdk.Object(
		str("date", "When, IST (yyyy-mm-dd hh:mm:ss).", false),
		str("status", "The courier's own scan code.", false),
		str("activity", "What happened, in the courier's words.", false),
		str("location", "Where.", false),
		schema.Field{Name: "status_code", Type: schema.Integer, Description: "Shiprocket status code of the scan, 0 when it has none (NA)."},
		str("status_label", "Label of that code.", false),
	)
	act.Description = "One courier scan."
	return sdk.NewAction(schema.Action{
		Name: "track_shipment", DisplayName: "Track shipment", Kind: schema.KindRead, Idempotent: true,
		Description: "Reads an AWB's tracking (GET /v1/external/courier/track/awb/{awb}): the shipment status normalized (e.g. out_for_delivery), its code and label, the scans newest first, and Shiprocket's raw tracking_data.",
		Input:       sdk.Object(str("awb", "The AWB (air waybill number).", true)),
		Output: sdk.Object(
			str("awb", "The AWB.", false),
			schema.Field{Name: "tracked", Type: schema.Boolean, Description: "False while Shiprocket has no tracking for the AWB yet (track_status 0); status is then empty."},
			str("status", "Normalized status name: the code's label in lower snake case, e.g. shipped, out_for_delivery, delivered.", false),
			schema.Field{Name: "status_code", Type: schema.Integer, Description: "Shiprocket shipment status code (shipment_status)."},
			str("status_label", "The code's label, e.g. Out For Delivery.", false),
			str("current_status", "Shiprocket's current_status text, as given.", false),
			str("courier", "Courier name.", false),
			str("order_id", "Shiprocket's order id.", false),
			str("shipment_id", "Shiprocket's shipment id.", false),
			str("pickup_date", "When the courier picked it up, IST.", false),
			str("delivered_date", "When it was delivered, IST.", false),
			str("edd", "Expected delivery date, IST.", false),
			str("track_url", "Shiprocket's public tracking page.", false),
			str("message", "Shiprocket's message when there is no tracking yet.", false),
			schema.Field{Name: "activities", Type: schema.List, Items: act, Description: "The scans, newest first."},
			schema.Field{Name: "raw", Type: schema.Any, Description: "Shiprocket's tracking_data as answered."},
		),
		ExampleInput: sdk.JSON(map[string]any{"awb": "788830567028"}),
		ExampleOutput: sdk.JSON(map[string]any{"awb": "788830567028", "tracked": true, "status": "delivered", "status_code": 7, "status_label": "Delivered",
			"current_status": "Delivered", "courier": "Xpressbees Surface", "order_id": "237157589", "shipment_id": "236612717",
			"pickup_date": "2022-07-18 20:28:00", "delivered_date": "2022-07-19 11:37:00", "edd": "", "track_url": "https://app.shiprocket.in/tracking/awb/788830567028",
			"message": "", "activities": []map[string]any{{"date": "2022-07-19 11:37:00", "status": "DLVD", "activity": "Delivered",
				"location": "MADANPALLI, Madanapalli, ANDHRA PRADESH", "status_code": 7, "status_label": "DELIVERED"}},
			"raw": map[string]any{"track_status": 1, "shipment_status": 7}}),
	}, func(ctx context.Context, c *sdk.Conn, in trackInput, _ sdk.ActionCall) (trackOutput, error) {
		awb := strings.TrimSpace(in.AWB)
		if awb == "" {
			return trackOutput{}, sdk.Invalid("awb is empty", sdk.Violation{Path: "awb", Message: "required"})
		}
		t, err := fetchTracking(ctx, c, awb)
		if err != nil {
			return trackOutput{}, err
		}
		return t.output(), nil
	})
}
