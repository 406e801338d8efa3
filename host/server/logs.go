package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hubhq/hub/host/logbus"
)

// Backlog sizes of GET /v1/logs.
const (
	DefaultBacklog = 100
	MaxBacklog     = 10000
)

var logLevels = []string{logbus.LevelDebug, logbus.LevelInfo, logbus.LevelWarn, logbus.LevelError}

// streamLogs writes log entries as NDJSON: the backlog, then, with
// follow=true, every new entry until the client leaves or the server shuts
// down.
func (s *Server) streamLogs(w http.ResponseWriter, r *http.Request) {
	if s.logs == nil {
		writeError(w, http.StatusNotFound, CodeNotFound, "this host keeps no log stream")
		return
	}
	tenant, ok := tenantOf(w, r)
	if !ok {
		return
	}
	backlog, ok := intParam(w, r, "backlog", DefaultBacklog, 0, MaxBacklog)
	if !ok {
		return
	}
	q := r.URL.Query()
	follow := false
	if v := q.Get("follow"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("follow %q: want true or false", v))
			return
		}
		follow = b
	}
	level := q.Get("level")
	if level != "" && !contains(logLevels, level) {
		writeError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("level %q: want one of %v", level, logLevels))
		return
	}
	workflow, run := q.Get("workflow"), q.Get("run")
	match := func(e logbus.Entry) bool {
		// Host-wide entries (no tenant) belong to every tenant's view.
		return (e.Tenant == "" || e.Tenant == tenant) &&
			(workflow == "" || e.Workflow == workflow) &&
			(run == "" || e.Run == run) &&
			(level == "" || e.AtLeast(level))
	}

	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")

	if !follow {
		w.WriteHeader(http.StatusOK)
		for _, e := range s.logs.Recent(backlog, match) {
			if _, err := w.Write(ndjson(e)); err != nil {
				return
			}
		}
		return
	}

	rc := http.NewResponseController(w)
	// A stream outlives the server's WriteTimeout by design. An error
	// means the writer cannot set deadlines, so it has none to lift.
	_ = rc.SetWriteDeadline(time.Time{})

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.streams, cancel)
	defer stop()

	entries := s.logs.Subscribe(ctx, backlog, match)
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	for e := range entries {
		if _, err := w.Write(ndjson(e)); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// ndjson is one entry as a line. Fields come from arbitrary log values;
// one that does not marshal must not end the stream, so the entry is sent
// with the marshalling error in their place.
func ndjson(e logbus.Entry) []byte {
	data, err := json.Marshal(e)
	if err != nil {
		e.Fields = map[string]any{"fields_error": err.Error()}
		data, _ = json.Marshal(e)
	}
	return append(data, '\n')
}
