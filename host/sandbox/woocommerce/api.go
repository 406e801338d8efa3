package woocommerce

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Handler serves the REST API under APIPrefix, as a WordPress site does.
// Any other path answers rest_no_route.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	p := APIPrefix
	mux.HandleFunc("GET "+p+"/orders", s.listOrders)
	mux.HandleFunc("POST "+p+"/orders", s.postOrder)
	mux.HandleFunc("GET "+p+"/orders/{id}", s.getOrder)
	mux.HandleFunc("PUT "+p+"/orders/{id}", s.putOrder)
	mux.HandleFunc("POST "+p+"/orders/{id}", s.putOrder)
	mux.HandleFunc("GET "+p+"/orders/{id}/notes", s.listNotes)
	mux.HandleFunc("POST "+p+"/orders/{id}/notes", s.postNote)
	mux.HandleFunc("GET "+p+"/products", s.listProducts)
	mux.HandleFunc("GET "+p+"/products/{id}", s.getProduct)
	mux.HandleFunc("PUT "+p+"/products/{id}", s.putProduct)
	mux.HandleFunc("PUT "+p+"/products/{pid}/variations/{id}", s.putVariation)
	mux.HandleFunc("GET "+p+"/webhooks", s.listWebhooks)
	mux.HandleFunc("POST "+p+"/webhooks", s.postWebhook)
	mux.HandleFunc("GET "+p+"/webhooks/{id}", s.getWebhook)
	mux.HandleFunc("DELETE "+p+"/webhooks/{id}", s.deleteWebhook)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, &apiError{Status: 404, Code: "rest_no_route", Message: "No route was found matching the URL and request method"})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f, ok := s.takeFailure(); ok {
			writeFailure(w, f)
			return
		}
		if strings.HasPrefix(r.URL.Path, APIPrefix+"/") {
			if e := s.authenticate(r); e != nil {
				writeError(w, e)
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

func (s *Sim) takeFailure() (failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failNext) == 0 {
		return failure{}, false
	}
	f := s.failNext[0]
	s.failNext = s.failNext[1:]
	return f, true
}

func writeFailure(w http.ResponseWriter, f failure) {
	if f.malformed {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_, _ = io.WriteString(w, `{"id":727,"status":"proc`)
		return
	}
	e := &apiError{Status: f.status, Code: "internal_server_error", Message: "There has been a critical error on this website."}
	switch {
	case f.status == http.StatusTooManyRequests:
		e.Code, e.Message = "woocommerce_rest_too_many_requests", "Too many requests. Please wait and try again."
		if f.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((f.retryAfter+time.Second-1)/time.Second)))
		}
	case f.status == http.StatusUnauthorized:
		e.Code, e.Message = "woocommerce_rest_authentication_error", "Consumer key is invalid."
	case f.status == http.StatusServiceUnavailable:
		e.Code, e.Message = "service_unavailable", "Briefly unavailable for scheduled maintenance. Check back in a minute."
	}
	writeError(w, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(wpJSONEncode(v))
}

func writeError(w http.ResponseWriter, e *apiError) {
	data := map[string]any{"status": e.Status}
	if len(e.Params) > 0 {
		data["params"] = e.Params
	}
	writeJSON(w, e.Status, map[string]any{"code": e.Code, "message": e.Message, "data": data})
}

func fail(w http.ResponseWriter, err error) {
	var e *apiError
	if errors.As(err, &e) {
		writeError(w, e)
		return
	}
	writeError(w, &apiError{Status: 500, Code: "internal_server_error", Message: err.Error()})
}

func decodeBody(r *http.Request, v any) *apiError {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil {
		return &apiError{Status: 400, Code: "rest_invalid_json", Message: "Invalid JSON body passed."}
	}
	return nil
}

func pathID(r *http.Request, name string) int {
	id, err := strconv.Atoi(r.PathValue(name))
	if err != nil {
		return -1
	}
	return id
}

// page is a list request's paging: per_page (1–100, default 10) and page.
type page struct{ perPage, page int }

func paging(q url.Values) (page, *apiError) {
	pg := page{perPage: 10, page: 1}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return pg, &apiError{Status: 400, Code: "rest_invalid_param", Message: "Invalid parameter(s): per_page",
				Params: map[string]string{"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"}}
		}
		pg.perPage = n
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return pg, &apiError{Status: 400, Code: "rest_invalid_param", Message: "Invalid parameter(s): page",
				Params: map[string]string{"page": "page must be greater than or equal to 1"}}
		}
		pg.page = n
	}
	return pg, nil
}

