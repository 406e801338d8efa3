package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/host/ingest"
	"github.com/hubhq/hub/host/store"
)

const tenant = "acme"

func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// start opens a store in a fresh directory with an Ingester on it; both
// are closed when the test ends.
func start(t testing.TB, opts ingest.Options) *ingest.Ingester {
	t.Helper()
	st := openStore(t, t.TempDir())
	in := ingest.New(st, opts)
	t.Cleanup(func() {
		if err := in.Close(); err != nil {
			t.Error(err)
		}
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return in
}

func event(id string) ingest.Event {
	return ingest.Event{Tenant: tenant, Trigger: "orders/created", ID: id, Payload: []byte("payload of " + id)}
}

func accept(t testing.TB, in *ingest.Ingester, evs ...ingest.Event) []ingest.Result {
	t.Helper()
	res, err := in.Accept(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(evs) {
		t.Fatalf("%d results for %d events", len(res), len(evs))
	}
	return res
}

func readAll(t testing.TB, in *ingest.Ingester, tenant string) []ingest.Stored {
	t.Helper()
	var all []ingest.Stored
	var after uint64
	for {
		page, err := in.Read(tenant, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		after = page[len(page)-1].Seq
	}
}

// checkStoredOnceInOrder fails unless stored has strictly increasing seqs
// and no two events with the same trigger and id.
func checkStoredOnceInOrder(t testing.TB, stored []ingest.Stored) map[string]uint64 {
	t.Helper()
	seen := make(map[string]uint64, len(stored))
	for i, s := range stored {
		if i > 0 && s.Seq <= stored[i-1].Seq {
			t.Fatalf("seq %d follows %d", s.Seq, stored[i-1].Seq)
		}
		k := s.Trigger + "/" + s.ID
		if prev, dup := seen[k]; dup {
			t.Fatalf("%s stored twice, at seq %d and %d", k, prev, s.Seq)
		}
		seen[k] = s.Seq
	}
	return seen
}

func TestAccept_ConcurrentCallsAreEachStoredOnceWithUniqueIncreasingSeqs(t *testing.T) {
	in := start(t, ingest.Options{})
	const goroutines, calls = 64, 20
	results := make(map[string]ingest.Result)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for c := range calls {
				// Calls of one and of three events, so batches mix sizes.
				evs := []ingest.Event{event(fmt.Sprintf("g%d-c%d-0", g, c))}
				if c%2 == 1 {
					evs = append(evs, event(fmt.Sprintf("g%d-c%d-1", g, c)), event(fmt.Sprintf("g%d-c%d-2", g, c)))
				}
				res, err := in.Accept(context.Background(), evs)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for i, r := range res {
					if i > 0 && r.Seq <= res[i-1].Seq {
						t.Errorf("one call's seqs not increasing: %v", res)
					}
					results[evs[i].ID] = r
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	want := goroutines * (calls/2*1 + calls/2*3)
	if len(results) != want {
		t.Fatalf("%d results, want %d", len(results), want)
	}
	seqs := make(map[uint64]string, want)
	for id, r := range results {
		if r.Status != ingest.Accepted {
			t.Fatalf("%s: %v, want accepted", id, r.Status)
		}
		if other, dup := seqs[r.Seq]; dup {
			t.Fatalf("%s and %s both got seq %d", id, other, r.Seq)
		}
		seqs[r.Seq] = id
	}
	stored := readAll(t, in, tenant)
	seen := checkStoredOnceInOrder(t, stored)
	if len(stored) != want {
		t.Fatalf("%d events stored, want %d", len(stored), want)
	}
	for id, r := range results {
		if seq := seen["orders/created/"+id]; seq != r.Seq {
			t.Fatalf("%s stored at seq %d, Accept said %d", id, seq, r.Seq)
		}
	}
}

func TestAccept_DuplicatesAcrossCallsAndWithinOneCallAreReportedAndStoredOnce(t *testing.T) {
	in := start(t, ingest.Options{})
	res := accept(t, in, event("a"), event("b"), event("a"))
	if res[0].Status != ingest.Accepted || res[1].Status != ingest.Accepted {
		t.Fatalf("first deliveries: %v", res)
	}
	if res[2] != (ingest.Result{Status: ingest.Duplicate, Seq: res[0].Seq}) {
		t.Fatalf("repeat within the call: %v, want duplicate of seq %d", res[2], res[0].Seq)
	}
	res2 := accept(t, in, event("b"), event("c"))
	if res2[0] != (ingest.Result{Status: ingest.Duplicate, Seq: res[1].Seq}) || res2[1].Status != ingest.Accepted {
		t.Fatalf("second call: %v", res2)
	}
	// The same id under another trigger or tenant is another event.
	otherTrigger, otherTenant := event("a"), event("a")
	otherTrigger.Trigger = "orders/updated"
	otherTenant.Tenant = "globex"
	for _, r := range accept(t, in, otherTrigger, otherTenant) {
		if r.Status != ingest.Accepted {
			t.Fatalf("same id elsewhere: %v", r)
		}
	}
	stored := readAll(t, in, tenant)
	checkStoredOnceInOrder(t, stored)
	if len(stored) != 4 {
		t.Fatalf("%d events stored for %s, want 4: %v", len(stored), tenant, stored)
	}
	if n := len(readAll(t, in, "globex")); n != 1 {
		t.Fatalf("%d events stored for globex, want 1", n)
	}
}

func TestAccept_DuplicateIsAcceptedAgainAfterDedupTTL(t *testing.T) {
	// Badger's expiry has whole-second granularity: with 2s the record
	// lives at least 1s, long enough for the immediate repeat.
	in := start(t, ingest.Options{DedupTTL: 2 * time.Second})
	first := accept(t, in, event("a"))[0]
	if r := accept(t, in, event("a"))[0]; r.Status != ingest.Duplicate {
		t.Fatalf("immediate repeat: %v", r)
	}
	time.Sleep(3 * time.Second)
	r := accept(t, in, event("a"))[0]
	if r.Status != ingest.Accepted || r.Seq <= first.Seq {
		t.Fatalf("repeat after the TTL: %v, want accepted after seq %d", r, first.Seq)
	}
	if n := len(readAll(t, in, tenant)); n != 2 {
		t.Fatalf("%d events stored, want 2", n)
	}
}

func TestAccept_FailedCommitReturnsErrorAndStoresNothing(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	in := ingest.New(st, ingest.Options{})
	accept(t, in, event("before"))
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			res, err := in.AcceptWith(context.Background(), []ingest.Event{event(fmt.Sprint("x", i)), event(fmt.Sprint("y", i))},
				[]ingest.Put{{Tenant: tenant, Kind: "cursor", ID: fmt.Sprint("c", i), Value: []byte("pos")}})
			if err == nil {
				t.Errorf("accept on a closed store returned %v", res)
			}
		})
	}
	wg.Wait()
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	st = openStore(t, dir)
	defer st.Close()
	in = ingest.New(st, ingest.Options{})
	defer in.Close()
	stored := readAll(t, in, tenant)
	if len(stored) != 1 || stored[0].ID != "before" {
		t.Fatalf("stored after failed commits: %v", stored)
	}
	for i := range 8 {
		if _, ok, err := st.Get(tenant, "cursor", fmt.Sprint("c", i)); ok || err != nil {
			t.Fatalf("put of a failed commit: stored %v, %v", ok, err)
		}
	}
}

func TestIngester_SeqsAndDedupContinueAfterRestart(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	in := ingest.New(st, ingest.Options{})
	accept(t, in, event("1"), event("2"))
	accept(t, in, event("3"))
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = openStore(t, dir)
	defer st.Close()
	in = ingest.New(st, ingest.Options{})
	defer in.Close()
	res := accept(t, in, event("4"), event("2"), event("5"))
	if res[0] != (ingest.Result{Status: ingest.Accepted, Seq: 4}) ||
		res[1] != (ingest.Result{Status: ingest.Duplicate, Seq: 2}) ||
		res[2] != (ingest.Result{Status: ingest.Accepted, Seq: 5}) {
		t.Fatalf("after restart: %v", res)
	}
	stored := readAll(t, in, tenant)
	checkStoredOnceInOrder(t, stored)
	var ids []string
	for _, s := range stored {
		ids = append(ids, fmt.Sprint(s.Seq, "=", s.ID))
	}
	if got := fmt.Sprint(ids); got != "[1=1 2=2 3=3 4=4 5=5]" {
		t.Fatalf("stored in order: %s", got)
	}
}

func TestClose_LaterAcceptReturnsErrClosed(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	in := ingest.New(st, ingest.Options{})
	accept(t, in, event("a"))
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Accept(context.Background(), []ingest.Event{event("b")}); !errors.Is(err, ingest.ErrClosed) {
		t.Fatalf("accept after close: %v", err)
	}
	if err := in.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if n := len(readAll(t, in, tenant)); n != 1 {
		t.Fatalf("%d events readable after close, want 1", n)
	}
}

func TestRead_ReturnsEventsAfterCursorUpToLimitWithAllFields(t *testing.T) {
	in := start(t, ingest.Options{})
	at := time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC)
	var evs []ingest.Event
	for i := 1; i <= 5; i++ {
		ev := event(fmt.Sprint(i))
		ev.ReceivedAt = at.Add(time.Duration(i) * time.Second)
		evs = append(evs, ev)
	}
	evs[4].Payload = nil
	accept(t, in, evs...)
	page, err := in.Read(tenant, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || page[0].Seq != 3 || page[1].Seq != 4 {
		t.Fatalf("page after 2 of 2: %v", page)
	}
	for _, s := range readAll(t, in, tenant) {
		want := evs[s.Seq-1]
		if s.Tenant != want.Tenant || s.Trigger != want.Trigger || s.ID != want.ID ||
			!bytes.Equal(s.Payload, want.Payload) || !s.ReceivedAt.Equal(want.ReceivedAt) {
			t.Fatalf("seq %d read back as %+v, want %+v", s.Seq, s.Event, want)
		}
	}
	if _, err := in.Read(tenant, 0, 0); err == nil {
		t.Fatal("a zero limit was accepted")
	}
	if page, err := in.Read("nobody", 0, 10); err != nil || len(page) != 0 {
		t.Fatalf("tenant without events: %v, %v", page, err)
	}
}

func TestAccept_SetsMissingReceiveTime(t *testing.T) {
	in := start(t, ingest.Options{})
	before := time.Now()
	accept(t, in, event("a"))
	got := readAll(t, in, tenant)[0].ReceivedAt
	if got.Before(before.Truncate(time.Nanosecond)) || got.After(time.Now()) {
		t.Fatalf("receive time %v not between %v and now", got, before)
	}
}

func TestAccept_InvalidEventRejectsWholeCallAndStoresNothing(t *testing.T) {
	in := start(t, ingest.Options{})
	for name, mutate := range map[string]func(*ingest.Event){
		"empty tenant":          func(e *ingest.Event) { e.Tenant = "" },
		"tenant with slash":     func(e *ingest.Event) { e.Tenant = "a/b" },
		"trigger without slash": func(e *ingest.Event) { e.Trigger = "orders" },
		"trigger with two":      func(e *ingest.Event) { e.Trigger = "a/b/c" },
		"empty workflow":        func(e *ingest.Event) { e.Trigger = "/created" },
		"empty id":              func(e *ingest.Event) { e.ID = "" },
	} {
		bad := event("bad")
		mutate(&bad)
		if _, err := in.Accept(context.Background(), []ingest.Event{event("good"), bad}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if n := len(readAll(t, in, tenant)); n != 0 {
		t.Fatalf("%d events stored from rejected calls", n)
	}
}

func TestAccept_EndedContextReturnsErrorWithoutStoring(t *testing.T) {
	in := start(t, ingest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := in.Accept(ctx, []ingest.Event{event("a")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("accept with an ended context: %v", err)
	}
	if n := len(readAll(t, in, tenant)); n != 0 {
		t.Fatalf("%d events stored", n)
	}
}

func TestAcceptWith_PutsAreCommittedWithTheEvents(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	in := ingest.New(st, ingest.Options{})
	defer in.Close()
	cursor := func(pos string) []ingest.Put {
		return []ingest.Put{{Tenant: tenant, Kind: "cursor", ID: "orders/created", Value: []byte(pos)}}
	}
	position := func() string {
		v, _, err := st.Get(tenant, "cursor", "orders/created")
		if err != nil {
			t.Fatal(err)
		}
		return string(v)
	}
	res, err := in.AcceptWith(context.Background(), []ingest.Event{event("a"), event("b")}, cursor("2"))
	if err != nil || len(res) != 2 || res[1].Status != ingest.Accepted {
		t.Fatalf("accept with a cursor: %v, %v", res, err)
	}
	if got := position(); got != "2" {
		t.Fatalf("cursor %q after the first call", got)
	}
	// A redelivery of known events still moves the position on.
	if res, err := in.AcceptWith(context.Background(), []ingest.Event{event("b")}, cursor("3")); err != nil || res[0].Status != ingest.Duplicate {
		t.Fatalf("redelivery with a cursor: %v, %v", res, err)
	}
	if got := position(); got != "3" {
		t.Fatalf("cursor %q after a redelivery", got)
	}
	// No new events, only a position.
	if _, err := in.AcceptWith(context.Background(), nil, cursor("4")); err != nil {
		t.Fatal(err)
	}
	if got := position(); got != "4" {
		t.Fatalf("cursor %q after a call without events", got)
	}
	// A delete and a put in one call: a job moving from one key to another.
	move := []ingest.Put{{Tenant: tenant, Kind: "cursor", ID: "orders/created", Delete: true}, {Tenant: tenant, Kind: "cursor", ID: "orders/moved", Value: []byte("5")}}
	if _, err := in.AcceptWith(context.Background(), nil, move); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.Get(tenant, "cursor", "orders/created"); ok {
		t.Fatal("deleted key still there")
	}
	if v, _, _ := st.Get(tenant, "cursor", "orders/moved"); string(v) != "5" {
		t.Fatalf("moved key holds %q", v)
	}
	for _, bad := range []ingest.Put{
		{Tenant: tenant, Kind: "event", ID: "1", Value: []byte("x")},
		{Tenant: tenant, Kind: "dedup", ID: "orders/created/c", Value: []byte("x")},
		{Tenant: "", Kind: "cursor", ID: "x", Value: []byte("x")},
		{Tenant: tenant, Kind: "cursor", ID: "", Value: []byte("x")},
	} {
		if _, err := in.AcceptWith(context.Background(), []ingest.Event{event("c")}, []ingest.Put{bad}); err == nil {
			t.Errorf("put %+v accepted", bad)
		}
	}
	if n := len(readAll(t, in, tenant)); n != 2 {
		t.Fatalf("%d events stored, want 2 (the rejected calls store nothing)", n)
	}
}

// The router deletes events once it has turned them into runs; the seq
// counter must still continue after a restart, or new events would get
// seqs the router has already passed.
func TestAccept_SeqContinuesAfterEveryEventWasDeletedAndARestart(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	in := ingest.New(st, ingest.Options{})
	res, err := in.Accept(context.Background(), []ingest.Event{event("a"), event("b")})
	if err != nil {
		t.Fatal(err)
	}
	del := []ingest.Put{}
	for _, r := range res {
		del = append(del, ingest.Put{Tenant: tenant, Kind: "event", ID: fmt.Sprintf("%020d", r.Seq), Delete: true})
	}
	if _, err := in.AcceptWith(context.Background(), nil, del); err != nil {
		t.Fatal(err)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	st.Close()

	st = openStore(t, dir)
	defer st.Close()
	in = ingest.New(st, ingest.Options{})
	defer in.Close()
	again, err := in.Accept(context.Background(), []ingest.Event{event("c")})
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Seq <= res[1].Seq {
		t.Fatalf("seq %d after a restart, want more than %d", again[0].Seq, res[1].Seq)
	}
}

// After a restart the first delivery may be a redelivery of an event
// already stored: storing it as a duplicate must not reset the counter.
func TestAccept_DuplicatesFirstAfterARestartKeepTheSeq(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	in := ingest.New(st, ingest.Options{})
	res, err := in.Accept(context.Background(), []ingest.Event{event("a"), event("b")})
	if err != nil {
		t.Fatal(err)
	}
	del := []ingest.Put{}
	for _, r := range res {
		del = append(del, ingest.Put{Tenant: tenant, Kind: "event", ID: fmt.Sprintf("%020d", r.Seq), Delete: true})
	}
	if _, err := in.AcceptWith(context.Background(), nil, del); err != nil {
		t.Fatal(err)
	}
	in.Close()
	st.Close()

	st = openStore(t, dir)
	defer st.Close()
	in = ingest.New(st, ingest.Options{})
	defer in.Close()
	dup, err := in.Accept(context.Background(), []ingest.Event{event("b")})
	if err != nil || dup[0].Status != ingest.Duplicate {
		t.Fatalf("redelivery: %v, %v", dup, err)
	}
	in.Close()
	st.Close()

	st = openStore(t, dir)
	defer st.Close()
	in = ingest.New(st, ingest.Options{})
	defer in.Close()
	again, err := in.Accept(context.Background(), []ingest.Event{event("c")})
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Seq <= res[1].Seq {
		t.Fatalf("seq %d after a duplicate-only batch and a restart, want more than %d", again[0].Seq, res[1].Seq)
	}
}
