package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

// ---- get_order

type getOrderInput struct {
	ID json.Number `json:"id"`
}

func getOrderAction() sdk.Action {
	return sdk.NewAction(schema.Action{
		Name: "get_order", DisplayName: "Get order", Kind: schema.KindRead, Idempotent: true,
		Description: "Reads one order by id (GET /orders/<id>.json). An id the shop does not have is invalid input.",
		Input: sdk.Object(
			schema.Field{Name: "id", Type: schema.Integer, Required: true, Description: "The order's id."},
		),
		Output:        orderShape(),
		ExampleInput:  sdk.JSON(map[string]any{"id": 450789469}),
		ExampleOutput: exampleOrder(),
	}, func(ctx context.Context, c *sdk.Conn, in getOrderInput, _ sdk.ActionCall) (json.RawMessage, error) {
		a, err := newAPI(c)
		if err != nil {
			return nil, err
		}
		return a.order(ctx, in.ID.String(), "id")
	})
}

// order reads one order; path names the input field carrying its id, for
// the error when there is no such order.
func (a *api) order(ctx context.Context, id, path string) (json.RawMessage, error) {
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return nil, sdk.Invalid("order id is not a number", sdk.Violation{Path: path, Message: "expected an integer id"})
	}
	var out struct {
		Order json.RawMessage `json:"order"`
	}
	_, err := a.call(ctx, http.MethodGet, a.endpoint("orders/"+id+".json", nil), nil, &out)
	if notFound(err) {
		return nil, sdk.Invalid("no such order", sdk.Violation{Path: path, Message: "the shop has no order " + id})
	}
	if err != nil {
		return nil, err
	}
	if len(out.Order) == 0 {
		return nil, sdk.Retryable("GET order %s: the answer has no order", id)
	}
	return out.Order, nil
}

// ---- search_orders

type searchOrdersInput struct {
	Status          string `json:"status"`
	Name            string `json:"name"`
	Email           string `json:"email"`
	FinancialStatus string `json:"financial_status"`
	CreatedAtMin    string `json:"created_at_min"`
	Limit           int    `json:"limit"`
}

type searchOrdersOutput struct {
	Orders []json.RawMessage `json:"orders"`
	Count  int               `json:"count"`
}

// maxSearchPages bounds how many pages an email search reads, since
// Shopify's REST orders list cannot filter by email itself.
const maxSearchPages = 10

func searchOrdersAction() sdk.Action {
	return sdk.NewAction(schema.Action{
		Name: "search_orders", DisplayName: "Search orders", Kind: schema.KindSearch, Idempotent: true,
		Description: "Lists orders matching the filters, newest first (GET /orders.json). Shopify filters by status, name, financial_status and created_at_min; email is matched by the connector on up to 10 pages of 250 orders, so narrow it with created_at_min on a large shop.",
		Input: sdk.Object(
			schema.Field{Name: "status", Type: schema.String, Default: sdk.JSON("any"), Enum: sdk.Enum("any", "open", "closed", "cancelled"), Description: "Open/closed/cancelled state."},
			schema.Field{Name: "name", Type: schema.String, Description: `The order name, e.g. "#1001" or "1001".`},
			schema.Field{Name: "email", Type: schema.String, Description: "The customer's email (compared without regard to case)."},
			schema.Field{Name: "financial_status", Type: schema.String, Description: "Payment state, e.g. paid, pending, refunded, or unpaid."},
			schema.Field{Name: "created_at_min", Type: schema.String, Format: schema.FormatDateTime, Description: "Only orders created at or after this time."},
			schema.Field{Name: "limit", Type: schema.Integer, Default: sdk.JSON(50), Description: "The most orders to return, 1 to 250."},
		),
		Output: sdk.Object(
			schema.Field{Name: "orders", Type: schema.List, Items: orderShape(), Description: "The matching orders."},
			schema.Field{Name: "count", Type: schema.Integer, Description: "How many were returned."},
		),
		ExampleInput:  sdk.JSON(map[string]any{"name": "#1001"}),
		ExampleOutput: sdk.JSON(map[string]any{"orders": []json.RawMessage{exampleOrder()}, "count": 1}),
	}, searchOrders)
}

