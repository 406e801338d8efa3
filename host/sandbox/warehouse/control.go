package warehouse

import (
	"errors"
	"net/http"
)

// Control serves the sandbox's test switches, for `hub sandbox` to mount
// under a prefix of its choosing (paths here are relative to it):
//
//	POST /reset                           Reset
//	POST /fail     {"fault", "count"}     Fail (fault: rate_limit, server_error, unauthorized, malformed)
//	POST /advance  {"order_id", "status"} Advance
//	POST /stock    {"sku", "qty"}         SetStock
//	POST /expire-sessions                 ExpireSessions
//	GET  /deliveries                      Deliveries: id, event, webhook, url, status, error
//	POST /stream/drop                     DropStream
//	POST /stream/malformed                MalformedStream
//	POST /stream/pause     {"paused"}     PauseStream
//	POST /stream/retention {"keep"}       SetRetention (keep ≤ 0: everything)
//
// It needs no token: it is for a loopback sandbox only.
func (s *Sim) Control() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Fault Fault `json:"fault"`
			Count int   `json:"count"`
		}
		if !readJSON(w, r, &in) {
			return
		}
		switch in.Fault {
		case FaultRateLimit, FaultServerError, FaultUnauthorized, FaultMalformed:
		default:
			writeError(w, http.StatusUnprocessableEntity, "validation_failed", "unknown fault", map[string][]string{"fault": {"one of rate_limit, server_error, unauthorized, malformed"}})
			return
		}
		if in.Count <= 0 {
			in.Count = 1
		}
		s.Fail(in.Fault, in.Count)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /advance", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			OrderID string `json:"order_id"`
			Status  string `json:"status"`
		}
		if !readJSON(w, r, &in) {
			return
		}
		if err := s.Advance(in.OrderID, in.Status); err != nil {
			var se *statusError
			if errors.As(err, &se) {
				writeError(w, se.status, se.code, se.message, nil)
				return
			}
			writeError(w, http.StatusInternalServerError, "internal", err.Error(), nil)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /stock", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			SKU string `json:"sku"`
			Qty *int   `json:"qty"`
		}
		if !readJSON(w, r, &in) {
			return
		}
		if in.SKU == "" || in.Qty == nil || *in.Qty < 0 {
			writeError(w, http.StatusUnprocessableEntity, "validation_failed", "sku and qty ≥ 0 are required", nil)
			return
		}
		s.SetStock(in.SKU, *in.Qty)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /expire-sessions", func(w http.ResponseWriter, _ *http.Request) {
		s.ExpireSessions()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /deliveries", func(w http.ResponseWriter, _ *http.Request) {
		type view struct {
			ID        string `json:"id"`
			Event     string `json:"event"`
			WebhookID string `json:"webhook_id"`
			URL       string `json:"url"`
			Status    int    `json:"status"`
			Error     string `json:"error,omitempty"`
		}
		out := []view{}
		for _, d := range s.Deliveries() {
			out = append(out, view{d.ID, d.Event, d.WebhookID, d.URL, d.Status, d.Err})
		}
		writeJSON(w, http.StatusOK, map[string]any{"deliveries": out})
	})
	mux.HandleFunc("POST /stream/drop", func(w http.ResponseWriter, _ *http.Request) {
		s.DropStream()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /stream/malformed", func(w http.ResponseWriter, _ *http.Request) {
		s.MalformedStream()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /stream/pause", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Paused *bool `json:"paused"`
		}
		if !readJSON(w, r, &in) {
			return
		}
		if in.Paused == nil {
			writeError(w, http.StatusUnprocessableEntity, "validation_failed", "paused is required", map[string][]string{"paused": {"is required"}})
			return
		}
		s.PauseStream(*in.Paused)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /stream/retention", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Keep *int `json:"keep"`
		}
		if !readJSON(w, r, &in) {
			return
		}
		if in.Keep == nil {
			writeError(w, http.StatusUnprocessableEntity, "validation_failed", "keep is required", map[string][]string{"keep": {"is required"}})
			return
		}
		s.SetRetention(*in.Keep)
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}
