package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// webhook hands one delivery to the Backend and answers the sender with
// what the Backend says. No API key: the connector verifies the sender's
// signature inside Backend.Webhook.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	if tenant == "" {
		tenant = DefaultTenant
	}
	workflow := r.PathValue("workflow")
	for _, v := range []struct{ what, value string }{{"tenant", tenant}, {"workflow", workflow}} {
		if err := validName(v.value); err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("%s %q: %v", v.what, v.value, err))
			return
		}
	}

	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	// Backend.Webhook returns only after the events are synced to disk,
	// so answering from its result below is what makes a 2xx a promise.
	resp, err := s.backend.Webhook(r.Context(), WebhookRequest{
		Tenant:     tenant,
		Workflow:   workflow,
		Method:     r.Method,
		URL:        r.URL.RequestURI(),
		Header:     r.Header.Clone(),
		Body:       body,
		RemoteAddr: r.RemoteAddr,
	})
	if err != nil {
		if resp == nil {
			s.fail(w, r, err)
			return
		}
		// The connector's own refusal (a bad signature, say): the sender
		// gets it as the connector wrote it.
		s.log.Warn("webhook refused", "tenant", tenant, "workflow", workflow,
			"remote", r.RemoteAddr, "status", resp.Status, "error", err)
	}
	if resp == nil {
		resp = &WebhookResponse{}
	}
	writeWebhookResponse(w, resp)
}

func writeWebhookResponse(w http.ResponseWriter, resp *WebhookResponse) {
	h := w.Header()
	for k, vs := range resp.Header {
		// net/http sets the length from what is written; a wrong one from
		// the connector would break the response.
		if http.CanonicalHeaderKey(k) == "Content-Length" {
			continue
		}
		h[k] = append([]string(nil), vs...)
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(resp.Body)
}

// readBody reads the whole body up to the limit. Over the limit it answers
// 413 and reports false; the caller then must not call the Backend.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.ContentLength > s.maxBody {
		s.tooLarge(w, r)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.tooLarge(w, r)
		} else {
			writeError(w, http.StatusBadRequest, CodeBadRequest, "read request body: "+err.Error())
		}
		return nil, false
	}
	return body, true
}

func (s *Server) tooLarge(w http.ResponseWriter, r *http.Request) {
	s.metrics.tooLarge.WithLabelValues(r.Pattern).Inc()
	// The rest of the body is not read, so the connection cannot be reused.
	w.Header().Set("Connection", "close")
	writeError(w, http.StatusRequestEntityTooLarge, CodeTooLarge,
		fmt.Sprintf("request body is over the limit of %d bytes", s.maxBody))
}

// validName checks a tenant or workflow name taken from a request.
func validName(name string) error {
	switch {
	case name == "":
		return errors.New("must not be empty")
	case strings.Contains(name, "/"):
		return errors.New(`must not contain "/"`)
	}
	return nil
}
