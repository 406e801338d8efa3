package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"golang.org/x/oauth2"

	"github.com/hubhq/hub/host/engine"
	"github.com/hubhq/hub/host/oauth"
	"github.com/hubhq/hub/host/secrets"
	"github.com/hubhq/hub/host/server"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
)

// TokenVault keeps OAuth tokens in the encrypted secret store, under the
// host's own names oauth/<connection>/token.
type TokenVault struct{ Store *secrets.Store }

func tokenName(connection string) string { return secrets.HostPrefix + connection + "/token" }

// storedToken is a token as kept in the vault, with the client it was
// issued to (empty in records written before hub kept it).
type storedToken struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	ClientID     string    `json:"client_id,omitempty"`
	TokenURL     string    `json:"token_url,omitempty"`
}

// Load implements oauth.TokenStore.
func (v TokenVault) Load(ctx context.Context, connection string) (*oauth2.Token, error) {
	t, _, err := v.LoadBound(ctx, connection)
	return t, err
}

// LoadBound implements oauth.BoundStore: the token and the client it was
// issued to, so the manager never sends it to another client's endpoint
// after a restart.
func (v TokenVault) LoadBound(_ context.Context, connection string) (*oauth2.Token, oauth.Binding, error) {
	raw, ok, err := v.Store.Get(tokenName(connection))
	if err != nil || !ok {
		return nil, oauth.Binding{}, err
	}
	var st storedToken
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return nil, oauth.Binding{}, fmt.Errorf("the stored token of %s cannot be read: %w", connection, err)
	}
	t := &oauth2.Token{AccessToken: st.AccessToken, TokenType: st.TokenType, RefreshToken: st.RefreshToken, Expiry: st.Expiry}
	return t, oauth.Binding{ClientID: st.ClientID, TokenURL: st.TokenURL}, nil
}

// Save implements oauth.TokenStore; the token is stored without a
// binding.
func (v TokenVault) Save(ctx context.Context, connection string, t *oauth2.Token) error {
	return v.SaveBound(ctx, connection, t, oauth.Binding{})
}

// SaveBound implements oauth.BoundStore: the token and its binding in
// one write to the secret store.
func (v TokenVault) SaveBound(_ context.Context, connection string, t *oauth2.Token, b oauth.Binding) error {
	enc, err := json.Marshal(storedToken{AccessToken: t.AccessToken, TokenType: t.TokenType, RefreshToken: t.RefreshToken, Expiry: t.Expiry,
		ClientID: b.ClientID, TokenURL: b.TokenURL})
	if err != nil {
		return fmt.Errorf("encode the token of %s: %w", connection, err)
	}
	return v.Store.Set(tokenName(connection), string(enc))
}

// EngineOAuth lets the engine take access tokens from an oauth.Manager,
// with its errors classified for retries and dead letters.
type EngineOAuth struct{ M *oauth.Manager }

// Token implements engine.OAuth.
func (o EngineOAuth) Token(ctx context.Context, connection string) (engine.Token, error) {
	t, err := o.M.Token(ctx, connection)
	if err != nil {
		return engine.Token{}, classify(connection, err)
	}
	return engine.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, Expiry: t.Expiry}, nil
}

// Invalidate implements engine.OAuth.
func (o EngineOAuth) Invalidate(ctx context.Context, connection, used string) error {
	if err := o.M.Invalidate(ctx, connection, used); err != nil {
		return classify(connection, err)
	}
	return nil
}

// Status implements engine.OAuth. When the manager cannot say (the
// stored token cannot be read, the client is not registered) the
// connection is failing with a Reason that says so: the state alone
// would read as a token that exists and whose last call failed.
func (o EngineOAuth) Status(ctx context.Context, connection string) (state, reason string) {
	st, err := o.M.Status(ctx, connection)
	switch {
	case errors.Is(err, oauth.ErrUnknownConnection):
		return "failing", "its oauth2 client is not registered with the host"
	case err != nil:
		return "failing", fmt.Sprintf("cannot read the stored token (%v); hub connect %s stores a new one", err, connection)
	}
	if st.Status == oauth.StatusConnected {
		return "ok", ""
	}
	return string(st.Status), st.Reason
}

// EngineOAuthError classifies an error of the OAuth provider as the
// engine sees it (see classify).
func EngineOAuthError(connection string, err error) error { return classify(connection, err) }

// classify turns the provider's errors into fault kinds: a grant to
// renew is auth_expired (the run waits in the dead-letter queue until
// hub connect), a provider that is down is retryable.
func classify(connection string, err error) error {
	var reauth *oauth.ReauthRequired
	if errors.As(err, &reauth) {
		return fault.AuthExpiredf("connection %s needs authorisation (%s): run hub connect %s", connection, reauth.Reason, connection)
	}
	var pe *oauth.ProviderError
	if errors.As(err, &pe) && pe.HTTPStatus > 0 && pe.HTTPStatus < 500 && pe.HTTPStatus != 429 {
		return fault.AuthExpiredf("connection %s: the authorization server refused: %v", connection, err)
	}
	return fault.Retryablef("connection %s: getting an access token failed: %v", connection, err)
}

