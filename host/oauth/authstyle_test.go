package oauth

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// confidentialDevice registers "tv" as a confidential device client.
func (d *deviceEnv) confidentialDevice(t *testing.T, method string) {
	t.Helper()
	d.as.addClient("tv", "tv-secret")
	d.register(t, Client{Name: "tv", ClientID: "tv", ClientSecret: "tv-secret", Grant: GrantDeviceCode,
		TokenURL: d.as.srv.URL + "/token", DeviceURL: d.as.srv.URL + "/device", TokenEndpointAuthMethod: method})
}

// An authorization_pending answer to HTTP Basic shows the server
// authenticated the client: the poll is not sent again with the secret in
// the body, which a server counting polls would answer with slow_down.
func TestDevice_ConfidentialClientPollsOnceAPoll(t *testing.T) {
	d := newDeviceEnv(t, "authorization_pending", "authorization_pending", "authorization_pending")
	d.confidentialDevice(t, "")
	close(d.release)

	if err := d.m.Device(context.Background(), "tv", func(string, string) {}); err != nil {
		t.Fatalf("Device = %v", err)
	}

	polls := len(d.waited())
	if polls != 4 {
		t.Fatalf("polls = %d, want 4 (3 pending, 1 issued)", polls)
	}
	if n := d.as.count(deviceGrantType); n != polls {
		t.Errorf("token requests = %d for %d polls, want one each", n, polls)
	}
	for i, s := range d.as.styles() {
		if s != "basic" {
			t.Errorf("request %d authenticated by %s, want basic", i, s)
		}
	}
}

// A server that reads client credentials only from the body costs one
// extra request, once: from then on the body is used first.
func TestDevice_BodyOnlyServerIsDetectedOnce(t *testing.T) {
	d := newDeviceEnv(t, "authorization_pending", "authorization_pending", "authorization_pending")
	d.as.bodyOnly = true
	d.confidentialDevice(t, "")
	close(d.release)

	if err := d.m.Device(context.Background(), "tv", func(string, string) {}); err != nil {
		t.Fatalf("Device = %v", err)
	}

	want := []string{"basic", "body", "body", "body", "body"}
	if got := d.as.styles(); !slicesEqual(got, want) {
		t.Errorf("token requests authenticated by %v, want %v", got, want)
	}
}

func TestToken_BodyOnlyServerIsDetectedAtTheExchangeAndRemembered(t *testing.T) {
	e := newEnv(t)
	e.as.bodyOnly = true
	e.register(t, e.codeClient(t, "shop", "shop-secret"))
	e.login(t, "shop")
	e.clock.advance(2 * time.Hour)

	if _, err := e.m.Token(context.Background(), "shop"); err != nil {
		t.Fatalf("Token = %v", err)
	}
	if _, err := e.m.Token(context.Background(), "shop"); err != nil {
		t.Fatalf("Token = %v", err)
	}

	want := []string{"basic", "body", "body"} // exchange (detected), refresh
	if got := e.as.styles(); !slicesEqual(got, want) {
		t.Errorf("token requests authenticated by %v, want %v", got, want)
	}
}

// invalid_grant answers a client the server authenticated: the refresh
// token is not sent again in the body.
func TestToken_RejectedRefreshTokenIsSentOnce(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "shop", "shop-secret"))
	e.login(t, "shop")
	e.as.revokeAll()
	e.clock.advance(2 * time.Hour)

	_, err := e.m.Token(context.Background(), "shop")

	wantReauth(t, err, "invalid_grant")
	if n := e.as.count("refresh_token"); n != 1 {
		t.Errorf("refresh requests = %d, want 1", n)
	}
}

func TestToken_ConfiguredAuthMethodIsUsedFromTheFirstRequest(t *testing.T) {
	for _, tc := range []struct {
		method   string
		bodyOnly bool
		want     string
	}{
		{AuthMethodPost, true, "body"},
		{AuthMethodBasic, false, "basic"},
	} {
		t.Run(tc.method, func(t *testing.T) {
			e := newEnv(t)
			e.as.bodyOnly = tc.bodyOnly
			e.as.addClient("svc", "svc-secret")
			e.register(t, Client{Name: "svc", ClientID: "svc", ClientSecret: "svc-secret", Grant: GrantClientCredentials,
				TokenURL: e.as.srv.URL + "/token", TokenEndpointAuthMethod: tc.method})

			if _, err := e.m.Token(context.Background(), "svc"); err != nil {
				t.Fatalf("Token = %v", err)
			}
			if got := e.as.styles(); !slicesEqual(got, []string{tc.want}) {
				t.Errorf("token requests authenticated by %v, want [%s]", got, tc.want)
			}
		})
	}
}

