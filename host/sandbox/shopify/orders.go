package shopify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// NewOrder is an order to create: what a customer checks out with
// (PlaceOrder) or what an app sends to POST /orders.json.
type NewOrder struct {
	Email           string
	FirstName       string
	LastName        string
	LineItems       []NewLineItem
	FinancialStatus string
	Tags            string
	Note            string
	ShippingAddress *Address
}

// NewLineItem is one line of a NewOrder: a catalogue variant (by VariantID
// or SKU), or a custom item with Title and Price.
type NewLineItem struct {
	VariantID int64
	SKU       string
	Title     string
	Price     string
	Quantity  int
}

// PlaceOrder creates an order as a customer checking out would (source
// "web", no app), and delivers orders/create to the subscribed addresses.
// Without a financial status the order is paid.
func (s *Sim) PlaceOrder(ctx context.Context, in NewOrder) (Order, error) {
	if in.FinancialStatus == "" {
		in.FinancialStatus = "paid"
	}
	s.mu.Lock()
	o, err := buildOrder(s.st, in, s.opts.Now())
	if err != nil {
		s.mu.Unlock()
		return Order{}, err
	}
	o.SourceName = "web"
	s.addOrder(o)
	out := *o
	pending := s.queue("orders/create", o)
	s.mu.Unlock()
	s.send(ctx, pending)
	return out, nil
}

// Order returns the order with id as the API would show it.
func (s *Sim) Order(id int64) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.st.orders[id]
	if !ok {
		return Order{}, false
	}
	return *o, true
}

// Orders returns every order, by id.
func (s *Sim) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Order
	for _, o := range sortedOrders(s.st) {
		out = append(out, *o)
	}
	return out
}

// errNoLines and friends are why an order cannot be built.
var errNoLines = errors.New("must have at least one line item")

// buildOrder makes an order from in at time at, with the next id and number;
// the caller holds s.mu and adds it.
func buildOrder(st *state, in NewOrder, at time.Time) (*Order, error) {
	// Shopify keeps timestamps to the second.
	at = at.Truncate(time.Second)
	if len(in.LineItems) == 0 {
		return nil, errNoLines
	}
	st.nextID++
	st.nextNumber++
	id := st.nextID
	currency := "USD"
	o := &Order{
		ID: id, AdminGraphQLAPIID: gid("Order", id), Confirmed: true, CreatedAt: stamp(at), Currency: currency,
		Email: in.Email, FinancialStatus: in.FinancialStatus, Number: st.nextNumber, OrderNumber: 1000 + st.nextNumber,
		Name: "#" + strconv.Itoa(1000+st.nextNumber), NoteAttributes: []NameValue{}, PresentmentCurrency: currency,
		ProcessedAt: stamp(at), UpdatedAt: stamp(at), Tags: normalizeTags(in.Tags), TotalDiscounts: "0.00",
		TotalTax: "0.00", CurrentTotalTax: "0.00", Fulfillments: []Fulfillment{}, Refunds: []any{}, ShippingLines: []any{},
		Token: fmt.Sprintf("%032x", id), created: at, updated: at,
	}
	o.OrderStatusURL = fmt.Sprintf("https://sandbox.example/%d/orders/%s/authenticate", shopID, o.Token)
	if in.Email != "" {
		o.ContactEmail = ptr(in.Email)
	}
	if in.Note != "" {
		o.Note = ptr(in.Note)
	}
	if o.FinancialStatus == "" {
		o.FinancialStatus = "pending"
	}
	var total int64
	for i, l := range in.LineItems {
		li, err := buildLine(st, l, currency)
		if err != nil {
			return nil, fmt.Errorf("line_items[%d]: %w", i, err)
		}
		price, _ := parseCents(li.Price)
		total += price * int64(li.Quantity)
		o.TotalWeight += li.Grams * li.Quantity
		o.LineItems = append(o.LineItems, li)
	}
	amount := cents(total)
	o.SubtotalPrice, o.TotalLineItemsPrice, o.TotalPrice = amount, amount, amount
	o.CurrentSubtotalPrice, o.CurrentTotalPrice = amount, amount
	o.SubtotalPriceSet, o.TotalPriceSet = moneySet(amount, currency), moneySet(amount, currency)
	o.TotalOutstanding = amount
	if o.FinancialStatus == "paid" {
		o.TotalOutstanding = "0.00"
	}
	addr := seedAddress
	if in.ShippingAddress != nil {
		addr = *in.ShippingAddress
	} else {
		addr.FirstName, addr.LastName, addr.Name = in.FirstName, in.LastName, strings.TrimSpace(in.FirstName+" "+in.LastName)
	}
	o.ShippingAddress, o.BillingAddress = &addr, ptr(addr)
	if in.Email != "" || in.FirstName != "" || in.LastName != "" {
		o.Customer = customerFor(st, in, at)
	}
	return o, nil
}

