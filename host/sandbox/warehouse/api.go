package warehouse

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds a request body the API reads.
const maxBody = 1 << 20

// Handler serves the warehouse REST API under /api.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/auth/login", s.login)
	mux.HandleFunc("POST /api/orders", s.authed(s.createOrder))
	mux.HandleFunc("GET /api/orders", s.authed(s.listOrders))
	mux.HandleFunc("GET /api/orders/{id}", s.authed(s.getOrder))
	mux.HandleFunc("PATCH /api/orders/{id}", s.authed(s.patchOrder))
	mux.HandleFunc("GET /api/shipments", s.authed(s.listShipments))
	mux.HandleFunc("GET /api/stock", s.authed(s.listStock))
	mux.HandleFunc("PUT /api/stock/{sku}", s.authed(s.putStock))
	mux.HandleFunc("POST /api/webhooks", s.authed(s.createWebhook))
	mux.HandleFunc("GET /api/webhooks", s.authed(s.listWebhooks))
	mux.HandleFunc("DELETE /api/webhooks/{id}", s.authed(s.deleteWebhook))
	mux.HandleFunc("GET /api/stream", s.serveStream)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route %s %s", r.Method, r.URL.Path), nil)
	})
	return s.faulty(mux)
}

// faulty answers with an injected fault, when one is queued, instead of
// serving the request.
func (s *Sim) faulty(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		var f Fault
		if len(s.faults) > 0 {
			f, s.faults = s.faults[0], s.faults[1:]
		}
		limited := s.countRequest(w.Header())
		s.mu.Unlock()
		if f == "" && limited {
			f = FaultRateLimit
		}
		switch f {
		case FaultRateLimit:
			after := "1"
			if limited {
				after = w.Header().Get("X-RateLimit-Reset")
			}
			w.Header().Set("Retry-After", after)
			writeError(w, http.StatusTooManyRequests, "rate_limited", "too many requests, retry after "+after+" s", nil)
		case FaultServerError:
			writeError(w, http.StatusInternalServerError, "internal", "the warehouse had a problem; try again", nil)
		case FaultUnauthorized:
			writeError(w, http.StatusUnauthorized, "unauthorized", "token expired", nil)
		case FaultMalformed:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `{"data": {"order": {"id": "ord_`)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// countRequest counts a request against the rate limit, sets the
// rate-limit headers and reports whether the request is over the limit;
// s.mu is held.
func (s *Sim) countRequest(h http.Header) bool {
	if s.opts.RateLimit <= 0 {
		return false
	}
	now := s.now()
	if s.window.IsZero() || !now.Before(s.window.Add(time.Minute)) {
		s.window, s.used = now.Truncate(time.Minute), 0
	}
	s.used++
	reset := int(math.Ceil(s.window.Add(time.Minute).Sub(now).Seconds()))
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.opts.RateLimit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(s.opts.RateLimit-s.used, 0)))
	h.Set("X-RateLimit-Reset", strconv.Itoa(max(reset, 1)))
	return s.used > s.opts.RateLimit
}

