package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/hubhq/hub/cmd/internal/sink"
)

// Faults the sink can be told to show during a full run (-fault).
const (
	faultNone = "none"
	fault503  = "503"  // answer 503 Service Unavailable
	fault429  = "429"  // answer 429 Too Many Requests with Retry-After: 1
	faultDown = "down" // reset every connection
)

func validFault(f string) bool {
	switch f {
	case faultNone, fault503, fault429, faultDown:
		return true
	}
	return false
}

// scheduleFault makes snk show fault for length, starting after delay. The
// returned cancel drops what has not happened yet and ends a fault in
// progress.
func scheduleFault(snk *sink.Sink, fault string, delay, length time.Duration) (cancel func(), err error) {
	var begin, end func()
	switch fault {
	case faultNone:
		return func() {}, nil
	case fault503:
		begin = func() { snk.FailUntil(time.Now().Add(length), http.StatusServiceUnavailable, "") }
		end = func() { snk.FailUntil(time.Time{}, 0, "") }
	case fault429:
		begin = func() { snk.FailUntil(time.Now().Add(length), http.StatusTooManyRequests, "1") }
		end = func() { snk.FailUntil(time.Time{}, 0, "") }
	case faultDown:
		begin = func() { snk.Down(true) }
		end = func() { snk.Down(false) }
	default:
		return nil, fmt.Errorf("unknown fault %q", fault)
	}
	start := time.AfterFunc(delay, begin)
	stop := time.AfterFunc(delay+length, end)
	return func() {
		start.Stop()
		stop.Stop()
		end()
	}, nil
}
