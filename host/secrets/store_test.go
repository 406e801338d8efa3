package secrets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// noEnv is a getenv with nothing set.
func noEnv(string) string { return "" }

// envKey is a getenv with HUB_MASTER_KEY set to key.
func envKey(key []byte) func(string) string {
	return func(name string) string {
		if name == EnvMasterKey {
			return EncodeKey(key)
		}
		return ""
	}
}

func mustOpen(t *testing.T, dir string, getenv func(string) string) *Store {
	t.Helper()
	s, err := Open(dir, getenv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustSet(t *testing.T, s *Store, name, value string) {
	t.Helper()
	if err := s.Set(name, value); err != nil {
		t.Fatal(err)
	}
}

func mustGet(t *testing.T, s *Store, name, want string) {
	t.Helper()
	got, ok, err := s.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	if !ok || got != want {
		t.Fatalf("Get(%q) = %q, %v; want %q", name, got, ok, want)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStore_RoundTripSurvivesReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := mustOpen(t, dir, noEnv)
	mustSet(t, s, "stripe_key", "sk_live_abc")
	mustSet(t, s, "oauth/github/token", "gho_123")
	mustSet(t, s, "stripe_key", "sk_live_def")
	mustGet(t, s, "stripe_key", "sk_live_def")

	s2 := mustOpen(t, dir, noEnv)
	mustGet(t, s2, "stripe_key", "sk_live_def")
	mustGet(t, s2, "oauth/github/token", "gho_123")
	infos, err := s2.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[0].Name != "oauth/github/token" || infos[1].Name != "stripe_key" {
		t.Fatalf("List = %+v", infos)
	}
	for _, in := range infos {
		if in.KeyID != s.KeyID() || in.UpdatedAt.IsZero() {
			t.Fatalf("info %+v: want key %s and a time", in, s.KeyID())
		}
	}
	if ok, err := s2.Delete("stripe_key"); err != nil || !ok {
		t.Fatalf("Delete = %v, %v", ok, err)
	}
	if ok, err := s2.Delete("stripe_key"); err != nil || ok {
		t.Fatalf("second Delete = %v, %v; want false", ok, err)
	}
	if _, ok, err := s.Get("stripe_key"); err != nil || ok {
		t.Fatalf("Get after Delete: %v, %v", ok, err)
	}
}

func TestStore_FileHoldsNoPlaintext(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, noEnv)
	value := "correct-horse-battery-staple"
	mustSet(t, s, "pw", value)
	data := readFile(t, s.Path())
	if bytes.Contains(data, []byte(value)) {
		t.Fatalf("the store holds the value in plain text:\n%s", data)
	}
	var f struct {
		Version int `json:"version"`
		Entries map[string]map[string]any
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	e := f.Entries["pw"]
	if f.Version != 1 || e["key_id"] != s.KeyID() || e["nonce"] == "" || e["ciphertext"] == "" || e["updated_at"] == "" {
		t.Fatalf("unexpected file:\n%s", data)
	}
	// Setting the same value again uses a fresh nonce.
	mustSet(t, s, "pw", value)
	if bytes.Equal(data, readFile(t, s.Path())) {
		t.Fatal("rewriting the same value produced the same bytes: the nonce was reused")
	}
}

func TestOpen_WrongEnvKeyNamesBothKeysAndChangesNothing(t *testing.T) {
	dir := t.TempDir()
	good, _ := NewKey()
	bad, _ := NewKey()
	s := mustOpen(t, dir, envKey(good))
	mustSet(t, s, "token", "s3cr3t-value")
	before := readFile(t, s.Path())

	_, err := Open(dir, envKey(bad))
	if !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Open with the wrong key: %v, want ErrWrongKey", err)
	}
	msg := err.Error()
	for _, want := range []string{KeyID(bad), KeyID(good), s.Path(), "HUB_MASTER_KEY"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
	if strings.Contains(msg, "s3cr3t-value") || strings.Contains(msg, EncodeKey(bad)) {
		t.Fatalf("error leaks a secret: %s", msg)
	}
	if !bytes.Equal(before, readFile(t, s.Path())) {
		t.Fatal("the store changed")
	}
	if _, err := os.Stat(filepath.Join(dir, keyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a key file was written while HUB_MASTER_KEY was set: %v", err)
	}
}

func TestOpen_BadEnvKeyIsRefusedWithoutEchoingIt(t *testing.T) {
	for _, text := range []string{"not base64!!", EncodeKey([]byte("short"))} {
		_, err := Open(t.TempDir(), func(string) string { return text })
		if err == nil || !strings.Contains(err.Error(), EnvMasterKey) || strings.Contains(err.Error(), text) {
			t.Fatalf("Open with HUB_MASTER_KEY=%q: %v", text, err)
		}
	}
}

func TestDecodeKey_AcceptsPaddedAndRawBase64(t *testing.T) {
	k, _ := NewKey()
	for _, text := range []string{EncodeKey(k), strings.TrimRight(EncodeKey(k), "="), " " + EncodeKey(k) + "\n"} {
		got, err := DecodeKey(text)
		if err != nil || !bytes.Equal(got, k) {
			t.Fatalf("DecodeKey(%q) = %v", text, err)
		}
	}
}

func TestStore_DamagedFileIsReportedAndNeverOverwritten(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, noEnv)
	mustSet(t, s, "a", "value-a")
	damaged := []byte(`{"version":1,"entries":{"a":{"key_id":`)
	if err := os.WriteFile(s.Path(), damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	err := s.Set("b", "value-b")
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), s.Path()) {
		t.Fatalf("Set on a damaged store: %v, want ErrCorrupt naming the file", err)
	}
	if _, err := s.Delete("a"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Delete on a damaged store: %v", err)
	}
	if err := s.Rotate(mustKey(t)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Rotate on a damaged store: %v", err)
	}
	if _, _, err := s.Get("a"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get on a damaged store: %v", err)
	}
	if _, err := Open(dir, noEnv); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open of a damaged store: %v", err)
	}
	if !bytes.Equal(damaged, readFile(t, s.Path())) {
		t.Fatal("the damaged store was overwritten")
	}
}

func TestStore_SwappedCiphertextsDoNotDecrypt(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, noEnv)
	mustSet(t, s, "one", "value-one")
	mustSet(t, s, "two", "value-two")
	var f fileData
	if err := json.Unmarshal(readFile(t, s.Path()), &f); err != nil {
		t.Fatal(err)
	}
	f.Entries["one"], f.Entries["two"] = f.Entries["two"], f.Entries["one"]
	swapped, _ := json.Marshal(f)
	if err := os.WriteFile(s.Path(), swapped, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.Get("one")
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "does not decrypt") {
		t.Fatalf("Get after swapping ciphertexts: %v", err)
	}
	if strings.Contains(err.Error(), "value-") {
		t.Fatalf("error leaks a value: %v", err)
	}
	if err := s.Set("three", "x"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Set on a store with a bad entry: %v", err)
	}
	if !bytes.Equal(swapped, readFile(t, s.Path())) {
		t.Fatal("the store was overwritten")
	}
}

