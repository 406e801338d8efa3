package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hubhq/hub/host/runs"
)

const sessionWorkspace = `
hub {
  required_connectors {
    example = { source = "hub/example", version = "~> 1.0" }
  }
}

connection "svc" {
  connector = "example"
  auth "session" {
    credentials = {
      login_url = "%[1]s/login"
      username  = "ops"
      password  = secret("svc_password")
    }
  }
}

workflow "orders" {
  trigger "svc" "incoming" {
    mode = "webhook"
  }
  action "ship" {
    connection = "svc"
    action     = "deliver"
    input      = { url = "%[1]s/orders", body = { id = event.id } }
  }
}
`

// A session login through the real host and connector: the host logs in
// once for many runs, and when the third party ends the session mid-run
// it logs in again exactly once; a wrong password is reported in plain
// words by hub connections test.
func TestServe_SessionLoginAndReloginAfterExpiry(t *testing.T) {
	const password = "pw-never-printed-42"
	var (
		logins atomic.Int32
		mu     sync.Mutex
		live   = map[string]bool{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			var in struct{ Username, Password string }
			if json.NewDecoder(r.Body).Decode(&in) != nil || in.Username != "ops" || in.Password != password {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			tok := fmt.Sprintf("s-%d", logins.Add(1))
			mu.Lock()
			live[tok] = true
			mu.Unlock()
			fmt.Fprintf(w, `{"token":%q}`, tok)
		case "/orders":
			mu.Lock()
			ok := live[strings.TrimPrefix(r.Header.Get("Authorization"), "Session ")]
			mu.Unlock()
			if !ok {
				w.WriteHeader(http.StatusUnauthorized)
			}
		}
	}))
	defer srv.Close()

	dir, plugins := workspace(t, fmt.Sprintf(sessionWorkspace, srv.URL))
	mustHub(t, plugins, "init", "-dir", dir)
	mustHubSecrets(t, "wrong\n", nil, "secrets", "set", "-dir", dir, "svc_password")
	bad := hub(t, plugins, "connections", "test", "-dir", dir, "-plugin-dir", plugins, "svc")
	if bad.code != 1 || !strings.Contains(bad.stdout, "auth_expired") || !strings.Contains(bad.stdout, "refused the credentials") {
		t.Fatalf("wrong password: exit %d\n%s%s", bad.code, bad.stdout, bad.stderr)
	}
	mustHubSecrets(t, password+"\n", nil, "secrets", "set", "-dir", dir, "svc_password")
	logins.Store(0)
	mustHub(t, plugins, "apply", "-dir", dir, "-auto-approve")
	h := appliedAt(dir, plugins).start(t, "")
	secret := h.secret("orders")

	burst := func(prefix string) {
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h.deliver("orders", secret, fmt.Sprintf(`{"id":"%s-%d"}`, prefix, i))
			}()
		}
		wg.Wait()
		for i := range 20 {
			h.waitEvent("orders", fmt.Sprintf("%s-%d", prefix, i), runs.Succeeded)
		}
	}
	burst("a")
	if n := logins.Load(); n != 1 {
		t.Fatalf("%d logins for 20 runs, want 1", n)
	}
	// The third party ends the session.
	mu.Lock()
	clear(live)
	mu.Unlock()
	burst("b")
	if n := logins.Load(); n != 2 {
		t.Fatalf("%d logins after the session ended, want 2 (one re-login)", n)
	}
	if strings.Contains(h.log()+bad.stdout+bad.stderr, password) {
		t.Fatal("the password appears in the output")
	}
}
