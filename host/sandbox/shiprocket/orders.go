package shiprocket

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// flexNum reads a JSON number or a numeric string: Shiprocket's clients
// send both.
type flexNum float64

func (n *flexNum) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	*n = flexNum(f)
	return nil
}

type orderItem struct {
	Name         string          `json:"name"`
	SKU          string          `json:"sku"`
	Units        json.Number     `json:"units"`
	SellingPrice json.Number     `json:"selling_price"`
	Discount     json.RawMessage `json:"discount,omitempty"`
	Tax          json.RawMessage `json:"tax,omitempty"`
	HSN          json.RawMessage `json:"hsn,omitempty"`
}

// createRequest is the adhoc order body; the fields are the documented
// ones the simulator checks or shows back.
type createRequest struct {
	OrderID              string          `json:"order_id"`
	OrderDate            string          `json:"order_date"`
	PickupLocation       string          `json:"pickup_location"`
	ChannelID            json.RawMessage `json:"channel_id,omitempty"`
	BillingCustomerName  string          `json:"billing_customer_name"`
	BillingLastName      string          `json:"billing_last_name"`
	BillingAddress       string          `json:"billing_address"`
	BillingCity          string          `json:"billing_city"`
	BillingPincode       string          `json:"billing_pincode"`
	BillingState         string          `json:"billing_state"`
	BillingCountry       string          `json:"billing_country"`
	BillingEmail         string          `json:"billing_email"`
	BillingPhone         string          `json:"billing_phone"`
	ShippingIsBilling    json.RawMessage `json:"shipping_is_billing"`
	ShippingCustomerName string          `json:"shipping_customer_name"`
	ShippingAddress      string          `json:"shipping_address"`
	ShippingCity         string          `json:"shipping_city"`
	ShippingPincode      string          `json:"shipping_pincode"`
	ShippingCountry      string          `json:"shipping_country"`
	ShippingState        string          `json:"shipping_state"`
	ShippingEmail        string          `json:"shipping_email"`
	ShippingPhone        string          `json:"shipping_phone"`
	OrderItems           []orderItem     `json:"order_items"`
	PaymentMethod        string          `json:"payment_method"`
	SubTotal             float64         `json:"-"`
	Length               float64         `json:"-"`
	Breadth              float64         `json:"-"`
	Height               float64         `json:"-"`
	Weight               float64         `json:"-"`
}

// shippingIsBilling reads the flag as clients send it: true, 1, "1",
// "true".
func (r createRequest) shippingIsBilling() bool {
	switch strings.Trim(string(r.ShippingIsBilling), `"`) {
	case "true", "1":
		return true
	}
	return false
}

type activity struct {
	Date     string
	Status   string
	Activity string
	Location string
	Code     int
}

type order struct {
	id          int
	shipmentID  int
	req         createRequest
	status      string
	statusCode  int
	createdAt   time.Time
	awb         string
	courierID   int
	courierName string
	shipStatus  int
	scans       []activity // oldest first
}

// createOrder is POST /v1/external/orders/create/adhoc.
func (s *Sim) createOrder(w http.ResponseWriter, r *http.Request) {
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Invalid JSON body", "status_code": 400})
		return
	}
	req, errs := decodeCreate(raw)
	if len(errs) == 0 {
		s.mu.Lock()
		known := slices.Contains(s.pickups, req.PickupLocation)
		s.mu.Unlock()
		if !known {
			errs["pickup_location"] = []string{"The selected pickup location is invalid."}
		}
	}
	if len(errs) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Oops! Invalid Data.", "errors": errs, "status_code": 422})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.byChannel[req.OrderID]; ok {
		o := s.orders[id]
		if o.statusCode == 5 {
			// "New orders cannot be created with order id's same as
			// that of cancelled orders."
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Order Id already exists and is cancelled. Please use a different order id.",
				"errors": map[string][]string{"order_id": {"The order id has already been taken by a cancelled order."}}, "status_code": 422})
			return
		}
		// "order_id field cannot be equal to an already existing id. Doing
		// so does not change or affect the existing order": the existing
		// order is answered unchanged.
		writeJSON(w, http.StatusOK, o.createAnswer())
		return
	}
	o := s.addOrderLocked(req)
	writeJSON(w, http.StatusOK, o.createAnswer())
}

// required are the documented required fields of an adhoc order.
var required = []string{"order_id", "order_date", "pickup_location", "billing_customer_name", "billing_address",
	"billing_city", "billing_pincode", "billing_state", "billing_country", "billing_email", "billing_phone",
	"shipping_is_billing", "order_items", "payment_method", "sub_total", "length", "breadth", "height", "weight"}

