package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

// loginProps is the connection's login property: how a session login is
// made and what of its answer is the token.
type loginProps struct {
	URL           string         `json:"url"`
	Method        string         `json:"method"`
	Body          map[string]any `json:"body"`
	Format        string         `json:"format"`
	UsernameField string         `json:"username_field"`
	PasswordField string         `json:"password_field"`
	TokenPath     string         `json:"token_path"`
	ExpiresInPath string         `json:"expires_in_path"`
	Header        string         `json:"header"`
	Prefix        string         `json:"prefix"`
}

// login exchanges the session credentials for a token as the login
// property describes, and returns it as the header every request carries.
func (k *kit) login(ctx context.Context, c *sdk.Conn, creds map[string]string) (sdk.AuthResult, error) {
	e, err := open(c)
	if err != nil {
		return sdk.AuthResult{}, err
	}
	lp := e.props.Login
	if lp == nil {
		return sdk.AuthResult{}, invalidProperty("login", "is required with session auth")
	}
	u, err := e.loginURL(lp.URL)
	if err != nil {
		return sdk.AuthResult{}, err
	}
	fields := maps.Clone(lp.Body)
	if fields == nil {
		fields = map[string]any{}
	}
	fields[lp.UsernameField] = creds["username"]
	fields[lp.PasswordField] = creds["password"]
	var body []byte
	contentType := "application/json"
	if lp.Format == "form" {
		form := url.Values{}
		for _, name := range slices.Sorted(maps.Keys(fields)) {
			s, err := scalarText(fields[name])
			if err != nil {
				return sdk.AuthResult{}, invalidProperty("login.body."+name, err.Error())
			}
			form.Set(name, s)
		}
		body, contentType = []byte(form.Encode()), "application/x-www-form-urlencoded"
	} else if body, err = json.Marshal(fields); err != nil {
		return sdk.AuthResult{}, sdk.Permanent("encode the login body: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, lp.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return sdk.AuthResult{}, sdk.Permanent("build the login request: %v", err)
	}
	e.defaultHeaders(req)
	req.Header.Set("Content-Type", contentType)
	// The login carries no session of its own; the SDK's client still
	// classifies the answer (401 auth, 429 rate limited, 5xx retryable).
	resp, err := sdk.NewClient(sdk.Auth{Type: schema.AuthNone}, nil).Do(req)
	if err != nil {
		return sdk.AuthResult{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return sdk.AuthResult{}, sdk.Retryable("read the login answer: %v", err)
	}
	answer, err := schema.DecodeJSON(data)
	if err != nil {
		return sdk.AuthResult{}, sdk.Permanent("the login answer (%s) is not JSON: %v", resp.Status, err)
	}
	raw, ok, err := lookupPath(answer, lp.TokenPath, "properties.login.token_path")
	if err != nil {
		return sdk.AuthResult{}, err
	}
	token, terr := scalarText(raw)
	if !ok || terr != nil || token == "" {
		return sdk.AuthResult{}, sdk.Permanent("the login answer has no token at %q", lp.TokenPath)
	}
	a := sdk.Auth{Type: schema.AuthSession, Headers: map[string]string{lp.Header: lp.Prefix + token}}
	if lp.ExpiresInPath != "" {
		raw, ok, err := lookupPath(answer, lp.ExpiresInPath, "properties.login.expires_in_path")
		if err != nil {
			return sdk.AuthResult{}, err
		}
		if s, err := scalarText(raw); ok && err == nil {
			if secs, err := strconv.ParseFloat(s, 64); err == nil && secs > 0 {
				a.Expiry = k.now().Add(time.Duration(secs * float64(time.Second)))
			}
		}
	}
	return sdk.AuthResult{Auth: a}, nil
}

// loginURL is the login property's url: absolute, or a path on base_url.
func (e *endpoint) loginURL(raw string) (*url.URL, error) {
	if strings.HasPrefix(raw, "/") {
		return e.resolve(raw, "properties.login.url")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, invalidProperty("login.url", "must be a path starting with '/' or an absolute http or https URL")
	}
	return u, nil
}
