package runs

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hubhq/hub/host/store"
)

func putRun(t *testing.T, st *store.Store, r *Run) {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(r.Tenant, KindRun, r.ID, b); err != nil {
		t.Fatal(err)
	}
}

func ids(t *testing.T, st *store.Store) []string {
	t.Helper()
	list, err := List(st, "acme", Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range list {
		out = append(out, s.ID)
	}
	return out
}

func TestPrune_DropsOldAndExcessFinishedRunsButNeverLiveOrDeadOnes(t *testing.T) {
	st, err := store.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for i, r := range []struct {
		age    time.Duration
		status Status
	}{
		{40 * day, Succeeded}, // old: dropped
		{40 * day, Running},   // old but live: kept
		{35 * day, Dead},      // old but waiting for an operator: kept
		{10 * day, Failed},
		{5 * day, Succeeded},
		{1 * day, Succeeded},
	} {
		putRun(t, st, &Run{ID: RunID(uint64(i + 1)), Tenant: "acme", Workflow: "w", Status: r.status, CreatedAt: now.Add(-r.age)})
	}
	// Another tenant's runs are not this tenant's to prune.
	putRun(t, st, &Run{ID: RunID(1), Tenant: "other", Workflow: "w", Status: Succeeded, CreatedAt: now.Add(-400 * day)})

	n, err := Prune(st, "acme", Retention{MaxAge: 30 * day}, now)
	if err != nil || n != 1 {
		t.Fatalf("prune by age: %d, %v; want 1", n, err)
	}
	got := ids(t, st)
	want := []string{RunID(6), RunID(5), RunID(4), RunID(3), RunID(2)}
	if len(got) != len(want) {
		t.Fatalf("after pruning by age: %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("after pruning by age: %v, want %v", got, want)
		}
	}

	// Keep at most 3: the oldest finished ones go (4 failed, 5
	// succeeded), not the running or dead ones, though they are older.
	n, err = Prune(st, "acme", Retention{MaxRuns: 3}, now)
	if err != nil || n != 2 {
		t.Fatalf("prune by count: %d, %v; want 2", n, err)
	}
	got = ids(t, st)
	if len(got) != 3 || got[0] != RunID(6) || got[1] != RunID(3) || got[2] != RunID(2) {
		t.Fatalf("after pruning by count: %v", got)
	}
	if v, ok, _ := st.Get("other", KindRun, RunID(1)); !ok || v == nil {
		t.Fatal("another tenant's run was pruned")
	}
}
