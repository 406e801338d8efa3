package warehouse

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"
)

// Order statuses, in the only order an order moves through them.
const (
	StatusReceived  = "received"
	StatusPicking   = "picking"
	StatusPacked    = "packed"
	StatusShipped   = "shipped"
	StatusDelivered = "delivered"
)

// Statuses lists the order statuses in their order.
var Statuses = []string{StatusReceived, StatusPicking, StatusPacked, StatusShipped, StatusDelivered}

// Webhook event names.
const (
	EventOrderStatusChanged = "order.status_changed"
	EventStockChanged       = "stock.changed"
)

// Delivery headers.
const (
	SignatureHeader = "X-Warehouse-Signature"
	DeliveryHeader  = "X-Warehouse-Delivery"
	EventHeader     = "X-Warehouse-Event"
)

// Seeded credentials.
const (
	DefaultToken    = "wh_sandbox_token"
	DefaultUsername = "ops"
	DefaultPassword = "sandbox-password"
)

// Line is one SKU and quantity of an order.
type Line struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

// Address is where an order ships.
type Address struct {
	Name     string `json:"name"`
	Line1    string `json:"line1"`
	Line2    string `json:"line2,omitempty"`
	City     string `json:"city"`
	Postcode string `json:"postcode"`
	Country  string `json:"country"`
}

// Order is a warehouse order as the API shows it.
type Order struct {
	ID              string    `json:"id"`
	Ref             string    `json:"ref"`
	Status          string    `json:"status"`
	Lines           []Line    `json:"lines"`
	ShippingAddress Address   `json:"shipping_address"`
	ShipmentID      string    `json:"shipment_id"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// ShipmentChange is one entry of the shipment feed.
type ShipmentChange struct {
	Seq        int64     `json:"seq"`
	ShipmentID string    `json:"shipment_id"`
	OrderID    string    `json:"order_id"`
	OrderRef   string    `json:"order_ref"`
	Status     string    `json:"status"`
	ChangedAt  time.Time `json:"changed_at"`
}

// StockChange is one entry of the stock feed.
type StockChange struct {
	Seq         int64     `json:"seq"`
	SKU         string    `json:"sku"`
	Qty         int       `json:"qty"`
	PreviousQty int       `json:"previous_qty"`
	ChangedAt   time.Time `json:"changed_at"`
}

// Webhook is a registered delivery target.
type Webhook struct {
	ID     string   `json:"id"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	secret string
}

// Delivery records one webhook delivery attempt.
type Delivery struct {
	ID        string
	Event     string
	WebhookID string
	URL       string
	Body      []byte
	// Status is the receiver's answer, 0 when there was none.
	Status int
	Err    string
}

// Fault is a failure Fail can inject.
type Fault string

// Injectable faults.
const (
	// FaultRateLimit answers 429 with Retry-After: 1.
	FaultRateLimit Fault = "rate_limit"
	// FaultServerError answers 500.
	FaultServerError Fault = "server_error"
	// FaultUnauthorized answers 401 whatever the token.
	FaultUnauthorized Fault = "unauthorized"
	// FaultMalformed answers 200 with a body that is not JSON.
	FaultMalformed Fault = "malformed"
)

// Options configure a Sim. The zero value is a usable sandbox.
type Options struct {
	// Token is the account's API token; "" means DefaultToken.
	Token string
	// Username and Password log in at /api/auth/login; "" means
	// DefaultUsername and DefaultPassword.
	Username, Password string
	// Client delivers webhooks; nil means a client with a 5 s timeout.
	Client *http.Client
	// Now is the simulator's clock; nil means time.Now.
	Now func() time.Time
	// RateLimit is how many API requests a minute the account may make,
	// counted in fixed one-minute windows; over it the API answers 429
	// with Retry-After until the window ends. Every answer then carries
	// X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset
	// (seconds to the window's end). 0 means no limit and no headers.
	RateLimit int
	// PingInterval is how often the event stream pings each client;
	// 0 means DefaultPingInterval.
	PingInterval time.Duration
	// StreamBuffer is how many events may wait for one stream client
	// before it counts as fallen behind and is closed with 1008; 0 means
	// DefaultStreamBuffer.
	StreamBuffer int
}