// authed requires the account token or a session token.
func (s *Sim) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		valid := ok && (subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.Token)) == 1 || s.sessions[tok])
		s.mu.Unlock()
		if !valid {
			w.Header().Set("WWW-Authenticate", `Bearer realm="warehouse"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing or invalid bearer token", nil)
			return
		}
		h(w, r)
	}
}

func (s *Sim) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if subtle.ConstantTimeCompare([]byte(in.Username), []byte(s.opts.Username)) != 1 ||
		subtle.ConstantTimeCompare([]byte(in.Password), []byte(s.opts.Password)) != 1 {
		writeError(w, http.StatusUnauthorized, "invalid_credentials", "username or password is wrong", nil)
		return
	}
	tok, err := newToken()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", err.Error(), nil)
		return
	}
	s.mu.Lock()
	s.sessions[tok] = true
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"token": tok, "expires_in": 3600}})
}

// ExpireSessions ends every session, as a session timeout would; the next
// request with a session token is 401.
func (s *Sim) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions = map[string]bool{}
}

type orderInput struct {
	Ref             string  `json:"ref"`
	Lines           []Line  `json:"lines"`
	ShippingAddress Address `json:"shipping_address"`
}

func (in orderInput) violations() map[string][]string {
	v := map[string][]string{}
	if strings.TrimSpace(in.Ref) == "" {
		v["ref"] = append(v["ref"], "is required")
	}
	if len(in.Lines) == 0 {
		v["lines"] = append(v["lines"], "needs at least one line")
	}
	for i, l := range in.Lines {
		if l.SKU == "" {
			v[fmt.Sprintf("lines[%d].sku", i)] = []string{"is required"}
		}
		if l.Qty <= 0 {
			v[fmt.Sprintf("lines[%d].qty", i)] = []string{"must be a positive whole number"}
		}
	}
	a := in.ShippingAddress
	for name, val := range map[string]string{"name": a.Name, "line1": a.Line1, "city": a.City, "postcode": a.Postcode, "country": a.Country} {
		if strings.TrimSpace(val) == "" {
			v["shipping_address."+name] = []string{"is required"}
		}
	}
	return v
}

func (s *Sim) createOrder(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var in orderInput
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json", "request body is not a JSON order: "+err.Error(), nil)
		return
	}
	if v := in.violations(); len(v) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "the order is not valid", v)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	sum := sha256.Sum256(body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if key != "" {
		if prev, ok := s.idempotency[key]; ok {
			if prev.bodyHash != sum {
				writeError(w, http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key was used with another request body", nil)
				return
			}
			w.Header().Set("Idempotent-Replayed", "true")
			writeRaw(w, prev.status, prev.body)
			return
		}
	}
	for _, o := range s.orders {
		if o.Ref == in.Ref {
			writeError(w, http.StatusConflict, "duplicate_ref", fmt.Sprintf("an order with ref %q exists: %s", in.Ref, o.ID), nil)
			return
		}
	}
	o := s.addOrder(Order{Ref: in.Ref, Lines: slices.Clone(in.Lines), ShippingAddress: in.ShippingAddress}, s.now().UTC())
	out, err := json.Marshal(map[string]any{"data": map[string]any{"order": o}})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", err.Error(), nil)
		return
	}
	if key != "" {
		s.idempotency[key] = idemEntry{bodyHash: sum, status: http.StatusCreated, body: out}
	}
	w.Header().Set("Location", "/api/orders/"+o.ID)
	writeRaw(w, http.StatusCreated, out)
}

func (s *Sim) listOrders(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	orders := s.sortedOrders(r.URL.Query().Get("ref"))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"orders": orders}})
}

func (s *Sim) getOrder(w http.ResponseWriter, r *http.Request) {
	o, ok := s.Order(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("order %s not found", r.PathValue("id")), nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"order": o}})
}

func (s *Sim) patchOrder(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Status string `json:"status"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.Status == "" {
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "nothing to change", map[string][]string{"status": {"is required"}})
		return
	}
	s.mu.Lock()
	o, out, err := s.setStatus(r.PathValue("id"), in.Status)
	s.mu.Unlock()
	var se *statusError
	if errors.As(err, &se) {
		var fields map[string][]string
		if se.status == http.StatusUnprocessableEntity {
			fields = map[string][]string{"status": {se.message}}
		}
		writeError(w, se.status, se.code, se.message, fields)
		return
	}
	s.deliver(out)
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"order": o}})
}

// feedPage reads since and limit, answering 400 for bad values.
func feedPage(w http.ResponseWriter, q url.Values) (since int64, limit int, ok bool) {
	limit = 50
	if v := q.Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "invalid_parameter", "since must be a whole number ≥ 0", map[string][]string{"since": {"must be a whole number ≥ 0"}})
			return 0, 0, false
		}
		since = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, "invalid_parameter", "limit must be between 1 and 100", map[string][]string{"limit": {"must be between 1 and 100"}})
			return 0, 0, false
		}
		limit = n
	}
	return since, limit, true
}