func mustKey(t *testing.T) []byte {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRotate_NewKeyOpensTheStoreAndTheOldDoesNot(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, noEnv)
	mustSet(t, s, "a", "value-a")
	mustSet(t, s, "b", "value-b")
	oldKey, err := readKeyFile(filepath.Join(dir, keyFile))
	if err != nil {
		t.Fatal(err)
	}
	newKey := mustKey(t)
	if err := s.Rotate(newKey); err != nil {
		t.Fatal(err)
	}
	if s.KeyID() != KeyID(newKey) {
		t.Fatalf("KeyID after Rotate = %s, want %s", s.KeyID(), KeyID(newKey))
	}
	mustGet(t, s, "a", "value-a")
	for _, leftover := range []string{newKeyFile, newStoreFile} {
		if _, err := os.Stat(filepath.Join(dir, leftover)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s left behind: %v", leftover, err)
		}
	}
	if k, _ := readKeyFile(filepath.Join(dir, keyFile)); !bytes.Equal(k, newKey) {
		t.Fatal("master.key does not hold the new key")
	}
	s2 := mustOpen(t, dir, noEnv)
	mustGet(t, s2, "b", "value-b")
	infos, _ := s2.List()
	for _, in := range infos {
		if in.KeyID != KeyID(newKey) {
			t.Fatalf("%s still sealed with %s", in.Name, in.KeyID)
		}
	}
	if _, err := Open(dir, envKey(oldKey)); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Open with the old key: %v, want ErrWrongKey", err)
	}
	if err := s2.Rotate(newKey); err == nil {
		t.Fatal("rotating to the current key succeeded")
	}
}

