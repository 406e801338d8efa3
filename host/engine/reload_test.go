package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/store"
	"github.com/hubhq/hub/sdk/wire"
)

// fakeSecrets is a secret store the test changes while the engine runs.
type fakeSecrets struct {
	mu sync.Mutex
	m  map[string]string
}

func newFakeSecrets(kv ...string) *fakeSecrets {
	s := &fakeSecrets{m: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		s.m[kv[i]] = kv[i+1]
	}
	return s
}

func (s *fakeSecrets) set(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[name] = value
}

func (s *fakeSecrets) remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, name)
}

// get resolves secret(), with the store's message for a missing name.
func (s *fakeSecrets) get(name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[name]; ok {
		return v, nil
	}
	return "", fmt.Errorf("secret %q is not set: hub secrets set %s", name, name)
}

// logBuffer collects an engine's log for the test to read.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func withLog(buf *logBuffer) func(*Options) {
	return func(o *Options) {
		o.Logger = hclog.New(&hclog.LoggerOptions{Output: buf, Level: hclog.Debug})
	}
}

// apiKeyWorkspace has one api_key connection whose key is a secret, and
// a webhook workflow calling it; the step's input reads the same secret.
const apiKeyWorkspace = `
connection "api" {
  connector = "fake"
  auth "api_key" {
    key = secret("api_key")
  }
}
connection "plain" {
  connector = "fake"
}
workflow "w" {
  trigger "plain" "t" {
    mode = "webhook"
  }
  action "a" {
    connection = "api"
    action     = "a"
    input      = { id = event.id, signature = secret("api_key") }
  }
}
workflow "k" {
  trigger "plain" "t" {
    mode = "webhook"
  }
  action "a" {
    connection = "api"
    action     = "a"
    input      = { id = event.id }
  }
}
`

// keyOf is the API key call n (from 1) carried.
func keyOf(t *testing.T, fc *fakeConnector, n int) string {
	t.Helper()
	calls := fc.actionCalls()
	if len(calls) < n {
		t.Fatalf("%d calls, want at least %d", len(calls), n)
	}
	return calls[n-1].Conn.Auth.APIKey
}

// After the secret store changes, ReloadCredentials makes the next call
// carry the new key: no new Compile, no restart.
func TestReloadCredentials_NextCallCarriesTheRotatedKey(t *testing.T) {
	sec := newFakeSecrets("api_key", "key-one")
	fc := &fakeConnector{}
	h := open(t, t.TempDir(), compileWith(t, apiKeyWorkspace, sec.get), fc, nil)

	h.deliver("w", "e1", `{"id":"e1"}`)
	h.waitStatus(runID(1), runs.Succeeded)
	if got := keyOf(t, fc, 1); got != "key-one" {
		t.Fatalf("first call carried key %q, want key-one", got)
	}

	sec.set("api_key", "key-two")
	res := h.e.ReloadCredentials(context.Background())
	if !reflect.DeepEqual(res.Changed, []string{"api"}) || len(res.Failed) != 0 || len(res.OAuth) != 0 {
		t.Fatalf("reload = changed %v, oauth %v, failed %v; want only api changed", res.Changed, res.OAuth, res.Failed)
	}
	h.deliver("w", "e2", `{"id":"e2"}`)
	h.waitStatus(runID(2), runs.Succeeded)
	if got := keyOf(t, fc, 2); got != "key-two" {
		t.Fatalf("call after the reload carried key %q, want key-two", got)
	}

	// Nothing changed since: a second reload swaps nothing.
	if res := h.e.ReloadCredentials(context.Background()); len(res.Changed) != 0 {
		t.Fatalf("a reload without a change reported %v changed", res.Changed)
	}
}

