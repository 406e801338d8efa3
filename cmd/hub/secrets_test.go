package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubhq/hub/host/secrets"
)

// hubSecrets runs hub with stdin and extra environment, without any
// HUB_MASTER_KEY or HUB_DATA_DIR the test process may have.
func hubSecrets(t *testing.T, stdin string, extraEnv []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(hubBin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, secrets.EnvMasterKey+"=") && !strings.HasPrefix(kv, "HUB_DATA_DIR=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdin = strings.NewReader(stdin)
	return runHub(t, cmd)
}

func mustHubSecrets(t *testing.T, stdin string, env []string, args ...string) result {
	t.Helper()
	return succeeded(t, hubSecrets(t, stdin, env, args...), args)
}

// noLeak fails if any value shows in a command's output.
func noLeak(t *testing.T, r result, values ...string) {
	t.Helper()
	for _, v := range values {
		if strings.Contains(r.stdout, v) || strings.Contains(r.stderr, v) {
			t.Fatalf("the value %q was printed:\nstdout: %s\nstderr: %s", v, r.stdout, r.stderr)
		}
	}
}

func openSecrets(t *testing.T, dir string, env map[string]string) *secrets.Store {
	t.Helper()
	st, err := secrets.Open(dir, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func storedValue(t *testing.T, st *secrets.Store, name string) string {
	t.Helper()
	v, ok, err := st.Get(name)
	if err != nil || !ok {
		t.Fatalf("Get(%q): %v, %v", name, ok, err)
	}
	return v
}

func TestCLI_SecretsSetListRmNeverPrintValues(t *testing.T) {
	ws := t.TempDir()
	const value = "sk_live_verysecret"
	var outputs []result
	run := func(stdin string, args ...string) result {
		r := mustHubSecrets(t, stdin, nil, append(args, "-dir", ws)...)
		outputs = append(outputs, r)
		return r
	}
	run(value+"\n", "secrets", "set", "stripe_key")
	run("tok-"+value, "secrets", "set", "oauth/github/token")
	dataDir := filepath.Join(ws, ".hub", "data")
	st := openSecrets(t, dataDir, nil)
	if got := storedValue(t, st, "stripe_key"); got != value {
		t.Fatalf("stored %q, want %q (one trailing newline dropped)", got, value)
	}

	list := run("", "secrets", "list")
	for _, want := range []string{"NAME", "UPDATED", "KEY", "stripe_key", "oauth/github/token", st.KeyID()} {
		if !strings.Contains(list.stdout, want) {
			t.Fatalf("list does not show %q:\n%s", want, list.stdout)
		}
	}
	var infos []secrets.Info
	if err := json.Unmarshal([]byte(run("", "secrets", "list", "-json").stdout), &infos); err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[1].Name != "stripe_key" || infos[1].KeyID != st.KeyID() || infos[1].UpdatedAt.IsZero() {
		t.Fatalf("list -json: %+v", infos)
	}

	run("", "secrets", "rm", "stripe_key")
	if _, ok, err := st.Get("stripe_key"); err != nil || ok {
		t.Fatalf("after rm: %v, %v", ok, err)
	}
	r := hubSecrets(t, "", nil, "secrets", "rm", "stripe_key", "-dir", ws)
	if r.code != 1 || !strings.Contains(r.stderr, "not set") {
		t.Fatalf("rm of a missing secret: exit %d, %s", r.code, r.stderr)
	}
	oneLine(t, r)
	for _, o := range outputs {
		noLeak(t, o, value)
	}
}

func TestCLI_SecretsSetWarnsAboutTheHostsNames(t *testing.T) {
	r := mustHubSecrets(t, "v", nil, "secrets", "set", "oauth/x/token", "-data-dir", t.TempDir())
	if !strings.Contains(r.stderr, "host's own") {
		t.Fatalf("no warning for an oauth/ name: %s", r.stderr)
	}
}

func TestCLI_SecretsSetFromAValueFileDropsOneNewline(t *testing.T) {
	dataDir := t.TempDir()
	file := filepath.Join(t.TempDir(), "value")
	if err := os.WriteFile(file, []byte("line1\nline2\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := mustHubSecrets(t, "", nil, "secrets", "set", "multi", "-value-file", file, "-data-dir", dataDir)
	noLeak(t, r, "line1")
	if got := storedValue(t, openSecrets(t, dataDir, nil), "multi"); got != "line1\nline2\n" {
		t.Fatalf("stored %q", got)
	}
}

func TestCLI_SecretsSetRefusesAValueOnTheCommandLine(t *testing.T) {
	dataDir := t.TempDir()
	r := hubSecrets(t, "", nil, "secrets", "set", "name", "hunter2-on-argv", "-data-dir", dataDir)
	if r.code != 2 || !strings.Contains(r.stderr, "stdin") {
		t.Fatalf("exit %d, %s", r.code, r.stderr)
	}
	noLeak(t, r, "hunter2-on-argv")
	r = hubSecrets(t, "", nil, "secrets", "set", "name", "-data-dir", dataDir)
	if r.code != 2 || !strings.Contains(r.stderr, "empty") {
		t.Fatalf("an empty value: exit %d, %s", r.code, r.stderr)
	}
	r = hubSecrets(t, "v", nil, "secrets", "set", "bad name", "-data-dir", dataDir)
	if r.code != 2 {
		t.Fatalf("a bad name: exit %d, %s", r.code, r.stderr)
	}
}

func TestCLI_SecretsDataDirFromTheEnvironment(t *testing.T) {
	dataDir := t.TempDir()
	mustHubSecrets(t, "v", []string{"HUB_DATA_DIR=" + dataDir}, "secrets", "set", "a", "-dir", t.TempDir())
	if got := storedValue(t, openSecrets(t, dataDir, nil), "a"); got != "v" {
		t.Fatalf("stored %q", got)
	}
}

func TestCLI_SecretsRotateKeyKeepsEveryValue(t *testing.T) {
	dataDir := t.TempDir()
	const value = "rotate-me-please"
	mustHubSecrets(t, value, nil, "secrets", "set", "a", "-data-dir", dataDir)
	oldID := openSecrets(t, dataDir, nil).KeyID()
	r := mustHubSecrets(t, "", nil, "secrets", "rotate-key", "-data-dir", dataDir)
	noLeak(t, r, value)
	st := openSecrets(t, dataDir, nil)
	if st.KeyID() == oldID || !strings.Contains(r.stdout, oldID+" -> "+st.KeyID()) {
		t.Fatalf("rotate-key printed %q; key now %s, was %s", r.stdout, st.KeyID(), oldID)
	}
	key, err := os.ReadFile(filepath.Join(dataDir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.stdout, strings.TrimSpace(string(key))) {
		t.Fatal("rotate-key printed the key without -print-new-key")
	}
	if got := storedValue(t, st, "a"); got != value {
		t.Fatalf("after rotation %q", got)
	}
}

func TestCLI_SecretsRotateKeyWithAnEnvKey(t *testing.T) {
	dataDir := t.TempDir()
	key, _ := secrets.NewKey()
	env := []string{secrets.EnvMasterKey + "=" + secrets.EncodeKey(key)}
	const value = "env-keyed-value"
	mustHubSecrets(t, value, env, "secrets", "set", "a", "-data-dir", dataDir)
	before, err := os.ReadFile(filepath.Join(dataDir, "secrets.json"))
	if err != nil {
		t.Fatal(err)
	}

	r := hubSecrets(t, "", env, "secrets", "rotate-key", "-data-dir", dataDir)
	if r.code != 1 || !strings.Contains(r.stderr, secrets.EnvMasterKey) || !strings.Contains(r.stderr, "-print-new-key") {
		t.Fatalf("rotate-key with HUB_MASTER_KEY: exit %d, %s", r.code, r.stderr)
	}
	oneLine(t, r)
	after, _ := os.ReadFile(filepath.Join(dataDir, "secrets.json"))
	if !bytes.Equal(before, after) {
		t.Fatal("the refused rotation changed the store")
	}

	r = mustHubSecrets(t, "", env, "secrets", "rotate-key", "-print-new-key", "-data-dir", dataDir)
	noLeak(t, r, value)
	if !strings.Contains(r.stderr, "warning") {
		t.Fatalf("no warning with -print-new-key: %s", r.stderr)
	}
	newKey, err := secrets.DecodeKey(strings.SplitN(r.stdout, "\n", 2)[0])
	if err != nil {
		t.Fatalf("the first line is not the new key: %v\n%s", err, r.stdout)
	}
	st := openSecrets(t, dataDir, map[string]string{secrets.EnvMasterKey: secrets.EncodeKey(newKey)})
	if got := storedValue(t, st, "a"); got != value {
		t.Fatalf("with the new key %q", got)
	}
	r = hubSecrets(t, "", env, "secrets", "list", "-data-dir", dataDir)
	if r.code != 1 || !strings.Contains(r.stderr, secrets.KeyID(key)) || !strings.Contains(r.stderr, secrets.KeyID(newKey)) {
		t.Fatalf("the old key after rotation: exit %d, %s", r.code, r.stderr)
	}
	oneLine(t, r)
}
