package deploy

import (
	"context"
	"testing"
)

// A client_secret changed in the secret store reaches the OAuth client:
// after ReloadSecrets the next token request sends the new one, and the
// connection keeps its token meanwhile.
func TestReloadSecrets_RegistersTheOAuthClientWithTheNewSecret(t *testing.T) {
	ctx := context.Background()
	ts := newTokenServer(t)
	h, err := startOAuthHost(t, oauthConnector{tokenURL: ts.srv.URL + "/token"}, oauthWorkspace, "client_secret", "cs-one")
	if err != nil {
		t.Fatal(err)
	}

	tok, err := h.m.Token(ctx, "api")
	if err != nil {
		t.Fatal(err)
	}
	if got := ts.lastSecret(); got != "cs-one" {
		t.Fatalf("first token request sent %q, want cs-one", got)
	}

	// hub secrets set, as another process would.
	if err := h.cli.Set("client_secret", "cs-two"); err != nil {
		t.Fatal(err)
	}
	res := h.d.ReloadSecrets(ctx)
	if len(res.OAuth) != 1 || res.OAuth[0] != "api" {
		t.Fatalf("reload: oauth %v, failed %v; want api", res.OAuth, res.Failed)
	}
	// The token stays usable: the client_id and token_url did not change.
	if again, err := h.m.Token(ctx, "api"); err != nil || again.AccessToken != tok.AccessToken {
		t.Fatalf("token after the reload: %v, %v; want the same token", again, err)
	}
	if err := h.m.Invalidate(ctx, "api", tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	if got := ts.lastSecret(); got != "cs-two" {
		t.Fatalf("the token request after the reload sent %q, want cs-two", got)
	}

	// A deleted client_secret leaves the client registered as it was.
	if _, err := h.cli.Delete("client_secret"); err != nil {
		t.Fatal(err)
	}
	if res := h.d.ReloadSecrets(ctx); res.Failed["api"] == nil {
		t.Fatalf("reload after delete: failed %v, want api", res.Failed)
	}
	if got := h.sentAfterRefresh(ts, "api"); got != "cs-two" {
		t.Fatalf("after the secret was deleted the client sent %q, want the last good cs-two", got)
	}
}
