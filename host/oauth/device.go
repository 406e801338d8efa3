package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"
)

// deviceGrantType is RFC 8628's grant_type for the device access token
// request.
const deviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"

const (
	// deviceReuseLeft is how long a pending user code must still be valid
	// for Device to show it again rather than start a new flow: enough
	// for a person to type it.
	deviceReuseLeft = time.Minute
	// devicePollRetries is how many token requests in a row may fail in
	// transit (network error, HTTP 5xx or 429) before a device flow gives
	// up; a proper answer resets the count.
	devicePollRetries = 6
	// deviceMaxBackoff caps the polling interval after network errors.
	deviceMaxBackoff = time.Minute
)

var (
	errCodeExpired    = errors.New("the user code expired before it was entered; start again")
	errDeviceReplaced = errors.New("a new device login replaced this one")
	errClientChanged  = errors.New("the connection's client_id or token_url changed; start the login again")
	errRemoved        = errors.New("the connection was removed")
)

// deviceFlow is a device authorization (RFC 8628) in progress.
type deviceFlow struct {
	*attempt
	// shown is closed once uri and code are set, or when the flow failed
	// before the provider gave them.
	shown     chan struct{}
	uri, code string
	// cancel ends the polling, with the reason as the flow's error.
	cancel context.CancelCauseFunc
}

// Device runs the device authorization grant (RFC 8628) for the
// connection: it asks the provider for a user code, calls show with the
// verification URI and the code for a person to enter on another device,
// then polls the token endpoint, honouring the interval and slow_down,
// until the person approves, denies, or the code or ctx expires. The token
// is saved before Device returns nil.
//
// A connection has one device flow at a time. If one is pending and its
// code is valid for at least another minute, Device shows that code again
// and waits for that flow's outcome instead of starting another: a person
// who runs hub connect twice, or already typed the first code, expects the
// code on their screen to keep working. A code about to expire is replaced
// by a new flow, and the old one ends. The pending flow polls under the
// context of the call that started it; ctx of a later call bounds only its
// own wait.
func (m *Manager) Device(ctx context.Context, connection string, show func(verificationURI, userCode string)) error {
	rc, cn, err := m.lookup(connection)
	if err != nil {
		return err
	}
	if rc.client.Grant != GrantDeviceCode {
		return fmt.Errorf("oauth connection %q uses the %s grant, not %s", connection, rc.client.Grant, GrantDeviceCode)
	}

	m.mu.Lock()
	now := m.now()
	if f := cn.device; f != nil {
		pending, _ := f.outcome(now, nil)
		if pending && f.binding == rc.client.binding() && (f.expires.IsZero() || !now.Add(deviceReuseLeft).After(f.expires)) {
			m.mu.Unlock()
			return m.joinDevice(ctx, connection, f, show)
		}
		f.cancel(errDeviceReplaced)
	}
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	f := &deviceFlow{attempt: newAttempt(rc.client.binding(), time.Time{}), shown: make(chan struct{}), cancel: cancel}
	cn.device, cn.latest = f, f.attempt
	m.mu.Unlock()

	t, err := m.runDevice(pctx, rc, f, show)
	if err == nil {
		err = m.connected(ctx, connection, cn, t, f.binding)
	} else {
		err = fmt.Errorf("oauth connection %q: device login: %w", connection, err)
		m.log.Warn("oauth device login failed", "connection", connection, "error", err)
	}
	m.mu.Lock()
	f.finish(err, m.now())
	m.mu.Unlock()
	return err
}

// runDevice asks for a user code, shows it, and polls for the token.
func (m *Manager) runDevice(ctx context.Context, rc *registered, f *deviceFlow, show func(verificationURI, userCode string)) (*oauth2.Token, error) {
	name := rc.client.Name
	hctx := context.WithValue(ctx, oauth2.HTTPClient, m.http)
	da, err := m.deviceAuthorize(ctx, &rc.client)
	if err != nil {
		close(f.shown)
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, fmt.Errorf("device authorization: %w", safeError(err, rc.client.ClientSecret))
	}
	// The code and URL are shown to a person, by hub connect in a
	// terminal: nothing else than a URL and a code to type.
	if err := checkDeviceAuth(da); err != nil {
		close(f.shown)
		return nil, err
	}
	if !da.Expiry.IsZero() {
		var cancel context.CancelFunc
		hctx, cancel = context.WithDeadlineCause(hctx, da.Expiry, errCodeExpired)
		defer cancel()
	}
	m.mu.Lock()
	f.uri, f.code = da.VerificationURI, da.UserCode
	if !da.Expiry.IsZero() {
		// On the Manager's clock, as every other expiry.
		f.expires = m.now().Add(time.Until(da.Expiry))
	}
	m.mu.Unlock()
	close(f.shown)
	m.log.Info("oauth device login started", "connection", name, "expires", f.expires)
	show(da.VerificationURI, da.UserCode)
	return m.pollDevice(hctx, rc, da)
}

