package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/server"
)

// connectHost fakes the two admin routes hub connect uses: the connect
// request, and the connection list, whose state for "app" follows states
// one poll at a time (the last repeats).
type connectHost struct {
	mu     sync.Mutex
	states []string
	polls  int
}

func newConnectHost(t *testing.T, states ...string) (*connectHost, string) {
	t.Helper()
	h := &connectHost{states: states}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/connections/app/connect", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(runs.ConnectStart{Connection: "app", Grant: "authorization_code", AuthURL: "https://provider.example/authorize?state=s"})
	})
	mux.HandleFunc("GET /v1/connections", func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		state := h.states[min(h.polls, len(h.states)-1)]
		h.polls++
		h.mu.Unlock()
		json.NewEncoder(w).Encode(server.ConnectionList{Connections: []runs.Connection{
			{Name: "app", AuthType: "oauth2", State: state, LastError: "401 from the API"},
		}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return h, srv.URL
}

func (h *connectHost) pollCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.polls
}

// runConnectIn runs hub connect in this process against the fake host.
func runConnectIn(t *testing.T, addr string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, stdin: strings.NewReader(""), getenv: func(string) string { return "" }}
	code := run(e, []string{"connect", "-addr", addr, "-api-key", "k-test", "-dir", t.TempDir(), "-wait", "1m", "app"})
	return code, stdout.String(), stderr.String()
}

// Re-connecting a connection that already has a token: the host reports
// login_pending until the new login ends, and hub connect waits for that
// rather than take the old token for success.
func TestConnect_ReconnectWaitsForTheNewLogin(t *testing.T) {
	tests := []struct {
		name   string
		states []string
		code   int
		want   string
		polls  int
	}{
		{"the new login completes", []string{"login_pending", "login_pending", "ok"}, 0, "Connection app is connected.", 3},
		{"the new login fails", []string{"login_pending", "login_failed"}, 1, "the authorization of app failed", 2},
		{"the login ends with the grant revoked", []string{"login_pending", "needs_reauth"}, 1, "ended without a token (state needs_reauth)", 2},
		{"an old host, pending shown as needs_login", []string{"needs_login", "ok"}, 0, "Connection app is connected.", 2},
		{"connected, though an earlier call failed", []string{"login_pending", "failing"}, 0, "its last call failed (401 from the API)", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			host, addr := newConnectHost(t, tt.states...)

			code, stdout, stderr := runConnectIn(t, addr)

			if code != tt.code || !strings.Contains(stdout+stderr, tt.want) {
				t.Errorf("hub connect = %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", code, tt.code, tt.want, stdout, stderr)
			}
			if n := host.pollCount(); n != tt.polls {
				t.Errorf("polls = %d, want %d (the wait ends at the first state that decides it)", n, tt.polls)
			}
		})
	}
}
