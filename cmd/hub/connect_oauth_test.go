package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/server"
)

// connectHost fakes the two admin routes hub connect uses: the connect
// request, answered with start, and the connection list, whose state for
// "app" follows states one poll at a time (the last repeats), with reason
// and lastError.
type connectHost struct {
	mu                sync.Mutex
	states            []string
	polls             int
	start             runs.ConnectStart
	reason, lastError string
}

func newConnectHost(t *testing.T, states ...string) (*connectHost, string) {
	t.Helper()
	h := &connectHost{states: states, lastError: "401 from the API",
		start: runs.ConnectStart{Connection: "app", Grant: "authorization_code", AuthURL: "https://provider.example/authorize?state=s"}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/connections/app/connect", func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		json.NewEncoder(w).Encode(h.start)
	})
	mux.HandleFunc("GET /v1/connections", func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		state := h.states[min(h.polls, len(h.states)-1)]
		h.polls++
		reason, lastError := h.reason, h.lastError
		h.mu.Unlock()
		json.NewEncoder(w).Encode(server.ConnectionList{Connections: []runs.Connection{
			{Name: "app", AuthType: "oauth2", State: state, Reason: reason, LastError: lastError},
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

// A host that cannot read the stored token says failing with a Reason
// and no LastError: hub connect does not take that for a token, follows
// the login, and reports the reason if the login ends without one.
func TestConnect_FailingWithAReasonIsNotConnected(t *testing.T) {
	host, addr := newConnectHost(t, "failing", "login_pending", "failing")
	host.reason, host.lastError = "cannot read the stored token (bad record); hub connect app stores a new one", ""

	code, stdout, stderr := runConnectIn(t, addr)

	if code != 1 || strings.Contains(stdout, "is connected") || !strings.Contains(stderr, "ended without a token the host can read: cannot read the stored token") {
		t.Errorf("hub connect = %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if n := host.pollCount(); n != 3 {
		t.Errorf("polls = %d, want 3 (on past the first failing, to the failing after pending)", n)
	}
}

// Text the host relays from a provider reaches the terminal without
// control characters: no escape sequence runs.
func TestConnect_PrintsNoControlCharacters(t *testing.T) {
	host, addr := newConnectHost(t, "login_pending", "login_failed")
	host.start = runs.ConnectStart{Connection: "app", Grant: "device_code", VerificationURI: "https://provider.example/device\x1b]0;owned\x07", UserCode: "AB\x1b[2JCD"}
	host.reason = "the provider refused the login: access_denied: \"no\x1b[31m red\u202e\""

	code, stdout, stderr := runConnectIn(t, addr)

	if code != 1 || !strings.Contains(stderr, "the authorization of app failed") {
		t.Fatalf("hub connect = %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if strings.ContainsAny(stdout+stderr, "\x1b\x07\u202e") {
		t.Errorf("output holds control characters:\n%q\n%q", stdout, stderr)
	}
	if !strings.Contains(stdout, "AB [2JCD") || !strings.Contains(stderr, "[31m red") {
		t.Errorf("output lost the printable text:\n%q\n%q", stdout, stderr)
	}
}

// startConnect runs hub connect NAME against the workspace's host and
// returns the authorization URL it printed and a channel that yields its
// whole output and error once it exits.
func startConnect(t *testing.T, dir, plugins, authPrefix, name string) (string, <-chan connectResult) {
	t.Helper()
	cmd := exec.Command(hubBin, "connect", "-dir", dir, "-wait", "20s", name)
	cmd.Env = append(os.Environ(), "HUB_PLUGIN_DIR="+plugins)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	authURL := ""
	for authURL == "" && sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if u := strings.TrimSpace(sc.Text()); strings.HasPrefix(u, authPrefix) {
			authURL = u
		}
	}
	if authURL == "" {
		t.Fatalf("hub connect printed no authorization URL:\n%s", out.String())
	}
	done := make(chan connectResult, 1)
	go func() {
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
		}
		err := cmd.Wait()
		done <- connectResult{out.String(), err}
	}()
	return authURL, done
}

type connectResult struct {
	out string
	err error
}

// consent is the person's browser: the provider redirects to the host's
// callback.
func consent(t *testing.T, authURL string) {
	t.Helper()
	resp, err := http.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if page := readBody(resp); resp.StatusCode != http.StatusOK {
		t.Fatalf("callback answered %d: %s", resp.StatusCode, page)
	}
}

// Through the real host: re-connecting a connected connection shows
// login_pending while the person has not consented, hub connect is still
// waiting then, and it reports connected once the new login has stored a
// new token.
func TestServe_ReconnectWaitsForTheNewLogin(t *testing.T) {
	as := newAuthServer(t, "cs-secret")
	sink := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer sink.Close()
	dir, plugins := workspace(t, fmt.Sprintf(oauthServeWorkspace, as.URL, sink.URL))
	mustHub(t, plugins, "init", "-dir", dir)
	mustHubSecrets(t, "cs-secret\n", nil, "secrets", "set", "-dir", dir, "api_client_secret")
	mustHub(t, plugins, "apply", "-dir", dir, "-auto-approve")
	appliedAt(dir, plugins).start(t, "")

	authURL, done := startConnect(t, dir, plugins, as.URL+"/authorize", "app")
	consent(t, authURL)
	if r := <-done; r.err != nil || !strings.Contains(r.out, "Connection app is connected") {
		t.Fatalf("first hub connect app: %v\n%s", r.err, r.out)
	}
	issued := as.issued.Load()

	authURL, done = startConnect(t, dir, plugins, as.URL+"/authorize", "app")

	list := mustHub(t, plugins, "connections", "list", "-dir", dir)
	if !strings.Contains(grepLines(list.stdout, "app "), "login_pending") {
		t.Fatalf("app while the new login waits for consent:\n%s", list.stdout)
	}
	select {
	case r := <-done:
		t.Fatalf("hub connect ended before the person consented: %v\n%s", r.err, r.out)
	default:
	}
	consent(t, authURL)
	if r := <-done; r.err != nil || !strings.Contains(r.out, "Connection app is connected") {
		t.Fatalf("second hub connect app: %v\n%s", r.err, r.out)
	}
	if n := as.issued.Load(); n != issued+1 {
		t.Errorf("tokens issued = %d, want %d: the new login's", n, issued+1)
	}
	list = mustHub(t, plugins, "connections", "list", "-dir", dir)
	if !strings.Contains(grepLines(list.stdout, "app "), " ok ") {
		t.Errorf("app after the new login:\n%s", list.stdout)
	}
}

// The status tables (hub status, hub connections list) print a
// connection's last error through lastError: no control character
// reaches the terminal there either.
func TestLastError_PrintsNoControlCharacters(t *testing.T) {
	got := lastError("invalid_grant: \x1b[31mrt\x1b]0;x\x07\r\nnext\u202eline", nil, time.Now())
	if strings.ContainsAny(got, "\x1b\x07\r\n\u202e") || !strings.Contains(got, "[31mrt ]0;x next line") {
		t.Errorf("lastError = %q, want the text on one line without control characters", got)
	}
}
