package logbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// recv reads one entry, failing the test if none comes: the timeout only
// guards against a hang, it asserts nothing about timing.
func recv(t *testing.T, ch <-chan Entry) Entry {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("channel closed, want an entry")
		}
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no entry within 5s")
	}
	return Entry{}
}

func waitClosed(t *testing.T, ch <-chan Entry) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return
			}
			t.Fatalf("got %+v, want the channel closed", e)
		case <-deadline:
			t.Fatal("channel not closed within 5s")
		}
	}
}

func msgs(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Message)
	}
	return out
}

func publishN(b *Bus, from, to int) {
	for i := from; i <= to; i++ {
		b.Publish(Entry{Level: LevelInfo, Message: strconv.Itoa(i)})
	}
}

func TestRecent_KeepsTheLastCapacityEntriesOldestFirst(t *testing.T) {
	b := New(3)
	defer b.Close()
	if got := b.Recent(10, nil); len(got) != 0 {
		t.Fatalf("empty bus: got %v", msgs(got))
	}
	publishN(b, 1, 5)
	if got, want := fmt.Sprint(msgs(b.Recent(10, nil))), "[3 4 5]"; got != want {
		t.Fatalf("Recent(10) = %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(msgs(b.Recent(2, nil))), "[4 5]"; got != want {
		t.Fatalf("Recent(2) = %s, want %s", got, want)
	}
	odd := func(e Entry) bool { n, _ := strconv.Atoi(e.Message); return n%2 == 1 }
	if got, want := fmt.Sprint(msgs(b.Recent(10, odd))), "[3 5]"; got != want {
		t.Fatalf("Recent(odd) = %s, want %s", got, want)
	}
}

func TestPublish_SetsAMissingTime(t *testing.T) {
	b := New(2)
	defer b.Close()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b.Publish(Entry{Message: "zero"})
	b.Publish(Entry{Message: "given", Time: at})
	got := b.Recent(2, nil)
	if got[0].Time.IsZero() {
		t.Error("a zero Time was kept")
	}
	if !got[1].Time.Equal(at) {
		t.Errorf("given Time = %v, want %v", got[1].Time, at)
	}
}

func TestSubscribe_ReplaysTheBacklogThenFollowsWithoutGapOrRepeat(t *testing.T) {
	b := New(10)
	defer b.Close()
	publishN(b, 1, 5)
	ch := b.Subscribe(t.Context(), 3, nil)
	publishN(b, 6, 7)
	var got []string
	for range 5 {
		got = append(got, recv(t, ch).Message)
	}
	if want := "[3 4 5 6 7]"; fmt.Sprint(got) != want {
		t.Fatalf("got %v, want %s", got, want)
	}
}

func TestSubscribe_OnlyMatchingEntriesInBacklogAndLive(t *testing.T) {
	b := New(10)
	defer b.Close()
	b.Publish(Entry{Message: "a1", Workflow: "a"})
	b.Publish(Entry{Message: "b1", Workflow: "b"})
	ch := b.Subscribe(t.Context(), 10, func(e Entry) bool { return e.Workflow == "b" })
	b.Publish(Entry{Message: "a2", Workflow: "a"})
	b.Publish(Entry{Message: "b2", Workflow: "b"})
	if got := recv(t, ch).Message; got != "b1" {
		t.Fatalf("first = %q, want b1", got)
	}
	if got := recv(t, ch).Message; got != "b2" {
		t.Fatalf("second = %q, want b2", got)
	}
}

func TestSubscribe_ZeroBacklogOnlyFollows(t *testing.T) {
	b := New(10)
	defer b.Close()
	publishN(b, 1, 3)
	ch := b.Subscribe(t.Context(), 0, nil)
	publishN(b, 4, 4)
	if got := recv(t, ch).Message; got != "4" {
		t.Fatalf("got %q, want 4", got)
	}
}

var droppedRE = regexp.MustCompile(`^log stream fell behind: (\d+) entries dropped$`)

func TestPublish_NeverWaitsForASlowSubscriberWhichIsToldWhatItLost(t *testing.T) {
	const capacity, total = 4, 200
	b := New(capacity)
	defer b.Close()
	ch := b.Subscribe(t.Context(), 0, nil)

	// Nobody reads while these are published: if Publish waited for the
	// subscriber this would never return.
	publishN(b, 1, total)

	seen, dropped, warnings, last := 0, 0, 0, 0
	for seen+dropped < total {
		e := recv(t, ch)
		if m := droppedRE.FindStringSubmatch(e.Message); m != nil {
			if e.Level != LevelWarn {
				t.Fatalf("drop notice has level %q, want warn", e.Level)
			}
			n, _ := strconv.Atoi(m[1])
			dropped += n
			warnings++
			continue
		}
		n, err := strconv.Atoi(e.Message)
		if err != nil {
			t.Fatalf("unexpected entry %+v", e)
		}
		if n <= last {
			t.Fatalf("entry %d after %d: out of order", n, last)
		}
		// Every gap in the sequence must have been announced.
		if n != last+1 && dropped == 0 {
			t.Fatalf("entry %d after %d with no drop notice", n, last)
		}
		last = n
		seen++
	}
	if warnings == 0 || dropped == 0 {
		t.Fatalf("no drop notice: seen %d of %d", seen, total)
	}
	if seen+dropped != total {
		t.Fatalf("seen %d + dropped %d != %d published", seen, dropped, total)
	}

	// Once caught up, the subscriber gets everything again.
	b.Publish(Entry{Message: "after"})
	if got := recv(t, ch).Message; got != "after" {
		t.Fatalf("after catching up got %q", got)
	}
}

func TestSubscribe_ChannelClosesWhenContextEnds(t *testing.T) {
	b := New(4)
	defer b.Close()
	ctx, cancel := context.WithCancel(t.Context())
	ch := b.Subscribe(ctx, 0, nil)
	publishN(b, 1, 2) // queued, never read
	cancel()
	// An entry already on its way may still arrive; then the channel closes.
	for range ch {
	}
	b.mu.Lock()
	n := len(b.subs)
	b.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d subscribers left after their context ended", n)
	}
	publishN(b, 3, 3) // must not panic on a closed channel
}