// Sim is the warehouse simulator: an http.Handler over in-memory state.
type Sim struct {
	opts   Options
	client *http.Client
	now    func() time.Time

	mu          sync.Mutex
	orders      map[string]*Order
	orderSeq    int
	idempotency map[string]idemEntry
	shipments   []ShipmentChange
	stock       map[string]int
	stockFeed   []StockChange
	feedSeq     int64
	webhooks    []*Webhook
	hookSeq     int
	deliveries  []Delivery
	deliverySeq int
	sessions    map[string]bool
	faults      []Fault
	window      time.Time
	used        int
	stream      streamState
}

type idemEntry struct {
	bodyHash [32]byte
	status   int
	body     []byte
}

// New returns a simulator in its seeded state.
func New(opts Options) *Sim {
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.Username == "" {
		opts.Username = DefaultUsername
	}
	if opts.Password == "" {
		opts.Password = DefaultPassword
	}
	s := &Sim{opts: opts, client: opts.Client, now: opts.Now}
	if s.client == nil {
		s.client = &http.Client{Timeout: 5 * time.Second}
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.Reset()
	return s
}

// Reset returns the simulator to its seeded account: three SKUs in stock,
// one order received, empty feeds and stream, no webhooks, sessions or
// faults, stream retention and pause cleared. Connected streams are closed
// with 1012 (service restart): seq starts again at 1.
func (s *Sim) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	s.orders = map[string]*Order{}
	s.orderSeq = 1000
	s.idempotency = map[string]idemEntry{}
	s.shipments = nil
	s.stock = map[string]int{"SKU-TSHIRT-M": 40, "SKU-MUG": 12, "SKU-POSTER": 0}
	s.stockFeed = nil
	s.feedSeq = 0
	s.webhooks = nil
	s.hookSeq = 0
	s.deliveries = nil
	s.deliverySeq = 0
	s.sessions = map[string]bool{}
	s.faults = nil
	s.window, s.used = time.Time{}, 0
	s.resetStream()
	s.addOrder(Order{Ref: "#1000", Lines: []Line{{SKU: "SKU-MUG", Qty: 2}},
		ShippingAddress: Address{Name: "Ada Lovelace", Line1: "12 St James's Square", City: "London", Postcode: "SW1Y 4JH", Country: "GB"}}, at)
}

// addOrder stores o as a new received order; s.mu is held.
func (s *Sim) addOrder(o Order, at time.Time) *Order {
	s.orderSeq++
	o.ID = fmt.Sprintf("ord_%d", s.orderSeq)
	o.ShipmentID = fmt.Sprintf("shp_%d", s.orderSeq)
	o.Status = StatusReceived
	o.CreatedAt, o.UpdatedAt = at, at
	s.orders[o.ID] = &o
	return &o
}

// Fail makes the next n API requests answer with f instead of being served.
func (s *Sim) Fail(f Fault, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, f)
	}
}

// Order returns an order by id.
func (s *Sim) Order(id string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return Order{}, false
	}
	return cloneOrder(o), true
}

// Orders returns every order, oldest first.
func (s *Sim) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sortedOrders("")
}

// sortedOrders lists orders (with ref, when not empty) by id; s.mu is held.
func (s *Sim) sortedOrders(ref string) []Order {
	out := []Order{}
	for _, o := range s.orders {
		if ref == "" || o.Ref == ref {
			out = append(out, cloneOrder(o))
		}
	}
	sort.Slice(out, func(i, k int) bool {
		return out[i].CreatedAt.Before(out[k].CreatedAt) || (out[i].CreatedAt.Equal(out[k].CreatedAt) && out[i].ID < out[k].ID)
	})
	return out
}

func cloneOrder(o *Order) Order {
	c := *o
	c.Lines = slices.Clone(o.Lines)
	return c
}

// Stock returns a SKU's stock level and whether the SKU is known.
func (s *Sim) Stock(sku string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.stock[sku]
	return q, ok
}

// Webhooks returns the registered webhooks.
func (s *Sim) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Webhook, len(s.webhooks))
	for i, w := range s.webhooks {
		out[i] = *w
		out[i].Events = slices.Clone(w.Events)
	}
	return out
}

// Deliveries returns every webhook delivery attempt so far, oldest first.
func (s *Sim) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// Advance moves an order to status as the warehouse floor would, recording
// the change in the shipment feed and delivering it to webhooks.
func (s *Sim) Advance(orderID, status string) error {
	s.mu.Lock()
	_, out, err := s.setStatus(orderID, status)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.deliver(out)
	return nil
}

// statusError is a refused status change.
type statusError struct {
	code, message string
	status        int
}

