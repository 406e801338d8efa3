package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/hubhq/hub/host/secrets"
)

func TestRotateFailed_SaysWhetherThePrintedKeyIsInUse(t *testing.T) {
	dir := t.TempDir()
	st, err := secrets.Open(dir, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Set("shop", "value"); err != nil {
		t.Fatal(err)
	}
	key, err := secrets.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	newID := secrets.KeyID(key)
	boom := errors.New("sync directory: input/output error")

	// Before the store was replaced: the printed key is unused.
	if got := rotateFailed(boom, st, newID, true).Error(); !strings.Contains(got, "the printed key was not applied") {
		t.Errorf("failure before the store was replaced says %q", got)
	}
	// After: a failure that came late (the directory sync) must not
	// tell the operator to drop the key that now opens the store.
	if err := st.Rotate(key); err != nil {
		t.Fatal(err)
	}
	got := rotateFailed(boom, st, newID, true).Error()
	if !strings.Contains(got, "now encrypted with the printed key "+newID) || !strings.Contains(got, secrets.EnvMasterKey) || strings.Contains(got, "not applied") {
		t.Errorf("failure after the store was replaced, env key, says %q", got)
	}
	got = rotateFailed(boom, st, newID, false).Error()
	if !strings.Contains(got, "now encrypted with the printed key "+newID) || !strings.Contains(got, "master.key") {
		t.Errorf("failure after the store was replaced, key file, says %q", got)
	}
	if !errors.Is(rotateFailed(boom, st, newID, false), boom) {
		t.Error("the rotation's own error is not wrapped")
	}
}
