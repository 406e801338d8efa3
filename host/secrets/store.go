package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/hubhq/hub/host/atomicfile"
)

// HostPrefix starts the names the host keeps for itself (OAuth tokens, as
// oauth/<connection>/...). People may read them with List; changing one by
// hand can break the connection it belongs to.
const HostPrefix = "oauth/"

// MaxNameLen and MaxValueSize bound a secret.
const (
	MaxNameLen   = 128
	MaxValueSize = 1 << 20
)

// formatVersion is the version of secrets.json this package writes.
const formatVersion = 1

// Errors a caller may tell apart with errors.Is. The errors returned carry
// more detail (the file, the names, the key IDs) and never a value.
var (
	// ErrNotSet: no secret has that name.
	ErrNotSet = errors.New("secret not set")
	// ErrWrongKey: the master key is not the one the store was sealed with.
	ErrWrongKey = errors.New("wrong master key")
	// ErrCorrupt: the store's file cannot be parsed, or an entry does not
	// decrypt although its key ID matches.
	ErrCorrupt = errors.New("secret store damaged")
	// ErrKeyMissing: the store holds secrets but there is no master key.
	ErrKeyMissing = errors.New("master key missing")
)

// storeError is an error of a kind above with its own message.
type storeError struct {
	kind error
	msg  string
}

