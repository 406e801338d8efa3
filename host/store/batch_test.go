package store

import (
	"fmt"
	"testing"
	"time"
)

func TestTx_PutTTLValueExpires(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	err := s.Update(func(tx *Tx) error { return tx.PutTTL("acme", "dedup", "a", []byte("1"), time.Second) })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(tx *Tx) error { return tx.PutTTL("acme", "dedup", "b", []byte("1"), 0) }); err == nil {
		t.Fatal("a zero ttl was accepted")
	}
	time.Sleep(2100 * time.Millisecond)
	if _, ok := mustGet(t, s, "acme", "dedup", "a"); ok {
		t.Fatal("value still present after its ttl")
	}
}

func TestTx_ScanReturnsIdsAfterCursorInOrderUpToLimit(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	err := s.Update(func(tx *Tx) error {
		for i := 1; i <= 5; i++ {
			if err := tx.Put("acme", "event", fmt.Sprintf("%03d", i), []byte{byte(i)}); err != nil {
				return err
			}
		}
		// Neighbours that must not appear: another kind, another tenant.
		if err := tx.Put("acme", "eventx", "001", []byte("no")); err != nil {
			return err
		}
		return tx.Put("acmex", "event", "001", []byte("no"))
	})
	if err != nil {
		t.Fatal(err)
	}
	scan := func(after string, limit int) string {
		var ids []string
		err := s.View(func(tx *Tx) error {
			return tx.Scan("acme", "event", after, limit, func(id string, v []byte) error {
				ids = append(ids, fmt.Sprintf("%s=%d", id, v[0]))
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(ids)
	}
	if got := scan("", 0); got != "[001=1 002=2 003=3 004=4 005=5]" {
		t.Fatalf("scan all: %s", got)
	}
	if got := scan("002", 2); got != "[003=3 004=4]" {
		t.Fatalf("scan after 002 limit 2: %s", got)
	}
	if got := scan("005", 0); got != "[]" {
		t.Fatalf("scan after last: %s", got)
	}
}

func TestTx_LastIDIsGreatestIdOfKind(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	last := func(tenant string) (string, bool) {
		var id string
		var ok bool
		err := s.View(func(tx *Tx) error {
			var err error
			id, ok, err = tx.LastID(tenant, "event")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return id, ok
	}
	if _, ok := last("acme"); ok {
		t.Fatal("empty store has a last id")
	}
	err := s.Update(func(tx *Tx) error {
		for _, k := range []struct{ tenant, kind, id string }{
			{"acme", "event", "007"}, {"acme", "event", "010"}, {"acme", "event", "009"},
			{"acme", "eventx", "999"}, {"acme", "evens", "999"}, {"acmf", "event", "999"},
		} {
			if err := tx.Put(k.tenant, k.kind, k.id, []byte("v")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := last("acme"); !ok || id != "010" {
		t.Fatalf("last id: %q, %v", id, ok)
	}
}

func TestIsTooBig_RecognisesOversizedTransaction(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	err := s.Update(func(tx *Tx) error {
		for i := 0; ; i++ {
			if err := tx.Put("acme", "k", fmt.Sprint(i), []byte("v")); err != nil {
				return err
			}
		}
	})
	if !IsTooBig(err) {
		t.Fatalf("want a too-big error, got %v", err)
	}
}

func TestScanReverse_NewestFirstWithPaging(t *testing.T) {
	st, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, id := range []string{"01", "02", "03", "04"} {
		if err := st.Put("a", "run", id, []byte(id)); err != nil {
			t.Fatal(err)
		}
	}
	// Neighbouring kinds and tenants must not leak into the scan.
	if err := st.Put("a", "runz", "99", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := st.Put("a", "ruo", "00", []byte("x")); err != nil {
		t.Fatal(err)
	}
	scan := func(before string, limit int) []string {
		var ids []string
		if err := st.View(func(tx *Tx) error {
			return tx.ScanReverse("a", "run", before, limit, func(id string, _ []byte) error {
				ids = append(ids, id)
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := fmt.Sprint(scan("", 0)); got != "[04 03 02 01]" {
		t.Fatalf("all: %s", got)
	}
	if got := fmt.Sprint(scan("", 2)); got != "[04 03]" {
		t.Fatalf("first page: %s", got)
	}
	if got := fmt.Sprint(scan("03", 2)); got != "[02 01]" {
		t.Fatalf("second page: %s", got)
	}
}
