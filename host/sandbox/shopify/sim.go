package shopify

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for Options fields left empty.
const (
	DefaultShop         = "hub-sandbox.myshopify.com"
	DefaultAccessToken  = "shpat_hub_sandbox_token"
	DefaultClientSecret = "hub-sandbox-client-secret"
	DefaultAPIVersion   = "2025-07"
)

// Options configure a simulator.
type Options struct {
	// Shop is the shop's myshopify domain, sent as X-Shopify-Shop-Domain.
	Shop string
	// AccessToken is the Admin API access token requests must carry.
	AccessToken string
	// ClientSecret is the app's client secret that signs webhooks.
	ClientSecret string
	// APIVersion is sent as X-Shopify-API-Version with webhooks.
	APIVersion string
	// Client delivers webhooks; nil means a client with a 10 s timeout.
	Client *http.Client
	// Now is the simulator's clock; nil means time.Now.
	Now func() time.Time
}

// Failure makes the simulator answer the next requests badly.
type Failure struct {
	// Status is the HTTP status to answer (e.g. 429, 401, 500); ignored
	// when Malformed is set.
	Status int
	// RetryAfter is sent as the Retry-After header when not empty.
	RetryAfter string
	// Malformed answers 200 with a body that is not valid JSON.
	Malformed bool
	// Count is how many requests fail; zero means one.
	Count int
	// Path, when set, limits the failure to request paths containing it.
	Path string
}

// Sim is a simulated Shopify shop. It is safe for concurrent use.
type Sim struct {
	opts Options
	mux  *http.ServeMux

	mu sync.Mutex
	st *state
	// inflight counts webhook deliveries queued but not yet answered;
	// idle (on mu) is signalled when it drops to zero. A counter under
	// mu rather than a WaitGroup, because deliveries start while Wait
	// may be waiting.
	inflight int
	idle     *sync.Cond
}

// state is everything Reset returns to the seed.
type state struct {
	nextID      int64
	nextNumber  int
	orders      map[int64]*Order
	fulfillment map[int64]*FulfillmentOrder
	products    []*Product
	levels      map[[2]int64]*InventoryLevel
	webhooks    map[int64]*Webhook
	customers   map[string]*Customer
	delivered   []Delivery
	failures    []Failure
	// bucket is the leaky bucket behind X-Shopify-Shop-Api-Call-Limit.
	bucket   float64
	bucketAt time.Time
}

// Call-limit bucket of the standard plan: 40 requests, leaking 2 a second.
const (
	bucketSize = 40
	leakRate   = 2.0
)

