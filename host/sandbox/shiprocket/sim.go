package shiprocket

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Seeded account: the API user a sandbox connection logs in with.
const (
	SeedEmail    = "api@sandbox.shiprocket.test"
	SeedPassword = "sandbox-password"
	// SeedCompany is the company name of the seeded account.
	SeedCompany = "Hub Sandbox Store"
	// SeedPickupLocation is the seeded account's one pickup location.
	SeedPickupLocation = "Primary"
	// SeedOrderID is the merchant order_id of the seeded order, whose
	// shipment SeedAWB is already shipped.
	SeedOrderID = "SANDBOX-1001"
	// SeedAWB is the AWB of the seeded order's shipment.
	SeedAWB = "788800000001"
)

// TokenLifetime is how long a login token lasts: "The validity of this
// token is 10 days" (Shiprocket's authentication docs).
const TokenLifetime = 240 * time.Hour

// ist is India Standard Time: Shiprocket writes every date without an
// offset, in IST.
var ist = time.FixedZone("IST", 5*3600+1800)

// dateLayout is how Shiprocket writes dates ("2022-07-19 11:37:00").
const dateLayout = "2006-01-02 15:04:05"

// Options configure a simulator.
type Options struct {
	// Now is the clock for token expiry and scan dates; nil means
	// time.Now.
	Now func() time.Time
	// Client delivers tracking webhooks; nil means a client with a 10 s
	// timeout.
	Client *http.Client
}

// Failure makes the API misbehave on demand.
type Failure struct {
	// Status is the HTTP status to answer (429, 401, 500, 502, ...);
	// ignored when Malformed.
	Status int
	// RetryAfter is sent as Retry-After (seconds) when not zero.
	RetryAfter int
	// Malformed answers 200 with a truncated JSON body instead.
	Malformed bool
	// Times is how many requests fail; 0 means one.
	Times int
	// Path limits the failure to requests whose path starts with it; ""
	// means every API request, login included.
	Path string
}

// Sim is the simulator: an http.Handler serving Shiprocket's API, plus
// the state behind it.
type Sim struct {
	opts Options
	mux  *http.ServeMux

	mu         sync.Mutex
	tokens     map[string]time.Time // token → expiry
	logins     int
	orders     map[int]*order // by Shiprocket order id
	byChannel  map[string]int // merchant order_id → Shiprocket order id
	byAWB      map[string]int // AWB → Shiprocket order id
	pickups    []string
	nextOrder  int
	nextShip   int
	nextAWB    int64
	failures   []Failure
	webhook    webhookTarget
	deliveries []Delivery
}

type webhookTarget struct {
	url, token string
}

// Delivery records one tracking webhook the simulator sent.
type Delivery struct {
	URL    string
	AWB    string
	Status int
	// Code is the receiver's HTTP status, 0 when it could not be reached.
	Code  int
	Error string
}

// New returns a simulator in its seeded state.
func New(opts Options) *Sim {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	s := &Sim{opts: opts}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /v1/external/auth/login", s.login)
	s.mux.HandleFunc("POST /v1/external/auth/logout", s.authed(s.logout))
	s.mux.HandleFunc("GET /v1/external/settings/company/pickup", s.authed(s.pickupLocations))
	s.mux.HandleFunc("POST /v1/external/orders/create/adhoc", s.authed(s.createOrder))
	s.mux.HandleFunc("GET /v1/external/orders", s.authed(s.listOrders))
	s.mux.HandleFunc("GET /v1/external/orders/show/{id}", s.authed(s.showOrder))
	s.mux.HandleFunc("POST /v1/external/courier/assign/awb", s.authed(s.assignAWB))
	s.mux.HandleFunc("GET /v1/external/courier/track/awb/{awb}", s.authed(s.track))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// The collection's "Wrong Endpoint" answer.
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "404 Not Found", "status_code": 404})
	})
	s.Reset()
	return s
}

// Handler serves the API under Shiprocket's own paths.
func (s *Sim) Handler() http.Handler { return s }

// ServeHTTP serves the API, failing first when a Failure asks to.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.takeFailure(r.URL.Path); ok {
		if f.Malformed {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"tracking_data": {"track_status": 1, "shipment_st`))
			return
		}
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		msg := http.StatusText(f.Status)
		if f.Status == http.StatusTooManyRequests {
			msg = "Too Many Attempts."
		}
		writeJSON(w, f.Status, map[string]any{"message": msg, "status_code": f.Status})
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Sim) takeFailure(path string) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.failures {
		f := &s.failures[i]
		if f.Path != "" && !strings.HasPrefix(path, f.Path) {
			continue
		}
		out := *f
		f.Times--
		if f.Times <= 0 {
			s.failures = slices.Delete(s.failures, i, i+1)
		}
		return out, true
	}
	return Failure{}, false
}

