package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
)

// ---- create_shipment_order

type orderItem struct {
	Name         string  `json:"name"`
	SKU          string  `json:"sku"`
	Units        int     `json:"units"`
	SellingPrice float64 `json:"selling_price"`
	Discount     float64 `json:"discount,omitempty"`
	Tax          float64 `json:"tax,omitempty"`
	HSN          string  `json:"hsn,omitempty"`
}

// createInput is the adhoc order, in Shiprocket's own field names so it
// is sent as it is.
type createInput struct {
	OrderID              string      `json:"order_id"`
	OrderDate            string      `json:"order_date"`
	PickupLocation       string      `json:"pickup_location"`
	ChannelID            int64       `json:"channel_id,omitempty"`
	Comment              string      `json:"comment,omitempty"`
	BillingCustomerName  string      `json:"billing_customer_name"`
	BillingLastName      string      `json:"billing_last_name,omitempty"`
	BillingAddress       string      `json:"billing_address"`
	BillingAddress2      string      `json:"billing_address_2,omitempty"`
	BillingCity          string      `json:"billing_city"`
	BillingPincode       string      `json:"billing_pincode"`
	BillingState         string      `json:"billing_state"`
	BillingCountry       string      `json:"billing_country"`
	BillingEmail         string      `json:"billing_email"`
	BillingPhone         string      `json:"billing_phone"`
	ShippingIsBilling    bool        `json:"shipping_is_billing"`
	ShippingCustomerName string      `json:"shipping_customer_name,omitempty"`
	ShippingLastName     string      `json:"shipping_last_name,omitempty"`
	ShippingAddress      string      `json:"shipping_address,omitempty"`
	ShippingAddress2     string      `json:"shipping_address_2,omitempty"`
	ShippingCity         string      `json:"shipping_city,omitempty"`
	ShippingPincode      string      `json:"shipping_pincode,omitempty"`
	ShippingCountry      string      `json:"shipping_country,omitempty"`
	ShippingState        string      `json:"shipping_state,omitempty"`
	ShippingEmail        string      `json:"shipping_email,omitempty"`
	ShippingPhone        string      `json:"shipping_phone,omitempty"`
	OrderItems           []orderItem `json:"order_items"`
	PaymentMethod        string      `json:"payment_method"`
	ShippingCharges      float64     `json:"shipping_charges,omitempty"`
	GiftwrapCharges      float64     `json:"giftwrap_charges,omitempty"`
	TransactionCharges   float64     `json:"transaction_charges,omitempty"`
	TotalDiscount        float64     `json:"total_discount,omitempty"`
	SubTotal             float64     `json:"sub_total"`
	Length               float64     `json:"length"`
	Breadth              float64     `json:"breadth"`
	Height               float64     `json:"height"`
	Weight               float64     `json:"weight"`
	OrderType            string      `json:"order_type,omitempty"`
}

type orderOutput struct {
	OrderID          int64  `json:"order_id"`
	ShipmentID       int64  `json:"shipment_id"`
	ChannelOrderID   string `json:"channel_order_id"`
	Status           string `json:"status"`
	StatusCode       int    `json:"status_code"`
	AWBCode          string `json:"awb_code"`
	CourierCompanyID int64  `json:"courier_company_id"`
	CourierName      string `json:"courier_name"`
	Existing         bool   `json:"existing"`
}

func str(name, desc string, required bool) schema.Field {
	return schema.Field{Name: name, Type: schema.String, Required: required, Description: desc}
}

func num(name, desc string, required bool) schema.Field {
	return schema.Field{Name: name, Type: schema.Number, Required: required, Description: desc}
}

func orderOutputShape() *schema.Field {
	return sdk.Object(
		schema.Field{Name: "order_id", Type: schema.Integer, Description: "Shiprocket's order id (keep it: get_order takes it)."},
		schema.Field{Name: "shipment_id", Type: schema.Integer, Description: "Shiprocket's shipment id (assign_awb takes it)."},
		str("channel_order_id", "The merchant's order_id the order was created with.", false),
		str("status", "Order status, e.g. NEW.", false),
		schema.Field{Name: "status_code", Type: schema.Integer, Description: "Order status code, e.g. 1 for NEW."},
		str("awb_code", "The AWB, empty until one is assigned.", false),
		schema.Field{Name: "courier_company_id", Type: schema.Integer, Description: "Courier's id, 0 until an AWB is assigned."},
		str("courier_name", "Courier's name, empty until an AWB is assigned.", false),
		schema.Field{Name: "existing", Type: schema.Boolean, Description: "True when the order already existed under this order_id (a retried create) and was returned instead of created."},
	)
}