func buildLine(st *state, l NewLineItem, currency string) (LineItem, error) {
	if l.Quantity <= 0 {
		return LineItem{}, errors.New("quantity must be greater than 0")
	}
	st.nextID++
	li := LineItem{
		ID: st.nextID, AdminGraphQLAPIID: gid("LineItem", st.nextID), CurrentQuantity: l.Quantity,
		FulfillableQuantity: l.Quantity, FulfillmentService: "manual", Quantity: l.Quantity, RequiresShipping: true,
		Taxable: true, TotalDiscount: "0.00", Properties: []NameValue{}, TaxLines: []any{}, Duties: []any{},
		DiscountAllocations: []any{},
	}
	var v *Variant
	var p *Product
	switch {
	case l.VariantID != 0:
		if v, p = variantByID(st, l.VariantID); v == nil {
			return LineItem{}, fmt.Errorf("variant %d does not exist", l.VariantID)
		}
	case l.SKU != "" && l.Title == "":
		if v, p = variantBySKU(st, l.SKU); v == nil {
			return LineItem{}, fmt.Errorf("no variant has sku %q", l.SKU)
		}
	}
	if v != nil {
		li.ProductExists, li.ProductID, li.VariantID = true, ptr(p.ID), ptr(v.ID)
		li.Title, li.VariantTitle, li.Name = p.Title, ptr(v.Title), p.Title+" - "+v.Title
		li.SKU, li.Price, li.Grams, li.Vendor = v.SKU, v.Price, v.Grams, ptr(p.Vendor)
		li.VariantInventoryManagement, li.inventoryItemID = ptr("shopify"), v.InventoryItemID
	} else {
		if l.Title == "" {
			return LineItem{}, errors.New("title can't be blank for a custom line item")
		}
		c, ok := parseCents(l.Price)
		if !ok {
			return LineItem{}, fmt.Errorf("price %q is not an amount", l.Price)
		}
		li.Title, li.Name, li.SKU, li.Price = l.Title, l.Title, l.SKU, cents(c)
	}
	li.PriceSet = moneySet(li.Price, currency)
	return li, nil
}

func customerFor(st *state, in NewOrder, at time.Time) *Customer {
	key := strings.ToLower(in.Email)
	if c, ok := st.customers[key]; ok && key != "" {
		return ptr(*c)
	}
	st.nextID++
	c := &Customer{ID: st.nextID, Email: in.Email, FirstName: in.FirstName, LastName: in.LastName, State: "disabled",
		Currency: "USD", CreatedAt: stamp(at), UpdatedAt: stamp(at), AdminGraphQLAPIID: gid("Customer", st.nextID)}
	if key != "" {
		st.customers[key] = c
	}
	return ptr(*c)
}

