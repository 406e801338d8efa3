package oauth

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Grant types a Client may use, named as in RFC 6749 and RFC 8628.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantClientCredentials = "client_credentials"
	GrantDeviceCode        = "device_code"
)

// Token endpoint authentication methods a confidential Client may name,
// as RFC 7591 §2 names them.
const (
	// AuthMethodBasic sends client_id and client_secret in an HTTP Basic
	// Authorization header (RFC 6749 §2.3.1).
	AuthMethodBasic = "client_secret_basic"
	// AuthMethodPost sends them in the request body.
	AuthMethodPost = "client_secret_post"
)

// Client is one OAuth connection: the application registered at a provider
// and how hub obtains tokens for it.
type Client struct {
	// Name is the connection's name; it appears in the login and callback
	// URLs and is the key in the TokenStore.
	Name string
	// ClientID and ClientSecret identify the application at the provider.
	// A client without a secret is public.
	ClientID     string
	ClientSecret string
	// Scopes requested at authorization (or at the token endpoint for
	// client credentials).
	Scopes []string
	// Grant is GrantAuthorizationCode, GrantClientCredentials or
	// GrantDeviceCode.
	Grant string
	// AuthURL is the authorization endpoint (authorization code grant).
	AuthURL string
	// TokenURL is the token endpoint (every grant).
	TokenURL string
	// DeviceURL is the device authorization endpoint (device grant).
	DeviceURL string
	// RedirectURL overrides the default <BaseURL>/oauth/<Name>/callback.
	// It must be the default or listed in AllowedRedirects.
	RedirectURL string
	// AllowedRedirects lists further redirect URLs this client may use,
	// compared exactly: a loopback URL or a custom scheme such as
	// com.example.hub:/oauth/callback for a native app that hands the
	// callback to the host.
	AllowedRedirects []string
	// PKCE is ignored: every authorization code login, public or
	// confidential client, sends an RFC 7636 S256 code challenge, as RFC
	// 9700 §2.1.1 recommends.
	//
	// Deprecated: PKCE is always on; the field will be removed.
	PKCE bool
	// TokenEndpointAuthMethod is how a confidential client authenticates
	// at the token and device authorization endpoints: AuthMethodBasic,
	// AuthMethodPost, or empty to detect it (HTTP Basic first, then the
	// body if the server refuses that) and remember what worked. A
	// public client always sends its client_id in the body.
	TokenEndpointAuthMethod string
}

// public reports whether the client has no secret to authenticate with.
func (c *Client) public() bool { return c.ClientSecret == "" }

// binding is the client the tokens this Client obtains are issued to.
func (c *Client) binding() Binding {
	return Binding{ClientID: c.ClientID, TokenURL: c.TokenURL}
}

// secureEndpoint refuses an endpoint that would carry client secrets,
// codes or tokens in clear over a network: https, or plain http only to
// this machine (RFC 6749 §3.1, §3.2).
func secureEndpoint(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http":
		host := u.Hostname()
		if host == "localhost" {
			return nil
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return nil
		}
		return fmt.Errorf("%q is plain http: use https (plain http only to this machine)", raw)
	}
	return fmt.Errorf("%q: want an https URL", raw)
}

// callbackURL is the host's own callback URL for a connection.
func callbackURL(baseURL, connection string) string {
	return baseURL + "/oauth/" + url.PathEscape(connection) + "/callback"
}

// validate checks a client against the grant's needs and returns the
// redirect URL it will use (empty for grants without one).
func (c *Client) validate(baseURL string) (string, error) {
	if c.Name == "" {
		return "", errors.New("connection name is empty")
	}
	if c.ClientID == "" {
		return "", errors.New("client_id is empty")
	}
	if c.TokenURL == "" {
		return "", errors.New("token_url is empty")
	}
	for _, e := range []struct{ name, url string }{{"token_url", c.TokenURL}, {"authorization_url", c.AuthURL}, {"device_authorization_url", c.DeviceURL}} {
		if err := secureEndpoint(e.url); err != nil {
			return "", fmt.Errorf("%s: %w", e.name, err)
		}
	}
	switch c.TokenEndpointAuthMethod {
	case "", AuthMethodBasic, AuthMethodPost:
	default:
		return "", fmt.Errorf("token_endpoint_auth_method %q: want %s or %s", c.TokenEndpointAuthMethod, AuthMethodBasic, AuthMethodPost)
	}
	if c.TokenEndpointAuthMethod != "" && c.public() {
		return "", fmt.Errorf("token_endpoint_auth_method %s needs a client_secret", c.TokenEndpointAuthMethod)
	}
	switch c.Grant {
	case GrantAuthorizationCode:
		if c.AuthURL == "" {
			return "", errors.New("authorization_url is empty")
		}
		own := callbackURL(baseURL, c.Name)
		redirect := c.RedirectURL
		if redirect == "" {
			if baseURL == "" {
				return "", errors.New("no redirect_uri and the host has no public URL to build one")
			}
			redirect = own
		}
		if redirect != own && !slices.Contains(c.AllowedRedirects, redirect) {
			return "", fmt.Errorf("redirect_uri %q is neither the host's callback %q nor an allowed redirect", redirect, own)
		}
		if _, err := url.Parse(redirect); err != nil {
			return "", fmt.Errorf("redirect_uri: %w", err)
		}
		return redirect, nil
	case GrantClientCredentials:
		if c.public() {
			return "", errors.New("client_credentials needs a client_secret")
		}
		return "", nil
	case GrantDeviceCode:
		if c.DeviceURL == "" {
			return "", errors.New("device_authorization_url is empty")
		}
		return "", nil
	default:
		return "", fmt.Errorf("unknown grant %q (want %s, %s or %s)", c.Grant, GrantAuthorizationCode, GrantClientCredentials, GrantDeviceCode)
	}
}

// config is the x/oauth2 configuration for the code, refresh and device
// requests, authenticating with style.
func (c *Client) config(redirectURL string, style oauth2.AuthStyle) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:       c.AuthURL,
			TokenURL:      c.TokenURL,
			DeviceAuthURL: c.DeviceURL,
			AuthStyle:     style,
		},
		RedirectURL: redirectURL,
		Scopes:      slices.Clone(c.Scopes),
	}
}

// credentials is the x/oauth2 configuration for the client credentials
// grant (and the device access token request), authenticating with style.
func (c *Client) credentials(style oauth2.AuthStyle) *clientcredentials.Config {
	return &clientcredentials.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		TokenURL:     c.TokenURL,
		Scopes:       slices.Clone(c.Scopes),
		AuthStyle:    style,
	}
}