func TestClose_DeliversWhatIsQueuedThenClosesEverySubscription(t *testing.T) {
	b := New(10)
	ch1 := b.Subscribe(t.Context(), 0, nil)
	ch2 := b.Subscribe(t.Context(), 0, nil)
	publishN(b, 1, 2)
	b.Close()
	b.Close() // twice is fine
	publishN(b, 3, 3)
	for _, ch := range []<-chan Entry{ch1, ch2} {
		if got := recv(t, ch).Message; got != "1" {
			t.Fatalf("got %q, want 1", got)
		}
		if got := recv(t, ch).Message; got != "2" {
			t.Fatalf("got %q, want 2", got)
		}
		waitClosed(t, ch)
	}
	if got := fmt.Sprint(msgs(b.Recent(10, nil))); got != "[1 2]" {
		t.Fatalf("Recent after Close = %s: Publish after Close must do nothing", got)
	}
}

func TestSubscribe_AfterCloseReturnsAClosedChannel(t *testing.T) {
	b := New(4)
	publishN(b, 1, 2)
	b.Close()
	waitClosed(t, b.Subscribe(t.Context(), 10, nil))
}

func TestBus_ConcurrentPublishersAndSubscribers(t *testing.T) {
	b := New(64)
	defer b.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	var readers sync.WaitGroup
	for i := range 4 {
		ch := b.Subscribe(ctx, i*10, nil)
		readers.Add(1)
		go func() {
			defer readers.Done()
			for range ch {
			}
		}()
	}
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range 500 {
				b.Publish(Entry{Level: LevelInfo, Message: fmt.Sprint(w, i)})
				if i%100 == 0 {
					b.Recent(5, nil)
				}
			}
		}()
	}
	writers.Wait()
	cancel()
	readers.Wait()
}

func TestEntry_AtLeast(t *testing.T) {
	for _, tc := range []struct {
		entry, min string
		want       bool
	}{
		{LevelDebug, LevelDebug, true},
		{LevelDebug, LevelInfo, false},
		{LevelInfo, LevelInfo, true},
		{LevelWarn, LevelInfo, true},
		{LevelError, LevelWarn, true},
		{LevelInfo, LevelError, false},
	} {
		if got := (Entry{Level: tc.entry}).AtLeast(tc.min); got != tc.want {
			t.Errorf("%s.AtLeast(%s) = %v, want %v", tc.entry, tc.min, got, tc.want)
		}
	}
}

func TestAccept_TurnsHclogLinesIntoEntries(t *testing.T) {
	b := New(10)
	defer b.Close()
	logger := hclog.NewInterceptLogger(&hclog.LoggerOptions{Output: io.Discard, Level: hclog.Trace})
	logger.RegisterSink(b)
	log := logger.Named("engine").With("tenant", "acme")

	log.Trace("too fine")
	log.Info("step done", "workflow", "orders", "run", "r1", "step", "create", "attempt", 2,
		"took", 1500*time.Millisecond, "err", errors.New("boom"), "count", 3)
	log.Error("odd", "lonely")

	got := b.Recent(10, nil)
	if len(got) != 2 {
		t.Fatalf("got %d entries %v, want 2 (trace is not published)", len(got), msgs(got))
	}
	e := got[0]
	if e.Level != LevelInfo || e.Message != "step done" || e.Tenant != "acme" ||
		e.Workflow != "orders" || e.Run != "r1" || e.Step != "create" || e.Attempt != 2 {
		t.Fatalf("entry = %+v", e)
	}
	for k, want := range map[string]any{"logger": "engine", "took": "1.5s", "err": "boom", "count": 3} {
		if e.Fields[k] != want {
			t.Errorf("Fields[%q] = %#v, want %#v", k, e.Fields[k], want)
		}
	}
	if got[1].Level != LevelError || got[1].Fields["EXTRA_VALUE_AT_END"] != "lonely" {
		t.Errorf("odd entry = %+v", got[1])
	}
}
