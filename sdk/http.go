package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
)

const (
	// maxErrorBody is how much of an error response is read to find its
	// message; the rest is discarded.
	maxErrorBody = 64 << 10
	// maxErrorSnippet is how much of a body an error message quotes, so a
	// third party's HTML error page does not flood run history.
	maxErrorSnippet = 512
	// maxJSONResponse bounds a response DoJSON decodes, in line with the
	// largest message the plugin protocol carries.
	maxJSONResponse = 64 << 20
	// defaultTimeout protects a handler that forgot a deadline from a third
	// party that never answers.
	defaultTimeout = 2 * time.Minute
)

// Client is an HTTP client for one connection: it applies the connection's
// auth to every request and turns failures into classified errors. It is
// safe for concurrent use.
type Client struct {
	auth Auth
	hc   *http.Client
	// digests holds the Digest sessions started so far, so requests after
	// the first answer a challenge without a 401 round trip.
	digests     *digestCache
	digestCreds string
	// now is the clock Retry-After dates are measured against.
	now func() time.Time
}

// defaultHTTPClient is the client every connection of a plugin shares
// unless WithHTTPClient gives another: one transport, so connections to a
// third party are kept alive and reused across calls. Go's default keeps
// only two idle connections per host, so a plugin making many concurrent
// calls opened a new TCP (and TLS) connection for most of them.
func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t, Timeout: defaultTimeout}
}

// NewClient returns a client applying auth. base supplies the transport,
// redirect policy and timeout; nil means a default client with a timeout.
// For Digest auth the client keeps the server's nonces between requests, so
// reuse one client for a connection's requests rather than making one per
// request; it also sends no Authorization when following a redirect.
func NewClient(auth Auth, base *http.Client) *Client {
	return newClient(auth, base, newDigestCache(maxDigestKeys, maxDigestSessionsPerKey))
}

// newClient is NewClient keeping Digest state in digests, which may be
// shared with other clients (other calls, other connections): entries are
// keyed by credentials and origin, so sharing never mixes them.
func newClient(auth Auth, base *http.Client, digests *digestCache) *Client {
	hc := base
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	c := &Client{auth: auth, hc: hc, digests: digests, now: time.Now}
	if auth.Type == schema.AuthDigest {
		c.digestCreds = digestCreds(auth.Username, auth.Password)
		c.hc = digestRedirects(hc)
	}
	return c
}

// Do sends req with the connection's auth and returns the response when the
// status is below 400. A 4xx or 5xx answer, or a failure to get any answer,
// comes back as a classified error (see CheckResponse) with the body closed.
// The caller closes the body of a successful response. req is not modified.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.Send(req)
	if err != nil {
		return nil, err
	}
	if err := c.checkResponse(resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// Send is Do without judging the status, for calls where a 404 or 409 is an
// answer rather than a failure. Network failures are still classified
// (retryable).
func (c *Client) Send(req *http.Request) (*http.Response, error) {
	req, err := replayable(req)
	if err != nil {
		return nil, err
	}
	if c.auth.Type == schema.AuthDigest {
		return c.sendDigest(req)
	}
	r := req.Clone(req.Context())
	c.applyAuth(r)
	return c.roundTrip(r)
}

// DoJSON sends in (when not nil) as a JSON body to url and decodes a JSON
// answer into out (when not nil). Errors are classified as for Do.
func (c *Client) DoJSON(ctx context.Context, method, url string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return Permanent("encode %s %s request body: %v", method, redactURL(url), err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return Permanent("build %s %s request: %v", method, redactURL(url), err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONResponse))
	if err != nil {
		return Retryable("read %s %s response: %v", method, redactURL(url), err)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return Permanent("decode %s %s response (%s): %v: %s", method, redactURL(url), resp.Status, err, snippet(data))
	}
	return nil
}

// replayable makes sure req's body can be sent more than once: a digest
// challenge means sending the request again.
func replayable(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody || req.GetBody != nil {
		return req, nil
	}
	data, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, Permanent("read %s %s request body: %v", req.Method, redactURL(req.URL.String()), err)
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	r.ContentLength = int64(len(data))
	return r, nil
}

// fresh returns a copy of req with an unread body, ready to send again.
func fresh(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, Permanent("rewind %s %s request body: %v", req.Method, redactURL(req.URL.String()), err)
		}
		r.Body = body
	}
	return r, nil
}

// applyAuth attaches every scheme but digest, which needs a challenge.
func (c *Client) applyAuth(r *http.Request) {
	a := c.auth
	switch a.Type {
	case schema.AuthBasic:
		r.SetBasicAuth(a.Username, a.Password)
	case schema.AuthAPIKey:
		if a.APIKeySpec.In == schema.InQuery {
			q := r.URL.Query()
			q.Set(a.APIKeySpec.Name, a.APIKey)
			r.URL.RawQuery = q.Encode()
		} else {
			name := a.APIKeySpec.Name
			if name == "" {
				name = "Authorization"
			}
			r.Header.Set(name, a.APIKeySpec.Prefix+a.APIKey)
		}
	case schema.AuthBearer:
		r.Header.Set("Authorization", "Bearer "+a.Token)
	case schema.AuthOAuth2:
		// Providers return token_type in any case ("bearer"); RFC 6750
		// spells the scheme "Bearer", which every server accepts.
		typ := a.TokenType
		if typ == "" || strings.EqualFold(typ, "bearer") {
			typ = "Bearer"
		}
		r.Header.Set("Authorization", typ+" "+a.Token)
	case schema.AuthSession:
		for k, v := range a.Headers {
			r.Header.Set(k, v)
		}
		for _, name := range sortedKeys(a.Cookies) {
			r.AddCookie(&http.Cookie{Name: name, Value: a.Cookies[name]})
		}
		if len(a.Query) > 0 {
			q := r.URL.Query()
			for k, v := range a.Query {
				q.Set(k, v)
			}
			r.URL.RawQuery = q.Encode()
		}
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// roundTrip sends r and classifies a failure to get an answer as
// retryable: the third party may be back on the next attempt. Messages name
// the URL without its query, which may hold an API key.
func (c *Client) roundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.hc.Do(r)
	if err == nil {
		return resp, nil
	}
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err
	}
	// The cause is the error inside *url.Error, whose own message
	// repeats the full URL.
	e := fault.Retryablef("%s %s: %v", r.Method, redactURL(r.URL.String()), cause)
	e.Cause = cause
	return nil, e
}

