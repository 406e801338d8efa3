// Package disktest gives tests of the trigger runners (host/poller,
// host/streamer) a real store and ingester in one directory, closed when
// the test ends and reopenable within it. Only tests import it.
package disktest

import (
	"testing"

	"github.com/hubhq/hub/host/ingest"
	"github.com/hubhq/hub/host/store"
)

// Disk is a store and its ingester in one directory.
type Disk struct {
	t  testing.TB
	St *store.Store
	In *ingest.Ingester
}

// Open opens the store in dir with an ingester; the test's cleanup closes
// them.
func Open(t testing.TB, dir string) *Disk {
	t.Helper()
	st, err := store.Open(dir, nil)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	d := &Disk{t: t, St: st, In: ingest.New(st, ingest.Options{})}
	t.Cleanup(d.Close)
	return d
}

// Close closes the ingester and the store; calling it again does nothing.
func (d *Disk) Close() {
	if d.St == nil {
		return
	}
	if err := d.In.Close(); err != nil {
		d.t.Errorf("close ingester: %v", err)
	}
	if err := d.St.Close(); err != nil {
		d.t.Errorf("close store: %v", err)
	}
	d.St, d.In = nil, nil
}

// Value returns the stored value of tenant, kind and id as text, "<none>"
// when there is none.
func (d *Disk) Value(tenant, kind, id string) string {
	d.t.Helper()
	v, ok, err := d.St.Get(tenant, kind, id)
	if err != nil {
		d.t.Fatalf("get %s %s: %v", kind, id, err)
	}
	if !ok {
		return "<none>"
	}
	return string(v)
}

// EventIDs returns "<trigger>:<id>" of every stored event of tenant, in
// order.
func (d *Disk) EventIDs(tenant string) []string {
	d.t.Helper()
	evs, err := d.In.Read(tenant, 0, 10000)
	if err != nil {
		d.t.Fatalf("read events: %v", err)
	}
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.Trigger + ":" + e.ID
	}
	return ids
}