func TestRegister_RejectsBadTokenEndpointAuthMethods(t *testing.T) {
	e := newEnv(t)
	base := Client{Name: "svc", ClientID: "svc", ClientSecret: "s", Grant: GrantClientCredentials, TokenURL: e.as.srv.URL + "/token"}
	unknown := base
	unknown.TokenEndpointAuthMethod = "private_key_jwt"
	public := base
	public.Grant, public.ClientSecret, public.TokenEndpointAuthMethod = GrantDeviceCode, "", AuthMethodPost
	public.DeviceURL = e.as.srv.URL + "/device"
	for _, tc := range []struct {
		c    Client
		want string
	}{
		{unknown, `token_endpoint_auth_method "private_key_jwt": want client_secret_basic or client_secret_post`},
		{public, "token_endpoint_auth_method client_secret_post needs a client_secret"},
	} {
		if err := e.m.Register([]Client{tc.c}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Register(%+v) = %v, want %q", tc.c, err, tc.want)
		}
	}
}

// RFC 8628 §3.1: a confidential client authenticates at the device
// authorization endpoint too, in its token endpoint's style.
func TestDevice_ConfidentialClientAuthenticatesAtTheDeviceEndpoint(t *testing.T) {
	for _, bodyOnly := range []bool{false, true} {
		d := newDeviceEnv(t, "authorization_pending")
		d.as.deviceAuthenticates, d.as.bodyOnly = true, bodyOnly
		d.confidentialDevice(t, "")
		close(d.release)

		if err := d.m.Device(context.Background(), "tv", func(string, string) {}); err != nil {
			t.Fatalf("Device (body only %v) = %v", bodyOnly, err)
		}
		if n := d.as.deviceAuthCount(); n != 1 {
			t.Errorf("device authorizations granted = %d, want 1", n)
		}
	}
}

// failedLogin runs a login whose exchange is expected to fail and returns
// the error WaitLogin reports.
func (e *env) failedLogin(t *testing.T, name string) error {
	t.Helper()
	get(t, http.DefaultClient, e.authorize(t, name).String())
	err := e.m.WaitLogin(context.Background(), name)
	if err == nil {
		t.Fatal("WaitLogin = nil, want the exchange's error")
	}
	return err
}

// invalid_request from a server that took HTTP Basic is about the
// request, not the client: once Basic is known to work the code is not
// sent again in the body (where it is already spent and the answer would
// be invalid_grant), and Basic stays the client's style.
func TestLogin_InvalidRequestWithASettledStyleIsNotRetried(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "shop", "shop-secret"))
	e.login(t, "shop") // settles HTTP Basic
	e.as.configure(func(as *authServer) { as.exchangeError = "invalid_request" })

	for i := range 2 {
		before := e.as.count("authorization_code")
		err := e.failedLogin(t, "shop")
		if n := e.as.count("authorization_code") - before; n != 1 {
			t.Errorf("login %d: exchanges = %d, want 1", i, n)
		}
		if !strings.Contains(err.Error(), "invalid_request") || !strings.Contains(err.Error(), "code_verifier does not match") {
			t.Errorf("login %d: error = %v, want the provider's invalid_request about the code_verifier", i, err)
		}
	}
	for i, s := range e.as.styles() {
		if s != "basic" {
			t.Errorf("token request %d authenticated by %s, want basic", i, s)
		}
	}
}

// While the style is unknown, invalid_request to HTTP Basic may mean the
// server read no client_id, so the body is tried; when that fails too the
// error names both answers, the first of which says what is wrong, and
// the body is not remembered from an answer about a spent code.
func TestLogin_InvalidRequestWithAnUnsettledStyleReportsBothAnswers(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "shop", "shop-secret"))
	e.as.configure(func(as *authServer) { as.exchangeError = "invalid_request" })

	err := e.failedLogin(t, "shop")

	for _, want := range []string{"with HTTP Basic: provider answered invalid_request", "code_verifier does not match", "with the secret in the body: provider answered invalid_grant"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to contain %q", err, want)
		}
	}
	e.as.configure(func(as *authServer) { as.exchangeError = "" })
	e.login(t, "shop")
	want := []string{"basic", "body", "basic"}
	if got := e.as.styles(); !slicesEqual(got, want) {
		t.Errorf("token requests authenticated by %v, want %v", got, want)
	}
}

// A rotating server that detects refresh token reuse (RFC 9700 §4.14.2)
// revokes the grant when a refresh token comes back that it may have
// spent: a refresh with a settled style is sent once, whatever the
// answer, and invalid_request does not unsettle the style, so the next
// refresh is sent once too.
func TestToken_RefreshTokenIsNeverSentTwiceWithASettledStyle(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "shop", "shop-secret"))
	e.login(t, "shop") // settles HTTP Basic
	e.as.configure(func(as *authServer) { as.refreshError = "invalid_request" })
	e.clock.advance(2 * time.Hour)

	for i := range 2 {
		if _, err := e.m.Token(context.Background(), "shop"); err == nil || !strings.Contains(err.Error(), "invalid_request") {
			t.Errorf("Token %d = %v, want the provider's invalid_request", i, err)
		}
	}

	if n := e.as.count("refresh_token"); n != 2 {
		t.Errorf("refresh requests = %d for 2 refreshes, want one each", n)
	}
	for i, s := range e.as.styles() {
		if s != "basic" {
			t.Errorf("token request %d authenticated by %s, want basic", i, s)
		}
	}
}
