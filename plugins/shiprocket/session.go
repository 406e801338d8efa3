package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// TokenLifetime is how long Shiprocket says a login token lasts ("The
// validity of this token is 10 days"); used when the token carries no
// readable expiry of its own.
const TokenLifetime = 240 * time.Hour

func sessionScheme() schema.AuthScheme {
	return schema.AuthScheme{Type: schema.AuthSession,
		Description: "An API user's email and password (Shiprocket panel: Settings → API → Add New API User; its email must differ from the main login) exchanged at POST /v1/external/auth/login for a token valid 10 days, sent as Authorization: Bearer <token>. hub logs in again when a call is refused with 401.",
		Fields: []schema.Field{
			{Name: "email", Type: schema.String, Required: true, Format: schema.FormatEmail, Description: "The API user's email."},
			{Name: "password", Type: schema.String, Required: true, Secret: true, Description: "The API user's password."},
		}}
}

// loginAnswer is what clients rely on ("token"), plus the two-factor
// branch Shiprocket's own client handles.
type loginAnswer struct {
	Token        string `json:"token"`
	IsMFAEnabled bool   `json:"is_mfa_enabled"`
}

// login is the session login: POST {"email","password"} to
// /v1/external/auth/login and send the token as a bearer token.
func login(ctx context.Context, c *sdk.Conn, creds map[string]string) (sdk.AuthResult, error) {
	base, err := baseURL(c)
	if err != nil {
		return sdk.AuthResult{}, err
	}
	body, err := json.Marshal(map[string]string{"email": creds["email"], "password": creds["password"]})
	if err != nil {
		return sdk.AuthResult{}, sdk.Permanent("encode login body: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/external/auth/login", bytes.NewReader(body))
	if err != nil {
		return sdk.AuthResult{}, sdk.Permanent("build login request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	// The login carries no session of its own (the connection may still
	// hold the refused one): a plain client, with the SDK's
	// classification of the answer.
	resp, err := sdk.NewClient(sdk.Auth{}, nil).Do(req)
	if err != nil {
		return sdk.AuthResult{}, refusedLogin(err, creds["email"])
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return sdk.AuthResult{}, sdk.Retryable("read login answer: %v", err)
	}
	var ans loginAnswer
	if err := json.Unmarshal(data, &ans); err != nil {
		return sdk.AuthResult{}, sdk.Retryable("login answered %s with a body that is not JSON: %v", resp.Status, err)
	}
	if ans.IsMFAEnabled {
		return sdk.AuthResult{}, sdk.Permanent("API user %s has two-factor login on, and Shiprocket then asks for an OTP hub cannot supply: use an API user without it", creds["email"])
	}
	if ans.Token == "" {
		return sdk.AuthResult{}, sdk.Permanent("login of %s answered %s without a token", creds["email"], resp.Status)
	}
	return sdk.AuthResult{Auth: wire.Auth{
		Type:    schema.AuthSession,
		Headers: map[string]string{"Authorization": "Bearer " + ans.Token},
		Expiry:  tokenExpiry(ans.Token, time.Now()),
	}}, nil
}

// refusedLogin turns Shiprocket's refusal of the credentials (400, 401,
// 403 or 422 at login) into auth_expired, which hub reports as "check the
// credentials"; other failures keep their class.
func refusedLogin(err error, email string) error {
	e := fault.As(err)
	switch e.HTTPStatus {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity:
		out := fault.AuthExpiredf("Shiprocket refused the login of API user %s: %s", email, e.Message)
		out.HTTPStatus = e.HTTPStatus
		return out
	}
	return err
}

// tokenExpiry reads the JWT's exp claim (Shiprocket's tokens are JWTs),
// or assumes the documented 10 days from now. The claim is only read, not
// trusted for anything but knowing when to expect a 401.
func tokenExpiry(token string, now time.Time) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) == 3 {
		if payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "=")); err == nil {
			var claims struct {
				Exp float64 `json:"exp"`
			}
			if json.Unmarshal(payload, &claims) == nil && claims.Exp > 0 {
				return time.Unix(int64(claims.Exp), 0).UTC()
			}
		}
	}
	return now.Add(TokenLifetime).UTC()
}

// logout ends the session (POST /v1/external/auth/logout). A token that
// is already dead has nothing to end.
func logout(ctx context.Context, c *sdk.Conn) error {
	err := call(ctx, c, http.MethodPost, "/v1/external/auth/logout", nil, nil)
	if err != nil && fault.KindOf(err) == fault.AuthExpired {
		return nil
	}
	return err
}
