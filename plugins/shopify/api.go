package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/fault"
)

// props are a connection's custom properties.
type props struct {
	Shop       string `json:"shop"`
	APIVersion string `json:"api_version"`
	BaseURL    string `json:"base_url"`
}

// api is one call's view of a shop's REST Admin API.
type api struct {
	http *sdk.Client
	log  hclog.Logger
	shop string
	// base is the Admin API root, e.g. https://acme.myshopify.com/admin/api/2025-07.
	base string
	// origin is the scheme and host every request, including the Link
	// URLs Shopify hands back, must go to: the access token goes with them.
	origin string
}

var (
	apiVersionRE = regexp.MustCompile(`^(\d{4}-\d{2}|unstable)$`)
	shopRE       = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$`)
)

// newAPI reads the connection's properties into an API client.
func newAPI(c *sdk.Conn) (*api, error) {
	var p props
	if err := c.Properties(&p); err != nil {
		return nil, err
	}
	shop, err := shopDomain(p.Shop)
	if err != nil {
		return nil, sdk.Invalid("shop is not a myshopify domain", sdk.Violation{Path: "shop", Message: err.Error()})
	}
	version := p.APIVersion
	if version == "" {
		version = defaultAPIVersion
	}
	if !apiVersionRE.MatchString(version) {
		return nil, sdk.Invalid("api_version is not an Admin API version", sdk.Violation{Path: "api_version", Message: `expected YYYY-MM, e.g. "2025-07"`})
	}
	root := "https://" + shop
	if p.BaseURL != "" {
		u, err := url.Parse(p.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, sdk.Invalid("base_url is not usable", sdk.Violation{Path: "base_url", Message: "expected an http or https URL"})
		}
		root = strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/")
	}
	u, _ := url.Parse(root) // built from parts checked above
	return &api{http: c.HTTP(), log: c.Logger(), shop: shop, base: root + "/admin/api/" + version, origin: u.Scheme + "://" + u.Host}, nil
}

// shopDomain accepts "acme.myshopify.com", "https://acme.myshopify.com/" or
// a bare "acme".
func shopDomain(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	s = strings.TrimSuffix(s, "/")
	if !shopRE.MatchString(s) {
		return "", fmt.Errorf("%q is not a host name such as acme.myshopify.com", s)
	}
	if !strings.Contains(s, ".") {
		s += ".myshopify.com"
	}
	return s, nil
}

// endpoint is the URL of a REST resource, e.g. endpoint("orders.json", q).
func (a *api) endpoint(path string, q url.Values) string {
	u := a.base + "/" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// call sends in (when not nil) as JSON and decodes a JSON answer into out
// (when not nil), returning the answer's headers. Failures come back
// classified by the SDK (401 auth expired, 429 rate limited with
// Retry-After, 5xx retryable, 400/422 invalid input, other 4xx permanent).
func (a *api) call(ctx context.Context, method, rawURL string, in, out any) (http.Header, error) {
	if !strings.HasPrefix(rawURL, a.origin+"/") {
		// A Link from a compromised or misconfigured answer must not
		// carry the access token to another host.
		return nil, sdk.Permanent("refusing to call %s: not on %s", redact(rawURL), a.origin)
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, sdk.Permanent("encode %s %s request: %v", method, redact(rawURL), err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return nil, sdk.Permanent("build %s %s request: %v", method, redact(rawURL), err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	a.logCallLimit(method, req.URL.Path, resp.Header.Get("X-Shopify-Shop-Api-Call-Limit"))
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, sdk.Retryable("read %s %s answer: %v", method, redact(rawURL), err)
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			// A 2xx whose body is not JSON is a cut-off or proxied
			// answer, not a verdict on the request: try again later.
			// Creates stay safe to repeat (see create_order).
			return nil, sdk.Retryable("decode %s %s answer (%s): %v", method, redact(rawURL), resp.Status, err)
		}
	}
	return resp.Header, nil
}

// logCallLimit reports the REST call-limit bucket ("32/40": 32 used of 40)
// at debug level, so an operator can see a connection nearing its limit.
func (a *api) logCallLimit(method, path, v string) {
	used, size, ok := strings.Cut(v, "/")
	if !ok {
		return
	}
	u, err1 := strconv.Atoi(strings.TrimSpace(used))
	s, err2 := strconv.Atoi(strings.TrimSpace(size))
	if err1 != nil || err2 != nil {
		return
	}
	a.log.Debug("shopify call limit", "method", method, "path", path, "used", u, "size", s)
}

// notFound reports whether err is Shopify's 404 answer.
func notFound(err error) bool {
	e := fault.As(err)
	return e != nil && e.HTTPStatus == http.StatusNotFound
}

// redact drops the query of a URL for messages; page_info and filters are
// not secret, but messages stay short and uniform.
func redact(raw string) string {
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		return raw[:i]
	}
	return raw
}

// linkRE matches one entry of a Link header: <url>; rel="name". The URL is
// matched up to its closing '>' because Shopify's URLs carry commas
// (fields=a,b), so splitting the header on commas would cut them.
var linkRE = regexp.MustCompile(`<([^<>]+)>\s*;\s*rel="?([^",;\s]+)"?`)

// nextLink returns the rel="next" URL of a Link header, exactly as given
// (Shopify requires page_info to be used unmodified), or "" when there is
// none. Entries that do not parse are ignored.
func nextLink(h http.Header) string {
	for _, v := range h.Values("Link") {
		for _, m := range linkRE.FindAllStringSubmatch(v, -1) {
			if m[2] == "next" {
				return m[1]
			}
		}
	}
	return ""
}
