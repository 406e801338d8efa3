package woocommerce

import (
	"net/http"
	"strconv"
	"time"
)

// Control serves the sandbox's switches, for `hub sandbox` and tests that
// run the simulator out of process:
//
//	POST /reset                                   Reset
//	POST /fail?status=429&times=1&retry_after=2   Fail (retry_after in seconds)
//	POST /malformed?times=1                       Malformed
//	POST /orders          NewOrder JSON         → 201 the order (PlaceOrder)
//	POST /orders/{id}/status  {"status": "..."} → 200 the order (SetOrderStatus)
//	GET  /orders                                  every order
//	GET  /webhooks                                the registered webhooks
//	GET  /deliveries                              the delivery log, after Flush
func (s *Sim) Control() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		status, err := strconv.Atoi(q.Get("status"))
		if err != nil || status < 400 || status > 599 {
			http.Error(w, "status must be a 4xx or 5xx code", http.StatusBadRequest)
			return
		}
		times := atoiOr(q.Get("times"), 1)
		s.Fail(status, times, time.Duration(atoiOr(q.Get("retry_after"), 0))*time.Second)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /malformed", func(w http.ResponseWriter, r *http.Request) {
		s.Malformed(atoiOr(r.URL.Query().Get("times"), 1))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		var in NewOrder
		if e := decodeBody(r, &in); e != nil {
			writeError(w, e)
			return
		}
		o, err := s.PlaceOrder(in)
		if err != nil {
			fail(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, o)
	})
	mux.HandleFunc("POST /orders/{id}/status", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Status string `json:"status"`
		}
		if e := decodeBody(r, &in); e != nil {
			writeError(w, e)
			return
		}
		o, err := s.SetOrderStatus(pathID(r, "id"), in.Status)
		if err != nil {
			fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, o)
	})
	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.Orders()) })
	mux.HandleFunc("GET /webhooks", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.Webhooks()) })
	mux.HandleFunc("GET /deliveries", func(w http.ResponseWriter, _ *http.Request) {
		s.Flush()
		type entry struct {
			WebhookID  int    `json:"webhook_id"`
			Topic      string `json:"topic"`
			Ping       bool   `json:"ping"`
			URL        string `json:"url"`
			DeliveryID string `json:"delivery_id"`
			Status     int    `json:"status"`
			Error      string `json:"error,omitempty"`
		}
		out := []entry{}
		for _, d := range s.Deliveries() {
			out = append(out, entry{d.WebhookID, d.Topic, d.Ping, d.URL, d.DeliveryID, d.Status, d.Err})
		}
		writeJSON(w, http.StatusOK, out)
	})
	return mux
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return def
	}
	return n
}
