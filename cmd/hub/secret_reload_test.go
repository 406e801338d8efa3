package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/host/runs"
)

// keyReceiver is a third party that answers 200 only to requests whose
// X-Api-Key is the key it currently expects, and remembers the key of
// every request by body id.
type keyReceiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	want string
	got  map[string]string // body id -> X-Api-Key
}

func newKeyReceiver(t *testing.T, want string) *keyReceiver {
	r := &keyReceiver{want: want, got: map[string]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body := make([]byte, 4096)
		n, _ := req.Body.Read(body)
		key := req.Header.Get("X-Api-Key")
		r.mu.Lock()
		r.got[bodyID(body[:n])] = key
		ok := key == r.want
		r.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *keyReceiver) expect(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.want = key
}

func (r *keyReceiver) keyOf(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[id]
}

// setSecret runs hub secrets set with the value in a file (the CLI never
// takes a value as an argument).
func (ws *serveWorkspace) setSecret(t *testing.T, name, value string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "value")
	if err := os.WriteFile(path, []byte(value), 0o600); err != nil {
		t.Fatal(err)
	}
	ws.mustCLI(t, "secrets", "set", name, "-value-file", path, "-dir", ws.dir, "-data-dir", ws.data)
}

// A key rotated with hub secrets set while hub serve runs is used by the
// next call, without a restart; a deleted key leaves the old one in use
// and the connection failing with the secret named; the key never
// reaches the host log.
func TestServe_RotatedAPIKeyIsUsedByTheNextCallWithoutARestart(t *testing.T) {
	const oldKey, newKey = "key-one-5f1c2a", "key-two-9b7e44"
	rcv := newKeyReceiver(t, oldKey)
	ws := appliedWorkspace(t, `hub {
  required_connectors {
    example = { source = "hub/example", version = "~> 1.0" }
  }
}

connection "ex" {
  connector = "example"
  auth "api_key" {
    key = secret("ex_key")
  }
}

workflow "orders" {
  trigger "ex" "incoming" {
    mode = "webhook"
  }

  action "deliver" {
    connection = "ex"
    action     = "deliver"
    input      = { url = "`+rcv.srv.URL+`/orders", body = { id = event.id } }
    retry {
      attempts = 1
    }
  }
}
`)
	ws.setSecret(t, "ex_key", oldKey)
	s := ws.start(t, "")

	s.mustDeliver("orders", "o1")
	if r := s.waitRun("orders", "o1", 20*time.Second); r.Status != runs.Succeeded || rcv.keyOf("o1") != oldKey {
		t.Fatalf("o1: run %s (%s), key %q; want succeeded with the first key", r.Status, r.Error, rcv.keyOf("o1"))
	}

	rcv.expect(newKey)
	ws.setSecret(t, "ex_key", newKey)
	waitFor(t, 10*time.Second, "hub serve to take the new key", func() bool {
		return strings.Contains(s.log(), "connection credentials changed in the secret store")
	})
	s.mustDeliver("orders", "o2")
	if r := s.waitRun("orders", "o2", 20*time.Second); r.Status != runs.Succeeded || rcv.keyOf("o2") != newKey {
		t.Fatalf("o2: run %s (%s), key %q; want succeeded with the new key", r.Status, r.Error, rcv.keyOf("o2"))
	}

	// Deleting the key keeps the last one in use and says so.
	ws.mustCLI(t, "secrets", "rm", "ex_key", "-dir", ws.dir, "-data-dir", ws.data)
	waitFor(t, 10*time.Second, "hub serve to report the deleted key", func() bool {
		return strings.Contains(s.log(), "cannot read a connection's credentials")
	})
	var list struct {
		Connections []runs.Connection `json:"connections"`
	}
	s.api("GET", "/v1/connections", &list)
	if len(list.Connections) != 1 || list.Connections[0].State != "failing" || !strings.Contains(list.Connections[0].Reason, `"ex_key"`) {
		t.Fatalf("connections: %+v, want ex failing with the secret named", list.Connections)
	}
	s.mustDeliver("orders", "o3")
	if r := s.waitRun("orders", "o3", 20*time.Second); r.Status != runs.Succeeded || rcv.keyOf("o3") != newKey {
		t.Fatalf("o3: run %s (%s), key %q; want succeeded with the last key read", r.Status, r.Error, rcv.keyOf("o3"))
	}

	select {
	case <-s.exited:
		t.Fatalf("hub serve exited: %v", s.waitErr)
	default:
	}
	if l := s.log(); strings.Contains(l, oldKey) || strings.Contains(l, newKey) {
		t.Fatalf("the host log shows a key:\n%s", l)
	}
}
