package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Error codes, the "code" of every error response.
const (
	CodeBadRequest       = "bad_request"
	CodeUnauthorized     = "unauthorized"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeTooLarge         = "too_large"
	CodeUnavailable      = "unavailable"
	CodeConflict         = "conflict"
	CodeInvalid          = "invalid"
	CodeInternal         = "internal"
)

// internalMessage is all a client learns of an unexpected error: its text
// may hold paths, addresses or worse, so it goes to the host log only.
const internalMessage = "internal error, see the host log"

// ErrorResponse is the body of every error response.
type ErrorResponse struct {
	Error APIError `json:"error"`
}

// APIError is what went wrong: Code is one of the Code constants, Message
// is for people.
type APIError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error returns the message with the code, so a client can return an
// APIError as an error.
func (e APIError) Error() string { return e.Message + " (" + e.Code + ")" }

// classify maps a Backend error to a status, a code and the message a
// client may see.
func classify(err error) (status int, code, msg string) {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, CodeNotFound, err.Error()
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, CodeConflict, err.Error()
	case errors.Is(err, ErrInvalid):
		return http.StatusUnprocessableEntity, CodeInvalid, err.Error()
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable, CodeUnavailable, err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, CodeUnavailable, "the host did not finish in time; try again"
	case errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, CodeUnavailable, "the request was cancelled; try again"
	}
	return http.StatusInternalServerError, CodeInternal, internalMessage
}

// fail answers a request the Backend failed, logging what the client is
// not shown.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := classify(err)
	if status == http.StatusInternalServerError {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeError(w, status, code, msg)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	// An ErrorResponse always marshals.
	data, _ := json.Marshal(ErrorResponse{Error: APIError{Code: code, Message: msg}})
	writeJSON(w, status, data)
}

// reply answers with v as JSON. It marshals v before writing anything, so
// a value that cannot be marshalled becomes a clean 500, not half a body.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		s.fail(w, r, fmt.Errorf("marshal response: %w", err))
		return
	}
	writeJSON(w, status, data)
}

func writeJSON(w http.ResponseWriter, status int, data []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}
