package oauth

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// deviceEnv registers the public device client "tv" and makes polls wait
// until release is closed (or the flow's context ends), recording each
// wait.
type deviceEnv struct {
	*env
	release chan struct{}
	mu      sync.Mutex
	waits   []time.Duration
}

func newDeviceEnv(t *testing.T, script ...string) *deviceEnv {
	t.Helper()
	d := &deviceEnv{env: newEnv(t), release: make(chan struct{})}
	d.as.addClient("tv", "")
	d.as.deviceScript = script
	d.register(t, Client{Name: "tv", ClientID: "tv", Grant: GrantDeviceCode, TokenURL: d.as.srv.URL + "/token", DeviceURL: d.as.srv.URL + "/device"})
	d.m.wait = func(ctx context.Context, w time.Duration) error {
		d.mu.Lock()
		d.waits = append(d.waits, w)
		d.mu.Unlock()
		select {
		case <-d.release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return d
}

func (d *deviceEnv) waited() []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Duration(nil), d.waits...)
}

// start runs Device in the background and returns the code it showed and
// a channel with its result.
func (d *deviceEnv) start(t *testing.T) (string, <-chan error) {
	t.Helper()
	shown := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- d.m.Device(context.Background(), "tv", func(_, code string) { shown <- code })
	}()
	select {
	case code := <-shown:
		return code, done
	case err := <-done:
		t.Fatalf("Device ended before showing a code: %v", err)
	}
	return "", nil
}

// Running hub connect again while a device login is pending shows the
// same code, which the person may already have typed, and both calls see
// the one outcome.
func TestDevice_SecondStartShowsThePendingCode(t *testing.T) {
	d := newDeviceEnv(t, "authorization_pending")
	first, firstDone := d.start(t)
	if s := d.status(t, "tv"); s.Status != StatusLoginPending {
		t.Fatalf("status while the code is pending = %s, want login_pending", s.Status)
	}

	second, secondDone := d.start(t)

	if second != first {
		t.Errorf("second start showed %q, want the pending %q", second, first)
	}
	if n := d.as.deviceAuthCount(); n != 1 {
		t.Errorf("device authorization requests = %d, want 1", n)
	}
	close(d.release)
	for _, done := range []<-chan error{firstDone, secondDone} {
		if err := <-done; err != nil {
			t.Errorf("Device = %v", err)
		}
	}
	if n := d.store.saveCount(); n != 1 {
		t.Errorf("saves = %d, want 1", n)
	}
	if s := d.status(t, "tv"); s.Status != StatusConnected {
		t.Errorf("status = %s, want connected", s.Status)
	}
}

// A pending code with less than a minute left is no use to a person: a new
// start replaces it, and the old flow ends.
func TestDevice_CodeAboutToExpireIsReplaced(t *testing.T) {
	d := newDeviceEnv(t)
	_, oldDone := d.start(t)
	d.clock.advance(600*time.Second - 30*time.Second) // the server's expires_in is 600

	_, newDone := d.start(t)

	if err := <-oldDone; err == nil || !strings.Contains(err.Error(), "replaced") {
		t.Errorf("the replaced flow ended with %v, want replaced", err)
	}
	if n := d.as.deviceAuthCount(); n != 2 {
		t.Errorf("device authorization requests = %d, want 2", n)
	}
	close(d.release)
	if err := <-newDone; err != nil {
		t.Fatalf("the new flow: %v", err)
	}
	if s := d.status(t, "tv"); s.Status != StatusConnected {
		t.Errorf("status = %s, want connected", s.Status)
	}
}