// writePage answers one page of items with WordPress's paging headers.
func writePage[T any](w http.ResponseWriter, r *http.Request, items []T, pg page) {
	total := len(items)
	pages := (total + pg.perPage - 1) / pg.perPage
	if pg.page > pages && total > 0 {
		writeError(w, &apiError{Status: 400, Code: "woocommerce_rest_invalid_page_number", Message: "The page number requested is larger than the number of pages available."})
		return
	}
	lo := min((pg.page-1)*pg.perPage, total)
	hi := min(lo+pg.perPage, total)
	w.Header().Set("X-WP-Total", strconv.Itoa(total))
	w.Header().Set("X-WP-TotalPages", strconv.Itoa(pages))
	var links []string
	link := func(n int, rel string) {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		if r.TLS != nil {
			u.Scheme = "https"
		}
		q := u.Query()
		for k := range q {
			if strings.HasPrefix(k, "oauth_") || k == "consumer_key" || k == "consumer_secret" {
				q.Del(k)
			}
		}
		q.Set("page", strconv.Itoa(n))
		u.RawQuery = q.Encode()
		links = append(links, fmt.Sprintf("<%s>; rel=%q", u.String(), rel))
	}
	if pg.page > 1 {
		link(min(pg.page-1, max(pages, 1)), "prev")
	}
	if pg.page < pages {
		link(pg.page+1, "next")
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	out := items[lo:hi]
	if out == nil {
		out = []T{}
	}
	writeJSON(w, http.StatusOK, out)
}

// dateParam reads an ISO 8601 date parameter; dates without a zone are in
// the site's time zone unless dates_are_gmt is true, as in WooCommerce.
func dateParam(q url.Values, name string) (time.Time, bool, *apiError) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, false, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05"} {
		t, err := time.Parse(layout, v)
		if err != nil {
			continue
		}
		if layout != time.RFC3339 && q.Get("dates_are_gmt") != "true" && q.Get("dates_are_gmt") != "1" {
			t = t.Add(-siteOffset)
		}
		return t.UTC(), true, nil
	}
	return time.Time{}, false, &apiError{Status: 400, Code: "rest_invalid_param", Message: "Invalid parameter(s): " + name,
		Params: map[string]string{name: "Invalid date."}}
}

func gmtTime(s string) time.Time {
	t, _ := time.Parse("2006-01-02T15:04:05", s)
	return t
}

func (s *Sim) listOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pg, e := paging(q)
	if e != nil {
		writeError(w, e)
		return
	}
	bounds := map[string]time.Time{}
	for _, name := range []string{"after", "before", "modified_after", "modified_before"} {
		t, ok, e := dateParam(q, name)
		if e != nil {
			writeError(w, e)
			return
		}
		if ok {
			bounds[name] = t
		}
	}
	var statuses []string
	if v := q.Get("status"); v != "" && v != "any" {
		statuses = strings.Split(v, ",")
	}
	search := strings.ToLower(q.Get("search"))
	orderby := q.Get("orderby")
	if orderby == "" {
		orderby = "date"
	}
	if !slices.Contains([]string{"date", "id", "modified", "include", "title", "slug"}, orderby) {
		writeError(w, &apiError{Status: 400, Code: "rest_invalid_param", Message: "Invalid parameter(s): orderby",
			Params: map[string]string{"orderby": "orderby is not one of date, id, include, title, slug, modified."}})
		return
	}
	desc := q.Get("order") != "asc"

	var out []Order
	for _, o := range s.Orders() {
		created, modified := gmtTime(o.DateCreatedGMT), gmtTime(o.DateModifiedGMT)
		if t, ok := bounds["after"]; ok && !created.After(t) {
			continue
		}
		if t, ok := bounds["before"]; ok && !created.Before(t) {
			continue
		}
		if t, ok := bounds["modified_after"]; ok && !modified.After(t) {
			continue
		}
		if t, ok := bounds["modified_before"]; ok && !modified.Before(t) {
			continue
		}
		if statuses != nil && !slices.Contains(statuses, o.Status) {
			continue
		}
		if o.Status == "trash" && !slices.Contains(statuses, "trash") {
			continue
		}
		if search != "" && !matches(o, search) {
			continue
		}
		out = append(out, o)
	}
	slices.SortStableFunc(out, func(a, b Order) int {
		var c int
		switch orderby {
		case "modified":
			c = strings.Compare(a.DateModifiedGMT, b.DateModifiedGMT)
		case "date":
			c = strings.Compare(a.DateCreatedGMT, b.DateCreatedGMT)
		}
		if c == 0 {
			c = a.ID - b.ID
		}
		if desc {
			c = -c
		}
		return c
	})
	writePage(w, r, out, pg)
}