// A secret that can no longer be read (deleted) does not blank the
// credentials: calls go on with the old key, the error names the secret
// in the log and in the connection's status, never a value, and a later
// reload that reads it again clears the error.
func TestReloadCredentials_DeletedSecretKeepsTheOldKeyAndIsReported(t *testing.T) {
	sec := newFakeSecrets("api_key", "key-one")
	fc := &fakeConnector{}
	var logs logBuffer
	h := open(t, t.TempDir(), compileWith(t, apiKeyWorkspace, sec.get), fc, withLog(&logs))

	sec.remove("api_key")
	res := h.e.ReloadCredentials(context.Background())
	if len(res.Changed) != 0 || res.Failed["api"] == nil || len(res.Failed) != 1 {
		t.Fatalf("reload = changed %v, failed %v; want api failed and nothing changed", res.Changed, res.Failed)
	}
	if !strings.Contains(res.Failed["api"].Error(), `secret "api_key" is not set`) {
		t.Fatalf("the error does not name the secret: %v", res.Failed["api"])
	}
	// Workflow k's mapping reads no secret: its call goes on with the
	// key read before.
	h.deliver("k", "e0", `{"id":"e0"}`)
	h.waitStatus(runID(1), runs.Succeeded)
	if got := keyOf(t, fc, 1); got != "key-one" {
		t.Fatalf("call after the secret was deleted carried key %q, want the old key-one", got)
	}

	conns, err := h.e.ListConnections(context.Background(), store.DefaultTenant)
	if err != nil {
		t.Fatal(err)
	}
	var api runs.Connection
	for _, c := range conns {
		if c.Name == "api" {
			api = c
		}
	}
	if api.State != "failing" || !strings.Contains(api.Reason, "api_key") || !strings.Contains(api.LastError, "api_key") || api.LastErrorAt == nil {
		t.Fatalf("connection status %+v, want failing with the secret named", api)
	}
	st, err := h.e.Status(context.Background(), store.DefaultTenant)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Connections {
		if c.Name == "api" && !strings.Contains(c.LastError, "api_key") {
			t.Fatalf("host status of api: last error %q, want the secret named", c.LastError)
		}
	}
	// Logged once, however many reloads meet the same error.
	h.e.ReloadCredentials(context.Background())
	if n := strings.Count(logs.String(), "cannot read a connection's credentials"); n != 1 {
		t.Fatalf("the error was logged %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "api_key") || strings.Contains(logs.String(), "key-one") {
		t.Fatalf("the log must name the secret and not its value:\n%s", logs.String())
	}

	sec.set("api_key", "key-three")
	res = h.e.ReloadCredentials(context.Background())
	if !reflect.DeepEqual(res.Changed, []string{"api"}) || len(res.Failed) != 0 {
		t.Fatalf("reload after restoring = changed %v, failed %v", res.Changed, res.Failed)
	}
	h.deliver("w", "e1", `{"id":"e1"}`)
	h.waitStatus(runID(2), runs.Succeeded)
	if got := keyOf(t, fc, 2); got != "key-three" {
		t.Fatalf("call carried key %q, want key-three", got)
	}
	conns, _ = h.e.ListConnections(context.Background(), store.DefaultTenant)
	for _, c := range conns {
		if c.Name == "api" && (c.State != "ok" || c.Reason != "") {
			t.Fatalf("after the secret is back: %+v, want ok", c)
		}
	}
	if strings.Contains(logs.String(), "key-three") {
		t.Fatalf("the log shows the new value:\n%s", logs.String())
	}
}

// The run history redacts a secret read by a mapping both before and
// after the value changes, and neither value reaches the log.
func TestReloadCredentials_RedactionCoversTheNewValue(t *testing.T) {
	sec := newFakeSecrets("api_key", "key-one")
	fc := &fakeConnector{}
	var logs logBuffer
	h := open(t, t.TempDir(), compileWith(t, apiKeyWorkspace, sec.get), fc, withLog(&logs))

	h.deliver("w", "e1", `{"id":"e1"}`)
	first := h.waitStatus(runID(1), runs.Succeeded)
	sec.set("api_key", "key-two")
	h.e.ReloadCredentials(context.Background())
	h.deliver("w", "e2", `{"id":"e2"}`)
	second := h.waitStatus(runID(2), runs.Succeeded)

	for i, r := range []*runs.Run{first, second} {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "key-one") || strings.Contains(string(b), "key-two") {
			t.Fatalf("run %d shows a key: %s", i+1, b)
		}
		if !strings.Contains(string(r.Steps[0].Input), "(sensitive)") {
			t.Fatalf("run %d input %s, want the secret redacted", i+1, r.Steps[0].Input)
		}
	}
	// The calls themselves carried the values.
	if got := string(fc.actionCalls()[1].Input); !strings.Contains(got, "key-two") {
		t.Fatalf("second call's input %s, want the new value", got)
	}
	if l := logs.String(); strings.Contains(l, "key-one") || strings.Contains(l, "key-two") {
		t.Fatalf("the log shows a key:\n%s", l)
	}
}

// pollingFake is a fakeConnector with a poll trigger and a stream that
// record the API key of every poll and stream opened, and deliver no
// events.
type pollingFake struct {
	*fakeConnector
	mu   sync.Mutex
	keys []string
}

func (p *pollingFake) PollTrigger(_ context.Context, req wire.PollRequest) (wire.PollResult, error) {
	p.mu.Lock()
	p.keys = append(p.keys, req.Conn.Auth.APIKey)
	p.mu.Unlock()
	return wire.PollResult{NextCursor: req.Cursor}, nil
}