// RFC 8628 §3.5: network errors and server errors while polling do not end
// the flow; after a connection failure the client polls less often.
func TestDevice_PollRidesOutNetworkAndServerErrors(t *testing.T) {
	d := newDeviceEnv(t, "!drop", "!503", "authorization_pending", "!drop")
	close(d.release)

	err := d.m.Device(context.Background(), "tv", func(string, string) {})

	if err != nil {
		t.Fatalf("Device = %v", err)
	}
	want := []time.Duration{time.Second, 2 * time.Second, time.Second, time.Second, 2 * time.Second}
	if got := d.waited(); !slicesEqual(got, want) {
		t.Errorf("waits = %v, want %v (interval doubled after each dropped connection only)", got, want)
	}
	if n := d.store.saveCount(); n != 1 {
		t.Errorf("saves = %d, want 1", n)
	}
	if !strings.Contains(d.logs.String(), "poll failed, trying again") {
		t.Errorf("the transient failures were not logged:\n%s", d.logs.String())
	}
}

func TestDevice_GivesUpAfterRepeatedFailures(t *testing.T) {
	script := make([]string, devicePollRetries)
	for i := range script {
		script[i] = "!503"
	}
	d := newDeviceEnv(t, script...)
	close(d.release)

	err := d.m.Device(context.Background(), "tv", func(string, string) {})

	if err == nil || !strings.Contains(err.Error(), "failed 6 times in a row") || !strings.Contains(err.Error(), "HTTP 503") {
		t.Fatalf("Device = %v, want it to give up after %d failures", err, devicePollRetries)
	}
	if d.store.saveCount() != 0 {
		t.Error("a token was stored")
	}
	if s := d.status(t, "tv"); s.Status != StatusLoginFailed || !strings.Contains(s.Reason, "in a row") {
		t.Errorf("status = %+v, want login_failed with the reason", s)
	}
}

func TestDevice_ExpiredTokenEndsTheFlow(t *testing.T) {
	d := newDeviceEnv(t, "authorization_pending", "expired_token")
	close(d.release)

	err := d.m.Device(context.Background(), "tv", func(string, string) {})

	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("Device = %v, want the code's expiry", err)
	}
	if got := len(d.waited()); got != 2 {
		t.Errorf("polls = %d, want 2 (none after expired_token)", got)
	}
}

// Changing the connection's client ends a pending device flow: its device
// code belongs to the old client.
func TestDevice_ClientChangeEndsThePendingFlow(t *testing.T) {
	d := newDeviceEnv(t)
	_, done := d.start(t)
	d.as.addClient("tv2", "")
	d.register(t, Client{Name: "tv", ClientID: "tv2", Grant: GrantDeviceCode, TokenURL: d.as.srv.URL + "/token", DeviceURL: d.as.srv.URL + "/device"})

	if err := <-done; err == nil || !strings.Contains(err.Error(), "client_id or token_url changed") {
		t.Fatalf("Device = %v, want it ended by the client change", err)
	}
	if d.store.saveCount() != 0 {
		t.Error("a token was stored")
	}
}

// A client_secret rotated while a device login waits for the person
// (registered again, same client_id and token_url) is used by the next
// poll: the flow does not go on with the old secret and fail.
func TestDevice_PollUsesTheClientSecretRegisteredNow(t *testing.T) {
	d := newDeviceEnv(t, "authorization_pending")
	d.as.addClient("tv", "tv-secret-one")
	c := Client{Name: "tv", ClientID: "tv", ClientSecret: "tv-secret-one", Grant: GrantDeviceCode, TokenURL: d.as.srv.URL + "/token", DeviceURL: d.as.srv.URL + "/device"}
	d.register(t, c)
	_, done := d.start(t)

	// The provider now accepts only the new secret, and hub serve
	// registers it after hub secrets set.
	d.as.addClient("tv", "tv-secret-two")
	c.ClientSecret = "tv-secret-two"
	d.register(t, c)
	close(d.release)
	if err := <-done; err != nil {
		t.Fatalf("Device after the secret was rotated: %v", err)
	}
	if s := d.status(t, "tv"); s.Status != StatusConnected {
		t.Errorf("status = %s, want connected", s.Status)
	}
}