func searchOrders(ctx context.Context, c *sdk.Conn, in searchOrdersInput, _ sdk.ActionCall) (searchOrdersOutput, error) {
	if in.Limit < 1 || in.Limit > maxPageSize {
		return searchOrdersOutput{}, sdk.Invalid("limit out of range", sdk.Violation{Path: "limit", Message: "must be between 1 and 250"})
	}
	a, err := newAPI(c)
	if err != nil {
		return searchOrdersOutput{}, err
	}
	q := url.Values{"status": {in.Status}, "limit": {strconv.Itoa(in.Limit)}}
	if in.Email != "" {
		q.Set("limit", strconv.Itoa(maxPageSize))
	}
	for k, v := range map[string]string{"name": in.Name, "financial_status": in.FinancialStatus, "created_at_min": in.CreatedAtMin} {
		if v != "" {
			q.Set(k, v)
		}
	}
	out := searchOrdersOutput{Orders: []json.RawMessage{}}
	target := a.endpoint("orders.json", q)
	for pages := 0; target != "" && pages < maxSearchPages && len(out.Orders) < in.Limit; pages++ {
		var page struct {
			Orders []json.RawMessage `json:"orders"`
		}
		h, err := a.call(ctx, http.MethodGet, target, nil, &page)
		if err != nil {
			return searchOrdersOutput{}, err
		}
		for _, o := range page.Orders {
			if len(out.Orders) < in.Limit && (in.Email == "" || hasEmail(o, in.Email)) {
				out.Orders = append(out.Orders, o)
			}
		}
		target = ""
		if in.Email != "" {
			target = nextLink(h)
		}
	}
	out.Count = len(out.Orders)
	return out, nil
}

