package ingest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/host/store"
)

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func events(prefix string, n int) []Event {
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = Event{Tenant: "acme", Trigger: "orders/created", ID: fmt.Sprintf("%s-%d", prefix, i), Payload: []byte("p")}
	}
	return evs
}

// queueCalls starts calls Accept calls on an Ingester whose writer is not
// running and waits until all are queued, so the writer will take them
// as one batch. It returns each call's error once the calls finish.
func queueCalls(t *testing.T, in *Ingester, calls, perCall int) func() []error {
	t.Helper()
	errs := make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			res, err := in.Accept(context.Background(), events(fmt.Sprint("call", i), perCall))
			if err == nil && len(res) != perCall {
				err = fmt.Errorf("%d results for %d events", len(res), perCall)
			}
			errs[i] = err
		})
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		in.mu.Lock()
		n := len(in.queue)
		in.mu.Unlock()
		if n == calls {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d calls queued", n, calls)
		}
	}
	return func() []error { wg.Wait(); return errs }
}

func countEvents(t *testing.T, dir string) int {
	t.Helper()
	st := openStore(t, dir)
	defer st.Close()
	in := New(st, Options{})
	defer in.Close()
	n := 0
	var after uint64
	for {
		page, err := in.Read("acme", after, 10000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return n
		}
		n += len(page)
		after = page[len(page)-1].Seq
	}
}

func TestWriter_FailedCommitFailsEveryCallerOfTheBatch(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	in := newIngester(st, Options{})
	wait := queueCalls(t, in, 8, 3)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	go in.run()
	for i, err := range wait() {
		if err == nil {
			t.Errorf("call %d succeeded although its batch's commit failed", i)
		}
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if n := countEvents(t, dir); n != 0 {
		t.Fatalf("%d events of the failed batch are stored", n)
	}
}

func TestClose_FlushesQueuedCallsBeforeStopping(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	in := newIngester(st, Options{})
	wait := queueCalls(t, in, 8, 3)
	closed := make(chan error, 1)
	go func() { closed <- in.Close() }()
	for {
		in.mu.Lock()
		c := in.closed
		in.mu.Unlock()
		if c {
			break
		}
		time.Sleep(time.Millisecond)
	}
	// The writer starts only after Close was called: everything it
	// writes is the flush.
	go in.run()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for i, err := range wait() {
		if err != nil {
			t.Errorf("queued call %d: %v", i, err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if n := countEvents(t, dir); n != 8*3 {
		t.Fatalf("%d events stored after close, want %d", n, 8*3)
	}
}

func TestWriter_BatchTooBigForOneTransactionIsSplitBetweenWholeCalls(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	// Each call fits in a transaction; the four together do not.
	in := newIngester(st, Options{MaxBatch: 1 << 20})
	wait := queueCalls(t, in, 4, 8000)
	go in.run()
	for i, err := range wait() {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	// One call alone too big for a transaction fails whole.
	if _, err := in.Accept(context.Background(), events("huge", 60000)); !store.IsTooBig(err) {
		t.Errorf("a call too big for one transaction: %v", err)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if n := countEvents(t, dir); n != 4*8000 {
		t.Fatalf("%d events stored, want %d", n, 4*8000)
	}
}

func TestEncodeEvent_RoundTripsAndRejectsTruncatedRecords(t *testing.T) {
	ev := Event{Trigger: "orders/created", ID: "ü-1", Payload: []byte{0, 1, 2}, ReceivedAt: time.Unix(1700000000, 42).UTC()}
	b := encodeEvent(ev)
	got, err := decodeEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Trigger != ev.Trigger || got.ID != ev.ID || string(got.Payload) != string(ev.Payload) || !got.ReceivedAt.Equal(ev.ReceivedAt) {
		t.Fatalf("round trip: %+v, want %+v", got, ev)
	}
	// Cutting inside the header must fail; cutting into the payload
	// cannot be detected and is not tried.
	header := len(b) - len(ev.Payload)
	for n := 0; n < header; n++ {
		if _, err := decodeEvent(b[:n]); err == nil {
			t.Fatalf("record cut to %d of %d bytes decoded", n, len(b))
		}
	}
}
