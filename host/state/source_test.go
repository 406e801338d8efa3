package state

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/hubhq/hub/host/secrets"
)

func testSealer(t *testing.T, b byte) *secrets.Sealer {
	t.Helper()
	k, err := secrets.NewSealer(bytes.Repeat([]byte{b}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// appliedSource is a source applied with a sensitive -var and a var file.
func appliedSource() *Source {
	return &Source{
		Files:    map[string]string{"main.hcl": base},
		Vars:     map[string]string{"wh_key": "hunter2"},
		VarFiles: []NamedFile{{Name: "prod.vars.hcl", Content: `wh_key = "swordfish"`}},
		Env:      "prod",
	}
}

func TestSaveSource_SealsTheVariablesAndVarFiles(t *testing.T) {
	st, k := memStore{}, testSealer(t, 1)
	if err := SaveSource(st, "default", appliedSource(), k); err != nil {
		t.Fatal(err)
	}
	raw := st["default/applied/source"]
	for _, v := range []string{"hunter2", "swordfish"} {
		if bytes.Contains(raw, []byte(v)) {
			t.Fatalf("the stored source holds %q in the clear:\n%s", v, raw)
		}
	}
	got, err := LoadSource(st, "default", k)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, appliedSource()) {
		t.Fatalf("loaded %+v, want %+v", got, appliedSource())
	}
}

func TestLoadSource_ReadsASourceStoredInTheClearAndResealSealsIt(t *testing.T) {
	old, err := json.Marshal(appliedSource()) // what an earlier hub stored
	if err != nil {
		t.Fatal(err)
	}
	st, k := memStore{"default/applied/source": old}, testSealer(t, 1)
	got, err := LoadSource(st, "default", k)
	if err != nil || !reflect.DeepEqual(got, appliedSource()) {
		t.Fatalf("loaded %+v, %v; want %+v", got, err, appliedSource())
	}
	if sealed, err := ResealSource(st, "default", k); err != nil || !sealed {
		t.Fatalf("ResealSource = %v, %v; want it to seal", sealed, err)
	}
	if raw := st["default/applied/source"]; bytes.Contains(raw, []byte("hunter2")) || bytes.Contains(raw, []byte("swordfish")) {
		t.Fatalf("resealed source still holds a variable in the clear:\n%s", raw)
	}
	if sealed, err := ResealSource(st, "default", k); err != nil || sealed {
		t.Fatalf("a second ResealSource = %v, %v; want nothing to do", sealed, err)
	}
	if got, err := LoadSource(st, "default", k); err != nil || !reflect.DeepEqual(got, appliedSource()) {
		t.Fatalf("after resealing loaded %+v, %v", got, err)
	}
}

func TestLoadSource_SealedVariablesOpenOnlyForTheirTenantAndKey(t *testing.T) {
	st, k := memStore{}, testSealer(t, 1)
	if err := SaveSource(st, "acme", appliedSource(), k); err != nil {
		t.Fatal(err)
	}
	st["globex/applied/source"] = st["acme/applied/source"]
	if _, err := LoadSource(st, "globex", k); err == nil {
		t.Fatal("a sealed source copied to another tenant opened")
	}
	if _, err := LoadSource(st, "acme", testSealer(t, 2)); err == nil {
		t.Fatal("a sealed source opened with another data key")
	}
	if _, err := LoadSource(st, "acme", nil); err == nil || !strings.Contains(err.Error(), "sealed") {
		t.Fatalf("without a sealer: %v", err)
	}
}

func TestSaveSource_WithoutVariablesSealsNothing(t *testing.T) {
	st := memStore{}
	src := &Source{Files: map[string]string{"main.hcl": base}}
	if err := SaveSource(st, "default", src, testSealer(t, 1)); err != nil {
		t.Fatal(err)
	}
	if raw := st["default/applied/source"]; bytes.Contains(raw, []byte("sealed_inputs")) {
		t.Fatalf("a source without variables has sealed inputs:\n%s", raw)
	}
	// Readable without a secret store, as before.
	if got, err := LoadSource(st, "default", nil); err != nil || !reflect.DeepEqual(got, src) {
		t.Fatalf("loaded %+v, %v", got, err)
	}
}
