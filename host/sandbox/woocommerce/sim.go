package woocommerce

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Default credentials of the sandbox shop's REST API key.
const (
	DefaultConsumerKey    = "ck_sandbox_0123456789abcdef0123456789abcdef"
	DefaultConsumerSecret = "cs_sandbox_0123456789abcdef0123456789abcdef"
	// DefaultSiteURL is the shop's home URL when Options leave it out.
	DefaultSiteURL = "http://shop.sandbox.test/"
	// APIPrefix is where Handler serves the REST API.
	APIPrefix = "/wp-json/wc/v3"
)

// siteOffset is the shop's time zone: local dates (date_created) are this
// far from the _gmt ones, as in the docs' examples (UTC-3), so a client
// that mixes them up is caught.
const siteOffset = -3 * time.Hour

// Options configure a simulator. The zero value is usable.
type Options struct {
	// ConsumerKey and ConsumerSecret are the REST API key's credentials;
	// empty means DefaultConsumerKey and DefaultConsumerSecret.
	ConsumerKey, ConsumerSecret string
	// SiteURL is the shop's home URL, sent as X-WC-Webhook-Source and used
	// in _links; empty means DefaultSiteURL.
	SiteURL string
	// Client delivers webhooks; nil means a client with a 10-second timeout.
	Client *http.Client
	// Now is the shop's clock, which dates orders and judges OAuth
	// timestamps (a frozen clock fails OAuth clients after 15 minutes of
	// real time); nil means time.Now.
	Now func() time.Time
}

// Sim is a simulated WooCommerce shop. It is safe for concurrent use.
type Sim struct {
	key, secret, site string
	client            *http.Client
	now               func() time.Time

	mu        sync.Mutex
	orders    map[int]*Order
	notes     map[int][]Note
	products  map[int]*Product
	webhooks  map[int]*Webhook
	nextID    int // orders and notes share one id sequence, as posts and comments do in WordPress
	nextHook  int // webhooks keep theirs across Reset, as the webhooks do
	nextItem  int // order items
	nextMeta  int
	nonces    map[string]time.Time
	failNext  []failure
	lastStamp time.Time

	// Deliveries run one at a time, in order, on a goroutine that exists
	// only while the queue is not empty.
	qmu        sync.Mutex
	qcond      *sync.Cond
	queue      []job
	pending    int
	working    bool
	deliveries []Delivery
	deliverSeq int
}

// failure is one queued switch: answer the next API request with status
// (or malformed JSON when malformed is set).
type failure struct {
	status     int
	retryAfter time.Duration
	malformed  bool
}