// joinDevice shows a pending flow's code and waits for its outcome.
func (m *Manager) joinDevice(ctx context.Context, connection string, f *deviceFlow, show func(verificationURI, userCode string)) error {
	select {
	case <-f.shown:
	case <-ctx.Done():
		return fmt.Errorf("oauth connection %q: wait for device login: %w", connection, ctx.Err())
	}
	// uri and code were written before shown was closed.
	if f.code != "" {
		m.log.Info("oauth device login pending, showing its code again", "connection", connection)
		show(f.uri, f.code)
	}
	select {
	case <-f.done:
		m.mu.Lock()
		defer m.mu.Unlock()
		return f.err
	case <-ctx.Done():
		return fmt.Errorf("oauth connection %q: wait for device login: %w", connection, ctx.Err())
	}
}

// pollDevice asks for the device access token until it is issued (RFC 8628
// §3.4, §3.5). x/oauth2's DeviceAccessToken does the same on the wall
// clock and gives up on the first network error; this loop waits through
// m.wait so the interval is testable, and rides out a provider that is
// briefly unreachable. The request goes through clientcredentials, which
// x/oauth2 lets override grant_type, so parsing and client authentication
// stay x/oauth2's.
//
// Each request authenticates with the client registered at the time: a
// client_secret rotated while the person approves (Register with the same
// client_id and token_url) is used from the next poll on. A change of
// client_id or token_url ends the flow (Register cancels it; the check
// here covers a poll already past its wait).
func (m *Manager) pollDevice(ctx context.Context, rc *registered, da *oauth2.DeviceAuthResponse) (*oauth2.Token, error) {
	name := rc.client.Name
	started := rc.client.binding()

	interval := time.Duration(da.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second // RFC 8628 §3.2's default
	}
	failures, timeouts := 0, 0
	for {
		wait := interval
		if timeouts > 0 {
			// "On encountering a connection timeout, clients MUST
			// unilaterally reduce their polling frequency" (RFC 8628
			// §3.5): double the interval per network error in a row.
			wait = min(interval<<timeouts, max(deviceMaxBackoff, interval))
		}
		if err := m.wait(ctx, wait); err != nil {
			return nil, context.Cause(ctx)
		}
		cur, _, err := m.lookup(name)
		if err != nil {
			return nil, errRemoved
		}
		if cur.client.binding() != started {
			return nil, errClientChanged
		}
		t, err := authenticated(m, &cur.client, func(s oauth2.AuthStyle) (*oauth2.Token, error) {
			req := cur.client.credentials(s)
			req.Scopes = nil // scope belongs to the device authorization request
			req.EndpointParams = url.Values{"grant_type": {deviceGrantType}, "device_code": {da.DeviceCode}}
			return req.Token(ctx)
		})
		if err == nil {
			return t, nil
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		var re *oauth2.RetrieveError
		safe := safeError(err, cur.client.ClientSecret, da.DeviceCode)
		if errors.As(err, &re) {
			timeouts = 0 // the provider answered: the network is fine
			switch re.ErrorCode {
			case "authorization_pending":
				failures = 0
				m.log.Debug("oauth device login pending", "connection", name)
				continue
			case "slow_down":
				// "the interval MUST be increased by 5 seconds for this
				// and all subsequent requests" (RFC 8628 §3.5).
				failures = 0
				interval += 5 * time.Second
				m.log.Debug("oauth device login asked to slow down", "connection", name, "interval", interval)
				continue
			case "access_denied":
				return nil, errors.New("the user denied access")
			case "expired_token":
				return nil, errCodeExpired
			}
			if s := httpStatus(re); s < http.StatusInternalServerError && s != http.StatusTooManyRequests {
				return nil, safe
			}
		} else {
			timeouts++
		}
		// A network error, HTTP 5xx or 429: the provider is briefly
		// unavailable, and the person may be approving right now.
		failures++
		if failures >= devicePollRetries {
			return nil, fmt.Errorf("the token endpoint failed %d times in a row: %w", failures, safe)
		}
		m.log.Warn("oauth device login poll failed, trying again", "connection", name, "failures", failures, "error", safe)
	}
}
