package secrets

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DataKeyName is the entry that holds the data key: the key Sealer seals
// and keys with. It is the host's own: Get, Set, Delete and the Resolver
// refuse it and List leaves it out, so neither a workspace nor a person
// can read or lose it by accident.
const DataKeyName = "hub/data-key"

// sealedPrefix starts every value Seal returns; the version names the
// format and the cipher (AES-256-GCM, a 12-byte nonce first).
const sealedPrefix = "sealed:v1:"

// ErrNotSealed: Open was given a value Seal did not make.
var ErrNotSealed = errors.New("not a sealed value")

// Sealer seals small values that hub keeps outside this store (webhook
// signing secrets, -var values of the applied workspace in the Badger
// store) and keys hashes of values that must not be guessable offline.
//
// It works with the data key, a random 32-byte key kept in the store as
// the entry DataKeyName, not with the master key: rotating the master key
// re-seals that entry with everything else, so values sealed before a
// rotation still open after it, and nothing outside this file has to be
// rewritten. Losing secrets.json (or its master key) loses what was
// sealed with it, as it loses the secrets.
type Sealer struct {
	key []byte
	id  string
}

// Sealer returns the store's Sealer, creating the data key on first use.
// The data key never changes, so the Sealer stays valid across key
// rotations and may be kept for the life of the process.
func (s *Store) Sealer() (*Sealer, error) {
	s.mu.Lock()
	err := s.refresh()
	text, ok := s.values[DataKeyName]
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !ok {
		// Created under the directory's lock, from the file as it is
		// now: two processes starting at once agree on one data key.
		err = s.update(func(f *fileData) (bool, error) {
			if e, ok := f.Entries[DataKeyName]; ok {
				v, err := unseal(s.key, DataKeyName, e)
				if err != nil {
					return false, errorf(ErrCorrupt, "secret store %s: the data key does not decrypt with key %s: restore the file from a backup", s.path, s.keyID)
				}
				text = v
				return false, nil
			}
			k, err := NewKey()
			if err != nil {
				return false, err
			}
			text = EncodeKey(k)
			nonce, ct, err := seal(s.key, DataKeyName, text)
			if err != nil {
				return false, err
			}
			f.Entries[DataKeyName] = entry{KeyID: s.keyID, Nonce: nonce, Ciphertext: ct, UpdatedAt: time.Now().UTC()}
			return true, nil
		})
		if err != nil {
			return nil, fmt.Errorf("create the data key: %w", err)
		}
	}
	k, err := DecodeKey(text)
	if err != nil {
		return nil, errorf(ErrCorrupt, "secret store %s: the data key is damaged (%v): restore the file from a backup", s.path, err)
	}
	return NewSealer(k)
}

// NewSealer returns a Sealer with the given data key; Store.Sealer is the
// way to get hub's. It is for tests and tools that hold a key already.
func NewSealer(dataKey []byte) (*Sealer, error) {
	if len(dataKey) != KeySize {
		return nil, fmt.Errorf("data key: %d bytes, want %d", len(dataKey), KeySize)
	}
	k := make([]byte, KeySize)
	copy(k, dataKey)
	return &Sealer{key: k, id: KeyID(k)}, nil
}

// KeyID is the ID of the data key, as sealed values record it.
func (k *Sealer) KeyID() string { return k.id }

// String names the Sealer by its key ID; never the key.
func (k *Sealer) String() string { return "secrets.Sealer(data key " + k.id + ")" }

// GoString is String, so %#v does not print the key.
func (k *Sealer) GoString() string { return k.String() }

// Seal encrypts plaintext with a fresh nonce. ad is bound to the result
// without being stored in it: Open needs the same ad, so a sealed value
// copied to another record (another tenant, another workflow) does not
// open there. The result is text: "sealed:v1:<key id>:<base64>".
func (k *Sealer) Seal(plaintext, ad []byte) (string, error) {
	gcm, err := newGCM(k.key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize(), gcm.NonceSize()+len(plaintext)+gcm.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: nonce: %w", err)
	}
	out := gcm.Seal(nonce, nonce, plaintext, ad)
	return sealedPrefix + k.id + ":" + base64.RawStdEncoding.EncodeToString(out), nil
}

// IsSealed reports whether v has the form Seal gives its results; it
// tells a sealed value from one stored in the clear before hub sealed
// them.
func IsSealed(v string) bool { return strings.HasPrefix(v, sealedPrefix) }

// Open decrypts a value Seal made with the same data key and ad. Its
// errors say which key sealed the value and never include the value.
func (k *Sealer) Open(sealed string, ad []byte) ([]byte, error) {
	rest, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return nil, ErrNotSealed
	}
	id, body, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, fmt.Errorf("open sealed value: %w", ErrNotSealed)
	}
	if id != k.id {
		return nil, errorf(ErrWrongKey, "open sealed value: it was sealed with data key %s, the secret store holds data key %s (was secrets.json replaced?)", id, k.id)
	}
	raw, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil {
		return nil, errorf(ErrCorrupt, "open sealed value: not base64")
	}
	gcm, err := newGCM(k.key)
	if err != nil {
		return nil, err
	}
	if len(raw) < gcm.NonceSize()+gcm.Overhead() {
		return nil, errorf(ErrCorrupt, "open sealed value: %d bytes is too short", len(raw))
	}
	plain, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], ad)
	if err != nil {
		return nil, errorf(ErrCorrupt, "open sealed value: it does not decrypt with data key %s: it was altered, or belongs to another record", k.id)
	}
	return plain, nil
}

// Hash is the hex HMAC-SHA256 of data under a key derived from the data
// key for purpose. Unlike a plain SHA-256, a stored Hash of a secret
// cannot be checked against guesses by someone who has the stored hash
// but not the secret store; like one, it is the same for the same data,
// so a change is still seen. Each purpose has its own key, so hashes made
// for one use tell nothing about another.
func (k *Sealer) Hash(purpose string, data []byte) string {
	m := hmac.New(sha256.New, k.derive(purpose))
	m.Write(data)
	return hex.EncodeToString(m.Sum(nil))
}

// derive is HMAC-SHA256(data key, "hub derived key v1" 0 purpose), the
// extract-free form of HKDF's expand step for one 32-byte output: the data
// key is already uniformly random.
func (k *Sealer) derive(purpose string) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte("hub derived key v1\x00" + purpose))
	m.Write([]byte{1})
	return m.Sum(nil)
}
