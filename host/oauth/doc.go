// Package oauth owns hub's OAuth 2.0 client side: it obtains, stores,
// refreshes and revokes-by-reauthorisation the access tokens that the host
// passes to connector plugins (wire.Auth with Type "oauth2").
//
// A Manager holds one Client per OAuth connection (replaced as a set by
// Register after hub apply). It supports three grants: authorization code
// (RFC 6749 §4.1, with S256 PKCE per RFC 7636 for every client, public or
// confidential, as RFC 9700 §2.1.1 recommends), client credentials (RFC
// 6749 §4.4) and the device authorization grant (RFC 8628). Tokens persist
// through a TokenStore; the package does not encrypt them itself, the
// store does.
//
// A token is bound to the client that obtained it (client_id and
// token_url, kept with the token by a BoundStore): when Register changes
// either, the old client's access and refresh tokens are sent nowhere, the
// connection needs a new login (client credentials simply fetch a new
// token), and logins in progress for the old client end.
//
// A connection has at most one login in progress. A new authorization code
// login replaces the older one; a device login started while one is
// pending shows the pending user code again, unless it is about to expire.
// While a login is pending Status says so, so that whoever started it can
// tell its success from an older token's. Device polling rides out network
// errors and server errors (RFC 8628 §3.5), a bounded number in a row.
//
// A confidential client authenticates at the token and device
// authorization endpoints as its TokenEndpointAuthMethod says
// (client_secret_basic or client_secret_post), or, when that is empty,
// with HTTP Basic first and the request body only if the server refuses
// the client's authentication (invalid_client, HTTP 401, or
// invalid_request, which a server that reads no HTTP Basic header answers
// for want of a client_id). Any other answer, authorization_pending and
// invalid_grant included, shows the client was authenticated: the request
// is not repeated, and the style is remembered for the client_id and
// token_url, so each later request, each device poll included, is sent
// once. The body is remembered only if it was accepted (a token,
// authorization_pending or slow_down); if it fails too, the error gives
// both answers. Once a style is settled only invalid_client or HTTP 401
// unsettles it: invalid_request then is about the request (a
// code_verifier or redirect_uri that does not match), and repeating it
// would send a code or refresh token the server may have spent.
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
// Because anyone can call it, callbacks with a state it did not issue get
// one generic answer and are counted in the log, at most once a minute,
// rather than logged one by one.
//
// The package never writes a token, code, verifier or client secret to a
// log line or an error string; it logs connection names and expiry times.
// What a provider says (error and error_description from its endpoints
// or the callback) keeps only the characters RFC 6749 §5.2 allows, at
// most 200, with any secret the request carried replaced by [redacted],
// before it reaches an error, a Reason or the log: some providers echo
// the refresh token or code they refuse.
package oauth