// parseCents reads a decimal amount such as "199.00" or "5".
func parseCents(s string) (int64, bool) {
	whole, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	if len(frac) > 2 {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || w < 0 {
		return 0, false
	}
	return w*100 + f, true
}

// normalizeTags writes tags as Shopify stores them: trimmed, deduplicated,
// joined by ", ".
func normalizeTags(s string) string {
	var out []string
	for t := range strings.SplitSeq(s, ",") {
		t = strings.TrimSpace(t)
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return strings.Join(out, ", ")
}

// addOrder stores o with its fulfillment order; the caller holds s.mu.
func (s *Sim) addOrder(o *Order) {
	s.st.orders[o.ID] = o
	openFulfillmentOrder(s.st, o)
}

// ---- GET /orders.json

// orderFilterParams are the query parameters that filter a list; a
// page_info request may carry none of them (only limit and fields).
var orderFilterParams = []string{"ids", "since_id", "created_at_min", "created_at_max", "updated_at_min", "updated_at_max",
	"processed_at_min", "processed_at_max", "attribution_app_id", "name", "status", "financial_status", "fulfillment_status", "order"}

func (s *Sim) listOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := pageLimit(w, q)
	if !ok {
		return
	}
	filters, after, ok := pageQuery(w, q, orderFilterParams)
	if !ok {
		return
	}
	s.mu.Lock()
	orders, err := filterOrders(sortedOrders(s.st), filters)
	var page []any
	var more bool
	var last pageKey
	if err == nil {
		key, desc, kerr := orderKey(filters.Get("order"))
		err = kerr
		if err == nil {
			slices.SortStableFunc(orders, func(a, b *Order) int {
				c := cmpKey(key(a), key(b))
				if desc {
					c = -c
				}
				return c
			})
			var items []*Order
			items, more = paginate(orders, key, desc, after, limit)
			for _, o := range items {
				page = append(page, *o)
				last = key(o)
			}
		}
	}
	s.mu.Unlock()
	if err != nil {
		fieldError(w, http.StatusBadRequest, err.field, err.msg)
		return
	}
	if more {
		setNextLink(w, r, filters, last, limit)
	}
	writeList(w, "orders", page, q.Get("fields"))
}

// paramError is a query parameter Shopify would refuse.
type paramError struct{ field, msg string }

func filterOrders(all []*Order, q url.Values) ([]*Order, *paramError) {
	times := map[string]time.Time{}
	for _, p := range []string{"created_at_min", "created_at_max", "updated_at_min", "updated_at_max", "processed_at_min", "processed_at_max"} {
		if v := q.Get(p); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, &paramError{p, "is not a valid ISO 8601 date and time"}
			}
			times[p] = t
		}
	}
	ids := map[int64]bool{}
	for v := range strings.SplitSeq(q.Get("ids"), ",") {
		if id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			ids[id] = true
		}
	}
	sinceID, _ := strconv.ParseInt(q.Get("since_id"), 10, 64)
	status := q.Get("status")
	if status == "" {
		status = "open"
	}
	var app int64
	switch v := q.Get("attribution_app_id"); v {
	case "":
	case "current":
		app = AppID
	default:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, &paramError{"attribution_app_id", "is not an app id or current"}
		}
		app = n
	}
	var out []*Order
	for _, o := range all {
		switch {
		case len(ids) > 0 && !ids[o.ID],
			sinceID > 0 && o.ID <= sinceID,
			!inRange(o.created, times["created_at_min"], times["created_at_max"]),
			!inRange(o.updated, times["updated_at_min"], times["updated_at_max"]),
			!inRange(o.created, times["processed_at_min"], times["processed_at_max"]),
			app != 0 && (o.AppID == nil || *o.AppID != app),
			q.Get("name") != "" && o.Name != q.Get("name") && o.Name != "#"+q.Get("name"),
			!matchStatus(o, status),
			!matchFinancial(o, q.Get("financial_status")),
			!matchFulfillment(o, q.Get("fulfillment_status")):
			continue
		}
		out = append(out, o)
	}
	return out, nil
}

func inRange(t, lo, hi time.Time) bool {
	return (lo.IsZero() || !t.Before(lo)) && (hi.IsZero() || !t.After(hi))
}

func matchStatus(o *Order, status string) bool {
	switch status {
	case "open":
		return o.ClosedAt == nil && o.CancelledAt == nil
	case "closed":
		return o.ClosedAt != nil
	case "cancelled":
		return o.CancelledAt != nil
	}
	return true // any
}

func matchFinancial(o *Order, v string) bool {
	switch v {
	case "", "any":
		return true
	case "unpaid":
		return o.FinancialStatus == "pending" || o.FinancialStatus == "authorized" || o.FinancialStatus == "partially_paid"
	}
	return o.FinancialStatus == v
}

func matchFulfillment(o *Order, v string) bool {
	fs := ""
	if o.FulfillmentStatus != nil {
		fs = *o.FulfillmentStatus
	}
	switch v {
	case "", "any":
		return true
	case "shipped":
		return fs == "fulfilled"
	case "partial":
		return fs == "partial"
	case "unshipped":
		return fs == ""
	case "unfulfilled":
		return fs == "" || fs == "partial"
	}
	return fs == v
}

// orderKey returns how an "order" parameter sorts: by updated_at,
// created_at or id, ascending or descending. The default is newest first.
func orderKey(order string) (func(*Order) pageKey, bool, *paramError) {
	if order == "" {
		order = "created_at desc"
	}
	field, dir, _ := strings.Cut(strings.TrimSpace(order), " ")
	desc := strings.EqualFold(strings.TrimSpace(dir), "desc")
	if d := strings.ToLower(strings.TrimSpace(dir)); d != "" && d != "asc" && d != "desc" {
		return nil, false, &paramError{"order", "direction must be asc or desc"}
	}
	switch field {
	case "updated_at":
		return func(o *Order) pageKey { return pageKey{o.updated.UnixNano(), o.ID} }, desc, nil
	case "created_at", "processed_at":
		return func(o *Order) pageKey { return pageKey{o.created.UnixNano(), o.ID} }, desc, nil
	case "id":
		return func(o *Order) pageKey { return pageKey{o.ID, o.ID} }, desc, nil
	}
	return nil, false, &paramError{"order", "cannot sort by " + field}
}