func TestRotate_WithAnEnvKeyReplacesOnlyTheStore(t *testing.T) {
	dir := t.TempDir()
	oldKey, newKey := mustKey(t), mustKey(t)
	s := mustOpen(t, dir, envKey(oldKey))
	mustSet(t, s, "a", "value-a")
	if err := s.Rotate(newKey); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "master.key") {
			t.Fatalf("Rotate with an env key wrote %s", e.Name())
		}
	}
	mustGet(t, mustOpen(t, dir, envKey(newKey)), "a", "value-a")
	if _, err := Open(dir, envKey(oldKey)); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Open with the old key: %v", err)
	}
}

func TestOpen_FinishesARotationInterruptedBetweenTheRenames(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, noEnv)
	mustSet(t, s, "a", "value-a")
	keyPath, newKeyPath := filepath.Join(dir, keyFile), filepath.Join(dir, newKeyFile)
	oldText := readFile(t, keyPath)
	newKey := mustKey(t)
	if err := s.Rotate(newKey); err != nil {
		t.Fatal(err)
	}
	// The state after step 3: the store sealed with the new key, the new
	// key still in master.key.new, the old one in master.key.
	if err := os.Rename(keyPath, newKeyPath); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, oldText, 0o600); err != nil {
		t.Fatal(err)
	}

	s2 := mustOpen(t, dir, noEnv)
	mustGet(t, s2, "a", "value-a")
	if s2.KeyID() != KeyID(newKey) {
		t.Fatalf("key after recovery %s, want %s", s2.KeyID(), KeyID(newKey))
	}
	if k, _ := readKeyFile(keyPath); !bytes.Equal(k, newKey) {
		t.Fatal("master.key does not hold the new key after recovery")
	}
	if _, err := os.Stat(newKeyPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("master.key.new left behind: %v", err)
	}
}

