package runset

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

const patience = 10 * time.Second

// spec is a test definition: a runner restarts when Version changes.
type spec struct {
	Name    string
	Version int
	Note    string // taken over without a restart
}

// fake is a Runner that records its life in a journal.
type fake struct {
	spec    spec
	journal *journal
	stop    chan struct{}
	waited  chan struct{} // closed once prev was closed
	release chan struct{} // Run returns after stop and this
	note    string
}

type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, s)
}

func (j *journal) has(s string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, e := range j.entries {
		if e == s {
			return true
		}
	}
	return false
}

func (f *fake) Run(prev <-chan struct{}) {
	if prev != nil {
		<-prev
	}
	close(f.waited)
	f.journal.add("run " + f.spec.Name)
	<-f.stop
	<-f.release
	f.journal.add("return " + f.spec.Name)
}

func (f *fake) Stop() { close(f.stop) }

type harness struct {
	set     *Set[spec]
	journal *journal
	mu      sync.Mutex
	spawned map[string]*fake // the newest runner of each name@version
}

func newHarness() *harness {
	h := &harness{journal: &journal{}, spawned: map[string]*fake{}}
	h.set = New(func(a, b spec) bool { return a.Version == b.Version }, func(s spec) Runner {
		f := &fake{spec: s, journal: h.journal, stop: make(chan struct{}), waited: make(chan struct{}), release: make(chan struct{}), note: s.Note}
		h.mu.Lock()
		h.spawned[key(s)] = f
		h.mu.Unlock()
		return f
	})
	return h
}

func key(s spec) string { return s.Name + "@" + string(rune('0'+s.Version)) }

func (h *harness) runner(t *testing.T, s spec) *fake {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.spawned[key(s)]
	if !ok {
		t.Fatalf("no runner was spawned for %s", key(s))
	}
	return f
}

func want(specs ...spec) map[Key]spec {
	m := map[Key]spec{}
	for _, s := range specs {
		m[Key{"acme", s.Name}] = s
	}
	return m
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(patience):
		t.Fatalf("%s did not happen", what)
	}
}

func TestApply_StartsStopsAndRestartsByDefinition(t *testing.T) {
	h := newHarness()
	a1, b1 := spec{Name: "a", Version: 1}, spec{Name: "b", Version: 1}
	if err := h.set.Apply(want(a1, b1), nil); err != nil {
		t.Fatal(err)
	}
	ra, rb := h.runner(t, a1), h.runner(t, b1)
	wait(t, ra.waited, "a's first runner starting")
	wait(t, rb.waited, "b's runner starting")

	// a changes and b goes: a restarts, b stops; the new a waits for the
	// old one to return.
	a2 := spec{Name: "a", Version: 2}
	if err := h.set.Apply(want(a2), nil); err != nil {
		t.Fatal(err)
	}
	if !closed(ra.stop) || !closed(rb.stop) {
		t.Fatal("the changed and the dropped runner were not stopped")
	}
	ra2 := h.runner(t, a2)
	if closed(ra2.waited) {
		t.Fatal("the new runner of a went on before the old one returned")
	}
	close(ra.release)
	wait(t, ra2.waited, "the new runner of a going on once the old one returned")
	if _, ok := h.set.Get(Key{"acme", "b"}); ok {
		t.Error("Get found b after it was dropped")
	}
	if r, ok := h.set.Get(Key{"acme", "a"}); !ok || r != Runner(ra2) {
		t.Errorf("Get(a) = %v, %v; want the new runner", r, ok)
	}

	close(rb.release)
	close(ra2.release)
	h.set.Stop()
	h.set.Wait()
	for _, e := range []string{"return a", "return b"} {
		if !h.journal.has(e) {
			t.Errorf("journal lacks %q", e)
		}
	}
	if err := h.set.Apply(want(a1), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply after Stop = %v, want ErrClosed", err)
	}
}

func TestApply_SameDefinitionKeepsTheRunnerAndCallsKeep(t *testing.T) {
	h := newHarness()
	a := spec{Name: "a", Version: 1, Note: "first"}
	if err := h.set.Apply(want(a), nil); err != nil {
		t.Fatal(err)
	}
	r := h.runner(t, a)
	wait(t, r.waited, "a starting")
	a.Note = "second"
	var kept []string
	err := h.set.Apply(want(a), func(run Runner, s spec) {
		run.(*fake).note = s.Note
		kept = append(kept, s.Name)
	})
	if err != nil {
		t.Fatal(err)
	}
	if closed(r.stop) {
		t.Fatal("a runner whose definition is the same was stopped")
	}
	if len(kept) != 1 || r.note != "second" {
		t.Errorf("keep called for %v, note %q; want a once, note second", kept, r.note)
	}
	close(r.release)
	h.set.Stop()
	h.set.Wait()
}

