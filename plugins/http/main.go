// Command hub-connector-http is hub's no-code connector: it reaches any
// REST API described entirely in a workspace's HCL. The connection holds
// the base URL, default headers and auth; each step says which path to call
// with what query, headers and JSON body (HCL templates and expressions do
// the mapping) and what to pick out of the answer; a poll trigger says
// where the list of items and their ids and cursor are; a webhook trigger
// says how deliveries are signed; a stream trigger says how a WebSocket
// feed's messages carry events and positions. docs/no-code.md builds a warehouse
// integration with it from scratch.
package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

// version is set at build time with -ldflags "-X main.version=1.2.3".
var version = "1.0.0"

func main() { sdk.Serve(connector()) }

// connector declares the http connector with the real clock.
func connector() *sdk.Connector { return newConnector(time.Now) }

// newConnector declares the connector; now is the clock webhook
// timestamps are judged against, a parameter so tests can replay
// published vectors signed years ago.
func newConnector(now func() time.Time) *sdk.Connector {
	return declare(&kit{now: now, pingEvery: streamPingEvery})
}

// declare builds the declaration around k's handlers.
func declare(k *kit) *sdk.Connector {
	return &sdk.Connector{
		Name:        "http",
		Version:     version,
		DisplayName: "HTTP (no-code)",
		Description: "Any REST API described in HCL: a base URL, default headers and auth on the connection; path, query, headers and JSON body per step; items, ids and cursor for polling; a signature rule for webhooks; where events and positions sit in a WebSocket stream's messages.",
		Homepage:    "https://github.com/hubhq/hub/tree/main/plugins/http",
		Categories:  []string{"developer-tools", "no-code"},
		Auth:        authSchemes(),
		Properties:  properties(),
		Check:       k.check,
		Login:       k.login,
		Actions: []sdk.Action{
			k.requestAction("get", schema.KindRead, http.MethodGet, []string{http.MethodGet, http.MethodHead},
				"Reads one thing (GET), e.g. an order by id."),
			k.requestAction("search", schema.KindSearch, http.MethodGet, []string{http.MethodGet, http.MethodPost},
				"Looks things up (GET with a query, or POST for APIs that search with a body), e.g. orders by reference."),
			k.requestAction("create", schema.KindCreate, http.MethodPost, []string{http.MethodPost, http.MethodPut},
				"Creates something (POST), sending the step's idempotency key so a retry does not create twice."),
			k.requestAction("update", schema.KindUpdate, http.MethodPatch, []string{http.MethodPatch, http.MethodPut, http.MethodPost},
				"Changes something (PATCH), sending the step's idempotency key."),
			k.requestAction("delete", schema.KindDelete, http.MethodDelete, []string{http.MethodDelete, http.MethodPost},
				"Removes something (DELETE)."),
		},
		Triggers: []sdk.Trigger{k.pollTrigger(), k.webhookTrigger(), k.streamTrigger()},
	}
}

// kit holds what the handlers share: settings, not state, since
// connectors keep no state between calls.
type kit struct {
	now func() time.Time
	// pingEvery is how long a stream may be quiet before the connector
	// pings the server, a parameter so tests need not wait 10 s.
	pingEvery time.Duration
}

// APIKeyHeader is where an API key goes unless the connection's
// api_key_header or api_key_query says otherwise.
const APIKeyHeader = "X-Api-Key"

func authSchemes() []schema.AuthScheme {
	return []schema.AuthScheme{
		{Type: schema.AuthNone, Description: "No credentials, or credentials the connection's headers property carries."},
		{Type: schema.AuthBasic, Description: "HTTP Basic: username and password on every request."},
		{Type: schema.AuthDigest, Description: "HTTP Digest (RFC 7616): the client answers the server's challenge."},
		{Type: schema.AuthAPIKey, Description: "An API key sent as " + APIKeyHeader + "; the connection's api_key_header or api_key_query property sends it elsewhere.",
			APIKey: &schema.APIKeySpec{In: schema.InHeader, Name: APIKeyHeader}},
		{Type: schema.AuthBearer, Description: "A bearer token: Authorization: Bearer <token>."},
		{Type: schema.AuthSession, Description: "A session: the connection's login property says where username and password are exchanged for a token and how the token is sent.",
			Fields: []schema.Field{
				{Name: "username", Type: schema.String, Required: true, Description: "Who logs in; sent as login.username_field."},
				{Name: "password", Type: schema.String, Required: true, Secret: true, Description: "Their password; sent as login.password_field."},
			}},
	}
}

