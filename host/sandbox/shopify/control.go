package shopify

import (
	"encoding/json"
	"net/http"
)

// Control serves the simulator's test switches, for `hub sandbox` and for
// tests in other processes. It is not part of Shopify's API and needs no
// access token, so mount it apart from Handler:
//
//	POST /reset    return to the seed (204)
//	POST /fail     {"status": 429, "retry_after": "2.0", "malformed": false, "count": 1, "path": ""} (204)
//	POST /orders   place an order as a customer: {"email", "first_name", "last_name",
//	               "financial_status", "tags", "note", "line_items": [{"sku" | "variant_id" | "title"+"price", "quantity"}]}
//	               (201 {"order": ...}); delivers orders/create
//	GET  /state    {"orders", "inventory_levels", "webhooks", "deliveries"}
func (s *Sim) Control() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) {
		var f struct {
			Status     int    `json:"status"`
			RetryAfter string `json:"retry_after"`
			Malformed  bool   `json:"malformed"`
			Count      int    `json:"count"`
			Path       string `json:"path"`
		}
		if !decodeBody(w, r, &f) {
			return
		}
		if !f.Malformed && (f.Status < 400 || f.Status > 599) {
			fieldError(w, http.StatusUnprocessableEntity, "status", "must be a 4xx or 5xx status unless malformed is set")
			return
		}
		s.Fail(Failure{Status: f.Status, RetryAfter: f.RetryAfter, Malformed: f.Malformed, Count: f.Count, Path: f.Path})
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Email           string `json:"email"`
			FirstName       string `json:"first_name"`
			LastName        string `json:"last_name"`
			FinancialStatus string `json:"financial_status"`
			Tags            string `json:"tags"`
			Note            string `json:"note"`
			LineItems       []struct {
				SKU       string      `json:"sku"`
				VariantID json.Number `json:"variant_id"`
				Title     string      `json:"title"`
				Price     string      `json:"price"`
				Quantity  int         `json:"quantity"`
			} `json:"line_items"`
		}
		if !decodeBody(w, r, &in) {
			return
		}
		order := NewOrder{Email: in.Email, FirstName: in.FirstName, LastName: in.LastName,
			FinancialStatus: in.FinancialStatus, Tags: in.Tags, Note: in.Note}
		for _, l := range in.LineItems {
			v, _ := l.VariantID.Int64()
			order.LineItems = append(order.LineItems, NewLineItem{SKU: l.SKU, VariantID: v, Title: l.Title, Price: l.Price, Quantity: l.Quantity})
		}
		o, err := s.PlaceOrder(r.Context(), order)
		if err != nil {
			fieldError(w, http.StatusUnprocessableEntity, "line_items", err.Error())
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"order": o})
	})
	m.HandleFunc("GET /state", func(w http.ResponseWriter, _ *http.Request) {
		type deliveryView struct {
			Topic     string `json:"topic"`
			Address   string `json:"address"`
			WebhookID string `json:"webhook_id"`
			Status    int    `json:"status"`
			Error     string `json:"error,omitempty"`
		}
		orders := s.Orders()
		s.mu.Lock()
		levels, hooks := s.sortedLevels(), s.sortedWebhooks()
		ds := make([]deliveryView, 0, len(s.st.delivered))
		for _, d := range s.st.delivered {
			ds = append(ds, deliveryView{d.Topic, d.Address, d.WebhookID, d.Status, d.Err})
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"orders": orders, "inventory_levels": levels, "webhooks": hooks, "deliveries": ds})
	})
	return m
}
