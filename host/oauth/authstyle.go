package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// x/oauth2's own detection (AuthStyleAutoDetect) is not used: it retries
// every error answer with the secret in the body, authorization_pending
// and invalid_grant included, so each device poll became two requests (a
// server counting them answers slow_down) and a refresh token or code was
// sent twice; and it remembers the style only after a success, in the
// oauth2.Config, which hub builds per request. The Manager detects the
// style itself, from answers that show whether the client was
// authenticated, and remembers it per client.

// authStyle is the style a client's request starts with, and whether it
// is settled: set by the client's TokenEndpointAuthMethod, public, or
// detected earlier. An unsettled style is HTTP Basic, to be followed by
// the body if the server refuses it.
func (m *Manager) authStyle(c *Client) (style oauth2.AuthStyle, settled bool) {
	switch {
	case c.public():
		return oauth2.AuthStyleInParams, true
	case c.TokenEndpointAuthMethod == AuthMethodBasic:
		return oauth2.AuthStyleInHeader, true
	case c.TokenEndpointAuthMethod == AuthMethodPost:
		return oauth2.AuthStyleInParams, true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.styles[c.binding()]; ok {
		return s, true
	}
	return oauth2.AuthStyleInHeader, false
}

// detected records the style a client's token endpoint accepted, or
// forgets it (style AuthStyleAutoDetect) when the server refused it later.
func (m *Manager) detected(c *Client, style oauth2.AuthStyle) {
	if c.public() || c.TokenEndpointAuthMethod != "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if style == oauth2.AuthStyleAutoDetect {
		delete(m.styles, c.binding())
		return
	}
	m.styles[c.binding()] = style
}

// authenticated sends a request to the client's token endpoint with the
// client's authentication style. While the style is not known it sends
// HTTP Basic, which RFC 6749 §2.3.1 makes every server support, and only
// if the server refuses the client's authentication the body; the style
// the server answered properly is remembered, so later requests are sent
// once. An error answer other than a refused authentication
// (authorization_pending, invalid_grant, …) shows the client was
// authenticated: the request is not repeated, and the refresh token or
// code it carried is not sent again.
func authenticated[T any](m *Manager, c *Client, send func(oauth2.AuthStyle) (T, error)) (T, error) {
	style, settled := m.authStyle(c)
	v, err := send(style)
	switch {
	case settled:
		if authRefused(err) {
			// A detected style the server now refuses: detect again
			// next time (a no-op for a configured one).
			m.detected(c, oauth2.AuthStyleAutoDetect)
		}
		return v, err
	case answered(err):
		m.detected(c, style)
		return v, err
	case !authRefused(err):
		return v, err
	}
	v, err = send(oauth2.AuthStyleInParams)
	if answered(err) {
		m.detected(c, oauth2.AuthStyleInParams)
	}
	return v, err
}

// authRefused reports whether err is a server's refusal of the client's
// authentication: invalid_client or HTTP 401 (RFC 6749 §5.2), or
// invalid_request, which is what a server that reads no HTTP Basic header
// answers for want of a client_id.
func authRefused(err error) bool {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return false
	}
	return re.ErrorCode == "invalid_client" || re.ErrorCode == "invalid_request" || httpStatus(re) == http.StatusUnauthorized
}

// answered reports whether err is nil or an OAuth answer that shows the
// server authenticated the client: an error code other than a refused
// authentication, below HTTP 500. A network error or a server error
// shows nothing.
func answered(err error) bool {
	if err == nil {
		return true
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || authRefused(err) {
		return false
	}
	s := httpStatus(re)
	return re.ErrorCode != "" && s < http.StatusInternalServerError && s != http.StatusTooManyRequests
}

// deviceAuthorize sends the device authorization request (RFC 8628 §3.1).
// A confidential client authenticates, as §3.1 requires, in the style
// its token endpoint uses; while that is unknown it tries HTTP Basic,
// then the body, without remembering either: an endpoint that ignores
// client authentication accepts both, and would teach nothing about the
// token endpoint. x/oauth2's DeviceAuth sends no client authentication,
// hence this request of hub's own; its answer is parsed by x/oauth2's
// DeviceAuthResponse.
func (m *Manager) deviceAuthorize(ctx context.Context, c *Client) (*oauth2.DeviceAuthResponse, error) {
	style, settled := m.authStyle(c)
	da, err := m.deviceRequest(ctx, c, style)
	if !settled && authRefused(err) {
		da, err = m.deviceRequest(ctx, c, oauth2.AuthStyleInParams)
	}
	return da, err
}

// deviceRequest sends one device authorization request with style.
func (m *Manager) deviceRequest(ctx context.Context, c *Client, style oauth2.AuthStyle) (*oauth2.DeviceAuthResponse, error) {
	v := url.Values{}
	if len(c.Scopes) > 0 {
		v.Set("scope", strings.Join(c.Scopes, " "))
	}
	// RFC 8628 §3.1: client_id unless the client authenticates with
	// HTTP Basic (RFC 6749 §2.3.1 allows one method per request).
	if style != oauth2.AuthStyleInHeader || c.public() {
		v.Set("client_id", c.ClientID)
		if !c.public() {
			v.Set("client_secret", c.ClientSecret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.DeviceURL, strings.NewReader(v.Encode()))
	if err != nil {
		return nil, fmt.Errorf("device authorization request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if style == oauth2.AuthStyleInHeader && !c.public() {
		req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read the device authorization response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, retrieveError(resp, body)
	}
	da := &oauth2.DeviceAuthResponse{}
	if err := json.Unmarshal(body, da); err != nil {
		return nil, fmt.Errorf("the device authorization response is not JSON: %w", err)
	}
	return da, nil
}

// retrieveError reads an error answer (RFC 6749 §5.2), as x/oauth2 does
// for the token endpoint, so safeError treats both alike.
func retrieveError(resp *http.Response, body []byte) *oauth2.RetrieveError {
	re := &oauth2.RetrieveError{Response: resp, Body: body}
	content, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch content {
	case "application/x-www-form-urlencoded", "text/plain":
		if vals, err := url.ParseQuery(string(body)); err == nil {
			re.ErrorCode, re.ErrorDescription, re.ErrorURI = vals.Get("error"), vals.Get("error_description"), vals.Get("error_uri")
		}
	default:
		var e struct {
			Code        string `json:"error"`
			Description string `json:"error_description"`
			URI         string `json:"error_uri"`
		}
		if json.Unmarshal(body, &e) == nil {
			re.ErrorCode, re.ErrorDescription, re.ErrorURI = e.Code, e.Description, e.URI
		}
	}
	return re
}