// shippingFields are required when shipping_is_billing is false.
var shippingFields = []string{"shipping_customer_name", "shipping_address", "shipping_city", "shipping_pincode",
	"shipping_country", "shipping_state", "shipping_email", "shipping_phone"}

func fieldRequired(name string) string {
	return "The " + strings.ReplaceAll(name, "_", " ") + " field is required."
}

func present(raw map[string]json.RawMessage, name string) bool {
	v, ok := raw[name]
	if !ok {
		return false
	}
	s := strings.TrimSpace(string(v))
	return s != "null" && s != `""` && s != "[]"
}

// decodeCreate checks the body the way Shiprocket documents it and
// returns the 422 field errors, Laravel-style.
func decodeCreate(raw map[string]json.RawMessage) (createRequest, map[string][]string) {
	errs := map[string][]string{}
	for _, f := range required {
		if !present(raw, f) {
			errs[f] = append(errs[f], fieldRequired(f))
		}
	}
	var req createRequest
	b, _ := json.Marshal(raw) // re-encoding decoded JSON cannot fail
	if err := json.Unmarshal(b, &req); err != nil {
		errs["body"] = append(errs["body"], "The body has a field of the wrong type: "+err.Error())
		return req, errs
	}
	for name, dst := range map[string]*float64{"sub_total": &req.SubTotal, "length": &req.Length, "breadth": &req.Breadth, "height": &req.Height, "weight": &req.Weight} {
		v, ok := raw[name]
		if !ok {
			continue
		}
		var n flexNum
		if err := json.Unmarshal(v, &n); err != nil {
			errs[name] = append(errs[name], "The "+strings.ReplaceAll(name, "_", " ")+" must be a number.")
			continue
		}
		*dst = float64(n)
	}
	if present(raw, "shipping_is_billing") && !req.shippingIsBilling() {
		for _, f := range shippingFields {
			if !present(raw, f) {
				errs[f] = append(errs[f], fieldRequired(f))
			}
		}
	}
	if len(req.OrderID) > 50 {
		errs["order_id"] = append(errs["order_id"], "The order id may not be greater than 50 characters.")
	}
	if len(req.BillingCity) > 30 {
		errs["billing_city"] = append(errs["billing_city"], "The billing city may not be greater than 30 characters.")
	}
	if req.PaymentMethod != "" && !strings.EqualFold(req.PaymentMethod, "COD") && !strings.EqualFold(req.PaymentMethod, "Prepaid") {
		errs["payment_method"] = append(errs["payment_method"], "The selected payment method is invalid.")
	}
	for _, d := range []struct {
		name string
		v    float64
	}{{"length", req.Length}, {"breadth", req.Breadth}, {"height", req.Height}} {
		if present(raw, d.name) && d.v <= 0.5 {
			errs[d.name] = append(errs[d.name], "The "+d.name+" must be greater than 0.5.")
		}
	}
	if present(raw, "weight") && req.Weight <= 0 {
		errs["weight"] = append(errs["weight"], "The weight must be greater than 0.")
	}
	for i, it := range req.OrderItems {
		for name, v := range map[string]string{"name": it.Name, "sku": it.SKU, "units": it.Units.String(), "selling_price": it.SellingPrice.String()} {
			if v == "" {
				key := fmt.Sprintf("order_items.%d.%s", i, name)
				errs[key] = append(errs[key], "The "+key+" field is required.")
			}
		}
	}
	return req, errs
}

func (s *Sim) addOrderLocked(req createRequest) *order {
	o := &order{id: s.nextOrder, shipmentID: s.nextShip, req: req, status: "NEW", statusCode: 1, createdAt: s.now()}
	s.nextOrder++
	s.nextShip++
	s.orders[o.id] = o
	s.byChannel[req.OrderID] = o.id
	return o
}

func (o *order) createAnswer() map[string]any {
	ans := map[string]any{"order_id": o.id, "shipment_id": o.shipmentID, "status": o.status, "status_code": o.statusCode,
		"onboarding_completed_now": 0, "awb_code": nil, "courier_company_id": nil, "courier_name": nil}
	if o.awb != "" {
		ans["awb_code"], ans["courier_company_id"], ans["courier_name"] = o.awb, o.courierID, o.courierName
	}
	return ans
}

// couriers the simulator assigns: the published examples' Xpressbees
// Surface (51) by default.
var couriers = map[int]string{51: "Xpressbees Surface", 10: "Delhivery Surface", 142: "Amazon Surface"}