func createOrderAction() sdk.Action {
	item := sdk.Object(
		str("name", "Product name.", true),
		str("sku", "Product SKU.", true),
		schema.Field{Name: "units", Type: schema.Integer, Required: true, Description: "Quantity, at least 1."},
		num("selling_price", "Price of one unit.", true),
		num("discount", "Discount on the line.", false),
		num("tax", "Tax rate of the line, percent.", false),
		str("hsn", "HSN code.", false),
	)
	item.Description = "One order line."
	in := sdk.Object(
		str("order_id", "The merchant's own order reference, at most 50 characters. It is the natural key: creating the same order_id again returns the existing order.", true),
		str("order_date", "Order date, yyyy-mm-dd with an optional hh:mm, e.g. 2026-07-24 11:11.", true),
		str("pickup_location", "Name of a pickup location of the account (checking the connection lists them).", true),
		schema.Field{Name: "channel_id", Type: schema.Integer, Description: "Sales channel id; the default custom channel when absent."},
		str("comment", "Free-text comment on the order.", false),
		str("billing_customer_name", "Billing first name (or full name).", true),
		str("billing_last_name", "Billing last name.", false),
		str("billing_address", "Billing address.", true),
		str("billing_address_2", "Billing address, second line.", false),
		str("billing_city", "Billing city, at most 30 characters.", true),
		str("billing_pincode", "Billing PIN code.", true),
		str("billing_state", "Billing state.", true),
		str("billing_country", "Billing country.", true),
		schema.Field{Name: "billing_email", Type: schema.String, Required: true, Format: schema.FormatEmail, Description: "Billing email."},
		str("billing_phone", "Billing phone.", true),
		schema.Field{Name: "shipping_is_billing", Type: schema.Boolean, Required: true, Description: "Ship to the billing address; when false the shipping_* fields are required."},
		str("shipping_customer_name", "Shipping first name (required when shipping_is_billing is false).", false),
		str("shipping_last_name", "Shipping last name.", false),
		str("shipping_address", "Shipping address (required when shipping_is_billing is false).", false),
		str("shipping_address_2", "Shipping address, second line.", false),
		str("shipping_city", "Shipping city (required when shipping_is_billing is false).", false),
		str("shipping_pincode", "Shipping PIN code (required when shipping_is_billing is false).", false),
		str("shipping_country", "Shipping country (required when shipping_is_billing is false).", false),
		str("shipping_state", "Shipping state (required when shipping_is_billing is false).", false),
		str("shipping_email", "Shipping email (required when shipping_is_billing is false).", false),
		str("shipping_phone", "Shipping phone (required when shipping_is_billing is false).", false),
		schema.Field{Name: "order_items", Type: schema.List, Required: true, Items: item, Description: "The order lines, at least one."},
		schema.Field{Name: "payment_method", Type: schema.String, Required: true, Enum: sdk.Enum("COD", "Prepaid"), Description: "COD or Prepaid."},
		num("shipping_charges", "Shipping charges.", false),
		num("giftwrap_charges", "Gift-wrap charges.", false),
		num("transaction_charges", "Transaction charges.", false),
		num("total_discount", "Discount on the whole order.", false),
		num("sub_total", "Order total; Shiprocket does not compute it from the lines.", true),
		num("length", "Package length in cm, more than 0.5.", true),
		num("breadth", "Package breadth in cm, more than 0.5.", true),
		num("height", "Package height in cm, more than 0.5.", true),
		num("weight", "Package weight in kg, more than 0.", true),
		schema.Field{Name: "order_type", Type: schema.String, Enum: sdk.Enum("ESSENTIALS", "NON ESSENTIALS", ""), Description: "ESSENTIALS or NON ESSENTIALS (case sensitive)."},
	)
	example := map[string]any{
		"order_id": "1001", "order_date": "2026-07-24 11:11", "pickup_location": "Primary",
		"billing_customer_name": "Asha", "billing_address": "12 MG Road", "billing_city": "Bengaluru", "billing_pincode": "560001",
		"billing_state": "Karnataka", "billing_country": "India", "billing_email": "asha@example.com", "billing_phone": "9876543210",
		"shipping_is_billing": true, "order_items": []map[string]any{{"name": "Kurta", "sku": "KURTA-M", "units": 1, "selling_price": 999}},
		"payment_method": "Prepaid", "sub_total": 999, "length": 10, "breadth": 10, "height": 5, "weight": 0.5,
	}
	return sdk.NewAction(schema.Action{
		Name: "create_shipment_order", DisplayName: "Create shipment order", Kind: schema.KindCreate,
		// Idempotent through the natural key: Shiprocket will not create a
		// second order with an existing order_id, and the action returns
		// the existing one.
		Idempotent:  true,
		Description: "Creates a custom (adhoc) order and its shipment (POST /v1/external/orders/create/adhoc). order_id is the merchant's reference and the idempotency key: when Shiprocket already has an order with it, that order is returned with existing = true.",
		Input:       in, Output: orderOutputShape(),
		ExampleInput: sdk.JSON(example),
		ExampleOutput: sdk.JSON(map[string]any{"order_id": 16161616, "shipment_id": 15151515, "channel_order_id": "1001", "status": "NEW", "status_code": 1,
			"awb_code": "", "courier_company_id": 0, "courier_name": "", "existing": false}),
	}, createOrder)
}

