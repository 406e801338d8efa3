package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"golang.org/x/oauth2"
)

// deviceGrantType is RFC 8628's grant_type for the device access token
// request.
const deviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// Device runs the device authorization grant (RFC 8628) for the
// connection: it asks the provider for a user code, calls show with the
// verification URI and the code for a person to enter on another device,
// then polls the token endpoint, honouring the interval and slow_down,
// until the person approves, denies, or the code or ctx expires. The token
// is saved before Device returns nil.
func (m *Manager) Device(ctx context.Context, connection string, show func(verificationURI, userCode string)) error {
	rc, cn, err := m.lookup(connection)
	if err != nil {
		return err
	}
	if rc.client.Grant != GrantDeviceCode {
		return fmt.Errorf("oauth connection %q uses the %s grant, not %s", connection, rc.client.Grant, GrantDeviceCode)
	}
	hctx := context.WithValue(ctx, oauth2.HTTPClient, m.http)
	da, err := rc.client.config("").DeviceAuth(hctx)
	if err != nil {
		return fmt.Errorf("oauth connection %q: device authorization: %w", connection, safeError(err))
	}
	if !da.Expiry.IsZero() {
		var cancel context.CancelFunc
		hctx, cancel = context.WithDeadline(hctx, da.Expiry)
		defer cancel()
	}
	m.log.Info("oauth device login started", "connection", connection, "expires", da.Expiry)
	show(da.VerificationURI, da.UserCode)

	t, err := m.pollDevice(hctx, rc, da)
	if err != nil {
		m.log.Warn("oauth device login failed", "connection", connection, "error", err)
		return fmt.Errorf("oauth connection %q: device login: %w", connection, err)
	}
	return m.connected(ctx, connection, cn, t)
}

// pollDevice asks for the device access token until it is issued (RFC 8628
// §3.4, §3.5). x/oauth2's DeviceAccessToken does the same on the wall
// clock; this loop waits through m.wait so the interval is testable. The
// request goes through clientcredentials, which x/oauth2 lets override
// grant_type, so parsing and client authentication stay x/oauth2's.
func (m *Manager) pollDevice(ctx context.Context, rc *registered, da *oauth2.DeviceAuthResponse) (*oauth2.Token, error) {
	req := rc.client.credentials()
	req.Scopes = nil // scope belongs to the device authorization request
	req.EndpointParams = url.Values{"grant_type": {deviceGrantType}, "device_code": {da.DeviceCode}}

	interval := time.Duration(da.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second // RFC 8628 §3.2's default
	}
	for {
		if err := m.wait(ctx, interval); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return nil, errors.New("the user code expired before it was entered; start again")
			}
			return nil, err
		}
		t, err := req.Token(ctx)
		if err == nil {
			return t, nil
		}
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) {
			return nil, err
		}
		switch re.ErrorCode {
		case "authorization_pending":
			m.log.Debug("oauth device login pending", "connection", rc.client.Name)
		case "slow_down":
			// "the interval MUST be increased by 5 seconds for this and
			// all subsequent requests" (RFC 8628 §3.5).
			interval += 5 * time.Second
			m.log.Debug("oauth device login asked to slow down", "connection", rc.client.Name, "interval", interval)
		case "access_denied":
			return nil, errors.New("the user denied access")
		case "expired_token":
			return nil, errors.New("the user code expired before it was entered; start again")
		default:
			return nil, safeError(err)
		}
	}
}
