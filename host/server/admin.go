package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/hubhq/hub/host/runs"
)

// Page sizes of the list routes.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	s.reply(w, r, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.backend.Ready(); err != nil {
		w.Header().Set("Retry-After", "1")
		s.reply(w, r, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": err.Error()})
		return
	}
	s.reply(w, r, http.StatusOK, map[string]string{"status": "ready"})
}

// tenantOf returns the request's tenant query parameter, DefaultTenant
// when absent; it answers 400 and reports false for an invalid one.
func tenantOf(w http.ResponseWriter, r *http.Request) (string, bool) {
	q := r.URL.Query()
	if !q.Has("tenant") {
		return DefaultTenant, true
	}
	t := q.Get("tenant")
	if err := validName(t); err != nil {
		writeError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("tenant %q: %v", t, err))
		return "", false
	}
	return t, true
}

// intParam parses an integer query parameter: def when absent, clamped to
// hi, 400 when not a number or below lo.
func intParam(w http.ResponseWriter, r *http.Request, name string, def, lo, hi int) (int, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo {
		writeError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("%s %q: want a whole number of at least %d", name, v, lo))
		return 0, false
	}
	return min(n, hi), true
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	tenant, ok := tenantOf(w, r)
	if !ok {
		return
	}
	st, err := s.backend.Status(r.Context(), tenant)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, r, http.StatusOK, st)
}

// WebhookList is the body of GET /v1/webhooks.
type WebhookList struct {
	Webhooks []runs.Webhook `json:"webhooks"`
}

func (s *Server) webhooks(w http.ResponseWriter, r *http.Request) {
	tenant, ok := tenantOf(w, r)
	if !ok {
		return
	}
	hooks, err := s.backend.Webhooks(r.Context(), tenant)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, r, http.StatusOK, WebhookList{Webhooks: nonNil(hooks)})
}

// RunList is the body of GET /v1/runs. Next, when not empty, is the
// before cursor of the next page.
type RunList struct {
	Runs []runs.Summary `json:"runs"`
	Next string         `json:"next"`
}

// runStatuses are the statuses a run (not a step) can have.
var runStatuses = []runs.Status{runs.Running, runs.Succeeded, runs.Failed, runs.Dead, runs.Discarded}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	tenant, ok := tenantOf(w, r)
	if !ok {
		return
	}
	limit, ok := intParam(w, r, "limit", DefaultLimit, 1, MaxLimit)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := runs.Filter{
		Workflow: q.Get("workflow"),
		Status:   runs.Status(q.Get("status")),
		Before:   q.Get("before"),
		Limit:    limit,
	}
	if f.Status != "" && !contains(runStatuses, f.Status) {
		writeError(w, http.StatusBadRequest, CodeBadRequest,
			fmt.Sprintf("status %q: want one of %v", f.Status, runStatuses))
		return
	}
	list, err := s.backend.ListRuns(r.Context(), tenant, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(list) > limit {
		list = list[:limit]
	}
	out := RunList{Runs: nonNil(list)}
	// A full page may have a next one; the client asks with before=Next
	// and gets an empty page when there was none.
	if len(list) == limit {
		out.Next = list[len(list)-1].ID
	}
	s.reply(w, r, http.StatusOK, out)
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Server) run(w http.ResponseWriter, r *http.Request) {
	tenant, ok := tenantOf(w, r)
	if !ok {
		return
	}
	run, err := s.backend.Run(r.Context(), tenant, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, r, http.StatusOK, run)
}

// DeadLetterList is the body of GET /v1/dlq.
type DeadLetterList struct {
	DeadLetters []runs.DeadLetter `json:"dead_letters"`
}