// validate applies the documented rules the schema cannot say, listing
// every problem at once so a workflow author fixes them in one go.
func (in createInput) validate() []sdk.Violation {
	var vs []sdk.Violation
	add := func(path, msg string) { vs = append(vs, sdk.Violation{Path: path, Message: msg}) }
	for _, f := range []struct{ name, v string }{
		{"order_id", in.OrderID}, {"order_date", in.OrderDate}, {"pickup_location", in.PickupLocation},
		{"billing_customer_name", in.BillingCustomerName}, {"billing_address", in.BillingAddress}, {"billing_city", in.BillingCity},
		{"billing_pincode", in.BillingPincode}, {"billing_state", in.BillingState}, {"billing_country", in.BillingCountry},
		{"billing_email", in.BillingEmail}, {"billing_phone", in.BillingPhone},
	} {
		if strings.TrimSpace(f.v) == "" {
			add(f.name, "required")
		}
	}
	if len(in.OrderID) > 50 {
		add("order_id", "at most 50 characters")
	}
	if len(in.BillingCity) > 30 {
		add("billing_city", "at most 30 characters")
	}
	if !in.ShippingIsBilling {
		for _, f := range []struct{ name, v string }{
			{"shipping_customer_name", in.ShippingCustomerName}, {"shipping_address", in.ShippingAddress}, {"shipping_city", in.ShippingCity},
			{"shipping_pincode", in.ShippingPincode}, {"shipping_country", in.ShippingCountry}, {"shipping_state", in.ShippingState},
			{"shipping_email", in.ShippingEmail}, {"shipping_phone", in.ShippingPhone},
		} {
			if strings.TrimSpace(f.v) == "" {
				add(f.name, "required when shipping_is_billing is false")
			}
		}
	}
	if len(in.OrderItems) == 0 {
		add("order_items", "at least one line")
	}
	for i, it := range in.OrderItems {
		p := fmt.Sprintf("order_items[%d]", i)
		if strings.TrimSpace(it.Name) == "" {
			add(p+".name", "required")
		}
		if strings.TrimSpace(it.SKU) == "" {
			add(p+".sku", "required")
		}
		if it.Units < 1 {
			add(p+".units", "at least 1")
		}
		if it.SellingPrice < 0 {
			add(p+".selling_price", "not negative")
		}
	}
	for _, d := range []struct {
		name string
		v    float64
	}{{"length", in.Length}, {"breadth", in.Breadth}, {"height", in.Height}} {
		if d.v <= 0.5 {
			add(d.name, "more than 0.5 cm")
		}
	}
	if in.Weight <= 0 {
		add("weight", "more than 0 kg")
	}
	if in.SubTotal < 0 {
		add("sub_total", "not negative")
	}
	return vs
}