// New returns a simulator in its seeded state.
func New(opts Options) *Sim {
	if opts.Shop == "" {
		opts.Shop = DefaultShop
	}
	if opts.AccessToken == "" {
		opts.AccessToken = DefaultAccessToken
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.APIVersion == "" {
		opts.APIVersion = DefaultAPIVersion
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sim{opts: opts}
	s.idle = sync.NewCond(&s.mu)
	s.st = s.seed()
	s.mux = s.routes()
	return s
}

// Shop is the shop's myshopify domain.
func (s *Sim) Shop() string { return s.opts.Shop }

// AccessToken is the token the API accepts.
func (s *Sim) AccessToken() string { return s.opts.AccessToken }

// ClientSecret is the secret webhooks are signed with.
func (s *Sim) ClientSecret() string { return s.opts.ClientSecret }

// Reset returns the shop to its seed: orders, catalogue, stock, no webhook
// subscriptions, no deliveries recorded and no pending failures. It waits
// for deliveries in flight first so none lands in the fresh state.
func (s *Sim) Reset() {
	s.Wait()
	st := s.seed()
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
}

// Fail makes the next f.Count requests (matching f.Path) fail as f says.
func (s *Sim) Fail(f Failure) {
	if f.Count <= 0 {
		f.Count = 1
	}
	s.mu.Lock()
	s.st.failures = append(s.st.failures, f)
	s.mu.Unlock()
}

// Wait blocks until every webhook delivery started so far has been answered
// (or has failed).
func (s *Sim) Wait() {
	s.mu.Lock()
	for s.inflight > 0 {
		s.idle.Wait()
	}
	s.mu.Unlock()
}

// Handler serves the Admin REST API under /admin/api/<version>/.
func (s *Sim) Handler() http.Handler { return s }

// ServeHTTP serves the API: forced failures first, then the access token,
// then the call-limit bucket, then the endpoint.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, failing := s.takeFailure(r.URL.Path)
	used := s.leak()
	s.mu.Unlock()
	w.Header().Set("X-Shopify-Shop-Api-Call-Limit", fmt.Sprintf("%d/%d", used, bucketSize))
	if failing {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		switch {
		case f.Malformed:
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"orders": [{"id": 450789469, "name": "#10`))
		case f.Status == http.StatusTooManyRequests:
			writeErrors(w, f.Status, "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.")
		case f.Status == http.StatusUnauthorized:
			writeErrors(w, f.Status, invalidToken)
		default:
			writeErrors(w, f.Status, http.StatusText(f.Status))
		}
		return
	}
	if r.Header.Get("X-Shopify-Access-Token") != s.opts.AccessToken {
		writeErrors(w, http.StatusUnauthorized, invalidToken)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// invalidToken is Shopify's answer to a missing or wrong access token.
const invalidToken = "[API] Invalid API key or access token (unrecognized login or wrong password)"

// takeFailure pops the first pending failure that applies to path.
func (s *Sim) takeFailure(path string) (Failure, bool) {
	for i := range s.st.failures {
		f := &s.st.failures[i]
		if f.Path != "" && !strings.Contains(path, f.Path) {
			continue
		}
		got := *f
		f.Count--
		if f.Count <= 0 {
			s.st.failures = slices.Delete(s.st.failures, i, i+1)
		}
		return got, true
	}
	return Failure{}, false
}

// leak drains the call-limit bucket for the time since the last request,
// counts this one and returns the fill shown to the caller. The simulator
// reports the bucket but does not throttle by itself; Fail does that.
func (s *Sim) leak() int {
	now := s.opts.Now()
	if !s.st.bucketAt.IsZero() {
		s.st.bucket = math.Max(0, s.st.bucket-now.Sub(s.st.bucketAt).Seconds()*leakRate)
	}
	s.st.bucketAt = now
	s.st.bucket = math.Min(bucketSize, s.st.bucket+1)
	return int(math.Ceil(s.st.bucket))
}

func (s *Sim) routes() *http.ServeMux {
	m := http.NewServeMux()
	const p = "/admin/api/{version}/"
	m.HandleFunc("GET "+p+"shop.json", s.getShop)
	m.HandleFunc("GET "+p+"orders.json", s.listOrders)
	m.HandleFunc("POST "+p+"orders.json", s.createOrder)
	m.HandleFunc("GET "+p+"orders/{file}", s.getOrder)
	m.HandleFunc("PUT "+p+"orders/{file}", s.updateOrder)
	m.HandleFunc("GET "+p+"orders/{id}/fulfillment_orders.json", s.listFulfillmentOrders)
	m.HandleFunc("GET "+p+"orders/{id}/fulfillments.json", s.listFulfillments)
	m.HandleFunc("POST "+p+"fulfillments.json", s.createFulfillment)
	m.HandleFunc("GET "+p+"products.json", s.listProducts)
	m.HandleFunc("GET "+p+"inventory_levels.json", s.listInventoryLevels)
	m.HandleFunc("POST "+p+"inventory_levels/set.json", s.setInventoryLevel)
	m.HandleFunc("GET "+p+"webhooks.json", s.listWebhooks)
	m.HandleFunc("POST "+p+"webhooks.json", s.createWebhook)
	m.HandleFunc("DELETE "+p+"webhooks/{file}", s.deleteWebhook)
	m.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeErrors(w, http.StatusNotFound, "Not Found")
	})
	return m
}

func (s *Sim) getShop(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"shop": Shop{
		ID: shopID, Name: "hub sandbox", Email: "owner@hub-sandbox.example", Domain: s.opts.Shop,
		MyshopifyDomain: s.opts.Shop, Currency: "USD", IanaTimezone: "America/New_York", PlanName: "basic",
	}})
}

// ---- helpers shared by the endpoints

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeErrors answers Shopify's {"errors": ...} shape; errs is a string or
// a map of field to messages.
func writeErrors(w http.ResponseWriter, status int, errs any) {
	writeJSON(w, status, map[string]any{"errors": errs})
}

// fieldError is Shopify's 422 shape: {"errors": {"field": ["message"]}}.
func fieldError(w http.ResponseWriter, status int, field, msg string) {
	writeErrors(w, status, map[string][]string{field: {msg}})
}

// idFromFile reads the id in a path segment such as "450789469.json".
func idFromFile(file string) (int64, bool) {
	num, ok := strings.CutSuffix(file, ".json")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(num, 10, 64)
	return id, err == nil && id > 0
}

// decodeBody reads a JSON request body into v, answering 400 as Shopify
// does when it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		writeErrors(w, http.StatusBadRequest, "body is not valid JSON: "+err.Error())
		return false
	}
	return true
}

// newID hands out an id; the caller holds s.mu.
func (s *Sim) newID() int64 {
	s.st.nextID++
	return s.st.nextID
}