// OpenStream records the stream's key and holds it open until the
// streamer ends it.
func (p *pollingFake) OpenStream(ctx context.Context, req wire.StreamRequest, _ wire.StreamSink) error {
	p.mu.Lock()
	p.keys = append(p.keys, req.Conn.Auth.APIKey)
	p.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

func (p *pollingFake) polledWith(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range p.keys {
		if k == key {
			return true
		}
	}
	return false
}

// A poll or stream trigger whose connection's key changed is handed the
// new connection: its next polls carry the new key, and its stream is
// opened again with it.
func TestReloadCredentials_TriggerRunsWithTheNewKey(t *testing.T) {
	for _, tc := range []struct {
		name, trigger string
		first, again  string // what waiting for the first key, then the new one, is for
	}{
		{"PollTriggerPollsWithTheNewKey", `trigger "api" "feed" {
    mode     = "poll"
    interval = "10ms"
  }`, "a poll with the first key", "a poll with the new key"},
		{"StreamReopensWithTheNewKey", `trigger "api" "live" {
    mode = "stream"
  }`, "the stream opened with the first key", "the stream reopened with the new key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sec := newFakeSecrets("api_key", "key-one")
			pf := &pollingFake{fakeConnector: &fakeConnector{}}
			rt := compileWith(t, `
connection "api" {
  connector = "fake"
  auth "api_key" {
    key = secret("api_key")
  }
}
workflow "p" {
  `+tc.trigger+`
  action "a" {
    connection = "api"
    action     = "a"
  }
}
`, sec.get)
			h := open(t, t.TempDir(), rt, nil, func(o *Options) {
				o.Connector = func(registry.Installed) wire.Connector { return pf }
			})
			waitFor(t, tc.first, func() bool { return pf.polledWith("key-one") })
			sec.set("api_key", "key-two")
			if res := h.e.ReloadCredentials(context.Background()); !reflect.DeepEqual(res.Changed, []string{"api"}) {
				t.Fatalf("changed %v, want api", res.Changed)
			}
			waitFor(t, tc.again, func() bool { return pf.polledWith("key-two") })
		})
	}
}

const oauthSecretWorkspace = `
connection "api" {
  connector = "fake"
  auth "oauth2" {
    client_id     = "hub"
    client_secret = secret("client_secret")
    grant         = "client_credentials"
  }
}
workflow "w" {
  trigger "api" "t" {
    mode = "webhook"
  }
  action "a" {
    connection = "api"
    action     = "a"
  }
}
`

// A changed client_secret is reported for the OAuth client to be
// registered again, and the runtime's OAuth settings carry the new one.
func TestReloadCredentials_ChangedClientSecretIsReportedForOAuth(t *testing.T) {
	sec := newFakeSecrets("client_secret", "cs-one")
	h := open(t, t.TempDir(), compileWith(t, oauthSecretWorkspace, sec.get), &fakeConnector{}, func(o *Options) { o.OAuth = &fakeOAuth{} })
	sec.set("client_secret", "cs-two")
	res := h.e.ReloadCredentials(context.Background())
	if !reflect.DeepEqual(res.OAuth, []string{"api"}) || !reflect.DeepEqual(res.Changed, []string{"api"}) {
		t.Fatalf("reload = changed %v, oauth %v; want api in both", res.Changed, res.OAuth)
	}
	conns, err := res.Runtime.OAuthConnections()
	if err != nil || len(conns) != 1 || conns[0].Attrs["client_secret"] != "cs-two" {
		t.Fatalf("OAuthConnections = %d connections, %v; want the new client secret", len(conns), err)
	}
}

// A client_secret not set when the workspace was compiled counts as
// changed once it is set, so the client gets registered then.
func TestReloadCredentials_ClientSecretSetAfterStartIsReportedForOAuth(t *testing.T) {
	sec := newFakeSecrets()
	h := open(t, t.TempDir(), compileWith(t, oauthSecretWorkspace, sec.get), &fakeConnector{}, func(o *Options) { o.OAuth = &fakeOAuth{} })
	if res := h.e.ReloadCredentials(context.Background()); res.Failed["api"] == nil || len(res.OAuth) != 0 {
		t.Fatalf("before it is set: failed %v, oauth %v", res.Failed, res.OAuth)
	}
	sec.set("client_secret", "cs-one")
	if res := h.e.ReloadCredentials(context.Background()); !reflect.DeepEqual(res.OAuth, []string{"api"}) || len(res.Failed) != 0 {
		t.Fatalf("once set: oauth %v, failed %v; want api registered again", res.OAuth, res.Failed)
	}
}

