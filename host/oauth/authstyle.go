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
// if the server refuses it the body. An error answer other than a refusal
// (authorization_pending, invalid_grant, …) shows the client was
// authenticated: the request is not repeated, and the refresh token or
// code it carried is not sent again.
//
// A refusal is invalid_client or HTTP 401 (RFC 6749 §5.2), and, while the
// style is not known, invalid_request: a server that reads no HTTP Basic
// header (Google) answers it for want of a client_id. But invalid_request
// also answers a bad request from an authenticated client (a
// code_verifier or redirect_uri that does not match), whose code or
// refresh token the server may already have spent: a rotating server
// that detects reuse (RFC 9700 §4.14.2) revokes the grant on the second
// try. So invalid_request is never retried once the style is settled,
// nor does it unsettle it; and the body is remembered only if it was
// accepted (a token, authorization_pending or slow_down), not from an
// error answer that may be about the code the first try spent.
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
	case !tryBody(style, settled, err):
		if answered(err) {
			m.detected(c, style)
		}
		return v, err
	}
	v2, err2 := send(oauth2.AuthStyleInParams)
	if accepted(err2) {
		m.detected(c, oauth2.AuthStyleInParams)
		return v2, err2
	}
	return v2, &retriedError{basic: err, body: err2}
}

// tryBody reports whether a request sent with style, whose answer was
// err, is to be sent again with the secret in the body: only while the
// style is not settled, after HTTP Basic was refused (see authenticated).
func tryBody(style oauth2.AuthStyle, settled bool, err error) bool {
	if settled || style != oauth2.AuthStyleInHeader {
		return false
	}
	return authRefused(err) || errorCode(err) == "invalid_request"
}

// retriedError is the failure of a request sent with HTTP Basic and then
// with the secret in the body: either answer may be the one that says
// what is wrong. Unwrap puts the body's answer first, as the later one
// says the state of the grant (a code or refresh token the first try
// spent is invalid_grant now).
type retriedError struct {
	basic, body error
}

func (e *retriedError) Error() string {
	return fmt.Sprintf("with HTTP Basic: %v; with the secret in the body: %v", e.basic, e.body)
}

func (e *retriedError) Unwrap() []error { return []error{e.body, e.basic} }

// authRefused reports whether err is a server's refusal of the client's
// authentication: invalid_client or HTTP 401 (RFC 6749 §5.2).
func authRefused(err error) bool {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return false
	}
	return re.ErrorCode == "invalid_client" || httpStatus(re) == http.StatusUnauthorized
}

// errorCode returns the RFC 6749 error code of an error answer, or "".
func errorCode(err error) string {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return ""
	}
	return re.ErrorCode
}

// answered reports whether err is nil or an OAuth answer that shows the
// server authenticated the client: an error code other than a refusal or
// invalid_request, below HTTP 500. A network error or a server error
// shows nothing.
func answered(err error) bool {
	if err == nil {
		return true
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || authRefused(err) || re.ErrorCode == "invalid_request" {
		return false
	}
	s := httpStatus(re)
	return re.ErrorCode != "" && s < http.StatusInternalServerError && s != http.StatusTooManyRequests
}

// accepted reports whether err is nil or an answer that grants nothing
// yet but accepted the request: authorization_pending or slow_down
// (RFC 8628 §3.5).
func accepted(err error) bool {
	code := errorCode(err)
	return err == nil || code == "authorization_pending" || code == "slow_down"
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
	if !tryBody(style, settled, err) {
		return da, err
	}
	da, err2 := m.deviceRequest(ctx, c, oauth2.AuthStyleInParams)
	if err2 != nil {
		return nil, &retriedError{basic: err, body: err2}
	}
	return da, nil
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
