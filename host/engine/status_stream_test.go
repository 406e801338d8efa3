package engine

import (
	"testing"
	"time"

	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/streamer"
)

func TestHealth_StreamReportsHowFarBehindTheThirdPartyItIs(t *testing.T) {
	h := newHealthBook()
	h.t["wh"] = &runs.TriggerStatus{Workflow: "wh", Mode: "stream"}
	at := time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)

	h.stream(streamer.Result{Workflow: "wh", At: at, Connected: true, Since: at})
	if b := h.t["wh"].BehindSeconds; b != nil {
		t.Fatalf("behind = %v before any event was stored, want none", *b)
	}
	h.stream(streamer.Result{Workflow: "wh", At: at, Connected: true, Since: at, Events: 5, Lag: 1500 * time.Millisecond, Reconnects: 2})
	st := h.t["wh"]
	if st.BehindSeconds == nil || *st.BehindSeconds != 1.5 || st.Reconnects != 2 || st.Connected == nil || !*st.Connected {
		t.Fatalf("status = %+v, want connected, 2 reconnects, 1.5 s behind", st)
	}
	// A report without events (a disconnect) keeps the last figure.
	h.stream(streamer.Result{Workflow: "wh", At: at.Add(time.Minute), Since: at.Add(time.Minute)})
	if st := h.t["wh"]; st.BehindSeconds == nil || *st.BehindSeconds != 1.5 || *st.Connected {
		t.Fatalf("status after a disconnect = %+v, want disconnected and still 1.5 s behind", st)
	}
}
