package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/hubhq/hub/host/engine"
	"github.com/hubhq/hub/host/oauth"
	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/host/secrets"
	"github.com/hubhq/hub/sdk/wire"
)

func vault(t *testing.T) TokenVault {
	t.Helper()
	st, err := secrets.Open(t.TempDir(), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return TokenVault{Store: st}
}

func TestTokenVault_KeepsTheBindingWithTheToken(t *testing.T) {
	v := vault(t)
	ctx := context.Background()
	exp := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tok := &oauth2.Token{AccessToken: "at-1", TokenType: "Bearer", RefreshToken: "rt-1", Expiry: exp}
	b := oauth.Binding{ClientID: "client-a", TokenURL: "https://auth.example.com/token"}
	if err := v.SaveBound(ctx, "shop", tok, b); err != nil {
		t.Fatal(err)
	}
	got, gotB, err := v.LoadBound(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != "at-1" || got.RefreshToken != "rt-1" || got.TokenType != "Bearer" || !got.Expiry.Equal(exp) {
		t.Errorf("token = %+v, want what was saved", got)
	}
	if gotB != b {
		t.Errorf("binding = %+v, want %+v", gotB, b)
	}
	var _ oauth.BoundStore = v // the manager checks for it
}

func TestTokenVault_RecordWithoutBindingLoadsWithAZeroBinding(t *testing.T) {
	v := vault(t)
	ctx := context.Background()
	// As hub wrote tokens before it kept bindings.
	if err := v.Store.Set(tokenName("shop"), `{"access_token":"at-old","refresh_token":"rt-old"}`); err != nil {
		t.Fatal(err)
	}
	got, b, err := v.LoadBound(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != "at-old" || b != (oauth.Binding{}) {
		t.Errorf("LoadBound = %+v, %+v; want the old token and a zero binding", got, b)
	}
	if none, _, err := v.LoadBound(ctx, "other"); none != nil || err != nil {
		t.Errorf("LoadBound of a connection without a token = %v, %v; want nil, nil", none, err)
	}
}

// A stored token the host cannot read is failing with a Reason that says
// so, not a bare "failing" that reads as a connected connection whose
// last call failed.
func TestEngineOAuth_UnreadableTokenIsFailingWithAReason(t *testing.T) {
	v := vault(t)
	m, err := oauth.New(oauth.Options{Store: v})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register([]oauth.Client{{Name: "shop", ClientID: "id", ClientSecret: "s", Grant: oauth.GrantClientCredentials,
		TokenURL: "https://auth.example.com/token"}}); err != nil {
		t.Fatal(err)
	}
	if err := v.Store.Set(tokenName("shop"), "not json"); err != nil {
		t.Fatal(err)
	}

	state, reason := EngineOAuth{M: m}.Status(context.Background(), "shop")
	if state != "failing" || !strings.HasPrefix(reason, "cannot read the stored token") || !strings.Contains(reason, "hub connect shop") {
		t.Errorf("Status = %q, %q; want failing, cannot read the stored token …", state, reason)
	}
	state, reason = EngineOAuth{M: m}.Status(context.Background(), "other")
	if state != "failing" || !strings.Contains(reason, "not registered") {
		t.Errorf("Status of an unregistered connection = %q, %q; want failing, not registered", state, reason)
	}
}

func TestOAuthClient_TakesTokenEndpointAuthMethod(t *testing.T) {
	d := New(Options{Connector: func(registry.Installed) wire.Connector {
		return oauthConnector{tokenURL: "https://auth.example.com/token"}
	}})
	c, err := d.oauthClient(context.Background(), engine.OAuthConn{Name: "api", Attrs: map[string]string{
		"client_id": "hub", "client_secret": "s", "token_endpoint_auth_method": oauth.AuthMethodPost}})
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenEndpointAuthMethod != oauth.AuthMethodPost || c.TokenURL != "https://auth.example.com/token" {
		t.Errorf("client = %+v, want client_secret_post and the schema's token_url", c)
	}
}