// CheckResponse classifies a third party's answer: nil below 400, otherwise
// an error whose kind tells the host what to do, carrying the status and a
// message from the body (the body is read and closed):
//
//	401                       auth expired (the host refreshes, then retries)
//	403                       permanent
//	429                       rate limited, waiting for Retry-After
//	408 425 500 502 503 504   retryable, honouring Retry-After
//	other 5xx but 501, 505    retryable
//	400 422                   invalid input, with the body's message and
//	                          per-field errors when it lists them
//	other 4xx, 501, 505       permanent
func CheckResponse(resp *http.Response) error {
	return checkResponse(resp, time.Now())
}

func (c *Client) checkResponse(resp *http.Response) error { return checkResponse(resp, c.now()) }

func checkResponse(resp *http.Response, now time.Time) error {
	if resp.StatusCode < 400 {
		return nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	// Drain a little more so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))

	where := resp.Status
	if resp.Request != nil {
		where = resp.Request.Method + " " + redactURL(resp.Request.URL.String()) + ": " + resp.Status
	}
	message, violations := errorMessage(body)
	text := where
	if message != "" {
		text += ": " + message
	}
	retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"), now)

	var e *fault.Error
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized:
		e = fault.AuthExpiredf("%s", text)
	case code == http.StatusTooManyRequests:
		e = fault.RateLimitedf(retryAfter, "%s", text)
	case code == http.StatusRequestTimeout || code == http.StatusTooEarly ||
		(code >= 500 && code != http.StatusNotImplemented && code != http.StatusHTTPVersionNotSupported):
		e = fault.Retryablef("%s", text)
		e.RetryAfter = retryAfter
	case code == http.StatusBadRequest || code == http.StatusUnprocessableEntity:
		e = fault.Invalid(text, violations...)
	default:
		e = fault.Permanentf("%s", text)
	}
	e.HTTPStatus = resp.StatusCode
	return e
}

// parseRetryAfter reads delta-seconds (fractions too: some APIs send "2.0")
// or an HTTP-date; anything else, or a time already past, is zero.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(secs) || math.IsInf(secs, 0) || secs <= 0 {
			return 0
		}
		// Compare in seconds first: a huge value overflows a Duration.
		if secs >= maxRetryAfter.Seconds() {
			return maxRetryAfter
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d.Round(time.Second), maxRetryAfter)
		}
	}
	return 0
}

// maxRetryAfter caps what a third party can ask hub to wait: a Retry-After
// of years is a bug on their side, and waiting a week already exceeds any
// retry budget, so the step is dead-lettered rather than parked forever.
const maxRetryAfter = 7 * 24 * time.Hour

// maxViolations bounds the field errors taken from one error body.
const maxViolations = 50

// errorMessage finds the human message in an error body: the common JSON
// shapes ({"message"}, {"error"}, {"error": {"message"}},
// {"error_description"}, {"detail"}, {"errors"}), else the body itself,
// truncated. Field errors listed as {"errors": {"field": ["msg"]}} become
// violations.
func errorMessage(body []byte) (string, []fault.Violation) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return "", nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(trimmed, &obj) != nil {
		return snippet(trimmed), nil
	}
	var violations []fault.Violation
	if raw, ok := obj["errors"]; ok {
		var fields map[string]json.RawMessage
		if json.Unmarshal(raw, &fields) == nil {
			for _, name := range sortedRawKeys(fields) {
				for _, msg := range stringsOf(fields[name]) {
					// A third party's body decides how many there are:
					// keep the first few, each readable, none empty.
					if msg != "" && len(violations) < maxViolations {
						violations = append(violations, fault.Violation{Path: name, Message: snippet([]byte(msg))})
					}
				}
			}
		}
	}
	for _, key := range []string{"message", "error_description", "error", "detail", "title"} {
		raw, ok := obj[key]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			return snippet([]byte(s)), violations
		}
		var nested struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &nested) == nil && nested.Message != "" {
			return snippet([]byte(nested.Message)), violations
		}
	}
	if raw, ok := obj["errors"]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return snippet([]byte(s)), violations
		}
		return snippet(raw), violations
	}
	return snippet(trimmed), violations
}

func sortedRawKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// stringsOf reads a JSON string or list of strings.
func stringsOf(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	return nil
}

// snippet is b as text, cut to maxErrorSnippet bytes on a rune boundary.
func snippet(b []byte) string {
	if len(b) <= maxErrorSnippet {
		return string(b)
	}
	cut := maxErrorSnippet
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut]) + fmt.Sprintf("… (%d bytes)", len(b))
}

// redactURL drops the query and any user info, where credentials travel.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			return raw[:i]
		}
		return raw
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment = nil, "", false, ""
	return u.String()
}
