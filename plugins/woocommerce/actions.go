package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
)

// idempotencyMeta is the order meta key create_order stores the step's
// idempotency key under, and looks for before creating.
const idempotencyMeta = "_hub_idempotency_key"

// idempotencyScan is how many of the newest orders create_order searches
// for its idempotency key: the REST API cannot filter by meta, and a retry
// follows its first attempt closely.
const idempotencyScan = 100

// ---- get_order

type getOrderInput struct {
	ID int64 `json:"id"`
}

func (w *wc) getOrder() sdk.Action {
	return sdk.NewAction(schema.Action{
		Name: "get_order", DisplayName: "Get order", Kind: schema.KindRead, Idempotent: true,
		Description:   "Reads one order (GET /orders/{id}). An unknown id is a permanent error.",
		Input:         sdk.Object(schema.Field{Name: "id", Type: schema.Integer, Required: true, Description: "Order id."}),
		Output:        orderShape("The order."),
		ExampleInput:  sdk.JSON(map[string]any{"id": 727}),
		ExampleOutput: exampleOrder(),
	}, func(ctx context.Context, c *sdk.Conn, in getOrderInput, _ sdk.ActionCall) (json.RawMessage, error) {
		a, err := w.api(c)
		if err != nil {
			return nil, err
		}
		var order json.RawMessage
		_, err = a.do(ctx, http.MethodGet, "/orders/"+strconv.FormatInt(in.ID, 10), nil, nil, &order)
		return order, err
	})
}

// ---- search_orders

type searchInput struct {
	Status  string `json:"status"`
	Search  string `json:"search"`
	After   string `json:"after"`
	Before  string `json:"before"`
	PerPage int    `json:"per_page"`
	Page    int    `json:"page"`
}

type searchOutput struct {
	Orders     []json.RawMessage `json:"orders"`
	Total      int               `json:"total"`
	TotalPages int               `json:"total_pages"`
}

func (w *wc) searchOrders() sdk.Action {
	return sdk.NewAction(schema.Action{
		Name: "search_orders", DisplayName: "Search orders", Kind: schema.KindSearch, Idempotent: true,
		Description: "Lists orders (GET /orders), newest first, filtered by status, a search term (addresses, email, item names) and creation dates.",
		Input: sdk.Object(
			schema.Field{Name: "status", Type: schema.String, Description: "Status to match (comma-separated for several); empty means any."},
			schema.Field{Name: "search", Type: schema.String, Description: "Search term."},
			schema.Field{Name: "after", Type: schema.String, Format: schema.FormatDateTime, Description: "Only orders created after this time (RFC 3339)."},
			schema.Field{Name: "before", Type: schema.String, Format: schema.FormatDateTime, Description: "Only orders created before this time (RFC 3339)."},
			schema.Field{Name: "per_page", Type: schema.Integer, Default: sdk.JSON(10), Description: "Orders per page, 1–100."},
			schema.Field{Name: "page", Type: schema.Integer, Default: sdk.JSON(1), Description: "Page to read, from 1."},
		),
		Output: sdk.Object(
			schema.Field{Name: "orders", Type: schema.List, Items: orderShape("An order."), Description: "The page's orders."},
			schema.Field{Name: "total", Type: schema.Integer, Description: "Orders matching (X-WP-Total)."},
			schema.Field{Name: "total_pages", Type: schema.Integer, Description: "Pages of matches (X-WP-TotalPages)."},
		),
		ExampleInput:  sdk.JSON(map[string]any{"status": "processing", "search": "john.doe@example.com"}),
		ExampleOutput: sdk.JSON(map[string]any{"orders": []json.RawMessage{exampleOrder()}, "total": 1, "total_pages": 1}),
	}, func(ctx context.Context, c *sdk.Conn, in searchInput, _ sdk.ActionCall) (searchOutput, error) {
		if in.PerPage < 1 || in.PerPage > 100 || in.Page < 1 {
			return searchOutput{}, sdk.Invalid("paging out of range",
				sdk.Violation{Path: "per_page", Message: "must be between 1 and 100"}, sdk.Violation{Path: "page", Message: "must be at least 1"})
		}
		q := url.Values{"per_page": {strconv.Itoa(in.PerPage)}, "page": {strconv.Itoa(in.Page)}}
		for name, v := range map[string]string{"status": in.Status, "search": in.Search} {
			if v != "" {
				q.Set(name, v)
			}
		}
		for name, v := range map[string]string{"after": in.After, "before": in.Before} {
			if v == "" {
				continue
			}
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return searchOutput{}, sdk.Invalid("dates are RFC 3339", sdk.Violation{Path: name, Message: err.Error()})
			}
			// Sent with a zone so the shop does not read it in its own.
			q.Set(name, t.UTC().Format(time.RFC3339))
		}
		a, err := w.api(c)
		if err != nil {
			return searchOutput{}, err
		}
		out := searchOutput{Orders: []json.RawMessage{}}
		h, err := a.do(ctx, http.MethodGet, "/orders", q, nil, &out.Orders)
		if err != nil {
			return searchOutput{}, err
		}
		out.Total, _ = strconv.Atoi(h.Get("X-WP-Total"))
		out.TotalPages, _ = strconv.Atoi(h.Get("X-WP-TotalPages"))
		return out, nil
	})
}