// matches is WooCommerce's order search: addresses, email, number and the
// names of items.
func matches(o Order, term string) bool {
	fields := []string{o.Number, o.Billing.FirstName, o.Billing.LastName, o.Billing.Email, o.Billing.Company,
		o.Billing.Address1, o.Billing.City, o.Billing.Phone, o.Shipping.FirstName, o.Shipping.LastName, o.Shipping.Address1}
	for _, li := range o.LineItems {
		fields = append(fields, li.Name)
	}
	for _, f := range fields {
		if f != "" && strings.Contains(strings.ToLower(f), term) {
			return true
		}
	}
	return false
}

func (s *Sim) getOrder(w http.ResponseWriter, r *http.Request) {
	o, ok := s.Order(pathID(r, "id"))
	if !ok {
		writeError(w, errInvalidOrderID)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *Sim) postOrder(w http.ResponseWriter, r *http.Request) {
	var in NewOrder
	if e := decodeBody(r, &in); e != nil {
		writeError(w, e)
		return
	}
	o, err := s.createOrder(in, "rest-api")
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, o)
}

func (s *Sim) putOrder(w http.ResponseWriter, r *http.Request) {
	var in orderUpdate
	if e := decodeBody(r, &in); e != nil {
		writeError(w, e)
		return
	}
	o, err := s.updateOrder(pathID(r, "id"), in)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *Sim) listNotes(w http.ResponseWriter, r *http.Request) {
	id := pathID(r, "id")
	if _, ok := s.Order(id); !ok {
		writeError(w, &apiError{Status: 404, Code: "woocommerce_rest_order_invalid_id", Message: "Invalid order ID."})
		return
	}
	notes := s.Notes(id)
	slices.Reverse(notes) // newest first, as WooCommerce lists them
	if notes == nil {
		notes = []Note{}
	}
	writeJSON(w, http.StatusOK, notes)
}

func (s *Sim) postNote(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Note         string `json:"note"`
		CustomerNote bool   `json:"customer_note"`
	}
	if e := decodeBody(r, &in); e != nil {
		writeError(w, e)
		return
	}
	if in.Note == "" {
		writeError(w, &apiError{Status: 400, Code: "rest_missing_callback_param", Message: "Missing parameter(s): note",
			Params: map[string]string{"note": "note is required"}})
		return
	}
	id := pathID(r, "id")
	s.mu.Lock()
	if _, ok := s.orders[id]; !ok {
		s.mu.Unlock()
		writeError(w, &apiError{Status: 404, Code: "woocommerce_rest_order_invalid_id", Message: "Invalid order ID."})
		return
	}
	t := s.stamp()
	s.nextID++
	n := Note{ID: s.nextID, Author: "WooCommerce", DateCreated: localDate(t), DateCreatedGMT: gmtDate(t), Note: in.Note, CustomerNote: in.CustomerNote}
	s.notes[id] = append(s.notes[id], n)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, n)
}

func (s *Sim) listProducts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pg, e := paging(q)
	if e != nil {
		writeError(w, e)
		return
	}
	var skus []string
	if v := q.Get("sku"); v != "" {
		skus = strings.Split(v, ",")
	}
	s.mu.Lock()
	var out []Product
	for _, p := range s.products {
		// Without sku only products are listed; with it variations too
		// (WC_REST_Products_Controller::prepare_objects_query).
		if skus == nil && p.Type == "variation" {
			continue
		}
		if skus != nil && !slices.Contains(skus, p.SKU) {
			continue
		}
		out = append(out, *p)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Product) int { return b.ID - a.ID })
	writePage(w, r, out, pg)
}