func (e *storeError) Error() string { return e.msg }
func (e *storeError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &storeError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Info describes a stored secret, never its value.
type Info struct {
	Name      string    `json:"name"`
	UpdatedAt time.Time `json:"updated_at"`
	// KeyID is the ID of the master key that sealed the value.
	KeyID string `json:"key_id"`
}

// fileData is secrets.json.
type fileData struct {
	Version int              `json:"version"`
	Entries map[string]entry `json:"entries"`
}

// entry is one sealed secret. encoding/json writes []byte as standard
// base64.
type entry struct {
	KeyID      string    `json:"key_id"`
	Nonce      []byte    `json:"nonce"`
	Ciphertext []byte    `json:"ciphertext"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// stamp identifies one version of the store's file without reading it:
// every write replaces the file, so a new version has a new identity, and
// almost always a new modification time.
type stamp struct {
	fi os.FileInfo // nil: no file
}

func (a stamp) same(b stamp) bool {
	if a.fi == nil || b.fi == nil {
		return a.fi == nil && b.fi == nil
	}
	return os.SameFile(a.fi, b.fi) && a.fi.Size() == b.fi.Size() && a.fi.ModTime().Equal(b.fi.ModTime())
}

// Store is the secret store of one data directory. It holds no open file
// between calls; it is safe for concurrent use, and several Stores, in
// one process or several, may share a directory.
type Store struct {
	dir  string
	path string

	mu sync.Mutex
	// key is the master key; keySource says where it came from, for
	// errors (HUB_MASTER_KEY or the key file's path).
	key       []byte
	keyID     string
	keySource string
	fromEnv   bool
	// loaded is true once the cache below holds the file of stamp.
	loaded bool
	stamp  stamp
	file   *fileData
	values map[string]string
}

// Open opens the secret store in dir, creating dir (0700) if need be. The
// master key is $HUB_MASTER_KEY, as getenv reads it, when set; else the
// key file dir/master.key, created when neither it nor any secret exists
// yet. Open first finishes or undoes a key rotation a crash interrupted
// (see Rotate), then reads the store, so a wrong key or a damaged file is
// reported here rather than at the first Get.
func Open(dir string, getenv func(string) string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("open secret store: no data directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open secret store: %w", err)
	}
	s := &Store{dir: dir, path: filepath.Join(dir, storeFile)}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.withLock(func() error {
		if err := s.recoverRotation(); err != nil {
			return err
		}
		if err := s.loadKey(getenv); err != nil {
			return err
		}
		return s.refresh()
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Path is the store's file.
func (s *Store) Path() string { return s.path }

// KeyID is the ID of the master key in use.
func (s *Store) KeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keyID
}

// KeyFromEnv reports whether the master key came from $HUB_MASTER_KEY,
// in which case Rotate cannot hand the new key to anyone but its caller.
func (s *Store) KeyFromEnv() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fromEnv
}

// String names the store and its key ID; never the key or a value.
func (s *Store) String() string {
	return fmt.Sprintf("secrets.Store(%s, key %s)", s.path, s.KeyID())
}

// GoString is String, so %#v does not print the key.
func (s *Store) GoString() string { return s.String() }

// ValidateName checks a secret's name: 1 to 128 of A-Z a-z 0-9 _ . - /.
func ValidateName(name string) error {
	if name == "" {
		return errors.New("a secret's name must not be empty")
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("secret name %.20q... is %d characters, at most %d", name, len(name), MaxNameLen)
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-', r == '/':
		default:
			return fmt.Errorf("secret name %q has %q: use only letters, digits, _ . - and /", name, r)
		}
	}
	return nil
}

// validatePublic checks a name given to Get, Set or Delete: a valid name
// that is not the host's data key, which only Sealer reads.
func validatePublic(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if name == DataKeyName {
		return fmt.Errorf("secret name %q is reserved for hub's data key", name)
	}
	return nil
}

// Get returns the named secret's value and whether it is set. It re-reads
// the file first when another process changed it.
func (s *Store) Get(name string) (string, bool, error) {
	if err := validatePublic(name); err != nil {
		return "", false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(); err != nil {
		return "", false, err
	}
	v, ok := s.values[name]
	return v, ok, nil
}

// Resolver returns the function that resolves secret("name") from this
// store. A name the store does not hold is passed to fallback when it is
// not nil (hub serve falls back to $HUB_SECRET_<NAME>), and so is a name
// the store cannot hold; when that fails too, or there is no fallback, the
// error wraps ErrNotSet and says how to set it (without a fallback, an
// invalid name is reported as such). Errors reading the store are
// returned as they are: a damaged store is not papered over by the
// fallback. The result fits config.SecretFunc.
func (s *Store) Resolver(fallback func(name string) (string, error)) func(name string) (string, error) {
	return func(name string) (string, error) {
		// A name the store cannot hold may still be the fallback's.
		if err := ValidateName(name); err != nil && fallback == nil {
			return "", err
		} else if err == nil {
			v, ok, err := s.Get(name)
			if err != nil {
				return "", err
			}
			if ok {
				return v, nil
			}
		}
		if fallback == nil {
			return "", errorf(ErrNotSet, "secret %q is not set: hub secrets set %s", name, name)
		}
		v, ferr := fallback(name)
		if ferr != nil {
			return "", errorf(ErrNotSet, "secret %q is not set: hub secrets set %s (%v)", name, name, ferr)
		}
		return v, nil
	}
}

// List describes every secret, by name; the data key (DataKeyName) is
// not one.
func (s *Store) List() ([]Info, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(); err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(s.file.Entries))
	for name, e := range s.file.Entries {
		if name == DataKeyName {
			continue
		}
		out = append(out, Info{Name: name, UpdatedAt: e.UpdatedAt, KeyID: e.KeyID})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Set seals value under name, replacing any value it had.
func (s *Store) Set(name, value string) error {
	if err := validatePublic(name); err != nil {
		return err
	}
	if value == "" {
		return fmt.Errorf("secret %q: the value is empty (to remove a secret, delete it)", name)
	}
	if len(value) > MaxValueSize {
		return fmt.Errorf("secret %q: the value is %d bytes, at most %d", name, len(value), MaxValueSize)
	}
	return s.update(func(f *fileData) (bool, error) {
		nonce, ct, err := seal(s.key, name, value)
		if err != nil {
			return false, err
		}
		f.Entries[name] = entry{KeyID: s.keyID, Nonce: nonce, Ciphertext: ct, UpdatedAt: time.Now().UTC()}
		return true, nil
	})
}

// Delete removes the named secret and reports whether it was set.
func (s *Store) Delete(name string) (bool, error) {
	if err := validatePublic(name); err != nil {
		return false, err
	}
	var existed bool
	err := s.update(func(f *fileData) (bool, error) {
		_, existed = f.Entries[name]
		delete(f.Entries, name)
		return existed, nil
	})
	return existed, err
}

// update runs one read-modify-write under the directory's lock. The file
// is read afresh (the cache may be stale) and must read cleanly with the
// current key before anything is written: a store that cannot be read is
// never overwritten, since that would destroy the secrets in it.
func (s *Store) update(change func(f *fileData) (bool, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.withLock(func() error {
		f, _, _, err := s.read()
		if err != nil {
			return err
		}
		changed, err := change(f)
		if err != nil || !changed {
			return err
		}
		if err := s.write(s.path, f); err != nil {
			return err
		}
		// The next read takes the new file into the cache.
		s.loaded = false
		return nil
	})
}

// write replaces path with f, atomically.
func (s *Store) write(path string, f *fileData) error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode secret store: %w", err)
	}
	if err := atomicfile.WriteBytes(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write secret store: %w", err)
	}
	return nil
}

// Rotate re-seals every secret under newKey and makes it the master key.
//
// With a key file the change is made in an order that a crash at any
// point leaves recoverable, and Open finishes or undoes it:
//
//  1. write the re-sealed store to secrets.json.new;
//  2. write the new key to master.key.new;
//  3. rename secrets.json.new over secrets.json;
//  4. rename master.key.new over master.key.
//
// A crash before 3 leaves the old store and old key in place: Open finds
// that master.key.new does not open secrets.json and removes it and
// secrets.json.new. A crash between 3 and 4 leaves the new store and the
// old key file: Open finds that master.key.new opens secrets.json and
// finishes step 4. (A store with no secrets opens with either key; Open
// then finishes step 4, which loses nothing.) Other Stores reading the
// directory meanwhile pick up the new key from master.key or
// master.key.new when they see the store sealed with it.
//
// When the key came from $HUB_MASTER_KEY, Rotate only replaces the store
// (one atomic step) and writes no key file: the caller must see that
// HUB_MASTER_KEY is set to newKey wherever hub runs, or the secrets are
// lost.
func (s *Store) Rotate(newKey []byte) error {
	if len(newKey) != KeySize {
		return fmt.Errorf("rotate master key: the new key is %d bytes, want %d", len(newKey), KeySize)
	}
	newKey = slices.Clone(newKey)
	newID := KeyID(newKey)
	s.mu.Lock()
	defer s.mu.Unlock()
	if newID == s.keyID {
		return fmt.Errorf("rotate master key: the new key is the current key %s", s.keyID)
	}
	return s.withLock(func() error {
		f, values, _, err := s.read()
		if err != nil {
			return err
		}
		resealed := &fileData{Version: formatVersion, Entries: make(map[string]entry, len(f.Entries))}
		for name, e := range f.Entries {
			nonce, ct, err := seal(newKey, name, values[name])
			if err != nil {
				return err
			}
			resealed.Entries[name] = entry{KeyID: newID, Nonce: nonce, Ciphertext: ct, UpdatedAt: e.UpdatedAt}
		}
		if s.fromEnv {
			if err := s.write(s.path, resealed); err != nil {
				return err
			}
			s.setKey(newKey, EnvMasterKey+" (rotated; set it to the new key)", true)
			return nil
		}
		newStore := filepath.Join(s.dir, newStoreFile)
		newKeyPath := filepath.Join(s.dir, newKeyFile)
		keyPath := filepath.Join(s.dir, keyFile)
		if err := s.write(newStore, resealed); err != nil {
			return err
		}
		if err := atomicfile.WriteBytes(newKeyPath, keyFileText(newKey), 0o600); err != nil {
			os.Remove(newStore)
			return fmt.Errorf("write new master key: %w", err)
		}
		if err := os.Rename(newStore, s.path); err != nil {
			os.Remove(newStore)
			os.Remove(newKeyPath)
			return fmt.Errorf("rotate master key: replace %s: %w", s.path, err)
		}
		// From here the store opens only with the new key, and
		// master.key.new holds it: a failure below is finished by the
		// next Open, so the new key is the one in use either way.
		s.setKey(newKey, keyPath, false)
		if err := atomicfile.SyncDir(s.dir); err != nil {
			return fmt.Errorf("rotate master key: %w (the next hub command finishes the rotation)", err)
		}
		if err := os.Rename(newKeyPath, keyPath); err != nil {
			return fmt.Errorf("rotate master key: replace %s: %w (the new key is in %s; the next hub command finishes the rotation)", keyPath, err, newKeyPath)
		}
		if err := atomicfile.SyncDir(s.dir); err != nil {
			return fmt.Errorf("rotate master key: %w", err)
		}
		return nil
	})
}

// SealedWith returns the ID of the key the store's file is sealed with as
// it is on disk now, "" when it holds no secret (any key opens it). After
// a Rotate that failed it tells whether the new key is the one in use: a
// failure after the re-sealed file replaced the old one (syncing the
// directory, say) leaves the new key in use.
func (s *Store) SealedWith() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.parse()
	if err != nil {
		return "", err
	}
	return storeKeyID(f), nil
}

func (s *Store) setKey(key []byte, source string, fromEnv bool) {
	s.key, s.keyID, s.keySource, s.fromEnv = key, KeyID(key), source, fromEnv
	s.loaded = false
}

// withLock runs fn holding the directory's lock file exclusively.
func (s *Store) withLock(fn func() error) error {
	f, err := os.OpenFile(filepath.Join(s.dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("secret store lock: %w", err)
	}
	defer f.Close()
	if err := lockFileExclusive(f); err != nil {
		return fmt.Errorf("secret store: %w", err)
	}
	defer unlockFile(f)
	return fn()
}

// loadKey sets the master key from the environment or the key file,
// creating the key file when there is neither a key nor a secret. It runs
// under the directory's lock, so two first uses do not make two keys.
func (s *Store) loadKey(getenv func(string) string) error {
	if text := getenv(EnvMasterKey); text != "" {
		k, err := DecodeKey(text)
		if err != nil {
			return fmt.Errorf("%s: %v: want the base64 of %d random bytes", EnvMasterKey, err, KeySize)
		}
		s.setKey(k, EnvMasterKey, true)
		return nil
	}
	keyPath := filepath.Join(s.dir, keyFile)
	k, err := readKeyFile(keyPath)
	if err != nil {
		return err
	}
	if k != nil {
		s.setKey(k, keyPath, false)
		return nil
	}
	f, _, err := s.parse()
	if err != nil {
		return err
	}
	if n := len(f.Entries); n > 0 {
		return errorf(ErrKeyMissing, "the master key file %s is missing but %s holds %d secret(s) sealed with key %s: restore master.key from a backup or set %s; hub will not create a new key, which would make every secret unreadable",
			keyPath, s.path, n, storeKeyID(f), EnvMasterKey)
	}
	if k, err = NewKey(); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(keyPath, keyFileText(k), 0o600); err != nil {
		return fmt.Errorf("create master key: %w", err)
	}
	s.setKey(k, keyPath, false)
	return nil
}

// storeKeyID is the key ID of f's first entry, by name.
func storeKeyID(f *fileData) string {
	names := make([]string, 0, len(f.Entries))
	for n := range f.Entries {
		names = append(names, n)
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	return f.Entries[names[0]].KeyID
}

// recoverRotation finishes or undoes a Rotate a crash interrupted (see
// Rotate). It runs under the directory's lock, so no Rotate is under way.
func (s *Store) recoverRotation() error {
	newKeyPath := filepath.Join(s.dir, newKeyFile)
	newStore := filepath.Join(s.dir, newStoreFile)
	nk, err := readKeyFile(newKeyPath)
	if err != nil {
		return fmt.Errorf("finish an interrupted key rotation: %w", err)
	}
	if nk == nil {
		// A re-sealed store without its key is of no use.
		if err := os.Remove(newStore); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove a stale %s: %w", newStore, err)
		}
		return nil
	}
	f, _, err := s.parse()
	if err != nil {
		// Leave everything for a person to look at; the read that follows
		// reports the damage.
		return nil
	}
	if opens(nk, f) {
		keyPath := filepath.Join(s.dir, keyFile)
		if err := os.Rename(newKeyPath, keyPath); err != nil {
			return fmt.Errorf("finish an interrupted key rotation: %w", err)
		}
		if err := atomicfile.SyncDir(s.dir); err != nil {
			return fmt.Errorf("finish an interrupted key rotation: %w", err)
		}
		os.Remove(newStore)
		return nil
	}
	// The crash came before the store was replaced: the old key still
	// opens it, and the new one is dropped.
	for _, p := range []string{newKeyPath, newStore} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("undo an interrupted key rotation: %w", err)
		}
	}
	return atomicfile.SyncDir(s.dir)
}

// opens reports whether key opens every entry of f.
func opens(key []byte, f *fileData) bool {
	id := KeyID(key)
	for name, e := range f.Entries {
		if e.KeyID != id {
			return false
		}
		if _, err := unseal(key, name, e); err != nil {
			return false
		}
	}
	return true
}

// refresh brings the cache up to date with the file, re-reading it only
// when its stamp changed.
func (s *Store) refresh() error {
	var st stamp
	fi, err := os.Stat(s.path)
	switch {
	case err == nil:
		st.fi = fi
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("secret store: %w", err)
	}
	if s.loaded && s.stamp.same(st) {
		return nil
	}
	f, values, st, err := s.read()
	if err != nil {
		return err
	}
	s.file, s.values, s.stamp, s.loaded = f, values, st, true
	return nil
}

// read reads the file and opens every entry with the master key. When the
// store is sealed with a key other than the one in use and that came from
// the key file, another process has rotated it: the key file (or the one
// a rotation is writing) is read again.
func (s *Store) read() (*fileData, map[string]string, stamp, error) {
	f, st, err := s.parse()
	if err != nil {
		return nil, nil, stamp{}, err
	}
	if id := storeKeyID(f); id != "" && id != s.keyID && !s.fromEnv {
		for _, name := range []string{keyFile, newKeyFile} {
			p := filepath.Join(s.dir, name)
			if k, err := readKeyFile(p); err == nil && k != nil && KeyID(k) == id {
				s.setKey(k, filepath.Join(s.dir, keyFile), false)
				break
			}
		}
	}
	values := make(map[string]string, len(f.Entries))
	names := make([]string, 0, len(f.Entries))
	for n := range f.Entries {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		e := f.Entries[name]
		if err := ValidateName(name); err != nil {
			return nil, nil, stamp{}, errorf(ErrCorrupt, "secret store %s: %v: restore the file from a backup", s.path, err)
		}
		if e.KeyID != s.keyID {
			return nil, nil, stamp{}, s.wrongKey(e.KeyID)
		}
		v, err := unseal(s.key, name, e)
		if err != nil {
			return nil, nil, stamp{}, errorf(ErrCorrupt, "secret store %s: secret %q does not decrypt with key %s: the file was altered or damaged; restore it from a backup", s.path, name, s.keyID)
		}
		values[name] = v
	}
	return f, values, st, nil
}

// wrongKey is the error for a store sealed with key storeID, not the key
// in use, saying what to do. The common case is named: $HUB_MASTER_KEY
// set, and the key file beside the store holding the store's key (a hub
// command run without $HUB_MASTER_KEY created it).
func (s *Store) wrongKey(storeID string) error {
	if s.fromEnv {
		p := filepath.Join(s.dir, keyFile)
		if k, err := readKeyFile(p); err == nil && k != nil && KeyID(k) == storeID {
			return errorf(ErrWrongKey, "secret store %s is sealed with master key %s, the one in %s, but %s holds key %s: either unset %s, so hub uses %s, or set %s to the content of %s (then keep that file elsewhere); to change the key afterwards run hub secrets rotate-key",
				s.path, storeID, p, EnvMasterKey, s.keyID, EnvMasterKey, p, EnvMasterKey, p)
		}
	}
	return errorf(ErrWrongKey, "secret store %s: the master key %s does not match the store's key %s: set %s to the key the store was sealed with, or restore %s (the key in use came from %s)",
		s.path, s.keyID, storeID, EnvMasterKey, keyFile, s.keySource)
}

// parse reads and decodes the file without opening any entry; a missing
// file is an empty store.
func (s *Store) parse() (*fileData, stamp, error) {
	empty := &fileData{Version: formatVersion, Entries: map[string]entry{}}
	fh, err := os.Open(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return empty, stamp{}, nil
	}
	if err != nil {
		return nil, stamp{}, fmt.Errorf("secret store: %w", err)
	}
	defer fh.Close()
	// The stamp comes from the open file, so it names exactly the
	// content read even if the file is replaced meanwhile.
	fi, err := fh.Stat()
	if err != nil {
		return nil, stamp{}, fmt.Errorf("secret store: %w", err)
	}
	data, err := io.ReadAll(fh)
	if err != nil {
		return nil, stamp{}, fmt.Errorf("secret store: read %s: %w", s.path, err)
	}
	var f fileData
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, stamp{}, errorf(ErrCorrupt, "secret store %s is damaged (%v): restore it from a backup; hub will not overwrite it", s.path, err)
	}
	if f.Version != formatVersion {
		return nil, stamp{}, errorf(ErrCorrupt, "secret store %s has version %d, this hub reads version %d", s.path, f.Version, formatVersion)
	}
	if f.Entries == nil {
		f.Entries = map[string]entry{}
	}
	return &f, stamp{fi: fi}, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret store cipher: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret store cipher: %w", err)
	}
	return gcm, nil
}

// seal encrypts value with a fresh nonce. The name is the additional
// data, so a ciphertext moved to another name does not open.
func seal(key []byte, name, value string) (nonce, ciphertext []byte, err error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, nil, err
	}
	nonce = make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, fmt.Errorf("secret store nonce: %w", err)
	}
	return nonce, gcm.Seal(nil, nonce, []byte(value), []byte(name)), nil
}

func unseal(key []byte, name string, e entry) (string, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return "", err
	}
	if len(e.Nonce) != gcm.NonceSize() {
		return "", errors.New("bad nonce")
	}
	plain, err := gcm.Open(nil, e.Nonce, e.Ciphertext, []byte(name))
	if err != nil {
		return "", err
	}
	return string(plain), nil
}
