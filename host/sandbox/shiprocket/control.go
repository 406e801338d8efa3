package shiprocket

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Control returns the handler of the simulator's test switches, for the
// sandbox command to mount beside the API (e.g. under /_sandbox/shiprocket/).
// Every route is POST with a JSON body and answers JSON:
//
//	/reset          {}                                     back to the seeded state
//	/expire-tokens  {}                                     every token expires now
//	/fail           {"status","retry_after","malformed","times","path"}  misbehave on the next requests
//	/advance        {"awb"}                                next status of Progression → {"awb","status_code","status"}
//	/status         {"awb","status_code"}                  any status code → {"awb","status_code","status"}
//	/webhook        {"url","token"}                        register the tracking webhook ("" url removes it)
//	/cancel         {"order_id"}                           cancel an order by the merchant's order_id
func (s *Sim) Control() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
	mux.HandleFunc("POST /expire-tokens", func(w http.ResponseWriter, _ *http.Request) {
		s.ExpireTokens()
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Status     int    `json:"status"`
			RetryAfter int    `json:"retry_after"`
			Malformed  bool   `json:"malformed"`
			Times      int    `json:"times"`
			Path       string `json:"path"`
		}
		if !decode(w, r, &in) {
			return
		}
		if !in.Malformed && (in.Status < 400 || in.Status > 599) {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "status must be 400-599 unless malformed"})
			return
		}
		s.Fail(Failure{Status: in.Status, RetryAfter: in.RetryAfter, Malformed: in.Malformed, Times: in.Times, Path: in.Path})
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
	mux.HandleFunc("POST /advance", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			AWB string `json:"awb"`
		}
		if !decode(w, r, &in) {
			return
		}
		code, err := s.Advance(r.Context(), in.AWB)
		answerStatus(w, in.AWB, code, err)
	})
	mux.HandleFunc("POST /status", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			AWB  string `json:"awb"`
			Code int    `json:"status_code"`
		}
		if !decode(w, r, &in) {
			return
		}
		answerStatus(w, in.AWB, in.Code, s.SetStatus(r.Context(), in.AWB, in.Code))
	})
	mux.HandleFunc("POST /webhook", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			URL   string `json:"url"`
			Token string `json:"token"`
		}
		if !decode(w, r, &in) {
			return
		}
		s.SetWebhook(in.URL, in.Token)
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
	mux.HandleFunc("POST /cancel", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			OrderID string `json:"order_id"`
		}
		if !decode(w, r, &in) {
			return
		}
		if err := s.Cancel(in.OrderID); err != nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
	return mux
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body is not the expected JSON: " + err.Error()})
		return false
	}
	return true
}

func answerStatus(w http.ResponseWriter, awb string, code int, err error) {
	if errors.Is(err, ErrUnknownAWB) {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": err.Error()})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"awb": awb, "status_code": code, "status": labelOf(code)})
}
