package secrets

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KeySize is the master key's length: AES-256.
const KeySize = 32

// EnvMasterKey is the environment variable that, when set, holds the
// master key in base64 and takes precedence over the key file.
const EnvMasterKey = "HUB_MASTER_KEY"

// File names inside the data directory.
const (
	storeFile  = "secrets.json"
	lockFile   = "secrets.lock"
	keyFile    = "master.key"
	newKeyFile = "master.key.new"
	// newStoreFile is the re-encrypted store while Rotate runs.
	newStoreFile = "secrets.json.new"
)

// NewKey returns a fresh master key from crypto/rand.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	return k, nil
}

// KeyID names a key without revealing it: the first 8 hex digits of its
// SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// EncodeKey is the text form of a key, as HUB_MASTER_KEY and master.key
// hold it: standard base64.
func EncodeKey(key []byte) string {
	return base64.StdEncoding.EncodeToString(key)
}

// DecodeKey parses a key in standard base64, padded or not. Its errors
// never include the text, which may be a real key with a typo.
func DecodeKey(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	k, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		k, err = base64.RawStdEncoding.DecodeString(text)
	}
	if err != nil {
		return nil, errors.New("not base64")
	}
	if len(k) != KeySize {
		return nil, fmt.Errorf("%d bytes, want %d", len(k), KeySize)
	}
	return k, nil
}

// readKeyFile reads a key file; a missing file is (nil, nil).
func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	k, err := DecodeKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %v", path, err)
	}
	return k, nil
}

// keyFileText is what a key file holds.
func keyFileText(key []byte) []byte {
	return []byte(EncodeKey(key) + "\n")
}