// assignAWB is POST /v1/external/courier/assign/awb.
func (s *Sim) assignAWB(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ShipmentID flexNum `json:"shipment_id"`
		CourierID  flexNum `json:"courier_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ShipmentID == 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Required field missing",
			"errors": map[string][]string{"shipment_id": {"The shipment id field is required."}}, "status_code": 422})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var o *order
	for _, cand := range s.orders {
		if cand.shipmentID == int(in.ShipmentID) {
			o = cand
		}
	}
	if o == nil || o.statusCode == 5 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Invalid shipment id or shipment is cancelled", "status_code": 400})
		return
	}
	if o.awb != "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Oops! Cannot reassign courier for this shipment.", "status_code": 400})
		return
	}
	if _, ok := couriers[int(in.CourierID)]; in.CourierID != 0 && !ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Selected courier is not serviceable", "status_code": 400})
		return
	}
	s.assignLocked(o, int(in.CourierID))
	writeJSON(w, http.StatusOK, map[string]any{"awb_assign_status": 1, "response": map[string]any{"data": map[string]any{
		"courier_company_id": o.courierID, "awb_code": o.awb, "cod": boolInt(strings.EqualFold(o.req.PaymentMethod, "COD")),
		"order_id": o.id, "shipment_id": o.shipmentID, "awb_code_status": 1,
		"assigned_date_time": map[string]any{"date": s.now().Format("2006-01-02 15:04:05.000000"), "timezone_type": 3, "timezone": "Asia/Kolkata"},
		"applied_weight":     o.req.Weight, "courier_name": o.courierName,
	}}})
}

func (s *Sim) assignLocked(o *order, courierID int) {
	if courierID == 0 {
		courierID = 51
	}
	o.awb = strconv.FormatInt(s.nextAWB, 10)
	s.nextAWB++
	o.courierID, o.courierName = courierID, couriers[courierID]
	s.byAWB[o.awb] = o.id
	s.setStatusLocked(o, StatusAWBAssigned)
}

func (s *Sim) setStatusLocked(o *order, code int) {
	o.shipStatus = code
	act, ok := activityFor[code]
	if !ok {
		act = [2]string{"SR-" + strconv.Itoa(code), statusLabels[code]}
	}
	date := s.now().Format(dateLayout)
	o.scans = append(o.scans, activity{Date: date, Status: act[0], Activity: act[1], Location: o.req.BillingCity, Code: code})
	if o.statusCode != 5 {
		// The order's status follows its shipment once it has an AWB.
		o.status, o.statusCode = strings.ToUpper(labelOf(code)), code
	}
}

func labelOf(code int) string {
	if l, ok := statusLabels[code]; ok {
		return l
	}
	return "Status " + strconv.Itoa(code)
}

// listOrders is GET /v1/external/orders; search matches the merchant's
// order_id or an AWB exactly.
func (s *Sim) listOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("search")
	s.mu.Lock()
	var data []map[string]any
	ids := make([]int, 0, len(s.orders))
	for id := range s.orders {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	slices.Reverse(ids) // newest first
	for _, id := range ids {
		o := s.orders[id]
		if q != "" && o.req.OrderID != q && o.awb != q {
			continue
		}
		data = append(data, o.listEntry())
	}
	s.mu.Unlock()
	if data == nil {
		data = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": map[string]any{"pagination": map[string]any{
		"total": len(data), "count": len(data), "per_page": 15, "current_page": 1, "total_pages": 1, "links": map[string]any{},
	}}})
}

func (o *order) listEntry() map[string]any {
	return map[string]any{
		"id": o.id, "channel_id": 76893, "channel_name": "CUSTOM", "base_channel_code": "CS",
		"channel_order_id": o.req.OrderID, "customer_name": strings.TrimSpace(o.req.BillingCustomerName + " " + o.req.BillingLastName),
		"customer_email": o.req.BillingEmail, "customer_phone": o.req.BillingPhone, "pickup_location": o.req.PickupLocation,
		"total": fmt.Sprintf("%.2f", o.req.SubTotal), "status": o.status, "status_code": o.statusCode,
		"payment_method": strings.ToLower(o.req.PaymentMethod), "created_at": o.createdAt.Format("02 Jan 2006, 03:04 PM"),
		"shipments": []map[string]any{{"id": o.shipmentID, "courier": o.courierName, "awb": o.awb}},
	}
}

// showOrder is GET /v1/external/orders/show/{id}.
func (s *Sim) showOrder(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	s.mu.Lock()
	o, ok := s.orders[id]
	var data map[string]any
	if ok {
		data = o.listEntry()
		data["customer_city"], data["customer_state"], data["customer_pincode"], data["customer_country"] =
			o.req.BillingCity, o.req.BillingState, o.req.BillingPincode, o.req.BillingCountry
		data["customer_address"] = o.req.BillingAddress
		var products []map[string]any
		for _, it := range o.req.OrderItems {
			units, _ := it.Units.Int64()
			price, _ := it.SellingPrice.Float64()
			products = append(products, map[string]any{"name": it.Name, "sku": it.SKU, "channel_sku": it.SKU, "quantity": units, "selling_price": price})
		}
		data["products"] = products
		var awb any
		if o.awb != "" {
			awb = o.awb
		}
		data["shipments"] = map[string]any{"id": o.shipmentID, "order_id": o.id, "awb": awb, "courier": o.courierName,
			"weight": o.req.Weight, "length": o.req.Length, "breadth": o.req.Breadth, "height": o.req.Height}
	}
	s.mu.Unlock()
	if err != nil || !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Order not found", "status_code": 404})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

// track is GET /v1/external/courier/track/awb/{awb}.
func (s *Sim) track(w http.ResponseWriter, r *http.Request) {
	awb := r.PathValue("awb")
	s.mu.Lock()
	o, ok := s.orderByAWBLocked(awb)
	var body map[string]any
	if ok {
		body = o.trackingData()
	}
	s.mu.Unlock()
	if !ok {
		// No scans for an AWB Shiprocket does not know (yet).
		writeJSON(w, http.StatusOK, map[string]any{"tracking_data": map[string]any{"track_status": 0, "shipment_status": 0,
			"shipment_track": []map[string]any{{"id": 0, "awb_code": awb, "current_status": ""}}, "shipment_track_activities": nil,
			"error": "Aahh! There is no activities found in our DB. Please have some patience it will be updated soon."}})
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// trackingData is the tracking answer, in the shape of the published
// track-by-AWB example: activities newest first.
func (o *order) trackingData() map[string]any {
	var acts []map[string]any
	for i := len(o.scans) - 1; i >= 0; i-- {
		a := o.scans[i]
		acts = append(acts, map[string]any{"date": a.Date, "status": a.Status, "activity": a.Activity, "location": a.Location,
			"sr-status": strconv.Itoa(a.Code), "sr-status-label": strings.ToUpper(labelOf(a.Code))})
	}
	var delivered, pickup any
	for _, a := range o.scans {
		if a.Code == StatusDelivered {
			delivered = a.Date
		}
		if a.Code == StatusPickedUp && pickup == nil {
			pickup = a.Date
		}
	}
	return map[string]any{"tracking_data": map[string]any{
		"track_status": 1, "shipment_status": o.shipStatus,
		"shipment_track": []map[string]any{{
			"id": o.shipmentID, "awb_code": o.awb, "courier_company_id": o.courierID, "shipment_id": o.shipmentID,
			"order_id": o.id, "pickup_date": pickup, "delivered_date": delivered, "weight": fmt.Sprintf("%.2f", o.req.Weight),
			"packages": 1, "current_status": labelOf(o.shipStatus), "delivered_to": o.req.BillingCity, "destination": o.req.BillingCity,
			"consignee_name": o.req.BillingCustomerName, "origin": "Gurgaon", "courier_agent_details": nil, "courier_name": o.courierName,
		}},
		"shipment_track_activities": acts,
		"track_url":                 "https://shiprocket.co/tracking/" + o.awb,
	}}
}

// webhookBody is the tracking webhook for o's current status, in the
// shape of the documented sample body.
func (o *order) webhookBody() map[string]any {
	var scans []map[string]any
	for _, a := range o.scans {
		scans = append(scans, map[string]any{"date": a.Date, "status": a.Status, "activity": a.Activity, "location": a.Location,
			"sr-status": strconv.Itoa(a.Code), "sr-status-label": strings.ToUpper(labelOf(a.Code))})
	}
	last := o.scans[len(o.scans)-1]
	at, _ := time.ParseInLocation(dateLayout, last.Date, ist)
	label := strings.ToUpper(labelOf(o.shipStatus))
	return map[string]any{
		"awb": o.awb, "courier_name": o.courierName, "current_status": label, "current_status_id": o.shipStatus,
		"shipment_status": label, "shipment_status_id": o.shipStatus, "current_timestamp": at.Format("02 01 2006 15:04:05"),
		"order_id": o.req.OrderID, "sr_order_id": o.id, "awb_assigned_date": o.scans[0].Date, "pickup_scheduled_date": o.scans[0].Date,
		"etd": "", "scans": scans, "is_return": 0, "channel_id": 76893, "pod_status": "", "pod": "Not Available",
	}
}