// New returns a simulator in its seeded state.
func New(opts Options) *Sim {
	s := &Sim{key: opts.ConsumerKey, secret: opts.ConsumerSecret, site: opts.SiteURL, client: opts.Client, now: opts.Now}
	if s.key == "" {
		s.key = DefaultConsumerKey
	}
	if s.secret == "" {
		s.secret = DefaultConsumerSecret
	}
	if s.site == "" {
		s.site = DefaultSiteURL
	}
	if !strings.HasSuffix(s.site, "/") {
		s.site += "/"
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.qcond = sync.NewCond(&s.qmu)
	s.webhooks = map[int]*Webhook{}
	s.Reset()
	return s
}

// ConsumerKey returns the REST API consumer key the simulator accepts.
func (s *Sim) ConsumerKey() string { return s.key }

// ConsumerSecret returns the REST API consumer secret the simulator accepts.
func (s *Sim) ConsumerSecret() string { return s.secret }

// Reset returns the shop to its seeded products and orders, clears the
// switches, the nonces and the delivery log, and drops queued deliveries.
// Registered webhooks are kept (their failure counts cleared): they are
// hub's configuration, not the shop's data, and a running hub would
// otherwise stop hearing about orders after `hub sandbox reset`.
func (s *Sim) Reset() {
	s.qmu.Lock()
	s.pending -= len(s.queue)
	s.queue = nil
	s.deliveries = nil
	s.qcond.Broadcast()
	s.qmu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	s.orders = map[int]*Order{}
	s.notes = map[int][]Note{}
	s.products = map[int]*Product{}
	s.nonces = map[string]time.Time{}
	s.failNext = nil
	s.lastStamp = time.Time{}
	s.nextID, s.nextItem, s.nextMeta = 700, 300, 13000
	for _, w := range s.webhooks {
		w.failureCount = 0
		w.Status = "active"
	}
	s.seed()
}

// Fail makes the next times API requests answer status (429 with
// Retry-After when retryAfter > 0, 401, 500, 503…) with a WooCommerce
// error body, before authentication is looked at.
func (s *Sim) Fail(status, times int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range times {
		s.failNext = append(s.failNext, failure{status: status, retryAfter: retryAfter})
	}
}

// Malformed makes the next times API requests answer 200 with a body that
// is not JSON.
func (s *Sim) Malformed(times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range times {
		s.failNext = append(s.failNext, failure{malformed: true})
	}
}

// NewOrder is the body of POST /orders (the docs' "create an order"
// shape), also what PlaceOrder takes.
type NewOrder struct {
	Status             string         `json:"status,omitempty"`
	Currency           string         `json:"currency,omitempty"`
	CustomerNote       string         `json:"customer_note,omitempty"`
	PaymentMethod      string         `json:"payment_method,omitempty"`
	PaymentMethodTitle string         `json:"payment_method_title,omitempty"`
	SetPaid            bool           `json:"set_paid,omitempty"`
	Billing            Billing        `json:"billing"`
	Shipping           Shipping       `json:"shipping"`
	LineItems          []NewLineItem  `json:"line_items"`
	ShippingLines      []ShippingLine `json:"shipping_lines,omitempty"`
	MetaData           []Meta         `json:"meta_data,omitempty"`
}

// NewLineItem is a line of a NewOrder.
type NewLineItem struct {
	ProductID   int `json:"product_id,omitempty"`
	VariationID int `json:"variation_id,omitempty"`
	// SKU, when set, picks the product or variation instead of the ids,
	// as WC_REST_Orders_V2_Controller::get_product_id does.
	SKU      string `json:"sku,omitempty"`
	Quantity int    `json:"quantity"`
}

// apiError is a WooCommerce error answer.
type apiError struct {
	Status  int
	Code    string
	Message string
	Params  map[string]string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// PlaceOrder creates an order as a shopper's checkout would (created_via
// "checkout") and delivers order.created to the registered webhooks.
func (s *Sim) PlaceOrder(in NewOrder) (Order, error) {
	o, err := s.createOrder(in, "checkout")
	if err != nil {
		return Order{}, err
	}
	return o, nil
}

// SetOrderStatus changes an order's status as the shop admin would and
// delivers order.updated.
func (s *Sim) SetOrderStatus(id int, status string) (Order, error) {
	o, err := s.updateOrder(id, orderUpdate{Status: &status})
	if err != nil {
		return Order{}, err
	}
	return o, nil
}

// Order returns an order by id.
func (s *Sim) Order(id int) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return Order{}, false
	}
	return cloneOrder(o), true
}

// Orders returns every order, by id.
func (s *Sim) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Order, 0, len(s.orders))
	for _, o := range s.orders {
		out = append(out, cloneOrder(o))
	}
	slices.SortFunc(out, func(a, b Order) int { return a.ID - b.ID })
	return out
}

// Notes returns an order's notes, oldest first.
func (s *Sim) Notes(orderID int) []Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.notes[orderID])
}

// Product returns a product or variation by id.
func (s *Sim) Product(id int) (Product, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.products[id]
	if !ok {
		return Product{}, false
	}
	return *p, true
}

// Webhooks returns the registered webhooks, by id.
func (s *Sim) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Webhook, 0, len(s.webhooks))
	for _, w := range s.webhooks {
		out = append(out, *w)
	}
	slices.SortFunc(out, func(a, b Webhook) int { return a.ID - b.ID })
	return out
}

// Deliveries returns the webhook deliveries made since the last Reset, in
// order. Call Flush first to include the queued ones.
func (s *Sim) Deliveries() []Delivery {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return slices.Clone(s.deliveries)
}