func TestOpen_UndoesARotationInterruptedBeforeTheStoreWasReplaced(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, noEnv)
	mustSet(t, s, "a", "value-a")
	oldID := s.KeyID()
	// The state after steps 1 and 2: both new files written, neither
	// renamed.
	if err := os.WriteFile(filepath.Join(dir, newStoreFile), []byte(`{"version":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, newKeyFile), keyFileText(mustKey(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := mustOpen(t, dir, noEnv)
	mustGet(t, s2, "a", "value-a")
	if s2.KeyID() != oldID {
		t.Fatalf("key after undo %s, want the old %s", s2.KeyID(), oldID)
	}
	for _, leftover := range []string{newKeyFile, newStoreFile} {
		if _, err := os.Stat(filepath.Join(dir, leftover)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s left behind: %v", leftover, err)
		}
	}
}

func TestStore_ConcurrentSetsFromTwoStoresLoseNothing(t *testing.T) {
	dir := t.TempDir()
	stores := []*Store{mustOpen(t, dir, noEnv), mustOpen(t, dir, noEnv)}
	const workers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, len(stores)*workers*each)
	for si, s := range stores {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					if err := s.Set(fmt.Sprintf("s%d/w%d/%d", si, w, i), "v"); err != nil {
						errs <- err
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	infos, err := mustOpen(t, dir, noEnv).List()
	if err != nil {
		t.Fatal(err)
	}
	if want := len(stores) * workers * each; len(infos) != want {
		t.Fatalf("%d secrets stored, want %d", len(infos), want)
	}
}

func TestStore_SeesChangesMadeByAnotherStore(t *testing.T) {
	dir := t.TempDir()
	writer := mustOpen(t, dir, noEnv)
	reader := mustOpen(t, dir, noEnv)
	if _, ok, err := reader.Get("x"); err != nil || ok {
		t.Fatalf("Get before any Set: %v, %v", ok, err)
	}
	mustSet(t, writer, "x", "value-1")
	mustGet(t, reader, "x", "value-1")
	// Same length: only the file's identity or time tells them apart.
	mustSet(t, writer, "x", "value-2")
	mustGet(t, reader, "x", "value-2")
	if _, err := writer.Delete("x"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := reader.Get("x"); err != nil || ok {
		t.Fatalf("Get after another store deleted it: %v, %v", ok, err)
	}
}

func TestStore_SeesARotationByAnotherStore(t *testing.T) {
	dir := t.TempDir()
	rotator := mustOpen(t, dir, noEnv)
	reader := mustOpen(t, dir, noEnv)
	mustSet(t, rotator, "x", "value-x")
	mustGet(t, reader, "x", "value-x")
	newKey := mustKey(t)
	if err := rotator.Rotate(newKey); err != nil {
		t.Fatal(err)
	}
	mustGet(t, reader, "x", "value-x")
	if reader.KeyID() != KeyID(newKey) {
		t.Fatalf("reader key %s, want %s", reader.KeyID(), KeyID(newKey))
	}
}

func TestOpen_CreatesThePrivateKeyFileAndDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := mustOpen(t, dir, noEnv)
	mustSet(t, s, "a", "v")
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, keyFile): 0o600, s.Path(): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %v, want %v", path, got, want)
		}
	}
	k, err := readKeyFile(filepath.Join(dir, keyFile))
	if err != nil || KeyID(k) != s.KeyID() {
		t.Fatalf("key file: %v, id %s want %s", err, KeyID(k), s.KeyID())
	}
	// A second Open uses the same key rather than making another.
	if id := mustOpen(t, dir, noEnv).KeyID(); id != s.KeyID() {
		t.Fatalf("second Open key %s, want %s", id, s.KeyID())
	}
}

func TestOpen_RefusesToMakeANewKeyForAStoreWithSecrets(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, noEnv)
	mustSet(t, s, "a", "v")
	keyPath := filepath.Join(dir, keyFile)
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, noEnv)
	if !errors.Is(err, ErrKeyMissing) || !strings.Contains(err.Error(), "unreadable") || !strings.Contains(err.Error(), s.KeyID()) {
		t.Fatalf("Open without the key file: %v", err)
	}
	if _, err := os.Stat(keyPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a new key file was made: %v", err)
	}
}

func TestStore_FormattingShowsNeitherKeyNorValues(t *testing.T) {
	key := mustKey(t)
	s := mustOpen(t, t.TempDir(), envKey(key))
	mustSet(t, s, "a", "value-that-must-not-show")
	mustGet(t, s, "a", "value-that-must-not-show")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, s)
		if strings.Contains(out, "value-that") || strings.Contains(out, EncodeKey(key)) || !strings.Contains(out, s.KeyID()) {
			t.Fatalf("%s of the store: %s", verb, out)
		}
	}
}

func TestResolver_SaysHowToSetAMissingSecretAndUsesTheFallback(t *testing.T) {
	s := mustOpen(t, t.TempDir(), noEnv)
	mustSet(t, s, "present", "v1")
	r := s.Resolver(nil)
	if v, err := r("present"); err != nil || v != "v1" {
		t.Fatalf("resolve present: %q, %v", v, err)
	}
	_, err := r("missing")
	if !errors.Is(err, ErrNotSet) || !strings.Contains(err.Error(), `secret "missing" is not set: hub secrets set missing`) {
		t.Fatalf("resolve missing: %v", err)
	}
	fb := s.Resolver(func(name string) (string, error) {
		if name == "from_env" {
			return "v2", nil
		}
		return "", errors.New("not set: export HUB_SECRET_X")
	})
	if v, err := fb("from_env"); err != nil || v != "v2" {
		t.Fatalf("fallback: %q, %v", v, err)
	}
	if v, err := fb("present"); err != nil || v != "v1" {
		t.Fatalf("the store comes first: %q, %v", v, err)
	}
	if _, err := fb("nowhere"); !errors.Is(err, ErrNotSet) || !strings.Contains(err.Error(), "HUB_SECRET_X") {
		t.Fatalf("both missing: %v", err)
	}
	// A name the store cannot hold goes to the fallback.
	if _, err := fb("has space"); !errors.Is(err, ErrNotSet) {
		t.Fatalf("invalid name with a fallback: %v", err)
	}
	if _, err := r("has space"); err == nil || errors.Is(err, ErrNotSet) {
		t.Fatalf("invalid name without a fallback: %v", err)
	}
}

func TestValidateName(t *testing.T) {
	for name, ok := range map[string]bool{
		"stripe_key":                 true,
		"oauth/github/refresh-token": true,
		"a.b-c_D9":                   true,
		strings.Repeat("x", 128):     true,
		"":                           false,
		strings.Repeat("x", 129):     false,
		"has space":                  false,
		"quote\"":                    false,
		"ünïcode":                    false,
	} {
		if err := ValidateName(name); (err == nil) != ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestSet_RefusesAnEmptyValue(t *testing.T) {
	s := mustOpen(t, t.TempDir(), noEnv)
	if err := s.Set("a", ""); err == nil {
		t.Fatal("an empty value was stored")
	}
}

func TestSealedWith_NamesTheKeyOnDisk(t *testing.T) {
	dir := t.TempDir()
	oldKey, newKey := mustKey(t), mustKey(t)
	s := mustOpen(t, dir, envKey(oldKey))
	if id, err := s.SealedWith(); err != nil || id != "" {
		t.Fatalf("SealedWith of an empty store = %q, %v; want \"\"", id, err)
	}
	mustSet(t, s, "a", "value-a")
	if id, err := s.SealedWith(); err != nil || id != KeyID(oldKey) {
		t.Fatalf("SealedWith = %q, %v; want %s", id, err, KeyID(oldKey))
	}
	if err := s.Rotate(newKey); err != nil {
		t.Fatal(err)
	}
	if id, err := s.SealedWith(); err != nil || id != KeyID(newKey) {
		t.Fatalf("SealedWith after Rotate = %q, %v; want %s", id, err, KeyID(newKey))
	}
}

// A store a hub command sealed with the key file it created, opened with
// $HUB_MASTER_KEY set to another key, says which key file holds the right
// key and the two ways out.
func TestOpen_EnvKeyOverAStoreSealedWithTheKeyFileSaysWhatToDo(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, noEnv) // creates master.key
	mustSet(t, s, "token", "s3cr3t-value")
	env, _ := NewKey()

	_, err := Open(dir, envKey(env))
	if !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Open with HUB_MASTER_KEY: %v, want ErrWrongKey", err)
	}
	msg := err.Error()
	for _, want := range []string{filepath.Join(dir, "master.key"), "unset HUB_MASTER_KEY", "set HUB_MASTER_KEY to the content of", KeyID(env), s.KeyID()} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
}
