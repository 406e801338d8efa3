package deploy

import (
	"context"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/hubhq/hub/host/oauth"
	"github.com/hubhq/hub/host/secrets"
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