// Fail queues f: the next f.Times matching API requests answer as it says.
func (s *Sim) Fail(f Failure) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	s.failures = append(s.failures, f)
	s.mu.Unlock()
}

// ExpireTokens makes every issued token expired now, so the next call
// with one is answered 401 and the client must log in again.
func (s *Sim) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// Logins is how many successful logins there have been since Reset.
func (s *Sim) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// SetWebhook registers the tracking webhook, as an operator does in the
// panel (Settings → API → Webhooks): url receives every status change,
// with token (if any) in the x-api-key header. An empty url removes it.
func (s *Sim) SetWebhook(url, token string) {
	s.mu.Lock()
	s.webhook = webhookTarget{url: url, token: token}
	s.mu.Unlock()
}

// Deliveries returns the tracking webhooks sent since Reset, oldest first.
func (s *Sim) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// Reset returns the simulator to its seeded state: the seeded API user
// and pickup location, and one order (SeedOrderID) whose shipment
// (SeedAWB) has shipped. Tokens, failures and the webhook are dropped.
func (s *Sim) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]time.Time{}
	s.logins = 0
	s.orders = map[int]*order{}
	s.byChannel = map[string]int{}
	s.byAWB = map[string]int{}
	s.pickups = []string{SeedPickupLocation}
	s.nextOrder, s.nextShip, s.nextAWB = 1000001, 2000001, 788800000001
	s.failures = nil
	s.webhook = webhookTarget{}
	s.deliveries = nil

	seed := createRequest{
		OrderID: SeedOrderID, OrderDate: "2026-01-05 10:00", PickupLocation: SeedPickupLocation,
		BillingCustomerName: "Asha", BillingLastName: "Rao", BillingAddress: "12 MG Road", BillingCity: "Bengaluru",
		BillingPincode: "560001", BillingState: "Karnataka", BillingCountry: "India", BillingEmail: "asha@example.com",
		BillingPhone: "9876543210", ShippingIsBilling: json.RawMessage("true"), PaymentMethod: "Prepaid", SubTotal: 999,
		Length: 10, Breadth: 10, Height: 5, Weight: 0.5,
		OrderItems: []orderItem{{Name: "Kurta", SKU: "KURTA-M", Units: json.Number("1"), SellingPrice: json.Number("999")}},
	}
	o := s.addOrderLocked(seed)
	s.assignLocked(o, 0)
	for _, code := range []int{StatusPickupGenerated, StatusPickedUp, StatusShipped} {
		s.setStatusLocked(o, code)
	}
}

// ---- auth

func (s *Sim) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Invalid JSON body", "status_code": 400})
		return
	}
	errs := map[string][]string{}
	if in.Email == "" {
		errs["email"] = []string{"The email field is required."}
	}
	if in.Password == "" {
		errs["password"] = []string{"The password field is required."}
	}
	if len(errs) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Oops! Invalid Data.", "errors": errs, "status_code": 422})
		return
	}
	if in.Email != SeedEmail || in.Password != SeedPassword {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Invalid email and password combination", "status_code": 401})
		return
	}
	tok := newToken()
	s.mu.Lock()
	s.tokens[tok] = s.opts.Now().Add(TokenLifetime)
	s.logins++
	s.mu.Unlock()
	// Shiprocket publishes no login response example; clients rely on
	// "token" only, so that is all the simulator answers.
	writeJSON(w, http.StatusOK, map[string]any{"token": tok})
}

func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "sandbox." + hex.EncodeToString(b)
}

// authed answers 401 unless the request carries a live bearer token.
func (s *Sim) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		exp, known := s.tokens[tok]
		live := ok && known && s.opts.Now().Before(exp)
		if known && !live {
			delete(s.tokens, tok)
		}
		s.mu.Unlock()
		if !live {
			msg := "Token not provided"
			if ok {
				msg = "Token has expired"
			}
			writeJSON(w, http.StatusUnauthorized, map[string]any{"message": msg, "status_code": 401})
			return
		}
		h(w, r)
	}
}

