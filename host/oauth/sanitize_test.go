package oauth

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestProviderText_KeepsRFC6749CharactersRedactsSecretsAndCaps(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		secrets  []string
		want     string
	}{
		{"plain", "The code has expired", nil, "The code has expired"},
		{"escapes and quotes", "bad\x1b[2J \"grant\"\\\r\nnow\u202e", nil, "bad[2J grantnow"},
		{"echoed secret", "Invalid refresh token: rt-123 (client s3cret)", []string{"rt-123", "s3cret", ""}, "Invalid refresh token: [redacted] (client [redacted])"},
		{"secret split by an escape", "token rt-\x1b1\x0723", []string{"rt-123"}, "token [redacted]"},
		{"capped", strings.Repeat("a", 300), nil, strings.Repeat("a", maxProviderText-3) + "..."},
		{"secrets inside others and [redacted]", "abc x", []string{"x", "b", "abc", "d"}, "[redacted] [redacted]"},
		{"capped after redaction", strings.Repeat("ab ", 100), []string{"a"}, strings.Repeat("[redacted]b ", 16) + "[reda..."},
	} {
		got := providerText(tc.in, tc.secrets...)
		if got != tc.want {
			t.Errorf("%s: providerText(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
		if len(got) > maxProviderText || strings.IndexFunc(got, func(r rune) bool { return descriptionChar(r) < 0 }) >= 0 {
			t.Errorf("%s: providerText = %q: longer than %d or not RFC 6749 §5.2 characters", tc.name, got, maxProviderText)
		}
	}
}

// Providers echo a secret as they received or would send it: escaped for
// a URL, form-decoded, or escaped in a JSON string. Each form is redacted.
func TestProviderText_RedactsEncodedFormsOfASecret(t *testing.T) {
	const secret = "a+b/c d<e&f"
	for _, tc := range []struct{ name, echoed string }{
		{"literal", secret},
		{"query-escaped", url.QueryEscape(secret)}, // a%2Bb%2Fc+d%3Ce%26f
		{"path-escaped", url.PathEscape(secret)},   // a+b%2Fc%20d%3Ce&f
		{"form-decoded", "a b/c d<e&f"},
		{"JSON-escaped", `a+b/c d\u003ce\u0026f`},
	} {
		got := providerText("Invalid token: "+tc.echoed+" (expired)", secret)
		if got != "Invalid token: [redacted] (expired)" {
			t.Errorf("%s: providerText with %q echoed = %q, want the secret redacted", tc.name, tc.echoed, got)
		}
	}
}

// A provider that echoes the refused refresh token, with terminal
// escapes, in error_description: the Reason, the error and the log hold
// neither.
func TestToken_EchoedRefreshTokenAndEscapesReachNoReasonOrLog(t *testing.T) {
	e := newEnv(t)
	e.as.echoRefresh = true
	e.register(t, e.codeClient(t, "github", "gh-secret"))
	e.login(t, "github")
	refresh := e.stored(t, "github").RefreshToken
	e.as.revokeAll()
	e.clock.advance(2 * time.Hour)

	_, err := e.m.Token(context.Background(), "github")

	wantReauth(t, err, "invalid_grant")
	s := e.status(t, "github")
	for what, text := range map[string]string{"error": err.Error(), "reason": s.Reason, "log": e.logs.String()} {
		if strings.Contains(text, refresh) || strings.ContainsAny(text, "\x1b\x07\r") {
			t.Errorf("%s holds the refresh token or a control character: %q", what, text)
		}
	}
	if !strings.Contains(s.Reason, `"Invalid refresh token: [31m[redacted]]0;owned`) || len(s.Reason) > 400 {
		t.Errorf("reason = %q, want the description redacted, quoted and capped", s.Reason)
	}
}

func TestCallback_ProviderErrorTextIsMadeSafe(t *testing.T) {
	e := newEnv(t)
	e.register(t, e.codeClient(t, "github", ""))
	issued := e.authorize(t, "github")
	q := url.Values{"state": {issued.Query().Get("state")}, "error": {"access_denied\x1b[0m"}, "error_description": {"no\x1b]0;x\x07 " + strings.Repeat("y", 400)}}

	get(t, e.hub.Client(), e.callback("github")+"?"+q.Encode())

	s := e.status(t, "github")
	if s.Status != StatusLoginFailed || strings.ContainsAny(s.Reason, "\x1b\x07") || strings.Count(s.Reason, "y") > maxProviderText {
		t.Errorf("status = %+v, want login_failed without control characters, the description capped", s)
	}
	if strings.ContainsAny(e.logs.String(), "\x1b\x07") {
		t.Errorf("log holds control characters:\n%q", e.logs.String())
	}
}

// The device flow's URL and code are shown to a person: a provider's
// answer that is not an http(s) URL and a printable code ends the flow.
func TestDevice_UnusableVerificationURIOrUserCodeIsNotShown(t *testing.T) {
	for _, tc := range []struct{ uri, code, want string }{
		{"javascript:alert(1)", "", "not an http or https URL"},
		{"https://example.com/\x1b[2J", "", "not an http or https URL"},
		{"", "AB\x1b[2JCD", "user_code"},
	} {
		d := newDeviceEnv(t)
		d.as.verificationURI, d.as.userCode = tc.uri, tc.code
		shown := false

		err := d.m.Device(context.Background(), "tv", func(string, string) { shown = true })

		if err == nil || !strings.Contains(err.Error(), tc.want) || shown {
			t.Errorf("Device with %q, %q = %v (shown %v), want %q and nothing shown", tc.uri, tc.code, err, shown, tc.want)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\x1b") {
			t.Errorf("error holds an escape: %q", err)
		}
	}
}

// Without a device_code no poll can be sent: the flow ends at once with
// an error that says so, and no code is shown to wait for in vain.
func TestDevice_AnswerWithoutDeviceCodeEndsTheFlow(t *testing.T) {
	d := newDeviceEnv(t)
	d.as.configure(func(as *authServer) { as.noDeviceCode = true })
	close(d.release) // without the check, polls would run
	shown := false

	err := d.m.Device(context.Background(), "tv", func(string, string) { shown = true })

	if err == nil || !strings.Contains(err.Error(), "no device_code") || shown {
		t.Errorf("Device = %v (shown %v), want an error naming the missing device_code and nothing shown", err, shown)
	}
	if n := d.as.count(deviceGrantType); n != 0 {
		t.Errorf("token requests = %d, want none", n)
	}
}