// ---- pagination

// pageKey is where an item sits in a sorted list: its sort value, then its
// id to break ties.
type pageKey struct{ Sort, ID int64 }

func cmpKey(a, b pageKey) int {
	if c := cmpInt(a.Sort, b.Sort); c != 0 {
		return c
	}
	return cmpInt(a.ID, b.ID)
}

// pageToken is what page_info carries: the list's filters and the key of
// the last item served, so the next page starts right after it even when
// records change in between.
type pageToken struct {
	Query string `json:"q"`
	After pageKey
}

func encodeToken(t pageToken) string {
	b, _ := json.Marshal(t) // plain strings and integers always encode
	return base64.RawURLEncoding.EncodeToString(b)
}

// pageLimit reads limit: default 50, at most 250.
func pageLimit(w http.ResponseWriter, q url.Values) (int, bool) {
	v := q.Get("limit")
	if v == "" {
		return 50, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		fieldError(w, http.StatusBadRequest, "limit", "must be a number between 1 and 250")
		return 0, false
	}
	return min(n, 250), true
}

// pageQuery returns the filters to apply and where to start. A page_info
// request carries its filters in the token and may add only limit and
// fields, as Shopify requires.
func pageQuery(w http.ResponseWriter, q url.Values, filters []string) (url.Values, *pageKey, bool) {
	info := q.Get("page_info")
	if info == "" {
		return q, nil, true
	}
	for _, p := range filters {
		if q.Has(p) {
			fieldError(w, http.StatusBadRequest, "page_info", "cannot be combined with "+p+"; only limit and fields may accompany it")
			return nil, nil, false
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(info)
	var t pageToken
	if err == nil {
		err = json.Unmarshal(raw, &t)
	}
	var fq url.Values
	if err == nil {
		fq, err = url.ParseQuery(t.Query)
	}
	if err != nil {
		fieldError(w, http.StatusBadRequest, "page_info", "Invalid value.")
		return nil, nil, false
	}
	return fq, &t.After, true
}

// paginate returns up to limit items after the key after (all from the
// start when nil) from items sorted by key, and whether more follow.
func paginate[T any](items []T, key func(T) pageKey, desc bool, after *pageKey, limit int) ([]T, bool) {
	start := 0
	if after != nil {
		start = len(items)
		for i, it := range items {
			c := cmpKey(key(it), *after)
			if (!desc && c > 0) || (desc && c < 0) {
				start = i
				break
			}
		}
	}
	end := min(start+limit, len(items))
	return items[start:end], end < len(items)
}

// setNextLink adds Link: <...page_info=...>; rel="next" pointing at the
// page after last.
func setNextLink(w http.ResponseWriter, r *http.Request, filters url.Values, last pageKey, limit int) {
	kept := url.Values{}
	for k, v := range filters {
		if k != "limit" && k != "fields" && k != "page_info" {
			kept[k] = v
		}
	}
	next := url.Values{}
	next.Set("limit", strconv.Itoa(limit))
	if f := r.URL.Query().Get("fields"); f != "" {
		next.Set("fields", f)
	}
	next.Set("page_info", encodeToken(pageToken{Query: kept.Encode(), After: last}))
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	// The path as the client asked for it: under hub sandbox the
	// simulator is mounted below a prefix that r.URL.Path no longer has.
	path := r.URL.Path
	if ru, err := url.ParseRequestURI(r.RequestURI); err == nil && ru.Path != "" {
		path = ru.Path
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: path, RawQuery: next.Encode()}
	w.Header().Set("Link", "<"+u.String()+`>; rel="next"`)
}

// writeList answers {"<name>": [...]}, keeping only the comma-separated
// fields when fields is set.
func writeList(w http.ResponseWriter, name string, items []any, fields string) {
	out := make([]any, 0, len(items))
	for _, it := range items {
		out = append(out, pick(it, fields))
	}
	writeJSON(w, http.StatusOK, map[string]any{name: out})
}

// pick keeps only the named top-level fields of v.
func pick(v any, fields string) any {
	if fields == "" {
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var all map[string]json.RawMessage
	if json.Unmarshal(b, &all) != nil {
		return v
	}
	kept := map[string]json.RawMessage{}
	for f := range strings.SplitSeq(fields, ",") {
		f = strings.TrimSpace(f)
		if raw, ok := all[f]; ok {
			kept[f] = raw
		}
	}
	return kept
}

// ---- GET /orders/{id}.json

func (s *Sim) getOrder(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromFile(r.PathValue("file"))
	if !ok {
		writeErrors(w, http.StatusNotFound, "Not Found")
		return
	}
	o, ok := s.Order(id)
	if !ok {
		writeErrors(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"order": pick(o, r.URL.Query().Get("fields"))})
}

// ---- POST /orders.json

// orderRequest is the body of POST /orders.json and PUT /orders/{id}.json.
type orderRequest struct {
	Order *struct {
		ID        json.Number `json:"id"`
		LineItems []struct {
			VariantID json.Number `json:"variant_id"`
			SKU       string      `json:"sku"`
			Title     string      `json:"title"`
			Price     json.Number `json:"price"`
			Quantity  int         `json:"quantity"`
		} `json:"line_items"`
		Email           string  `json:"email"`
		FinancialStatus string  `json:"financial_status"`
		Tags            *string `json:"tags"`
		Note            *string `json:"note"`
		Customer        *struct {
			FirstName string `json:"first_name"`
			LastName  string `json:"last_name"`
			Email     string `json:"email"`
		} `json:"customer"`
		ShippingAddress *Address `json:"shipping_address"`
	} `json:"order"`
}

func (s *Sim) createOrder(w http.ResponseWriter, r *http.Request) {
	var req orderRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Order == nil {
		fieldError(w, http.StatusBadRequest, "order", "Required parameter missing or invalid")
		return
	}
	in := NewOrder{Email: req.Order.Email, FinancialStatus: req.Order.FinancialStatus, ShippingAddress: req.Order.ShippingAddress}
	if req.Order.Tags != nil {
		in.Tags = *req.Order.Tags
	}
	if req.Order.Note != nil {
		in.Note = *req.Order.Note
	}
	if c := req.Order.Customer; c != nil {
		in.FirstName, in.LastName = c.FirstName, c.LastName
		if in.Email == "" {
			in.Email = c.Email
		}
	}
	for _, l := range req.Order.LineItems {
		v, _ := l.VariantID.Int64()
		in.LineItems = append(in.LineItems, NewLineItem{VariantID: v, SKU: l.SKU, Title: l.Title, Price: l.Price.String(), Quantity: l.Quantity})
	}
	switch in.FinancialStatus {
	case "", "pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided":
	default:
		fieldError(w, http.StatusUnprocessableEntity, "financial_status", "is not included in the list")
		return
	}
	s.mu.Lock()
	o, err := buildOrder(s.st, in, s.opts.Now())
	if err != nil {
		s.mu.Unlock()
		fieldError(w, http.StatusUnprocessableEntity, "line_items", err.Error())
		return
	}
	o.AppID, o.SourceName = ptr(AppID), strconv.FormatInt(AppID, 10)
	s.addOrder(o)
	out := *o
	pending := s.queue("orders/create", o)
	s.mu.Unlock()
	s.send(r.Context(), pending)
	writeJSON(w, http.StatusCreated, map[string]any{"order": out})
}

// ---- PUT /orders/{id}.json

func (s *Sim) updateOrder(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromFile(r.PathValue("file"))
	if !ok {
		writeErrors(w, http.StatusNotFound, "Not Found")
		return
	}
	var req orderRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Order == nil {
		fieldError(w, http.StatusBadRequest, "order", "Required parameter missing or invalid")
		return
	}
	s.mu.Lock()
	o, ok := s.st.orders[id]
	if !ok {
		s.mu.Unlock()
		writeErrors(w, http.StatusNotFound, "Not Found")
		return
	}
	if req.Order.Tags != nil {
		o.Tags = normalizeTags(*req.Order.Tags)
	}
	if req.Order.Note != nil {
		o.Note = ptr(*req.Order.Note)
		if *req.Order.Note == "" {
			o.Note = nil
		}
	}
	if req.Order.Email != "" {
		o.Email = req.Order.Email
	}
	s.touch(o)
	out := *o
	pending := s.queue("orders/updated", o)
	s.mu.Unlock()
	s.send(r.Context(), pending)
	writeJSON(w, http.StatusOK, map[string]any{"order": out})
}

// touch marks o as updated now; the caller holds s.mu.
func (s *Sim) touch(o *Order) {
	o.updated = s.opts.Now().Truncate(time.Second)
	o.UpdatedAt = stamp(o.updated)
}
