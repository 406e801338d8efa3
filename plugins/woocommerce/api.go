package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
)

// defaultPrefix is where WordPress serves the REST API v3.
const defaultPrefix = "/wp-json/wc/v3"

// maxResponse bounds a response body the connector reads.
const maxResponse = 32 << 20

type properties struct {
	BaseURL     string `json:"base_url"`
	APIPrefix   string `json:"api_prefix"`
	AuthInQuery bool   `json:"auth_in_query"`
}

// authMode is how requests carry the consumer key and secret.
type authMode int

const (
	authHeader authMode = iota // HTTP Basic over https
	authQuery                  // consumer_key/consumer_secret query parameters over https
	authOAuth1                 // OAuth 1.0a one-legged signature over plain http
)

// api is one call's view of the shop's REST API.
type api struct {
	site   string // base_url without a trailing slash
	root   string // site + api prefix
	mode   authMode
	key    string
	secret string
	client *sdk.Client
	now    func() time.Time
}

func (w *wc) api(c *sdk.Conn) (*api, error) {
	var p properties
	if err := c.Properties(&p); err != nil {
		return nil, err
	}
	u, err := url.Parse(p.BaseURL)
	if err == nil && (u.Scheme != "http" && u.Scheme != "https" || u.Host == "") {
		err = fmt.Errorf("want an http or https URL with a host, got %q", p.BaseURL)
	}
	if err == nil && (u.RawQuery != "" || u.Fragment != "") {
		err = fmt.Errorf("the site URL has no query or fragment")
	}
	if err != nil {
		return nil, sdk.Invalid("base_url is not a site URL", sdk.Violation{Path: "properties.base_url", Message: err.Error()})
	}
	auth := c.Auth()
	if auth.Type != schema.AuthBasic || auth.Username == "" || auth.Password == "" {
		return nil, sdk.Invalid("the connection needs basic auth with the consumer key as username and the consumer secret as password",
			sdk.Violation{Path: "auth", Message: "basic auth with username and password required"})
	}
	prefix := ""
	if trimmed := strings.Trim(p.APIPrefix, "/"); trimmed != "" {
		prefix = "/" + trimmed
	}
	a := &api{
		site: strings.TrimRight(p.BaseURL, "/"), key: auth.Username, secret: auth.Password, now: time.Now,
	}
	a.root = a.site + prefix
	switch {
	case u.Scheme == "http":
		// WooCommerce ignores Basic credentials over plain http (they would
		// travel in the clear) and wants OAuth 1.0a signatures instead.
		a.mode = authOAuth1
	case p.AuthInQuery:
		a.mode = authQuery
	}
	if a.mode == authHeader {
		a.client = c.HTTP()
	} else {
		// The connection's client would add the Basic header too, which a
		// server whose Authorization header belongs to something else (a
		// staging site's password) rejects, and which must not travel over
		// plain http.
		a.client = sdk.NewClient(sdk.Auth{Type: schema.AuthNone}, w.base)
	}
	return a, nil
}

// url returns the request URL for path and query, with the credentials
// or the OAuth 1.0a signature the mode needs.
func (a *api) url(method, path string, query url.Values) (string, error) {
	endpoint := a.root + path
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	switch a.mode {
	case authQuery:
		q.Set("consumer_key", a.key)
		q.Set("consumer_secret", a.secret)
	case authOAuth1:
		nonce := make([]byte, 16)
		if _, err := rand.Read(nonce); err != nil {
			return "", fmt.Errorf("oauth nonce: %w", err)
		}
		q.Set("oauth_consumer_key", a.key)
		q.Set("oauth_nonce", hex.EncodeToString(nonce))
		q.Set("oauth_signature_method", "HMAC-SHA256")
		q.Set("oauth_timestamp", strconv.FormatInt(a.now().Unix(), 10))
		sig, err := oauthSignature("HMAC-SHA256", a.secret, oauthBaseString(method, endpoint, paramsOf(q)))
		if err != nil {
			return "", err
		}
		q.Set("oauth_signature", sig)
	}
	if len(q) == 0 {
		return endpoint, nil
	}
	return endpoint + "?" + q.Encode(), nil
}

// do sends a JSON request and decodes a JSON answer into out (when not
// nil). A WooCommerce error answer becomes a classified error carrying its
// code and message, and its per-parameter errors as violations.
func (a *api) do(ctx context.Context, method, path string, query url.Values, in, out any) (http.Header, error) {
	resp, err := a.send(ctx, method, path, query, in)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, sdk.Retryable("read %s %s response: %v", method, path, err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			// A cut-off body (a PHP fatal error mid-answer, a proxy
			// dropping the connection) usually goes away on a retry.
			return nil, sdk.Retryable("decode %s %s response (%s): %v", method, path, resp.Status, err)
		}
	}
	return resp.Header, nil
}

// send is do without reading the answer; the caller closes the body.
func (a *api) send(ctx context.Context, method, path string, query url.Values, in any) (*http.Response, error) {
	u, err := a.url(method, path, query)
	if err != nil {
		return nil, sdk.Permanent("build %s %s: %v", method, path, err)
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, sdk.Permanent("encode %s %s request: %v", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, sdk.Permanent("build %s %s: %v", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client.Send(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		return nil, classify(resp)
	}
	return resp, nil
}

// wcError is WooCommerce's error body.
type wcError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Data    struct {
		Status int `json:"status"`
		// Params lists rest_invalid_param's per-parameter messages.
		Params map[string]string `json:"params"`
	} `json:"data"`
}

// classify turns an error answer into the SDK's classification (401
// auth_expired, 429 rate_limited, 5xx retryable, 400 invalid_input, other
// 4xx permanent) and adds WooCommerce's error code and parameter errors.
func classify(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	// Hand CheckResponse a copy so it reads the body we already took.
	clone := *resp
	clone.Body = io.NopCloser(bytes.NewReader(data))
	err := sdk.CheckResponse(&clone)
	e := fault.As(err)
	var we wcError
	if json.Unmarshal(data, &we) == nil && we.Code != "" {
		e.Message += " (" + we.Code + ")"
		if e.Kind == fault.InvalidInput {
			for _, name := range sortedKeys(we.Data.Params) {
				e.Violations = append(e.Violations, fault.Violation{Path: name, Message: we.Data.Params[name]})
			}
		}
	}
	return e
}

// hasNextPage reads WordPress's paging headers: a Link rel="next", or
// X-WP-TotalPages beyond the page just read.
func hasNextPage(h http.Header, page int) bool {
	for _, v := range h.Values("Link") {
		for _, part := range strings.Split(v, ",") {
			if strings.Contains(part, `rel="next"`) || strings.Contains(part, "rel=next") {
				return true
			}
		}
	}
	n, err := strconv.Atoi(h.Get("X-WP-TotalPages"))
	return err == nil && n > page
}
