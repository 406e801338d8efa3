package store

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustGet(t *testing.T, s *Store, tenant, kind, id string) (string, bool) {
	t.Helper()
	v, ok, err := s.Get(tenant, kind, id)
	if err != nil {
		t.Fatal(err)
	}
	return string(v), ok
}

func TestStore_ValuesSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.Put(DefaultTenant, "applied", "workspace", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(DefaultTenant, "applied", "gone", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(DefaultTenant, "applied", "gone"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	if v, ok := mustGet(t, s, DefaultTenant, "applied", "workspace"); !ok || v != "v1" {
		t.Fatalf("after reopen: %q, %v", v, ok)
	}
	if _, ok := mustGet(t, s, DefaultTenant, "applied", "gone"); ok {
		t.Fatal("a deleted key came back after reopen")
	}
}

func TestStore_TenantsDoNotSeeEachOthersKeys(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	if err := s.Put("acme", "applied", "workspace", []byte("acme's")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("globex", "applied", "workspace", []byte("globex's")); err != nil {
		t.Fatal(err)
	}
	if v, _ := mustGet(t, s, "acme", "applied", "workspace"); v != "acme's" {
		t.Fatalf("acme reads %q", v)
	}
	if v, _ := mustGet(t, s, "globex", "applied", "workspace"); v != "globex's" {
		t.Fatalf("globex reads %q", v)
	}
	if _, ok := mustGet(t, s, "initech", "applied", "workspace"); ok {
		t.Fatal("a tenant with no data sees a value")
	}
	if err := s.Delete("acme", "applied", "workspace"); err != nil {
		t.Fatal(err)
	}
	if _, ok := mustGet(t, s, "globex", "applied", "workspace"); !ok {
		t.Fatal("deleting one tenant's key removed another's")
	}
}

func TestStore_UpdateThatFailsWritesNothing(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	if err := s.Put("acme", "k", "a", []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := s.Update(func(tx *Tx) error {
		if err := tx.Put("acme", "k", "a", []byte("new")); err != nil {
			return err
		}
		if err := tx.Put("acme", "k", "b", []byte("new")); err != nil {
			return err
		}
		if v, ok, err := tx.Get("acme", "k", "b"); err != nil || !ok || string(v) != "new" {
			t.Errorf("a transaction does not see its own write: %q %v %v", v, ok, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want the function's error", err)
	}
	if v, _ := mustGet(t, s, "acme", "k", "a"); v != "old" {
		t.Fatalf("a failed update changed a: %q", v)
	}
	if _, ok := mustGet(t, s, "acme", "k", "b"); ok {
		t.Fatal("a failed update created b")
	}

	if err := s.Update(func(tx *Tx) error {
		if err := tx.Put("acme", "k", "a", []byte("new")); err != nil {
			return err
		}
		return tx.Put("acme", "k", "b", []byte("new"))
	}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if v, _ := mustGet(t, s, "acme", "k", id); v != "new" {
			t.Fatalf("%s = %q after a committed update", id, v)
		}
	}
}

func TestKey_LayoutIsTenantKindID(t *testing.T) {
	k, err := Key("default", "applied", "workspace")
	if err != nil || string(k) != "t/default/applied/workspace" {
		t.Fatalf("Key = %q, %v", k, err)
	}
	for _, c := range [][3]string{{"", "k", "i"}, {"a/b", "k", "i"}, {"t", "", "i"}, {"t", "k/x", "i"}, {"t", "k", ""}} {
		if _, err := Key(c[0], c[1], c[2]); err == nil {
			t.Errorf("Key%q accepted", c)
		}
	}
}

func TestOpenReadOnly_ManyReadersAtOnceAndNoWrites(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(DefaultTenant, "applied", "workspace", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := listing(t, dir)
	var readers []*Store
	for range 3 {
		r, err := OpenReadOnly(dir, nil)
		if err != nil {
			t.Fatalf("reader: %v", err)
		}
		readers = append(readers, r)
		if v, ok, err := r.Get(DefaultTenant, "applied", "workspace"); err != nil || !ok || string(v) != "v1" {
			t.Fatalf("read %q %v %v", v, ok, err)
		}
	}
	for _, r := range readers {
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if after := listing(t, dir); after != before {
		t.Fatalf("read-only opens changed the directory:\n%s\n->\n%s", before, after)
	}
}

func listing(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		fi, _ := e.Info()
		fmt.Fprintf(&b, "%s %d\n", e.Name(), fi.Size())
	}
	return b.String()
}