func (s *Sim) getProduct(w http.ResponseWriter, r *http.Request) {
	p, ok := s.Product(pathID(r, "id"))
	if !ok {
		writeError(w, &apiError{Status: 404, Code: "woocommerce_rest_product_invalid_id", Message: "Invalid ID."})
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// stockUpdate is the part of a product update the simulator applies.
type stockUpdate struct {
	ManageStock   *bool `json:"manage_stock"`
	StockQuantity *int  `json:"stock_quantity"`
}

func (s *Sim) putProduct(w http.ResponseWriter, r *http.Request) {
	s.updateStock(w, r, pathID(r, "id"), 0)
}

func (s *Sim) putVariation(w http.ResponseWriter, r *http.Request) {
	s.updateStock(w, r, pathID(r, "id"), pathID(r, "pid"))
}

func (s *Sim) updateStock(w http.ResponseWriter, r *http.Request, id, parent int) {
	var in stockUpdate
	if e := decodeBody(r, &in); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.products[id]
	switch {
	case !ok || (parent != 0 && (p.Type != "variation" || p.ParentID != parent)):
		writeError(w, &apiError{Status: 404, Code: "woocommerce_rest_product_invalid_id", Message: "Invalid ID."})
		return
	case parent == 0 && p.Type == "variation":
		writeError(w, &apiError{Status: 404, Code: "woocommerce_rest_invalid_product_id",
			Message: "To manipulate product variations you should use the /products/&lt;product_id&gt;/variations/&lt;id&gt; endpoint."})
		return
	}
	if in.ManageStock != nil {
		p.ManageStock = *in.ManageStock
	}
	if in.StockQuantity != nil && p.ManageStock {
		q := *in.StockQuantity
		p.StockQuantity = &q
		p.StockStatus = "instock"
		if q <= 0 {
			p.StockStatus = "outofstock"
		}
	}
	t := s.stamp()
	p.DateModified, p.DateModifiedGMT = localDate(t), gmtDate(t)
	writeJSON(w, http.StatusOK, *p)
}

// webhookTopics are the topics the simulator delivers.
var webhookTopics = []string{"order.created", "order.updated"}

func (s *Sim) listWebhooks(w http.ResponseWriter, r *http.Request) {
	pg, e := paging(r.URL.Query())
	if e != nil {
		writeError(w, e)
		return
	}
	writePage(w, r, s.Webhooks(), pg)
}

func (s *Sim) getWebhook(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	hook, ok := s.webhooks[pathID(r, "id")]
	var out Webhook
	if ok {
		out = *hook
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, &apiError{Status: 404, Code: "woocommerce_rest_webhook_invalid_id", Message: "Invalid ID."})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) postWebhook(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name        string `json:"name"`
		Status      string `json:"status"`
		Topic       string `json:"topic"`
		DeliveryURL string `json:"delivery_url"`
		Secret      string `json:"secret"`
	}
	if e := decodeBody(r, &in); e != nil {
		writeError(w, e)
		return
	}
	if in.Topic == "" || in.DeliveryURL == "" {
		writeError(w, &apiError{Status: 400, Code: "rest_missing_callback_param", Message: "Missing parameter(s): topic, delivery_url",
			Params: map[string]string{"topic": "topic is required", "delivery_url": "delivery_url is required"}})
		return
	}
	if !slices.Contains(webhookTopics, in.Topic) {
		writeError(w, &apiError{Status: 400, Code: "woocommerce_rest_webhook_invalid_topic", Message: "Webhook topic is required and must be valid."})
		return
	}
	if u, err := url.Parse(in.DeliveryURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		writeError(w, &apiError{Status: 400, Code: "rest_invalid_param", Message: "Invalid parameter(s): delivery_url",
			Params: map[string]string{"delivery_url": "Invalid URL."}})
		return
	}
	s.mu.Lock()
	t := s.stamp()
	if s.nextHook == 0 {
		s.nextHook = 141
	}
	s.nextHook++
	resource, event, _ := strings.Cut(in.Topic, ".")
	hook := &Webhook{ID: s.nextHook, Name: in.Name, Status: "active", Topic: in.Topic, Resource: resource, Event: event,
		Hooks:       []string{"woocommerce_" + map[string]string{"created": "new", "updated": "update"}[event] + "_" + resource},
		DeliveryURL: in.DeliveryURL, DateCreated: localDate(t), DateCreatedGMT: gmtDate(t), DateModified: localDate(t), DateModifiedGMT: gmtDate(t),
		secret: in.Secret}
	if in.Status == "paused" || in.Status == "disabled" {
		hook.Status = in.Status
	}
	if hook.Name == "" {
		hook.Name = "Webhook created on " + t.Format("Jan 02, 2006 @ 03:04 PM")
	}
	if hook.secret == "" {
		// WooCommerce defaults to a hash of the user; any unguessable value
		// does here.
		hook.secret = fmt.Sprintf("wc_sandbox_secret_%d_%d", hook.ID, t.UnixNano())
	}
	s.webhooks[hook.ID] = hook
	out := *hook
	s.mu.Unlock()
	s.enqueue(job{hook: out, ping: true})
	writeJSON(w, http.StatusCreated, out)
}

func (s *Sim) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	if force := r.URL.Query().Get("force"); force != "true" && force != "1" {
		writeError(w, &apiError{Status: 501, Code: "woocommerce_rest_trash_not_supported", Message: "Webhooks do not support trashing."})
		return
	}
	id := pathID(r, "id")
	s.mu.Lock()
	hook, ok := s.webhooks[id]
	var out Webhook
	if ok {
		out = *hook
		delete(s.webhooks, id)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, &apiError{Status: 404, Code: "woocommerce_rest_webhook_invalid_id", Message: "Invalid ID."})
		return
	}
	writeJSON(w, http.StatusOK, out)
}