// page answers a feed page: the items after since, at most limit.
func page[T any](w http.ResponseWriter, items []T, seq func(T) int64, since int64, limit int) {
	out := []T{}
	next := since
	more := false
	for _, it := range items {
		if seq(it) <= since {
			continue
		}
		if len(out) == limit {
			more = true
			break
		}
		out = append(out, it)
		next = seq(it)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"items": out, "next_since": next, "has_more": more}})
}

func (s *Sim) listShipments(w http.ResponseWriter, r *http.Request) {
	since, limit, ok := feedPage(w, r.URL.Query())
	if !ok {
		return
	}
	s.mu.Lock()
	items := slices.Clone(s.shipments)
	s.mu.Unlock()
	page(w, items, func(c ShipmentChange) int64 { return c.Seq }, since, limit)
}

func (s *Sim) listStock(w http.ResponseWriter, r *http.Request) {
	since, limit, ok := feedPage(w, r.URL.Query())
	if !ok {
		return
	}
	s.mu.Lock()
	items := slices.Clone(s.stockFeed)
	s.mu.Unlock()
	page(w, items, func(c StockChange) int64 { return c.Seq }, since, limit)
}

func (s *Sim) putStock(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Qty *int `json:"qty"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.Qty == nil || *in.Qty < 0 {
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "qty must be a whole number ≥ 0", map[string][]string{"qty": {"must be a whole number ≥ 0"}})
		return
	}
	sku := r.PathValue("sku")
	s.SetStock(sku, *in.Qty)
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"stock": map[string]any{"sku": sku, "qty": *in.Qty}}})
}

func (s *Sim) createWebhook(w http.ResponseWriter, r *http.Request) {
	var in struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
		Secret string   `json:"secret"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	v := map[string][]string{}
	if u, err := url.Parse(in.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v["url"] = []string{"must be an http or https URL"}
	}
	if len(in.Events) == 0 {
		v["events"] = []string{"needs at least one event"}
	}
	for i, e := range in.Events {
		if e != EventOrderStatusChanged && e != EventStockChanged {
			v[fmt.Sprintf("events[%d]", i)] = []string{fmt.Sprintf("unknown event; known: %s, %s", EventOrderStatusChanged, EventStockChanged)}
		}
	}
	if len(in.Secret) < 16 {
		v["secret"] = []string{"must be at least 16 characters"}
	}
	if len(v) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "the webhook is not valid", v)
		return
	}
	s.mu.Lock()
	s.hookSeq++
	hook := &Webhook{ID: fmt.Sprintf("whk_%d", s.hookSeq), URL: in.URL, Events: slices.Clone(in.Events), secret: in.Secret}
	s.webhooks = append(s.webhooks, hook)
	view := *hook
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"data": map[string]any{"webhook": view}})
}

func (s *Sim) listWebhooks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"webhooks": s.Webhooks()}})
}

func (s *Sim) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	i := slices.IndexFunc(s.webhooks, func(h *Webhook) bool { return h.ID == id })
	if i >= 0 {
		s.webhooks = slices.Delete(s.webhooks, i, i+1)
	}
	s.mu.Unlock()
	if i < 0 {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("webhook %s not found", id), nil)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// readBody reads a bounded request body, answering 400 when it cannot.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "cannot read the request body: "+err.Error(), nil)
		return nil, false
	}
	return body, true
}

// readJSON decodes a JSON request body into v, answering 400 when it is
// not JSON.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, ok := readBody(w, r)
	if !ok {
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json", "request body is not valid JSON: "+err.Error(), nil)
		return false
	}
	return true
}

func writeError(w http.ResponseWriter, status int, code, message string, fields map[string][]string) {
	body := map[string]any{"error": map[string]any{"code": code, "message": message}}
	if len(fields) > 0 {
		body["errors"] = fields
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