func properties() []schema.Field {
	return []schema.Field{
		{Name: "base_url", Type: schema.String, Required: true, Format: schema.FormatURI,
			Description: "Where the API lives, e.g. https://wms.example.com; every path is appended to it.", Example: sdk.JSON("https://wms.example.com")},
		{Name: "headers", Type: schema.Object, AdditionalProperties: true,
			Description: "Headers sent with every request, name to string value; a step's headers override them.", Example: sdk.JSON(map[string]string{"Accept-Language": "en"})},
		{Name: "timeout", Type: schema.String, Default: sdk.JSON("30s"),
			Description: "How long one request may take, a Go duration (\"30s\", \"2m\")."},
		{Name: "idempotency_header", Type: schema.String, Default: sdk.JSON("Idempotency-Key"),
			Description: "Header carrying the step's idempotency key on create and update; \"\" sends none."},
		{Name: "api_key_header", Type: schema.String,
			Description: "With api_key auth: the header the key goes in instead of " + APIKeyHeader + "."},
		{Name: "api_key_prefix", Type: schema.String,
			Description: "With api_key auth in a header: text before the key, e.g. \"Token \"."},
		{Name: "api_key_query", Type: schema.String,
			Description: "With api_key auth: send the key as this query parameter instead of a header."},
		{Name: "check_path", Type: schema.String,
			Description: "A path that answers 2xx with valid credentials (e.g. /api/me); checking the connection GETs it. Without it, a check only validates the properties."},
		{Name: "login", Type: schema.Object, Description: "With session auth: how to log in.",
			Properties: []schema.Field{
				{Name: "url", Type: schema.String, Required: true, Description: "The login path (appended to base_url) or an absolute URL."},
				{Name: "method", Type: schema.String, Default: sdk.JSON(http.MethodPost), Enum: sdk.Enum(http.MethodPost, http.MethodPut), Description: "The login request's method."},
				{Name: "body", Type: schema.Object, AdditionalProperties: true, Description: "Further fields sent with the credentials, e.g. {grant_type = \"password\"}."},
				{Name: "format", Type: schema.String, Default: sdk.JSON("json"), Enum: sdk.Enum("json", "form"), Description: "Send the login body as JSON or as a URL-encoded form."},
				{Name: "username_field", Type: schema.String, Default: sdk.JSON("username"), Description: "Body field carrying the username."},
				{Name: "password_field", Type: schema.String, Default: sdk.JSON("password"), Description: "Body field carrying the password."},
				{Name: "token_path", Type: schema.String, Required: true, Description: "JSON path of the token in the answer, e.g. \"data.token\"."},
				{Name: "expires_in_path", Type: schema.String, Description: "JSON path of the token's lifetime in seconds, e.g. \"data.expires_in\", recorded as the session's expiry."},
				{Name: "header", Type: schema.String, Default: sdk.JSON("Authorization"), Description: "Header the token is sent in."},
				{Name: "prefix", Type: schema.String, Default: sdk.JSON("Bearer "), Description: "Text before the token in that header."},
			},
			Example: sdk.JSON(map[string]any{"url": "/api/auth/login", "token_path": "data.token"})},
	}
}

// props are a connection's properties.
type props struct {
	BaseURL           string         `json:"base_url"`
	Headers           map[string]any `json:"headers"`
	Timeout           string         `json:"timeout"`
	IdempotencyHeader string         `json:"idempotency_header"`
	APIKeyHeader      string         `json:"api_key_header"`
	APIKeyPrefix      string         `json:"api_key_prefix"`
	APIKeyQuery       string         `json:"api_key_query"`
	CheckPath         string         `json:"check_path"`
	Login             *loginProps    `json:"login"`
}