func (s *Sim) logout(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	delete(s.tokens, tok)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"message": "Successfully logged out"})
}

func (s *Sim) pickupLocations(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	var addrs []map[string]any
	for i, name := range s.pickups {
		addrs = append(addrs, map[string]any{
			"id": 4984500 + i, "pickup_location": name, "address": "1900 GF, Sector 45", "city": "Gurgaon",
			"state": "Haryana", "country": "India", "pin_code": "122003", "phone": "9667667496",
			"name": SeedCompany, "status": 2, "is_primary_location": boolInt(i == 0),
		})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{
		"shipping_address": addrs, "allow_more": "true", "is_blackbox_seller": false,
		"company_name": SeedCompany, "recent_addresses": []any{},
	}})
}

// ---- helpers

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// deliver POSTs a tracking webhook for o's current status, outside the
// lock, and records the outcome.
func (s *Sim) deliver(ctx context.Context, target webhookTarget, body []byte, awb string, code int) {
	d := Delivery{URL: target.url, AWB: awb, Status: code}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.url, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		if target.token != "" {
			req.Header.Set("x-api-key", target.token)
		}
		var resp *http.Response
		if resp, err = s.opts.Client.Do(req); err == nil {
			d.Code = resp.StatusCode
			resp.Body.Close()
		}
	}
	if err != nil {
		d.Error = err.Error()
	}
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
}

// ErrUnknownAWB is returned for an AWB the simulator never assigned.
var ErrUnknownAWB = errors.New("unknown AWB")

// Advance moves the shipment with awb to the next status of Progression
// (from a status off the path, to the first one after it in the path's
// order; a delivered shipment stays delivered) and returns the new code.
// A registered webhook receives the change before Advance returns.
func (s *Sim) Advance(ctx context.Context, awb string) (int, error) {
	s.mu.Lock()
	o, ok := s.orderByAWBLocked(awb)
	if !ok {
		s.mu.Unlock()
		return 0, fmt.Errorf("advance %s: %w", awb, ErrUnknownAWB)
	}
	next := StatusDelivered
	if i := slices.Index(Progression, o.shipStatus); i >= 0 && i+1 < len(Progression) {
		next = Progression[i+1]
	}
	s.mu.Unlock()
	return next, s.SetStatus(ctx, awb, next)
}

// SetStatus moves the shipment with awb to status code (any code of
// Shiprocket's table), recording a courier scan dated now, and delivers
// the tracking webhook when one is registered.
func (s *Sim) SetStatus(ctx context.Context, awb string, code int) error {
	s.mu.Lock()
	o, ok := s.orderByAWBLocked(awb)
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("set status of %s: %w", awb, ErrUnknownAWB)
	}
	s.setStatusLocked(o, code)
	target := s.webhook
	var body []byte
	if target.url != "" {
		body, _ = json.Marshal(o.webhookBody()) // plain maps and strings always encode
	}
	s.mu.Unlock()
	if target.url != "" {
		s.deliver(ctx, target, body, awb, code)
	}
	return nil
}

// Cancel cancels the order with the merchant's order_id, as the panel's
// cancel does; a later create with that order_id is refused.
func (s *Sim) Cancel(orderID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byChannel[orderID]
	if !ok {
		return fmt.Errorf("cancel %s: no such order", orderID)
	}
	o := s.orders[id]
	o.status, o.statusCode = "CANCELED", 5
	return nil
}

// Order is what tests can see of a simulated order.
type Order struct {
	ID             int
	OrderID        string
	ShipmentID     int
	Status         string
	AWB            string
	Courier        string
	ShipmentStatus int
	PickupLocation string
	SubTotal       float64
	Items          int
}

// Order returns the order with the merchant's order_id.
func (s *Sim) Order(orderID string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byChannel[orderID]
	if !ok {
		return Order{}, false
	}
	o := s.orders[id]
	return Order{ID: o.id, OrderID: o.req.OrderID, ShipmentID: o.shipmentID, Status: o.status, AWB: o.awb,
		Courier: o.courierName, ShipmentStatus: o.shipStatus, PickupLocation: o.req.PickupLocation,
		SubTotal: o.req.SubTotal, Items: len(o.req.OrderItems)}, true
}

func (s *Sim) orderByAWBLocked(awb string) (*order, bool) {
	id, ok := s.byAWB[awb]
	if !ok {
		return nil, false
	}
	return s.orders[id], true
}

func (s *Sim) now() time.Time { return s.opts.Now().In(ist) }