// Flush waits until every queued webhook delivery has been attempted.
func (s *Sim) Flush() {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	for s.pending > 0 {
		s.qcond.Wait()
	}
}

// stamp returns the shop's current time, truncated to the second as
// WordPress stores dates, and never earlier than the last stamp so dates
// stay ordered however the clock behaves. Callers hold s.mu.
func (s *Sim) stamp() time.Time {
	t := s.now().UTC().Truncate(time.Second)
	if t.Before(s.lastStamp) {
		t = s.lastStamp
	}
	s.lastStamp = t
	return t
}

// localDate and gmtDate format a time as the API does (no zone suffix).
func localDate(t time.Time) string { return t.Add(siteOffset).Format("2006-01-02T15:04:05") }
func gmtDate(t time.Time) string   { return t.UTC().Format("2006-01-02T15:04:05") }

// money formats an amount as WooCommerce prices are sent.
func money(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func (s *Sim) links(path string) json.RawMessage {
	base := strings.TrimSuffix(s.site, "/") + APIPrefix
	self, _ := json.Marshal(base + path)
	coll, _ := json.Marshal(base + path[:strings.LastIndex(path, "/")])
	return json.RawMessage(`{"self":[{"href":` + string(self) + `}],"collection":[{"href":` + string(coll) + `}]}`)
}

// orderStatuses are the statuses an order may be set to.
var orderStatuses = []string{"pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash"}

func validStatus(st string) *apiError {
	if slices.Contains(orderStatuses, st) {
		return nil
	}
	return &apiError{Status: 400, Code: "rest_invalid_param", Message: "Invalid parameter(s): status",
		Params: map[string]string{"status": "status is not one of " + strings.Join(orderStatuses, ", ") + "."}}
}

func (s *Sim) createOrder(in NewOrder, via string) (Order, error) {
	s.mu.Lock()
	o, err := s.createOrderLocked(in, via, s.stamp())
	if err != nil {
		s.mu.Unlock()
		return Order{}, err
	}
	out := cloneOrder(o)
	hooks := s.hooksFor("order.created")
	s.mu.Unlock()
	s.deliverOrder(hooks, "order.created", out)
	return out, nil
}

// createOrderLocked prices the lines from the catalogue and stores the
// order. Callers hold s.mu.
func (s *Sim) createOrderLocked(in NewOrder, via string, t time.Time) (*Order, error) {
	status := in.Status
	if status == "" {
		status = "pending"
	}
	if in.SetPaid && in.Status == "" {
		status = "processing"
	}
	if e := validStatus(status); e != nil {
		return nil, e
	}
	if len(in.LineItems) == 0 {
		return nil, &apiError{Status: 400, Code: "woocommerce_rest_required_order_line_items", Message: "Order must have at least one line item."}
	}
	s.nextID++
	o := &Order{
		ID: s.nextID, CreatedVia: via, Version: "9.4.0", Status: status, Currency: in.Currency,
		DateCreated: localDate(t), DateCreatedGMT: gmtDate(t), DateModified: localDate(t), DateModifiedGMT: gmtDate(t),
		DiscountTotal: "0.00", DiscountTax: "0.00", ShippingTax: "0.00", CartTax: "0.00", TotalTax: "0.00",
		CustomerNote: in.CustomerNote, Billing: in.Billing, Shipping: in.Shipping,
		PaymentMethod: in.PaymentMethod, PaymentMethodTitle: in.PaymentMethodTitle,
		MetaData: []Meta{}, LineItems: []LineItem{}, TaxLines: []RawList{}, ShippingLines: []ShippingLine{},
		FeeLines: []RawList{}, CouponLines: []RawList{}, Refunds: []RawList{},
	}
	if o.Currency == "" {
		o.Currency = "USD"
	}
	o.Number = strconv.Itoa(o.ID)
	sum := md5.Sum([]byte("order" + o.Number))
	o.OrderKey = "wc_order_" + hex.EncodeToString(sum[:])[:13]
	var total float64
	for i, li := range in.LineItems {
		if li.SKU != "" {
			for _, p := range s.products {
				if p.SKU == li.SKU && p.Type != "variable" {
					li.ProductID, li.VariationID = p.ID, 0
					if p.Type == "variation" {
						li.ProductID, li.VariationID = p.ParentID, p.ID
					}
				}
			}
		}
		pid := li.ProductID
		if li.VariationID != 0 {
			pid = li.VariationID
		}
		p, ok := s.products[pid]
		if !ok || (li.VariationID != 0 && p.ParentID != li.ProductID) {
			return nil, &apiError{Status: 400, Code: "woocommerce_rest_invalid_product_id", Message: fmt.Sprintf("Product ID %d is invalid.", pid),
				Params: map[string]string{fmt.Sprintf("line_items[%d].product_id", i): "no such product"}}
		}
		if li.Quantity <= 0 {
			return nil, &apiError{Status: 400, Code: "woocommerce_rest_invalid_quantity", Message: "Product quantity must be a positive value."}
		}
		price, _ := strconv.ParseFloat(p.Price, 64)
		line := price * float64(li.Quantity)
		total += line
		s.nextItem++
		o.LineItems = append(o.LineItems, LineItem{ID: s.nextItem, Name: p.Name, ProductID: li.ProductID, VariationID: li.VariationID,
			Quantity: li.Quantity, Subtotal: money(line), SubtotalTax: "0.00", Total: money(line), TotalTax: "0.00",
			Taxes: []RawList{}, MetaData: []Meta{}, SKU: p.SKU, Price: price})
		if p.ManageStock && p.StockQuantity != nil {
			q := *p.StockQuantity - li.Quantity
			p.StockQuantity = &q
		}
	}
	var shipping float64
	for _, sl := range in.ShippingLines {
		v, _ := strconv.ParseFloat(sl.Total, 64)
		shipping += v
		s.nextItem++
		o.ShippingLines = append(o.ShippingLines, ShippingLine{ID: s.nextItem, MethodTitle: sl.MethodTitle, MethodID: sl.MethodID,
			Total: money(v), TotalTax: "0.00", Taxes: []RawList{}, MetaData: []Meta{}})
	}
	o.ShippingTotal = money(shipping)
	o.Total = money(total + shipping)
	if in.SetPaid {
		d, g := localDate(t), gmtDate(t)
		o.DatePaid, o.DatePaidGMT = &d, &g
	}
	if status == "completed" {
		d, g := localDate(t), gmtDate(t)
		o.DateCompleted, o.DateCompletedGMT = &d, &g
	}
	s.setMeta(o, in.MetaData)
	o.Links = s.links("/orders/" + o.Number)
	s.orders[o.ID] = o
	return o, nil
}

// setMeta applies meta_data as WC_Data does: an entry with an id replaces
// that entry, one without replaces the first entry with its key or is
// added. Callers hold s.mu.
func (s *Sim) setMeta(o *Order, meta []Meta) {
	for _, m := range meta {
		i := slices.IndexFunc(o.MetaData, func(x Meta) bool {
			if m.ID != 0 {
				return x.ID == m.ID
			}
			return x.Key == m.Key
		})
		if i >= 0 {
			o.MetaData[i].Key, o.MetaData[i].Value = m.Key, m.Value
			continue
		}
		s.nextMeta++
		o.MetaData = append(o.MetaData, Meta{ID: s.nextMeta, Key: m.Key, Value: m.Value})
	}
}

// orderUpdate is the body of PUT /orders/{id} the simulator applies.
type orderUpdate struct {
	Status       *string `json:"status"`
	CustomerNote *string `json:"customer_note"`
	MetaData     []Meta  `json:"meta_data"`
}

func (s *Sim) updateOrder(id int, in orderUpdate) (Order, error) {
	s.mu.Lock()
	o, ok := s.orders[id]
	if !ok {
		s.mu.Unlock()
		return Order{}, errInvalidOrderID
	}
	if in.Status != nil {
		if e := validStatus(*in.Status); e != nil {
			s.mu.Unlock()
			return Order{}, e
		}
	}
	t := s.stamp()
	if in.Status != nil && *in.Status != o.Status {
		o.Status = *in.Status
		switch o.Status {
		case "processing", "completed":
			if o.DatePaid == nil {
				d, g := localDate(t), gmtDate(t)
				o.DatePaid, o.DatePaidGMT = &d, &g
			}
		}
		if o.Status == "completed" {
			d, g := localDate(t), gmtDate(t)
			o.DateCompleted, o.DateCompletedGMT = &d, &g
		}
	}
	if in.CustomerNote != nil {
		o.CustomerNote = *in.CustomerNote
	}
	s.setMeta(o, in.MetaData)
	o.DateModified, o.DateModifiedGMT = localDate(t), gmtDate(t)
	out := cloneOrder(o)
	hooks := s.hooksFor("order.updated")
	s.mu.Unlock()
	s.deliverOrder(hooks, "order.updated", out)
	return out, nil
}

var errInvalidOrderID = &apiError{Status: 404, Code: "woocommerce_rest_shop_order_invalid_id", Message: "Invalid ID."}

func cloneOrder(o *Order) Order {
	c := *o
	c.MetaData = slices.Clone(o.MetaData)
	c.LineItems = slices.Clone(o.LineItems)
	c.ShippingLines = slices.Clone(o.ShippingLines)
	return c
}

// seed fills the catalogue and two orders. Callers hold s.mu.
func (s *Sim) seed() {
	base := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	mod := gmtDate(base)
	add := func(p Product) {
		p.Status, p.DateModifiedGMT, p.DateModified = "publish", mod, localDate(base)
		if p.RegularPrice == "" {
			p.RegularPrice = p.Price
		}
		p.StockStatus = "instock"
		s.products[p.ID] = &p
	}
	qty := func(n int) *int { return &n }
	add(Product{ID: 93, Name: "Woo Single #1", Type: "simple", SKU: "WOO-SINGLE-1", Price: "3.00", ManageStock: true, StockQuantity: qty(40)})
	add(Product{ID: 22, Name: "Ship Your Idea", Type: "variable", SKU: "SHIP-IDEA", Price: "12.00"})
	add(Product{ID: 23, Name: "Ship Your Idea - Black, M", Type: "variation", ParentID: 22, SKU: "Bar3", Price: "12.00", ManageStock: true, StockQuantity: qty(8)})
	add(Product{ID: 87, Name: "Woo Album #2", Type: "simple", SKU: "WOO-ALBUM-2", Price: "9.00", ManageStock: true, StockQuantity: qty(15)})
	add(Product{ID: 34, Name: "Woo Ninja", Type: "simple", SKU: "WOO-NINJA", Price: "20.00"})

	john := Billing{FirstName: "John", LastName: "Doe", Address1: "969 Market", City: "San Francisco", State: "CA",
		Postcode: "94103", Country: "US", Email: "john.doe@example.com", Phone: "(555) 555-5555"}
	ship := Shipping{FirstName: "John", LastName: "Doe", Address1: "969 Market", City: "San Francisco", State: "CA", Postcode: "94103", Country: "US"}
	flat := []ShippingLine{{MethodID: "flat_rate", MethodTitle: "Flat Rate", Total: "10.00"}}
	_, _ = s.createOrderLocked(NewOrder{Status: "completed", PaymentMethod: "bacs", PaymentMethodTitle: "Direct Bank Transfer", SetPaid: true,
		Billing: john, Shipping: ship, LineItems: []NewLineItem{{ProductID: 87, Quantity: 1}, {ProductID: 34, Quantity: 1}}, ShippingLines: flat}, "checkout", base)
	_, _ = s.createOrderLocked(NewOrder{PaymentMethod: "bacs", PaymentMethodTitle: "Direct Bank Transfer", SetPaid: true,
		Billing: john, Shipping: ship, LineItems: []NewLineItem{{ProductID: 93, Quantity: 2}, {ProductID: 22, VariationID: 23, Quantity: 1}}, ShippingLines: flat}, "checkout", base.Add(time.Hour))
}