// registerOAuth registers rt's oauth2 connections with the OAuth
// provider (endpoints from the connector's schema unless the auth block
// overrides them), each on its own: a connection whose client cannot be
// built now (its connector's schema cannot be read, a secret it reads is
// not set, a setting is invalid) keeps the client it had registered, if
// any, and is pending; the others are registered all the same. Pending
// connections are shown as failing in their status, and tried again by
// every ReloadSecrets and by WatchSecrets' timer. The error, nil when
// none is pending, joins why each is. The caller holds d.mu.
func (d *Deployer) registerOAuth(ctx context.Context, rt *engine.Runtime) error {
	if d.opts.OAuth == nil {
		return nil
	}
	conns, failed := rt.OAuthConnectionsEach()
	pending := map[string]error{}
	for name, err := range failed {
		pending[name] = err
	}
	next := map[string]oauth.Client{}
	for _, oc := range conns {
		c, err := d.oauthClient(ctx, oc)
		if err == nil {
			err = d.opts.OAuth.Check([]oauth.Client{c})
		}
		if err != nil {
			pending[oc.Name] = err
			continue
		}
		next[oc.Name] = c
	}
	for name := range pending {
		if old, ok := d.registered[name]; ok {
			next[name] = old
		}
	}
	clients := make([]oauth.Client, 0, len(next))
	for _, c := range next {
		clients = append(clients, c)
	}
	sort.Slice(clients, func(i, k int) bool { return clients[i].Name < clients[k].Name })
	if err := d.opts.OAuth.Register(clients); err != nil {
		// Each client passed Check on its own: nothing was changed.
		return fmt.Errorf("oauth2 connections: %v: %w", err, server.ErrInvalid)
	}
	d.registered = next
	d.notePending(pending)
	if len(pending) == 0 {
		return nil
	}
	names := make([]string, 0, len(pending))
	for name := range pending {
		names = append(names, name)
	}
	sort.Strings(names)
	errs := make([]error, len(names))
	for i, name := range names {
		errs[i] = fmt.Errorf("connection %s: %w", name, pending[name])
	}
	return errors.Join(errs...)
}

// notePending makes pending the connections whose registration is
// pending, shows them in the engine's connection status, and logs each
// new or changed reason once (a reload runs on every change to the
// secret store, a token saved included).
func (d *Deployer) notePending(pending map[string]error) {
	for name, err := range pending {
		if prev, ok := d.pending[name]; ok && prev.Error() == err.Error() {
			continue
		}
		_, kept := d.registered[name]
		d.opts.Logger.Error("an oauth2 client cannot be registered with its current settings; it is tried again on every change to the secret store and every minute", "connection", name, "keeps_previous_client", kept, "error", err)
	}
	for name := range d.pending {
		if _, ok := pending[name]; !ok {
			d.opts.Logger.Info("oauth2 client registered with its current settings", "connection", name)
		}
	}
	d.pending = pending
	if d.opts.Engine != nil {
		d.opts.Engine.SetOAuthPending(pending)
	}
}

// checkOAuth validates rt's oauth2 connections without registering them.
func (d *Deployer) checkOAuth(ctx context.Context, rt *engine.Runtime) error {
	clients, err := d.oauthClients(ctx, rt)
	if err != nil || d.opts.OAuth == nil {
		return err
	}
	if err := d.opts.OAuth.Check(clients); err != nil {
		return fmt.Errorf("oauth2 connections: %v: %w", err, server.ErrInvalid)
	}
	return nil
}

// oauthClients builds the OAuth clients of rt's oauth2 connections.
func (d *Deployer) oauthClients(ctx context.Context, rt *engine.Runtime) ([]oauth.Client, error) {
	if d.opts.OAuth == nil {
		return nil, nil
	}
	conns, err := rt.OAuthConnections()
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, server.ErrInvalid)
	}
	var clients []oauth.Client
	for _, oc := range conns {
		c, err := d.oauthClient(ctx, oc)
		if err != nil {
			return nil, err
		}
		clients = append(clients, c)
	}
	return clients, nil
}

// oauthClient builds the OAuth client of one oauth2 connection, with the
// endpoints of its connector's schema unless the auth block overrides
// them.
func (d *Deployer) oauthClient(ctx context.Context, oc engine.OAuthConn) (oauth.Client, error) {
	var spec schema.OAuth2Spec
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	sc, err := d.opts.Connector(oc.Connector).Schema(cctx)
	cancel()
	if err != nil {
		return oauth.Client{}, fmt.Errorf("connection %s: connector schema: %w", oc.Name, err)
	}
	for _, a := range sc.Auth {
		if a.Type == schema.AuthOAuth2 && a.OAuth2 != nil {
			spec = *a.OAuth2
		}
	}
	pick := func(attr, def string) string {
		if v := oc.Attrs[attr]; v != "" {
			return v
		}
		return def
	}
	c := oauth.Client{
		Name: oc.Name, ClientID: oc.Attrs["client_id"], ClientSecret: oc.Attrs["client_secret"],
		Scopes: oc.Scopes, Grant: pick("grant", defaultGrant(spec.Grants)),
		AuthURL: pick("authorization_url", spec.AuthorizationURL), TokenURL: pick("token_url", spec.TokenURL),
		DeviceURL: pick("device_authorization_url", spec.DeviceAuthorizationURL), RedirectURL: oc.Attrs["redirect_uri"],
		AllowedRedirects: oc.AllowedRedirects, TokenEndpointAuthMethod: oc.Attrs["token_endpoint_auth_method"],
	}
	if len(c.Scopes) == 0 {
		c.Scopes = spec.DefaultScopes
	}
	return c, nil
}

func defaultGrant(grants []string) string {
	for _, g := range grants {
		if g == oauth.GrantAuthorizationCode || g == oauth.GrantClientCredentials || g == oauth.GrantDeviceCode {
			return g
		}
	}
	return oauth.GrantAuthorizationCode
}