type createAnswer struct {
	OrderID          int64           `json:"order_id"`
	ShipmentID       int64           `json:"shipment_id"`
	Status           string          `json:"status"`
	StatusCode       int             `json:"status_code"`
	AWBCode          json.RawMessage `json:"awb_code"`
	CourierCompanyID json.RawMessage `json:"courier_company_id"`
	CourierName      *string         `json:"courier_name"`
	Message          string          `json:"message"`
}

func createOrder(ctx context.Context, c *sdk.Conn, in createInput, _ sdk.ActionCall) (orderOutput, error) {
	if vs := in.validate(); len(vs) > 0 {
		return orderOutput{}, sdk.Invalid("the order breaks Shiprocket's rules", vs...)
	}
	var ans createAnswer
	err := call(ctx, c, http.MethodPost, "/v1/external/orders/create/adhoc", in, &ans)
	if err != nil {
		if duplicateRefusal(err) {
			return existingOrder(ctx, c, in.OrderID, err)
		}
		return orderOutput{}, err
	}
	if ans.OrderID == 0 {
		// "Some APIs may respond with an error message if data is
		// invalid" with a 200.
		msg := ans.Message
		if msg == "" {
			msg = "the answer has no order_id"
		}
		return orderOutput{}, sdk.Invalid("Shiprocket did not create order "+in.OrderID+": "+msg, sdk.Violation{Path: "order_id", Message: msg})
	}
	out := orderOutput{OrderID: ans.OrderID, ShipmentID: ans.ShipmentID, ChannelOrderID: in.OrderID,
		Status: ans.Status, StatusCode: ans.StatusCode, AWBCode: flexString(ans.AWBCode), CourierCompanyID: flexInt64(ans.CourierCompanyID)}
	if ans.CourierName != nil {
		out.CourierName = *ans.CourierName
	}
	return out, nil
}

