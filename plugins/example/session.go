package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// sessionScheme is a session login against a login endpoint the
// connection names: POST {"username","password"} as JSON to login_url,
// answered {"token": "..."}; requests then carry
// "Authorization: Session <token>". It shows how a connector declares a
// session login, and lets hub's tests drive one end to end.
func sessionScheme() schema.AuthScheme {
	return schema.AuthScheme{Type: schema.AuthSession,
		Description: "A session: a login at login_url exchanges username and password for a token sent as Authorization: Session <token>.",
		Fields: []schema.Field{
			{Name: "login_url", Type: schema.String, Required: true, Format: "uri", Description: "Where to log in (POST, JSON body)."},
			{Name: "username", Type: schema.String, Required: true, Description: "Who logs in."},
			{Name: "password", Type: schema.String, Required: true, Secret: true, Description: "Their password."},
		}}
}

type loginAnswer struct {
	Token string `json:"token"`
}

func login(ctx context.Context, c *sdk.Conn, creds map[string]string) (sdk.AuthResult, error) {
	body, err := json.Marshal(map[string]string{"username": creds["username"], "password": creds["password"]})
	if err != nil {
		return sdk.AuthResult{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, creds["login_url"], bytes.NewReader(body))
	if err != nil {
		return sdk.AuthResult{}, sdk.Invalid("login_url is not a URL", sdk.Violation{Path: "credentials.login_url", Message: err.Error()})
	}
	req.Header.Set("Content-Type", "application/json")
	// The login itself carries no session: a plain client, with the
	// SDK's classification of the answer (401 → auth_expired, 5xx →
	// retryable).
	resp, err := sdk.NewClient(sdk.Auth{}, nil).Do(req)
	if err != nil {
		return sdk.AuthResult{}, err
	}
	defer resp.Body.Close()
	var ans loginAnswer
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || ans.Token == "" {
		return sdk.AuthResult{}, sdk.Permanent("login at %s answered no token", creds["login_url"])
	}
	return sdk.AuthResult{Auth: wire.Auth{Type: schema.AuthSession, Headers: map[string]string{"Authorization": fmt.Sprintf("Session %s", ans.Token)}}}, nil
}
