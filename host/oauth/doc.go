// Package oauth owns hub's OAuth 2.0 client side: it obtains, stores,
// refreshes and revokes-by-reauthorisation the access tokens that the host
// passes to connector plugins (wire.Auth with Type "oauth2").
//
// A Manager holds one Client per OAuth connection (replaced as a set by
// Register after hub apply). It supports three grants: authorization code
// (RFC 6749 §4.1, with PKCE per RFC 7636 always on for public clients),
// client credentials (RFC 6749 §4.4) and the device authorization grant
// (RFC 8628). Tokens persist through a TokenStore; the package does not
// encrypt them itself, the store does.
//
// Token returns a token that is valid for at least RefreshSkew, refreshing
// it first when needed. Refreshes are single-flight per connection, and a
// rotated refresh token is saved to the store before the new access token
// is handed out, because the server has already invalidated the old one:
// losing the new one would force a human to log in again.
//
// Handler serves the browser side of the authorization code grant:
// /oauth/{connection}/login and /oauth/{connection}/callback. The login
// endpoint binds whoever completes the provider's consent screen to the
// connection, so the host must mount it behind its own authentication; the
// callback needs none, because it only accepts a state this Manager issued.
//
// The package never writes a token, code, verifier or client secret to a
// log line or an error string; it logs connection names and expiry times.
package oauth