// endpoint is a connection ready to send requests: its parsed properties
// and the client applying its auth.
type endpoint struct {
	props   props
	base    *url.URL
	timeout time.Duration
	client  *sdk.Client
	// auth is what client applies, for requests it cannot send itself
	// (a WebSocket upgrade).
	auth sdk.Auth
}

// open reads a connection's properties and picks the client for it.
func open(c *sdk.Conn) (*endpoint, error) {
	var p props
	if err := c.Properties(&p); err != nil {
		return nil, err
	}
	base, err := url.Parse(strings.TrimRight(p.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, invalidProperty("base_url", "must be an absolute http or https URL")
	}
	timeout, err := time.ParseDuration(p.Timeout)
	if err != nil || timeout <= 0 {
		return nil, invalidProperty("timeout", "must be a positive duration such as \"30s\"")
	}
	for _, name := range slices.Sorted(maps.Keys(p.Headers)) {
		if _, ok := p.Headers[name].(string); !ok {
			return nil, invalidProperty("headers."+name, "must be a string")
		}
	}
	e := &endpoint{props: p, base: base, timeout: timeout, client: c.HTTP(), auth: c.Auth()}
	if a := c.Auth(); a.Type == schema.AuthAPIKey && (p.APIKeyHeader != "" || p.APIKeyQuery != "" || p.APIKeyPrefix != "") {
		// The SDK places the key where the declaration says; these
		// properties move it, so the connector builds the client itself.
		switch {
		case p.APIKeyQuery != "":
			if p.APIKeyHeader != "" || p.APIKeyPrefix != "" {
				return nil, invalidProperty("api_key_query", "cannot be combined with api_key_header or api_key_prefix")
			}
			a.APIKeySpec = schema.APIKeySpec{In: schema.InQuery, Name: p.APIKeyQuery}
		default:
			name := p.APIKeyHeader
			if name == "" {
				name = APIKeyHeader
			}
			a.APIKeySpec = schema.APIKeySpec{In: schema.InHeader, Name: name, Prefix: p.APIKeyPrefix}
		}
		e.client, e.auth = sdk.NewClient(a, nil), a
	}
	return e, nil
}

// resolve joins a step's path to the base URL. The path must stay on the
// base URL's host: credentials go only where the connection points.
func (e *endpoint) resolve(path, at string) (*url.URL, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, invalidSetting(at, fmt.Sprintf("%q must start with '/' (it is appended to base_url)", path))
	}
	ref, err := url.Parse(path)
	if err != nil {
		return nil, invalidSetting(at, fmt.Sprintf("%q is not a URL path: %v", path, err))
	}
	if ref.Scheme != "" || ref.Host != "" || strings.HasPrefix(path, "//") {
		return nil, invalidSetting(at, fmt.Sprintf("%q names a host; give a path on base_url", path))
	}
	u := *e.base
	u.Path = e.base.Path + ref.Path
	u.RawPath = ""
	if ref.RawPath != "" {
		u.RawPath = e.base.EscapedPath() + ref.RawPath
	}
	u.RawQuery = ref.RawQuery
	u.Fragment = ""
	return &u, nil
}

func (k *kit) check(ctx context.Context, c *sdk.Conn) (string, error) {
	e, err := open(c)
	if err != nil {
		return "", err
	}
	account := e.base.Host
	if e.props.CheckPath == "" {
		return account, nil
	}
	u, err := e.resolve(e.props.CheckPath, "properties.check_path")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", sdk.Permanent("check %s: %v", e.props.CheckPath, err)
	}
	e.defaultHeaders(req)
	resp, err := e.client.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	return account, nil
}

// defaultHeaders sets Accept and the connection's headers.
func (e *endpoint) defaultHeaders(req *http.Request) {
	req.Header.Set("Accept", "application/json")
	for name, v := range e.props.Headers {
		req.Header.Set(name, v.(string)) // open checked they are strings
	}
}

func invalidProperty(name, msg string) error {
	return sdk.Invalid("connection property "+name+" "+msg, sdk.Violation{Path: "properties." + name, Message: msg})
}

func invalidSetting(at, msg string) error {
	return sdk.Invalid(at+": "+msg, sdk.Violation{Path: at, Message: msg})
}