func (s *Server) listDead(w http.ResponseWriter, r *http.Request) {
	tenant, ok := tenantOf(w, r)
	if !ok {
		return
	}
	limit, ok := intParam(w, r, "limit", DefaultLimit, 1, MaxLimit)
	if !ok {
		return
	}
	q := r.URL.Query()
	list, err := s.backend.ListDead(r.Context(), tenant, runs.Filter{
		Workflow:   q.Get("workflow"),
		Connection: q.Get("connection"),
		Error:      q.Get("error"),
		Limit:      limit,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(list) > limit {
		list = list[:limit]
	}
	s.reply(w, r, http.StatusOK, DeadLetterList{DeadLetters: nonNil(list)})
}

// ReplayResult is the body of the replay routes: the runs replayed and,
// for the bulk route, those that could not be.
type ReplayResult struct {
	Replayed []string  `json:"replayed"`
	Failed   []Failure `json:"failed,omitempty"`
}

// DiscardResult is the body of the discard routes, like ReplayResult.
type DiscardResult struct {
	Discarded []string  `json:"discarded"`
	Failed    []Failure `json:"failed,omitempty"`
}

// Failure is one dead letter a bulk replay or discard could not act on.
type Failure struct {
	ID    string   `json:"id"`
	Error APIError `json:"error"`
}

// dlqAction is Backend.Replay or Backend.Discard, with how to report it.
type dlqAction struct {
	verb string // for the log
	do   func(ctx context.Context, tenant, id string) error
	// result is the response body for the runs done and failed.
	result func(done []string, failed []Failure) any
}

func (s *Server) replayAction() dlqAction {
	return dlqAction{"replay", s.backend.Replay, func(done []string, failed []Failure) any {
		return ReplayResult{Replayed: nonNil(done), Failed: failed}
	}}
}

func (s *Server) discardAction() dlqAction {
	return dlqAction{"discard", s.backend.Discard, func(done []string, failed []Failure) any {
		return DiscardResult{Discarded: nonNil(done), Failed: failed}
	}}
}

func (s *Server) replayOne(w http.ResponseWriter, r *http.Request) { s.actOne(w, r, s.replayAction()) }
func (s *Server) discardOne(w http.ResponseWriter, r *http.Request) {
	s.actOne(w, r, s.discardAction())
}
func (s *Server) replayMatching(w http.ResponseWriter, r *http.Request) {
	s.actMatching(w, r, s.replayAction())
}
func (s *Server) discardMatching(w http.ResponseWriter, r *http.Request) {
	s.actMatching(w, r, s.discardAction())
}

func (s *Server) actOne(w http.ResponseWriter, r *http.Request, a dlqAction) {
	tenant, ok := tenantOf(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := a.do(r.Context(), tenant, id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, r, http.StatusOK, a.result([]string{id}, nil))
}

// DeadLetterSelector is the body of the bulk replay and discard routes.
// Filters combine with AND; at least one is required, or All, so that an
// empty body never empties the queue.
type DeadLetterSelector struct {
	Workflow   string `json:"workflow,omitempty"`
	Connection string `json:"connection,omitempty"`
	// Error matches an error kind exactly or a message by substring.
	Error string `json:"error,omitempty"`
	All   bool   `json:"all,omitempty"`
}

func (s *Server) actMatching(w http.ResponseWriter, r *http.Request, a dlqAction) {
	tenant, ok := tenantOf(w, r)
	if !ok {
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var sel DeadLetterSelector
	if err := decodeStrict(body, &sel); err != nil {
		writeError(w, http.StatusBadRequest, CodeBadRequest,
			`request body: `+err.Error()+`; want {"workflow":…, "connection":…, "error":…} or {"all": true}`)
		return
	}
	if sel == (DeadLetterSelector{}) {
		writeError(w, http.StatusBadRequest, CodeBadRequest,
			`no filter: give workflow, connection or error, or "all": true to act on every dead letter`)
		return
	}
	dead, err := s.backend.ListDead(r.Context(), tenant, runs.Filter{
		Workflow:   sel.Workflow,
		Connection: sel.Connection,
		Error:      sel.Error,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var done []string
	var failed []Failure
	for _, d := range dead {
		err := a.do(r.Context(), tenant, d.Run)
		if err == nil {
			done = append(done, d.Run)
			continue
		}
		_, code, msg := classify(err)
		if code == CodeInternal {
			s.log.Error("dead letter "+a.verb+" failed", "tenant", tenant, "run", d.Run, "error", err)
		}
		failed = append(failed, Failure{ID: d.Run, Error: APIError{Code: code, Message: msg}})
		if r.Context().Err() != nil {
			// The client is gone or timed out; the rest stay queued.
			break
		}
	}
	s.reply(w, r, http.StatusOK, a.result(done, failed))
}

// decodeStrict decodes one JSON object, refusing unknown fields and
// trailing data so a typo in a filter does not widen the selection.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty")
		}
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// nonNil makes an empty list marshal as [] rather than null.
func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}
