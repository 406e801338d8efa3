package secrets

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
)

func mustSealer(t *testing.T, s *Store) *Sealer {
	t.Helper()
	k, err := s.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealer_OpensWhatItSealedOnlyWithTheSameAdditionalData(t *testing.T) {
	k := mustSealer(t, mustOpen(t, t.TempDir(), noEnv))
	sealed, err := k.Seal([]byte("whsec-plaintext"), []byte("default\x00orders"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "whsec-plaintext") || !IsSealed(sealed) {
		t.Fatalf("sealed value %q", sealed)
	}
	got, err := k.Open(sealed, []byte("default\x00orders"))
	if err != nil || string(got) != "whsec-plaintext" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(sealed, []byte("default\x00refunds")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a value moved to another record opened: %v", err)
	}
	if _, err := k.Open("whsec-plaintext", nil); !errors.Is(err, ErrNotSealed) {
		t.Fatalf("a clear value: %v, want ErrNotSealed", err)
	}
	other, err := NewSealer(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open(sealed, []byte("default\x00orders")); !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), k.KeyID()) {
		t.Fatalf("another data key: %v, want ErrWrongKey naming %s", err, k.KeyID())
	}
}

func TestSealer_SealedValuesOpenAfterAMasterKeyRotation(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, noEnv)
	mustSet(t, s, "api", "v1")
	k := mustSealer(t, s)
	sealed, err := k.Seal([]byte("signing"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	hash := k.Hash("state", []byte("hunter2"))
	newKey, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Rotate(newKey); err != nil {
		t.Fatal(err)
	}
	// A fresh process with the new key.
	k2 := mustSealer(t, mustOpen(t, dir, noEnv))
	if got, err := k2.Open(sealed, []byte("ad")); err != nil || string(got) != "signing" {
		t.Fatalf("after rotation Open = %q, %v", got, err)
	}
	if h := k2.Hash("state", []byte("hunter2")); h != hash {
		t.Fatalf("the keyed hash changed with the master key: %s, was %s", h, hash)
	}
	if bytes.Contains(readFile(t, s.Path()), []byte(EncodeKey(k2.key))) {
		t.Fatal("secrets.json holds the data key in the clear")
	}
}

func TestSealer_TwoStoresCreatingTheDataKeyAtOnceAgree(t *testing.T) {
	dir := t.TempDir()
	a, b := mustOpen(t, dir, noEnv), mustOpen(t, dir, noEnv)
	var wg sync.WaitGroup
	ks := make([]*Sealer, 2)
	errs := make([]error, 2)
	for i, s := range []*Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ks[i], errs[i] = s.Sealer()
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	if ks[0].KeyID() != ks[1].KeyID() {
		t.Fatalf("two data keys: %s and %s", ks[0].KeyID(), ks[1].KeyID())
	}
}

func TestSealer_TheDataKeyIsNotAnOrdinarySecret(t *testing.T) {
	s := mustOpen(t, t.TempDir(), noEnv)
	mustSealer(t, s)
	if _, _, err := s.Get(DataKeyName); err == nil {
		t.Fatal("Get read the data key")
	}
	if _, err := s.Resolver(nil)(DataKeyName); err == nil {
		t.Fatal("secret() read the data key")
	}
	if err := s.Set(DataKeyName, "x"); err == nil {
		t.Fatal("Set replaced the data key")
	}
	if _, err := s.Delete(DataKeyName); err == nil {
		t.Fatal("Delete removed the data key")
	}
	infos, err := s.List()
	if err != nil || len(infos) != 0 {
		t.Fatalf("List = %v, %v; want no secrets", infos, err)
	}
}

func TestSealer_HashIsKeyedAndSeparatedByPurpose(t *testing.T) {
	k := mustSealer(t, mustOpen(t, t.TempDir(), noEnv))
	plain := sha256.Sum256([]byte("hunter2"))
	h := k.Hash("state", []byte("hunter2"))
	if h == hex.EncodeToString(plain[:]) {
		t.Fatal("Hash is the unkeyed SHA-256")
	}
	if h != k.Hash("state", []byte("hunter2")) {
		t.Fatal("Hash is not deterministic")
	}
	if h == k.Hash("other", []byte("hunter2")) {
		t.Fatal("two purposes share a hash key")
	}
	other := mustSealer(t, mustOpen(t, t.TempDir(), noEnv))
	if h == other.Hash("state", []byte("hunter2")) {
		t.Fatal("two data keys give the same hash")
	}
}

func TestSealer_FormattingShowsNoKey(t *testing.T) {
	k := mustSealer(t, mustOpen(t, t.TempDir(), noEnv))
	enc := EncodeKey(k.key)
	for _, s := range []string{k.String(), k.GoString()} {
		if strings.Contains(s, enc) {
			t.Fatalf("%q shows the key", s)
		}
	}
}