// duplicateRefusal reports whether a refused create may be Shiprocket
// saying the order_id is taken: a 400 or 422 whose field errors, if any,
// are only about order_id, and whose text speaks of it existing.
func duplicateRefusal(err error) bool {
	e := fault.As(err)
	if e.Kind != fault.InvalidInput {
		return false
	}
	for _, v := range e.Violations {
		if v.Path != "order_id" {
			return false
		}
	}
	text := strings.ToLower(e.Message)
	for _, v := range e.Violations {
		text += " " + strings.ToLower(v.Message)
	}
	for _, w := range []string{"exist", "already", "taken", "duplicate"} {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

type listAnswer struct {
	Data []struct {
		ID             int64  `json:"id"`
		ChannelOrderID string `json:"channel_order_id"`
		Status         string `json:"status"`
		StatusCode     int    `json:"status_code"`
		Shipments      []struct {
			ID      int64           `json:"id"`
			Courier string          `json:"courier"`
			AWB     json.RawMessage `json:"awb"`
		} `json:"shipments"`
	} `json:"data"`
}

// existingOrder finds the order a refused duplicate create points at
// (GET /v1/external/orders?search=<order_id>, which matches the
// merchant's order id) and returns it as the create's result. An order
// that was cancelled cannot be reused (Shiprocket's rule), so that stays
// an invalid input; no match keeps the original refusal.
func existingOrder(ctx context.Context, c *sdk.Conn, orderID string, refusal error) (orderOutput, error) {
	var ans listAnswer
	if err := call(ctx, c, http.MethodGet, "/v1/external/orders?search="+url.QueryEscape(orderID), nil, &ans); err != nil {
		return orderOutput{}, fmt.Errorf("look up order %s after Shiprocket refused it as a duplicate (%v): %w", orderID, refusal, err)
	}
	for _, o := range ans.Data {
		if o.ChannelOrderID != orderID {
			continue
		}
		if strings.EqualFold(o.Status, "CANCELED") || strings.EqualFold(o.Status, "CANCELLED") {
			return orderOutput{}, sdk.Invalid(fmt.Sprintf("order %s was cancelled in Shiprocket (id %d)", orderID, o.ID),
				sdk.Violation{Path: "order_id", Message: "an order with this order_id was cancelled; Shiprocket does not reuse the order_id of a cancelled order"})
		}
		out := orderOutput{OrderID: o.ID, ChannelOrderID: orderID, Status: o.Status, StatusCode: o.StatusCode, Existing: true}
		if len(o.Shipments) > 0 {
			out.ShipmentID, out.CourierName, out.AWBCode = o.Shipments[0].ID, o.Shipments[0].Courier, flexString(o.Shipments[0].AWB)
		}
		return out, nil
	}
	return orderOutput{}, refusal
}

// ---- assign_awb

type assignInput struct {
	ShipmentID int64 `json:"shipment_id"`
	CourierID  int64 `json:"courier_id,omitempty"`
}

type assignOutput struct {
	AWBCode          string `json:"awb_code"`
	CourierCompanyID int64  `json:"courier_company_id"`
	CourierName      string `json:"courier_name"`
	ShipmentID       int64  `json:"shipment_id"`
	OrderID          int64  `json:"order_id"`
}

type assignAnswer struct {
	AWBAssignStatus int `json:"awb_assign_status"`
	Response        struct {
		Data struct {
			CourierCompanyID int64           `json:"courier_company_id"`
			AWBCode          json.RawMessage `json:"awb_code"`
			OrderID          int64           `json:"order_id"`
			ShipmentID       int64           `json:"shipment_id"`
			CourierName      string          `json:"courier_name"`
		} `json:"data"`
	} `json:"response"`
	Message string `json:"message"`
}

func assignAWBAction() sdk.Action {
	return sdk.NewAction(schema.Action{
		Name: "assign_awb", DisplayName: "Assign AWB", Kind: schema.KindUpdate,
		// Not idempotent: Shiprocket refuses a second assignment ("Cannot
		// reassign courier"), so a retry after a lost answer fails
		// visibly rather than silently.
		Description: "Assigns an AWB and a courier to a shipment (POST /v1/external/courier/assign/awb); without courier_id Shiprocket picks the account's default courier.",
		Input: sdk.Object(
			schema.Field{Name: "shipment_id", Type: schema.Integer, Required: true, Description: "The shipment id create_shipment_order returned."},
			schema.Field{Name: "courier_id", Type: schema.Integer, Description: "Courier to use; the default courier when absent."},
		),
		Output: sdk.Object(
			str("awb_code", "The AWB assigned.", false),
			schema.Field{Name: "courier_company_id", Type: schema.Integer, Description: "Courier's id."},
			str("courier_name", "Courier's name.", false),
			schema.Field{Name: "shipment_id", Type: schema.Integer, Description: "The shipment."},
			schema.Field{Name: "order_id", Type: schema.Integer, Description: "Shiprocket's order id."},
		),
		ExampleInput:  sdk.JSON(map[string]any{"shipment_id": 16090281}),
		ExampleOutput: sdk.JSON(map[string]any{"awb_code": "321055706540", "courier_company_id": 142, "courier_name": "Amazon Surface", "shipment_id": 16090281, "order_id": 281248157}),
	}, func(ctx context.Context, c *sdk.Conn, in assignInput, _ sdk.ActionCall) (assignOutput, error) {
		var ans assignAnswer
		if err := call(ctx, c, http.MethodPost, "/v1/external/courier/assign/awb", in, &ans); err != nil {
			return assignOutput{}, err
		}
		d := ans.Response.Data
		awb := flexString(d.AWBCode)
		if ans.AWBAssignStatus != 1 || awb == "" {
			msg := ans.Message
			if msg == "" {
				msg = "no AWB in the answer"
			}
			return assignOutput{}, sdk.Permanent("Shiprocket assigned no AWB to shipment %d: %s", in.ShipmentID, msg)
		}
		return assignOutput{AWBCode: awb, CourierCompanyID: d.CourierCompanyID, CourierName: d.CourierName, ShipmentID: d.ShipmentID, OrderID: d.OrderID}, nil
	})
}

// ---- get_order

type getOrderInput struct {
	OrderID int64 `json:"order_id"`
}

type getOrderOutput struct {
	OrderID        int64           `json:"order_id"`
	ChannelOrderID string          `json:"channel_order_id"`
	Status         string          `json:"status"`
	StatusCode     int             `json:"status_code"`
	CustomerName   string          `json:"customer_name"`
	PickupLocation string          `json:"pickup_location"`
	PaymentMethod  string          `json:"payment_method"`
	ShipmentID     int64           `json:"shipment_id"`
	AWBCode        string          `json:"awb_code"`
	CourierName    string          `json:"courier_name"`
	Raw            json.RawMessage `json:"raw"`
}

type showAnswer struct {
	Data json.RawMessage `json:"data"`
}

type showData struct {
	ID             int64           `json:"id"`
	ChannelOrderID json.RawMessage `json:"channel_order_id"`
	Status         string          `json:"status"`
	StatusCode     int             `json:"status_code"`
	CustomerName   string          `json:"customer_name"`
	PickupLocation string          `json:"pickup_location"`
	PaymentMethod  string          `json:"payment_method"`
	Shipments      struct {
		ID      int64           `json:"id"`
		AWB     json.RawMessage `json:"awb"`
		Courier string          `json:"courier"`
	} `json:"shipments"`
}

func getOrderAction() sdk.Action {
	return sdk.NewAction(schema.Action{
		Name: "get_order", DisplayName: "Get order", Kind: schema.KindRead, Idempotent: true,
		Description: "Reads one order and its shipment by Shiprocket's order id (GET /v1/external/orders/show/{id}); raw holds Shiprocket's whole answer.",
		Input:       sdk.Object(schema.Field{Name: "order_id", Type: schema.Integer, Required: true, Description: "Shiprocket's order id."}),
		Output: sdk.Object(
			schema.Field{Name: "order_id", Type: schema.Integer, Description: "Shiprocket's order id."},
			str("channel_order_id", "The merchant's order id.", false),
			str("status", "Order status, e.g. NEW, DELIVERED.", false),
			schema.Field{Name: "status_code", Type: schema.Integer, Description: "Order status code."},
			str("customer_name", "Customer.", false),
			str("pickup_location", "Pickup location.", false),
			str("payment_method", "cod or prepaid.", false),
			schema.Field{Name: "shipment_id", Type: schema.Integer, Description: "The order's shipment."},
			str("awb_code", "The shipment's AWB, empty when none is assigned.", false),
			str("courier_name", "Courier, empty when none is assigned.", false),
			schema.Field{Name: "raw", Type: schema.Any, Description: "The order as Shiprocket answered it (the data object)."},
		),
		ExampleInput: sdk.JSON(map[string]any{"order_id": 259492257}),
		ExampleOutput: sdk.JSON(map[string]any{"order_id": 259492257, "channel_order_id": "1873081902", "status": "NEW", "status_code": 1,
			"customer_name": "Asha", "pickup_location": "Primary", "payment_method": "prepaid", "shipment_id": 258878960, "awb_code": "",
			"courier_name": "", "raw": map[string]any{"id": 259492257}}),
	}, func(ctx context.Context, c *sdk.Conn, in getOrderInput, _ sdk.ActionCall) (getOrderOutput, error) {
		d, raw, err := showOrder(ctx, c, in.OrderID)
		if err != nil {
			return getOrderOutput{}, err
		}
		return getOrderOutput{OrderID: d.ID, ChannelOrderID: flexString(d.ChannelOrderID), Status: d.Status, StatusCode: d.StatusCode,
			CustomerName: d.CustomerName, PickupLocation: d.PickupLocation, PaymentMethod: d.PaymentMethod,
			ShipmentID: d.Shipments.ID, AWBCode: flexString(d.Shipments.AWB), CourierName: d.Shipments.Courier, Raw: raw}, nil
	})
}

func showOrder(ctx context.Context, c *sdk.Conn, id int64) (showData, json.RawMessage, error) {
	var ans showAnswer
	if err := call(ctx, c, http.MethodGet, "/v1/external/orders/show/"+strconv.FormatInt(id, 10), nil, &ans); err != nil {
		return showData{}, nil, err
	}
	var d showData
	if err := json.Unmarshal(ans.Data, &d); err != nil || d.ID == 0 {
		return showData{}, nil, sdk.Permanent("order %d: Shiprocket answered no order data", id)
	}
	return d, ans.Data, nil
}

// ---- loose JSON values

// flexString reads a JSON string or number as text; null and absent are
// "". Shiprocket sends ids and AWBs as either.
func flexString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// flexInt64 reads a JSON number or numeric string; anything else is 0.
func flexInt64(raw json.RawMessage) int64 {
	n, _ := strconv.ParseInt(flexString(raw), 10, 64)
	return n
}