// ---- create_order

// createInput is the docs' "create an order" body; unknown keys of the
// nested objects pass through to WooCommerce.
type createInput struct {
	Status             string            `json:"status,omitempty"`
	Currency           string            `json:"currency,omitempty"`
	CustomerID         *int64            `json:"customer_id,omitempty"`
	CustomerNote       string            `json:"customer_note,omitempty"`
	PaymentMethod      string            `json:"payment_method,omitempty"`
	PaymentMethodTitle string            `json:"payment_method_title,omitempty"`
	SetPaid            bool              `json:"set_paid"`
	Billing            json.RawMessage   `json:"billing,omitempty"`
	Shipping           json.RawMessage   `json:"shipping,omitempty"`
	LineItems          []json.RawMessage `json:"line_items"`
	ShippingLines      []json.RawMessage `json:"shipping_lines,omitempty"`
	FeeLines           []json.RawMessage `json:"fee_lines,omitempty"`
	CouponLines        []json.RawMessage `json:"coupon_lines,omitempty"`
	MetaData           []metaEntry       `json:"meta_data,omitempty"`
}

type metaEntry struct {
	ID    int64           `json:"id,omitempty"`
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

func addressFields(email bool) []schema.Field {
	fs := []schema.Field{
		str("first_name", "First name."), str("last_name", "Last name."), str("company", "Company."),
		str("address_1", "Address line 1."), str("address_2", "Address line 2."), str("city", "City."),
		str("state", "State or county code."), str("postcode", "Postal code."), str("country", "ISO 3166-1 alpha-2 country code."),
	}
	if email {
		fs = append(fs, schema.Field{Name: "email", Type: schema.String, Format: schema.FormatEmail, Description: "Email."}, str("phone", "Phone."))
	}
	return fs
}

func metaField(description string) schema.Field {
	return schema.Field{Name: "meta_data", Type: schema.List, Description: description,
		Items: ptr(looseObject("", "One custom field.",
			schema.Field{Name: "key", Type: schema.String, Required: true, Description: "Meta key."},
			schema.Field{Name: "value", Type: schema.Any, Description: "Meta value."}))}
}

func (w *wc) createOrder() sdk.Action {
	return sdk.NewAction(schema.Action{
		Name: "create_order", DisplayName: "Create order", Kind: schema.KindCreate, Idempotent: true,
		Description: "Creates an order (POST /orders). Idempotent: the step's idempotency key is stored in the order's meta_data as " + idempotencyMeta +
			", and before creating, the newest " + strconv.Itoa(idempotencyScan) + " orders are searched for it; a retry that finds its order returns it instead of creating another.",
		Input: sdk.Object(
			schema.Field{Name: "status", Type: schema.String, Description: "Initial status; WooCommerce's default is pending (processing with set_paid)."},
			str("currency", "ISO currency code; the shop's when empty."),
			schema.Field{Name: "customer_id", Type: schema.Integer, Description: "Customer user id; 0 for a guest."},
			str("customer_note", "Note left by the customer."),
			str("payment_method", "Payment method id, e.g. bacs."),
			str("payment_method_title", "Payment method title."),
			schema.Field{Name: "set_paid", Type: schema.Boolean, Default: sdk.JSON(false), Description: "Mark the order paid (status processing, stock reduced)."},
			looseObject("billing", "Billing address, email and phone.", addressFields(true)...),
			looseObject("shipping", "Shipping address.", addressFields(false)...),
			schema.Field{Name: "line_items", Type: schema.List, Required: true, Description: "Products ordered: product_id (and variation_id) or sku, and quantity.",
				Items: ptr(looseObject("", "One line.",
					integer("product_id", "Product id."),
					integer("variation_id", "Variation id."),
					str("sku", "Product or variation SKU, instead of the ids."),
					schema.Field{Name: "quantity", Type: schema.Integer, Required: true, Description: "Quantity."}))},
			schema.Field{Name: "shipping_lines", Type: schema.List, Description: "Shipping methods.",
				Items: ptr(looseObject("", "One shipping method.", str("method_id", "Method id, e.g. flat_rate."), str("method_title", "Title."), str("total", "Cost as a decimal string.")))},
			schema.Field{Name: "fee_lines", Type: schema.List, Items: ptr(looseObject("", "One fee.")), Description: "Fees."},
			schema.Field{Name: "coupon_lines", Type: schema.List, Items: ptr(looseObject("", "One coupon.")), Description: "Coupons."},
			metaField("Custom fields to set ("+idempotencyMeta+" is added)."),
		),
		Output: orderShape("The created order (or the one an earlier attempt created)."),
		ExampleInput: sdk.JSON(map[string]any{
			"payment_method": "bacs", "payment_method_title": "Direct Bank Transfer", "set_paid": true,
			"billing":    map[string]any{"first_name": "John", "last_name": "Doe", "email": "john.doe@example.com"},
			"line_items": []any{map[string]any{"product_id": 93, "quantity": 2}},
		}),
		ExampleOutput: exampleOrder(),
	}, w.createOrderHandler)
}

func (w *wc) createOrderHandler(ctx context.Context, c *sdk.Conn, in createInput, call sdk.ActionCall) (json.RawMessage, error) {
	a, err := w.api(c)
	if err != nil {
		return nil, err
	}
	if call.IdempotencyKey != "" {
		found, err := findByIdempotencyKey(ctx, a, call.IdempotencyKey)
		if err != nil || found != nil {
			return found, err
		}
		value, _ := json.Marshal(call.IdempotencyKey)
		in.MetaData = append(in.MetaData, metaEntry{Key: idempotencyMeta, Value: value})
	}
	var order json.RawMessage
	_, err = a.do(ctx, http.MethodPost, "/orders", nil, in, &order)
	return order, err
}

// findByIdempotencyKey returns the newest order carrying key in its meta,
// or nil.
func findByIdempotencyKey(ctx context.Context, a *api, key string) (json.RawMessage, error) {
	q := url.Values{"orderby": {"date"}, "order": {"desc"}, "per_page": {strconv.Itoa(idempotencyScan)}}
	var orders []json.RawMessage
	if _, err := a.do(ctx, http.MethodGet, "/orders", q, nil, &orders); err != nil {
		return nil, err
	}
	for _, raw := range orders {
		var head orderHead
		if json.Unmarshal(raw, &head) != nil {
			continue
		}
		for _, m := range head.MetaData {
			var v string
			if m.Key == idempotencyMeta && json.Unmarshal(m.Value, &v) == nil && v == key {
				return raw, nil
			}
		}
	}
	return nil, nil
}

// ---- update_order

type updateInput struct {
	ID             int64       `json:"id"`
	Status         string      `json:"status"`
	CustomerNote   *string     `json:"customer_note"`
	Note           string      `json:"note"`
	NoteToCustomer bool        `json:"note_to_customer"`
	MetaData       []metaEntry `json:"meta_data"`
}

type updateOutput struct {
	Order json.RawMessage `json:"order"`
	// NoteID is the id of the note added, 0 when none was.
	NoteID int64 `json:"note_id"`
}

type noteBody struct {
	ID           int64  `json:"id,omitempty"`
	Note         string `json:"note"`
	CustomerNote bool   `json:"customer_note"`
}

func (w *wc) updateOrder() sdk.Action {
	return sdk.NewAction(schema.Action{
		Name: "update_order", DisplayName: "Update order", Kind: schema.KindUpdate, Idempotent: true,
		Description: "Sets an order's status, customer note and meta_data (PUT /orders/{id}) and adds a note when given (POST /orders/{id}/notes). " +
			"A note is not added again when the order's newest note already has the same text, so a retried attempt adds it once.",
		Input: sdk.Object(
			schema.Field{Name: "id", Type: schema.Integer, Required: true, Description: "Order id."},
			schema.Field{Name: "status", Type: schema.String, Description: "New status: pending, processing, on-hold, completed, cancelled, refunded or failed (or a custom status the shop registers)."},
			str("customer_note", "Replace the customer's note."),
			str("note", "Text of an order note to add."),
			schema.Field{Name: "note_to_customer", Type: schema.Boolean, Default: sdk.JSON(false), Description: "Make the note visible to (and emailed to) the customer."},
			metaField("Custom fields to set: an entry with a key replaces that key's value."),
		),
		Output: sdk.Object(
			schema.Field{Name: "order", Type: schema.Object, AdditionalProperties: true, Properties: orderShape("").Properties, Description: "The order after the update."},
			integer("note_id", "Id of the note added; 0 when none was."),
		),
		ExampleInput:  sdk.JSON(map[string]any{"id": 727, "status": "completed", "note": "Delivered by the carrier."}),
		ExampleOutput: sdk.JSON(map[string]any{"order": exampleOrder(), "note_id": 281}),
	}, w.updateOrderHandler)
}

func (w *wc) updateOrderHandler(ctx context.Context, c *sdk.Conn, in updateInput, _ sdk.ActionCall) (updateOutput, error) {
	a, err := w.api(c)
	if err != nil {
		return updateOutput{}, err
	}
	path := "/orders/" + strconv.FormatInt(in.ID, 10)
	var out updateOutput
	body := map[string]any{}
	if in.Status != "" {
		body["status"] = in.Status
	}
	if in.CustomerNote != nil {
		body["customer_note"] = *in.CustomerNote
	}
	if len(in.MetaData) > 0 {
		body["meta_data"] = in.MetaData
	}
	if len(body) > 0 {
		if _, err := a.do(ctx, http.MethodPut, path, nil, body, &out.Order); err != nil {
			return updateOutput{}, err
		}
	}
	if note := strings.TrimSpace(in.Note); note != "" {
		var notes []noteBody
		if _, err := a.do(ctx, http.MethodGet, path+"/notes", nil, nil, &notes); err != nil {
			return updateOutput{}, err
		}
		// Notes are listed newest first.
		if len(notes) > 0 && notes[0].Note == note && notes[0].CustomerNote == in.NoteToCustomer {
			out.NoteID = notes[0].ID
		} else {
			var added noteBody
			if _, err := a.do(ctx, http.MethodPost, path+"/notes", nil, noteBody{Note: note, CustomerNote: in.NoteToCustomer}, &added); err != nil {
				return updateOutput{}, err
			}
			out.NoteID = added.ID
		}
	}
	if out.Order == nil {
		if _, err := a.do(ctx, http.MethodGet, path, nil, nil, &out.Order); err != nil {
			return updateOutput{}, err
		}
	}
	return out, nil
}

// ---- update_stock

type stockInput struct {
	ProductID int64  `json:"product_id"`
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
}

type stockOutput struct {
	ProductID     int64  `json:"product_id"`
	VariationID   int64  `json:"variation_id"`
	SKU           string `json:"sku"`
	StockQuantity int64  `json:"stock_quantity"`
	StockStatus   string `json:"stock_status"`
}

// product is the part of a product or variation update_stock reads.
type product struct {
	ID            int64  `json:"id"`
	Type          string `json:"type"`
	ParentID      int64  `json:"parent_id"`
	SKU           string `json:"sku"`
	StockQuantity *int64 `json:"stock_quantity"`
	StockStatus   string `json:"stock_status"`
}

func (w *wc) updateStock() sdk.Action {
	return sdk.NewAction(schema.Action{
		Name: "update_stock", DisplayName: "Update stock", Kind: schema.KindUpdate, Idempotent: true,
		Description: "Sets a product's or variation's stock quantity and turns stock management on. The item is given by product_id, or by sku " +
			"(GET /products?sku=, which finds variations too); a variation is updated through /products/{parent}/variations/{id}.",
		Input: sdk.Object(
			integer("product_id", "Product or variation id; give this or sku."),
			str("sku", "SKU of the product or variation; give this or product_id."),
			schema.Field{Name: "quantity", Type: schema.Integer, Required: true, Description: "Stock quantity to set."},
		),
		Output: sdk.Object(
			integer("product_id", "Product id (the parent of a variation)."),
			integer("variation_id", "Variation id; 0 for a product."),
			str("sku", "The item's SKU."),
			integer("stock_quantity", "Stock quantity now."),
			str("stock_status", "instock, outofstock or onbackorder."),
		),
		ExampleInput:  sdk.JSON(map[string]any{"sku": "Bar3", "quantity": 12}),
		ExampleOutput: sdk.JSON(map[string]any{"product_id": 22, "variation_id": 23, "sku": "Bar3", "stock_quantity": 12, "stock_status": "instock"}),
	}, w.updateStockHandler)
}

func (w *wc) updateStockHandler(ctx context.Context, c *sdk.Conn, in stockInput, _ sdk.ActionCall) (stockOutput, error) {
	if (in.ProductID == 0) == (in.SKU == "") {
		return stockOutput{}, sdk.Invalid("give product_id or sku, not both",
			sdk.Violation{Path: "product_id", Message: "exactly one of product_id and sku"}, sdk.Violation{Path: "sku", Message: "exactly one of product_id and sku"})
	}
	if strings.Contains(in.SKU, ",") {
		// The sku filter splits on commas.
		return stockOutput{}, sdk.Invalid("sku cannot contain a comma", sdk.Violation{Path: "sku", Message: "contains a comma"})
	}
	a, err := w.api(c)
	if err != nil {
		return stockOutput{}, err
	}
	var p product
	if in.ProductID != 0 {
		if _, err := a.do(ctx, http.MethodGet, "/products/"+strconv.FormatInt(in.ProductID, 10), nil, nil, &p); err != nil {
			return stockOutput{}, err
		}
	} else {
		var found []product
		if _, err := a.do(ctx, http.MethodGet, "/products", url.Values{"sku": {in.SKU}}, nil, &found); err != nil {
			return stockOutput{}, err
		}
		var exact []product
		for _, f := range found {
			if f.SKU == in.SKU {
				exact = append(exact, f)
			}
		}
		switch len(exact) {
		case 0:
			return stockOutput{}, sdk.Invalid("no product or variation has this sku", sdk.Violation{Path: "sku", Message: "not found: " + in.SKU})
		case 1:
			p = exact[0]
		default:
			return stockOutput{}, sdk.Invalid("several products have this sku", sdk.Violation{Path: "sku", Message: strconv.Itoa(len(exact)) + " matches"})
		}
	}
	path := "/products/" + strconv.FormatInt(p.ID, 10)
	if p.Type == "variation" {
		path = "/products/" + strconv.FormatInt(p.ParentID, 10) + "/variations/" + strconv.FormatInt(p.ID, 10)
	}
	var updated product
	body := map[string]any{"manage_stock": true, "stock_quantity": in.Quantity}
	if _, err := a.do(ctx, http.MethodPut, path, nil, body, &updated); err != nil {
		return stockOutput{}, err
	}
	if updated.StockQuantity == nil || *updated.StockQuantity != in.Quantity {
		// WooCommerce ignores stock fields when the shop's stock
		// management is off; say so rather than report success.
		return stockOutput{}, fault.Permanentf("PUT %s: stock_quantity was not set (is stock management enabled in WooCommerce → Settings → Products → Inventory?)", path)
	}
	out := stockOutput{ProductID: updated.ID, SKU: updated.SKU, StockQuantity: *updated.StockQuantity, StockStatus: updated.StockStatus}
	if p.Type == "variation" {
		out.ProductID, out.VariationID = p.ParentID, updated.ID
	}
	return out, nil
}
