package sdk

import (
	"encoding/json"
	"net/http"

	"github.com/hashicorp/go-hclog"

	"github.com/hubhq/hub/sdk/wire"
)

// Conn is the connection a call runs against: credentials, validated custom
// properties and environment. A Conn lives for one call; connectors keep no
// state between calls (the host owns it).
type Conn struct {
	wire   wire.Connection
	props  json.RawMessage
	logger hclog.Logger
	http   *Client
}

// newConn builds a call's Conn; auth is the connection's auth completed
// from the declaration where the host left parts out. digests is the
// plugin's Digest state, shared by every call, so a connection's sessions
// outlive the call that started them and later calls draw no challenge.
func newConn(wc wire.Connection, auth wire.Auth, props json.RawMessage, logger hclog.Logger, base *http.Client, digests *digestCache) *Conn {
	wc.Auth = auth
	return &Conn{
		wire:   wc,
		props:  props,
		logger: logger.With("connection", wc.Name),
		http:   newClient(auth, base, digests),
	}
}

// Name is the operator's name for the connection.
func (c *Conn) Name() string { return c.wire.Name }

// Tenant is the organisation or end user the connection belongs to.
func (c *Conn) Tenant() string { return c.wire.Tenant }

// Environment is the workspace environment, e.g. "sandbox" or "live".
func (c *Conn) Environment() string { return c.wire.Environment }

// Properties decodes the connection's custom properties, validated against
// Connector.Properties with defaults filled in, into v.
func (c *Conn) Properties(v any) error {
	if err := json.Unmarshal(c.props, v); err != nil {
		return Permanent("decode connection properties into %T: %v", v, err)
	}
	return nil
}

// Env returns an environment variable configured for this connector version
// (not the plugin process's own environment, which the host controls).
func (c *Conn) Env(name string) string { return c.wire.Env[name] }

// Auth returns the connection's credentials, for third parties whose auth
// the HTTP client cannot apply by itself (e.g. request signing).
func (c *Conn) Auth() Auth { return c.wire.Auth }

// HTTP returns a client that applies the connection's auth to every
// request and classifies the third party's answers.
func (c *Conn) HTTP() *Client { return c.http }

// Logger logs to the host, which records lines with the run. Never log
// credentials.
func (c *Conn) Logger() hclog.Logger { return c.logger }