func (e *statusError) Error() string { return e.message }

// setStatus changes an order's status; s.mu is held. It returns the order
// and the deliveries to make once the lock is released.
func (s *Sim) setStatus(orderID, status string) (Order, []pending, error) {
	o, ok := s.orders[orderID]
	if !ok {
		return Order{}, nil, &statusError{"not_found", fmt.Sprintf("order %s not found", orderID), http.StatusNotFound}
	}
	to := slices.Index(Statuses, status)
	if to < 0 {
		return Order{}, nil, &statusError{"invalid_status", fmt.Sprintf("status %q is not one of %v", status, Statuses), http.StatusUnprocessableEntity}
	}
	from := slices.Index(Statuses, o.Status)
	if to == from {
		return cloneOrder(o), nil, nil
	}
	if to < from {
		return Order{}, nil, &statusError{"invalid_transition", fmt.Sprintf("order %s is %s and cannot go back to %s", orderID, o.Status, status), http.StatusUnprocessableEntity}
	}
	now := s.now().UTC()
	o.Status, o.UpdatedAt = status, now
	s.feedSeq++
	ch := ShipmentChange{Seq: s.feedSeq, ShipmentID: o.ShipmentID, OrderID: o.ID, OrderRef: o.Ref, Status: status, ChangedAt: now}
	s.shipments = append(s.shipments, ch)
	s.publish(ch.Seq, EventOrderStatusChanged, ch, now)
	return cloneOrder(o), s.pendingFor(EventOrderStatusChanged, map[string]any{"order": cloneOrder(o), "shipment": ch}), nil
}

// SetStock sets a SKU's stock level, recording the change in the stock
// feed and delivering it to webhooks. Setting the level it already has
// records nothing.
func (s *Sim) SetStock(sku string, qty int) {
	s.mu.Lock()
	out := s.setStock(sku, qty)
	s.mu.Unlock()
	s.deliver(out)
}

// setStock changes a SKU's stock; s.mu is held.
func (s *Sim) setStock(sku string, qty int) []pending {
	prev, known := s.stock[sku]
	if known && prev == qty {
		return nil
	}
	s.stock[sku] = qty
	s.feedSeq++
	ch := StockChange{Seq: s.feedSeq, SKU: sku, Qty: qty, PreviousQty: prev, ChangedAt: s.now().UTC()}
	s.stockFeed = append(s.stockFeed, ch)
	s.publish(ch.Seq, EventStockChanged, ch, ch.ChangedAt)
	return s.pendingFor(EventStockChanged, ch)
}

// pending is a delivery decided under the lock and made after it.
type pending struct {
	delivery Delivery
	secret   string
}

// pendingFor prepares one delivery per webhook subscribed to event; s.mu
// is held.
func (s *Sim) pendingFor(event string, data any) []pending {
	var out []pending
	for _, w := range s.webhooks {
		if !slices.Contains(w.Events, event) {
			continue
		}
		s.deliverySeq++
		id := fmt.Sprintf("dlv_%d", s.deliverySeq)
		body, err := json.Marshal(map[string]any{"id": id, "event": event, "created_at": s.now().UTC(), "data": data})
		if err != nil {
			continue // the data types above always encode
		}
		out = append(out, pending{delivery: Delivery{ID: id, Event: event, WebhookID: w.ID, URL: w.URL, Body: body}, secret: w.secret})
	}
	return out
}

// Sign is the X-Warehouse-Signature value for body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// deliver POSTs each pending delivery and records the outcome. It runs
// without the lock: a receiver may call back into the API.
func (s *Sim) deliver(ps []pending) {
	for _, p := range ps {
		d := p.delivery
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", "warehouse-sandbox-webhooks/1")
			req.Header.Set(EventHeader, d.Event)
			req.Header.Set(DeliveryHeader, d.ID)
			req.Header.Set(SignatureHeader, Sign(p.secret, d.Body))
			var resp *http.Response
			resp, err = s.client.Do(req)
			if err == nil {
				d.Status = resp.StatusCode
				resp.Body.Close()
			}
		}
		cancel()
		if err != nil {
			d.Err = err.Error()
		}
		s.mu.Lock()
		s.deliveries = append(s.deliveries, d)
		s.mu.Unlock()
	}
}

// newToken returns a random session token.
func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session token: %w", err)
	}
	return "whs_" + hex.EncodeToString(b), nil
}