func TestApply_ThirdDefinitionWaitsForTheSecondNotJustTheFirst(t *testing.T) {
	h := newHarness()
	v1, v2, v3 := spec{Name: "a", Version: 1}, spec{Name: "a", Version: 2}, spec{Name: "a", Version: 3}
	for _, s := range []spec{v1, v2, v3} {
		if err := h.set.Apply(want(s), nil); err != nil {
			t.Fatal(err)
		}
	}
	r1, r2, r3 := h.runner(t, v1), h.runner(t, v2), h.runner(t, v3)
	close(r1.release)
	wait(t, r2.waited, "the second runner going on after the first returned")
	if closed(r3.waited) {
		t.Fatal("the third runner went on while the second was still running")
	}
	close(r2.release)
	wait(t, r3.waited, "the third runner going on after the second returned")
	close(r3.release)
	h.set.Stop()
	h.set.Wait()
}

// quitter is a Runner that, stopped while it waits for prev, returns at
// once, as the streamer's and poller's runners do.
type quitter struct {
	name    string
	journal *journal
	stop    chan struct{}
	release chan struct{} // once running, Run returns after stop and this
}

func (q *quitter) Run(prev <-chan struct{}) {
	if prev != nil {
		select {
		case <-prev:
		case <-q.stop:
			q.journal.add("gave up " + q.name)
			return
		}
	}
	q.journal.add("run " + q.name)
	<-q.stop
	<-q.release
	q.journal.add("return " + q.name)
}

func (q *quitter) Stop() { close(q.stop) }

func TestApply_ARunnerThatGivesUpWaitingStillHoldsTheNextBack(t *testing.T) {
	j := &journal{}
	runners := map[int]*quitter{}
	var mu sync.Mutex
	set := New(func(a, b spec) bool { return a.Version == b.Version }, func(s spec) Runner {
		q := &quitter{name: key(s), journal: j, stop: make(chan struct{}), release: make(chan struct{})}
		mu.Lock()
		runners[s.Version] = q
		mu.Unlock()
		return q
	})
	// v1 runs; v2 waits for it and is stopped by v3 at once, so it gives
	// up; v3 must still wait for v1.
	if err := set.Apply(want(spec{Name: "a", Version: 1}), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return j.has("run a@1") }, "v1 running")
	for _, v := range []int{2, 3} {
		if err := set.Apply(want(spec{Name: "a", Version: v}), nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return j.has("gave up a@2") }, "v2 giving up")
	if j.has("run a@3") {
		t.Fatal("v3 ran while v1 was still running: v2 gave up waiting, and its done let v3 through")
	}
	mu.Lock()
	r1, r3 := runners[1], runners[3]
	mu.Unlock()
	close(r1.release)
	waitFor(t, func() bool { return j.has("run a@3") }, "v3 running after v1 returned")
	close(r3.release)
	set.Stop()
	set.Wait()
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDone_ClosesOnceEveryRunnerOfTheKeyReturned(t *testing.T) {
	h := newHarness()
	k := Key{"acme", "a"}
	if !closed(h.set.Done(k)) {
		t.Fatal("Done of a key never started is not closed")
	}
	v1 := spec{Name: "a", Version: 1}
	if err := h.set.Apply(want(v1), nil); err != nil {
		t.Fatal(err)
	}
	r := h.runner(t, v1)
	wait(t, r.waited, "a starting")
	if err := h.set.Apply(want(), nil); err != nil { // a is no longer wanted
		t.Fatal(err)
	}
	done := h.set.Done(k)
	if closed(done) {
		t.Fatal("Done is closed while the stopped runner has not returned")
	}
	close(r.release)
	wait(t, done, "Done closing after the runner returned")
	h.set.Stop()
	h.set.Wait()
}

func TestWanted_LeavesOutInvalidAndRepeatedDefinitionsAndNamesThem(t *testing.T) {
	key := func(s spec) Key { return Key{"acme", s.Name} }
	validate := func(s spec) error {
		if s.Version < 1 {
			return errors.New("trigger " + s.Name + ": no version")
		}
		return nil
	}
	want, err := Wanted([]spec{{Name: "a", Version: 1}, {Name: "b"}, {Name: "a", Version: 2}, {Name: "c", Version: 1}}, key, validate, "poll trigger")
	if len(want) != 2 || want[Key{"acme", "a"}].Version != 1 || want[Key{"acme", "c"}].Version != 1 {
		t.Errorf("want = %v, want a (the first) and c", want)
	}
	if err == nil || !strings.Contains(err.Error(), "trigger b: no version") || !strings.Contains(err.Error(), "poll trigger acme/a: listed twice, the first is kept") {
		t.Errorf("err = %v, want both b's problem and the repeated a", err)
	}
	if _, err := Wanted([]spec{{Name: "a", Version: 1}}, key, validate, "poll trigger"); err != nil {
		t.Errorf("valid definitions gave %v", err)
	}
}
