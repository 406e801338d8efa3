package secrets

import (
	"context"
	"testing"
	"time"
)

// waitSignal fails the test unless ch signals within 5 s.
func waitSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatalf("%s: the watch channel closed", what)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no change reported", what)
	}
}

func TestWatch_ReportsSetsAndDeletesByAnotherStore(t *testing.T) {
	dir := t.TempDir()
	host := mustOpen(t, dir, noEnv)
	cli := mustOpen(t, dir, noEnv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changed := host.Watch(ctx, 5*time.Millisecond)

	mustSet(t, cli, "api_key", "first")
	waitSignal(t, changed, "first set")
	mustGet(t, host, "api_key", "first")

	mustSet(t, cli, "api_key", "second")
	waitSignal(t, changed, "second set")
	mustGet(t, host, "api_key", "second")

	if _, err := cli.Delete("api_key"); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, changed, "delete")
	if _, ok, err := host.Get("api_key"); err != nil || ok {
		t.Fatalf("after delete: ok %v, err %v", ok, err)
	}
}

// A change made while nobody reads the channel is still reported once
// the receiver comes back: the pending signal is kept, not dropped.
func TestWatch_ChangesWhileBusyCollapseIntoOneSignal(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, noEnv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changed := s.Watch(ctx, 5*time.Millisecond)
	for i, v := range []string{"a", "b", "c"} {
		mustSet(t, s, "k", v)
		if i == 0 {
			waitSignal(t, changed, "first set")
		}
	}
	waitSignal(t, changed, "later sets")
	mustGet(t, s, "k", "c")
}

func TestWatch_ClosesWhenTheContextEnds(t *testing.T) {
	s := mustOpen(t, t.TempDir(), noEnv)
	ctx, cancel := context.WithCancel(context.Background())
	changed := s.Watch(ctx, time.Millisecond)
	cancel()
	select {
	case _, ok := <-changed:
		if ok {
			// A signal raced the cancel; the close follows.
			if _, ok := <-changed; ok {
				t.Fatal("the channel is still open after the context ended")
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the channel did not close after the context ended")
	}
}
