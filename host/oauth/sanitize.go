package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/oauth2"
)

// maxProviderText is how much of a provider's text hub keeps, in
// characters: enough for any useful error_description.
const maxProviderText = 200

// redacted replaces a secret found in a provider's text.
const redacted = "[redacted]"

// providerText makes text a provider sent (an error code or description,
// from the token endpoint or the callback) fit to keep in a Reason, an
// error and the log: it keeps only the characters RFC 6749 §5.2 allows in
// error_description (%x20-21 / %x23-5B / %x5D-7E), so no terminal escape
// or line break reaches a terminal or a log line; it replaces every
// occurrence of secrets (the client secret, the tokens, code or verifier
// the request carried, which some providers echo: "Invalid refresh token:
// ...") with [redacted]; and it cuts the result to maxProviderText.
//
// It filters before it redacts: a secret the provider split with
// characters the filter removes is whole again afterwards, and found.
// A secret is found as sent and in the forms a provider may echo it in
// (see secretForms); a fragment of one is not.
func providerText(s string, secrets ...string) string {
	s = strings.Map(descriptionChar, s)
	var forms []string
	for _, v := range secrets {
		forms = append(forms, secretForms(v)...)
	}
	// One pass, longest first where several match at a place: a form
	// inside another does not break it up before the longer one is
	// found, and no secret is looked for in a [redacted] put in before.
	slices.SortStableFunc(forms, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, redacted)
	}
	s = strings.NewReplacer(pairs...).Replace(s)
	if len(s) > maxProviderText { // ASCII now: bytes are characters
		s = s[:maxProviderText-len(truncated)] + truncated
	}
	return s
}

// truncated ends a provider's text providerText cut, in characters RFC
// 6749 §5.2 allows.
const truncated = "..."

// secretForms returns the forms in which a provider may echo secret v,
// each as providerText's filter leaves it, none empty: as sent; URL
// query- and path-escaped; form-decoded ("+" as a space); and escaped as
// a JSON string ("<" as \u003c, which the filter makes u003c).
func secretForms(v string) []string {
	if v == "" {
		return nil
	}
	forms := []string{v, url.QueryEscape(v), url.PathEscape(v), strings.ReplaceAll(v, "+", " ")}
	if u, err := url.QueryUnescape(v); err == nil {
		forms = append(forms, u)
	}
	if j, err := json.Marshal(v); err == nil {
		forms = append(forms, string(j[1:len(j)-1]))
	}
	var out []string
	for _, f := range forms {
		if f = strings.Map(descriptionChar, f); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// descriptionChar keeps r if RFC 6749 §5.2 allows it in error_description
// and drops it (-1) otherwise.
func descriptionChar(r rune) rune {
	if r >= 0x20 && r <= 0x7e && r != '"' && r != '\\' {
		return r
	}
	return -1
}

// maxUserCode bounds a device flow's user code: RFC 8628 §6.1 codes are
// a handful of characters a person types.
const maxUserCode = 64

// checkDeviceAuth refuses a device authorization answer hub cannot use:
// one without a device_code, which every poll would need (RFC 8628
// §3.2), and one hub would show a person but should not: a
// verification_uri that is not an absolute http or https URL (a
// javascript: link, a terminal escape) or a user_code with characters
// that are not printable.
func checkDeviceAuth(da *oauth2.DeviceAuthResponse) error {
	if da.DeviceCode == "" {
		return errors.New("the provider's device authorization answer has no device_code")
	}
	uri, code := da.VerificationURI, da.UserCode
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.IndexFunc(uri, func(r rune) bool { return r <= 0x20 || r >= 0x7f }) >= 0 {
		return fmt.Errorf("the provider's verification_uri %q is not an http or https URL", providerText(uri))
	}
	if code == "" || utf8.RuneCountInString(code) > maxUserCode || strings.IndexFunc(code, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return errors.New("the provider's user_code is empty, too long or not printable")
	}
	return nil
}
