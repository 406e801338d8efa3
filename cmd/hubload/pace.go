package main

import (
	"context"
	"math"
	"time"
)

// pace is an open-loop schedule of events: event i (from 0) is due at
// start + i/rate, whenever the events before it were sent. A sender that
// falls behind sends every event already due at once and sleeps only
// until the next one is due, so sleeps coarser than 1/rate (timers wake
// about a millisecond late) slow no rate down; a token bucket of burst 1
// loses that lateness on every event and tops out near 1/(timer latency).
type pace struct {
	start time.Time
	rate  float64 // events per second; positive
}

// at is when event i is due.
func (p pace) at(i int) time.Time {
	return p.start.Add(time.Duration(math.Round(float64(i) / p.rate * float64(time.Second))))
}

// due is how many events are due by now: those with at(i) <= now.
func (p pace) due(now time.Time) int {
	if now.Before(p.start) {
		return 0
	}
	n := int(math.Floor(now.Sub(p.start).Seconds()*p.rate)) + 1
	// at rounds to nanoseconds: settle on exactly its answer, so a sender
	// that waits for at(i) then finds event i due.
	for n > 0 && p.at(n-1).After(now) {
		n--
	}
	for !p.at(n).After(now) {
		n++
	}
	return n
}

// sendTime is the send time to record for event i sent at now: its due
// time when it is late. A generator that was held up (by the window, by
// its own CPU, by a stalled hub) must not hide that delay by starting the
// clock when it finally got round to the event: the latency counts from
// when the schedule said the event happens, as it would for a third party
// that does not wait for hub (no coordinated omission).
func (p pace) sendTime(i int, now time.Time) time.Time {
	if due := p.at(i); due.Before(now) {
		return due
	}
	return now
}

// sleep waits d on t (stopped or fired, not in use elsewhere) or until ctx
// ends, and reports whether ctx is still live. A d of zero or less returns
// at once.
func sleep(ctx context.Context, t *time.Timer, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t.Reset(d)
	select {
	case <-ctx.Done():
		t.Stop()
		return false
	case <-t.C:
		return true
	}
}