// Connections that read no secret are never resolved again.
func TestSecretsRead_NamesLiteralSecretsOfAuthAndProperties(t *testing.T) {
	rt := compileWith(t, `
connection "a" {
  connector  = "fake"
  properties = { region = "eu", token = secret("prop_token") }
  auth "basic" {
    username = "u"
    password = secret("pw")
  }
}
connection "b" {
  connector = "fake"
  auth "bearer" {
    token = "literal"
  }
}
`, newFakeSecrets("prop_token", "x", "pw", "y").get)
	if a := rt.conns["a"]; !a.readsSecrets || !reflect.DeepEqual(a.secrets, []string{"prop_token", "pw"}) || a.digest == "" {
		t.Fatalf("a: reads %v, secrets %v, digest %q", a.readsSecrets, a.secrets, a.digest)
	}
	if b := rt.conns["b"]; b.readsSecrets || len(b.secrets) != 0 {
		t.Fatalf("b: reads %v, secrets %v; want none", b.readsSecrets, b.secrets)
	}
}

// racySecrets answers secret() from sec, except that once armed the
// first read of name answers first and every later one then: a hub
// secrets set that lands while a connection is being resolved.
type racySecrets struct {
	*fakeSecrets
	mu          sync.Mutex
	armed       bool
	name        string
	first, then string
}

func (r *racySecrets) arm(name, first, then string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.armed, r.name, r.first, r.then = true, name, first, then
}

func (r *racySecrets) get(name string) (string, error) {
	r.mu.Lock()
	if r.armed && name == r.name {
		v := r.first
		r.first = r.then
		r.mu.Unlock()
		r.fakeSecrets.set(name, r.then)
		return v, nil
	}
	r.mu.Unlock()
	return r.fakeSecrets.get(name)
}

// A secret changed between two reads of one reload must not leave the
// connection with the older value under the newer value's digest: the
// next reload sees the change and the calls carry the newest value.
func TestReloadCredentials_SecretChangedDuringAReloadIsSwappedInByTheNext(t *testing.T) {
	sec := &racySecrets{fakeSecrets: newFakeSecrets("api_key", "key-one")}
	fc := &fakeConnector{}
	h := open(t, t.TempDir(), compileWith(t, apiKeyWorkspace, sec.get), fc, nil)

	sec.arm("api_key", "key-two", "key-three")
	if res := h.e.ReloadCredentials(context.Background()); !reflect.DeepEqual(res.Changed, []string{"api"}) {
		t.Fatalf("first reload: changed %v, want api", res.Changed)
	}
	// The store now holds key-three, whatever the first reload read.
	res := h.e.ReloadCredentials(context.Background())
	h.deliver("k", "e1", `{"id":"e1"}`)
	h.waitStatus(runID(1), runs.Succeeded)
	if got := keyOf(t, fc, 1); got != "key-three" {
		t.Fatalf("after two reloads the call carried %q (second reload changed %v), want the store's key-three", got, res.Changed)
	}
}

// sessionWorkspace has one session connection whose password is a
// secret, and a webhook workflow calling it.
const sessionWorkspace = `
connection "svc" {
  connector = "fake"
  auth "session" {
    credentials = { user = "ops", password = secret("pw") }
  }
}
workflow "w" {
  trigger "svc" "t" {
    mode = "webhook"
  }
  action "a" {
    connection = "svc"
    action     = "a"
  }
}
`

// A session logged in with a password that changed in the secret store
// ends on the reload: the next call logs in with the new password rather
// than riding the old session.
func TestReloadCredentials_ChangedPasswordEndsTheCachedSession(t *testing.T) {
	sec := newFakeSecrets("pw", "pw-one")
	fc := &fakeConnector{}
	var logs logBuffer
	h := open(t, t.TempDir(), compileWith(t, sessionWorkspace, sec.get), fc, withLog(&logs))
	h.deliver("w", "e1", `{}`)
	h.waitStatus(runID(1), runs.Succeeded)
	before := fc.loginCount()

	sec.set("pw", "pw-two")
	if res := h.e.ReloadCredentials(context.Background()); !reflect.DeepEqual(res.Changed, []string{"svc"}) {
		t.Fatalf("changed %v, want svc", res.Changed)
	}
	h.deliver("w", "e2", `{}`)
	h.waitStatus(runID(2), runs.Succeeded)
	if got := fc.loginCount(); got != before+1 {
		t.Fatalf("logins %d after the change, want %d: the call must log in again", got, before+1)
	}
	fc.mu.Lock()
	last := fc.logins[len(fc.logins)-1].Credentials["password"]
	fc.mu.Unlock()
	if last != "pw-two" {
		t.Fatalf("the new login sent password %q, want pw-two", last)
	}
	calls := fc.actionCalls()
	if got := calls[len(calls)-1].Conn.Auth.Headers["X-Session"]; got != fmt.Sprint("s", before+1) {
		t.Fatalf("the call after the change used session %q, want the new one", got)
	}
	if !strings.Contains(logs.String(), "sessions_ended") {
		t.Fatalf("the log does not say the session ended:\n%s", logs.String())
	}
}