// hasEmail reports whether an order belongs to email.
func hasEmail(raw json.RawMessage, email string) bool {
	var o struct {
		Email        string `json:"email"`
		ContactEmail string `json:"contact_email"`
		Customer     *struct {
			Email string `json:"email"`
		} `json:"customer"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return false
	}
	if o.Customer != nil && strings.EqualFold(o.Customer.Email, email) {
		return true
	}
	return strings.EqualFold(o.Email, email) || strings.EqualFold(o.ContactEmail, email)
}

// ---- create_order

type lineInput struct {
	VariantID json.Number `json:"variant_id"`
	SKU       string      `json:"sku"`
	Title     string      `json:"title"`
	Price     string      `json:"price"`
	Quantity  int         `json:"quantity"`
}

type createOrderInput struct {
	LineItems       []lineInput     `json:"line_items"`
	Email           string          `json:"email"`
	Customer        json.RawMessage `json:"customer"`
	ShippingAddress json.RawMessage `json:"shipping_address"`
	FinancialStatus string          `json:"financial_status"`
	Tags            string          `json:"tags"`
	Note            string          `json:"note"`
	SendReceipt     bool            `json:"send_receipt"`
}

// idempotencyTagPrefix starts the tag that marks an order with the step
// that created it.
const idempotencyTagPrefix = "hub-"

// idempotencyLookback is how far back create_order looks for an order a
// previous attempt of the same step created. Attempts of one step happen
// within the host's retry budget, which is far shorter.
const idempotencyLookback = 30 * 24 * time.Hour

func createOrderAction() sdk.Action {
	addressOrCustomer := func(name, desc string) schema.Field {
		return schema.Field{Name: name, Type: schema.Object, AdditionalProperties: true, Description: desc}
	}
	return sdk.NewAction(schema.Action{
		Name: "create_order", DisplayName: "Create order", Kind: schema.KindCreate, Idempotent: true,
		Description: "Creates an order (POST /orders.json). Shopify takes no idempotency key here, so the order is tagged hub-<hash of the step's idempotency key>, and a retried step first looks for an order this app created with that tag (GET /orders.json?attribution_app_id=current) and returns it instead of creating another. A line given only by sku is resolved to its variant.",
		Input: sdk.Object(
			schema.Field{Name: "line_items", Type: schema.List, Required: true, Description: "What was bought.", Items: sdk.Object(
				schema.Field{Name: "variant_id", Type: schema.Integer, Description: "The variant bought."},
				schema.Field{Name: "sku", Type: schema.String, Description: "The variant's SKU, when variant_id is not known; or the SKU of a custom item."},
				schema.Field{Name: "title", Type: schema.String, Description: "Title of a custom item (no variant)."},
				schema.Field{Name: "price", Type: schema.String, Description: `Unit price of a custom item, e.g. "19.99".`},
				schema.Field{Name: "quantity", Type: schema.Integer, Required: true, Description: "How many."},
			)},
			schema.Field{Name: "email", Type: schema.String, Format: schema.FormatEmail, Description: "The customer's email."},
			addressOrCustomer("customer", "The customer: first_name, last_name, email, or id of an existing one."),
			addressOrCustomer("shipping_address", "Where to ship: first_name, last_name, address1, city, zip, country_code, phone…"),
			schema.Field{Name: "financial_status", Type: schema.String, Default: sdk.JSON("pending"),
				Enum: sdk.Enum("pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided"), Description: "Payment state to record."},
			schema.Field{Name: "tags", Type: schema.String, Description: "Comma-separated tags."},
			schema.Field{Name: "note", Type: schema.String, Description: "A note on the order."},
			schema.Field{Name: "send_receipt", Type: schema.Boolean, Default: sdk.JSON(false), Description: "Email the customer an order confirmation."},
		),
		Output:        orderShape(),
		ExampleInput:  sdk.JSON(map[string]any{"line_items": []any{map[string]any{"sku": "IPOD2008GREEN", "quantity": 1}}, "email": "bob.norman@mail.example.com", "financial_status": "paid"}),
		ExampleOutput: exampleOrder(),
	}, createOrder)
}

func createOrder(ctx context.Context, c *sdk.Conn, in createOrderInput, call sdk.ActionCall) (json.RawMessage, error) {
	if len(in.LineItems) == 0 {
		return nil, sdk.Invalid("an order needs a line", sdk.Violation{Path: "line_items", Message: "at least one line is required"})
	}
	a, err := newAPI(c)
	if err != nil {
		return nil, err
	}
	tag := idempotencyTag(call.IdempotencyKey)
	if tag != "" {
		if id, err := a.appOrderTagged(ctx, tag); err != nil {
			return nil, err
		} else if id != "" {
			c.Logger().Info("create_order: an earlier attempt created the order", "order", id)
			return a.order(ctx, id, "line_items")
		}
	}
	lines := make([]map[string]any, 0, len(in.LineItems))
	for i, l := range in.LineItems {
		line, err := a.orderLine(ctx, l, "line_items["+strconv.Itoa(i)+"]")
		if err != nil {
			return nil, err
		}
		lines = append(lines, line)
	}
	order := map[string]any{"line_items": lines, "financial_status": in.FinancialStatus, "send_receipt": in.SendReceipt,
		"tags": joinTags(splitTags(in.Tags), tag)}
	if in.Email != "" {
		order["email"] = in.Email
	}
	if in.Note != "" {
		order["note"] = in.Note
	}
	if len(in.Customer) > 0 && string(in.Customer) != "null" {
		order["customer"] = in.Customer
	}
	if len(in.ShippingAddress) > 0 && string(in.ShippingAddress) != "null" {
		order["shipping_address"] = in.ShippingAddress
	}
	var out struct {
		Order json.RawMessage `json:"order"`
	}
	if _, err := a.call(ctx, http.MethodPost, a.endpoint("orders.json", nil), map[string]any{"order": order}, &out); err != nil {
		return nil, err
	}
	if len(out.Order) == 0 {
		return nil, sdk.Retryable("POST orders.json: the answer has no order")
	}
	return out.Order, nil
}

// orderLine builds one REST order line from the input.
func (a *api) orderLine(ctx context.Context, l lineInput, path string) (map[string]any, error) {
	if l.Quantity < 1 {
		return nil, sdk.Invalid("quantity must be positive", sdk.Violation{Path: path + ".quantity", Message: "must be at least 1"})
	}
	switch {
	case l.VariantID != "":
		return map[string]any{"variant_id": l.VariantID, "quantity": l.Quantity}, nil
	case l.Title != "":
		if l.Price == "" {
			return nil, sdk.Invalid("a custom line needs a price", sdk.Violation{Path: path + ".price", Message: "required with title"})
		}
		line := map[string]any{"title": l.Title, "price": l.Price, "quantity": l.Quantity}
		if l.SKU != "" {
			line["sku"] = l.SKU
		}
		return line, nil
	case l.SKU != "":
		hit, err := a.variantBySKU(ctx, l.SKU)
		if err != nil {
			return nil, err
		}
		if hit == nil {
			return nil, sdk.Invalid("no variant has this sku", sdk.Violation{Path: path + ".sku", Message: "the shop has no variant with sku " + strconv.Quote(l.SKU)})
		}
		return map[string]any{"variant_id": hit.VariantID, "quantity": l.Quantity}, nil
	}
	return nil, sdk.Invalid("a line needs variant_id, sku, or title and price", sdk.Violation{Path: path, Message: "give variant_id, sku, or title and price"})
}

// idempotencyTag is the tag marking the order a step created: short, as
// Shopify limits tags to 40 characters, and free of the key's own text.
func idempotencyTag(key string) string {
	if key == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(key))
	return idempotencyTagPrefix + hex.EncodeToString(sum[:12])
}

// appOrderTagged returns the id of an order this app created recently that
// carries tag, or "".
func (a *api) appOrderTagged(ctx context.Context, tag string) (string, error) {
	q := url.Values{"status": {"any"}, "attribution_app_id": {"current"}, "fields": {"id,tags"}, "limit": {strconv.Itoa(maxPageSize)},
		"created_at_min": {time.Now().Add(-idempotencyLookback).UTC().Format(time.RFC3339)}}
	target := a.endpoint("orders.json", q)
	for target != "" {
		var page struct {
			Orders []struct {
				ID   json.Number `json:"id"`
				Tags string      `json:"tags"`
			} `json:"orders"`
		}
		h, err := a.call(ctx, http.MethodGet, target, nil, &page)
		if err != nil {
			return "", err
		}
		for _, o := range page.Orders {
			if slices.Contains(splitTags(o.Tags), tag) {
				return o.ID.String(), nil
			}
		}
		target = nextLink(h)
	}
	return "", nil
}

// ---- update_order

type updateOrderInput struct {
	ID   json.Number `json:"id"`
	Tags string      `json:"tags"`
	Note *string     `json:"note"`
}

// maxTagLength is Shopify's limit on one tag.
const maxTagLength = 40

func updateOrderAction() sdk.Action {
	return sdk.NewAction(schema.Action{
		Name: "update_order", DisplayName: "Tag / update order", Kind: schema.KindUpdate, Idempotent: true,
		Description: "Adds tags to an order (keeping those it has) and/or replaces its note (PUT /orders/<id>.json). When the order already has the tags and note, nothing is sent, so the order's updated_at does not move and no orders/updated webhook fires.",
		Input: sdk.Object(
			schema.Field{Name: "id", Type: schema.Integer, Required: true, Description: "The order's id."},
			schema.Field{Name: "tags", Type: schema.String, Description: `Comma-separated tags to add, e.g. "Ready to ship, priority".`},
			schema.Field{Name: "note", Type: schema.String, Description: "The order's new note; an empty string clears it."},
		),
		Output:        orderShape(),
		ExampleInput:  sdk.JSON(map[string]any{"id": 450789469, "tags": "Ready to ship"}),
		ExampleOutput: exampleOrder(),
	}, updateOrder)
}

func updateOrder(ctx context.Context, c *sdk.Conn, in updateOrderInput, _ sdk.ActionCall) (json.RawMessage, error) {
	add := splitTags(in.Tags)
	if len(add) == 0 && in.Note == nil {
		return nil, sdk.Invalid("nothing to update", sdk.Violation{Path: "tags", Message: "give tags to add or a note"})
	}
	for _, t := range add {
		if len(t) > maxTagLength {
			return nil, sdk.Invalid("tag too long", sdk.Violation{Path: "tags", Message: "tag " + strconv.Quote(t) + " is longer than 40 characters"})
		}
	}
	a, err := newAPI(c)
	if err != nil {
		return nil, err
	}
	current, err := a.order(ctx, in.ID.String(), "id")
	if err != nil {
		return nil, err
	}
	var have struct {
		Tags string  `json:"tags"`
		Note *string `json:"note"`
	}
	if err := json.Unmarshal(current, &have); err != nil {
		return nil, sdk.Retryable("read order %s: %v", in.ID, err)
	}
	tags := splitTags(have.Tags)
	changed := false
	for _, t := range add {
		if !containsFold(tags, t) {
			tags, changed = append(tags, t), true
		}
	}
	body := map[string]any{"id": in.ID}
	if changed {
		body["tags"] = joinTags(tags)
	}
	if in.Note != nil && (have.Note == nil && *in.Note != "" || have.Note != nil && *have.Note != *in.Note) {
		body["note"], changed = *in.Note, true
	}
	if !changed {
		return current, nil
	}
	var out struct {
		Order json.RawMessage `json:"order"`
	}
	if _, err := a.call(ctx, http.MethodPut, a.endpoint("orders/"+in.ID.String()+".json", nil), map[string]any{"order": body}, &out); err != nil {
		return nil, err
	}
	if len(out.Order) == 0 {
		return nil, sdk.Retryable("PUT order %s: the answer has no order", in.ID)
	}
	return out.Order, nil
}

// splitTags reads Shopify's comma-separated tags.
func splitTags(s string) []string {
	var out []string
	for t := range strings.SplitSeq(s, ",") {
		if t = strings.TrimSpace(t); t != "" && !containsFold(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// joinTags writes tags as Shopify does, skipping empty ones.
func joinTags(tags []string, more ...string) string {
	var out []string
	for _, t := range append(slices.Clone(tags), more...) {
		if t != "" {
			out = append(out, t)
		}
	}
	return strings.Join(out, ", ")
}

// containsFold: Shopify treats tags that differ only in case as one.
func containsFold(tags []string, t string) bool {
	return slices.ContainsFunc(tags, func(x string) bool { return strings.EqualFold(x, t) })
}
