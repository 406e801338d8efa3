package oauth

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
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
// …") with [redacted]; and it cuts the result to maxProviderText.
//
// It filters before it redacts: a secret the provider split with
// characters the filter removes is whole again afterwards, and found.
func providerText(s string, secrets ...string) string {
	s = strings.Map(descriptionChar, s)
	for _, v := range secrets {
		for _, f := range []string{v, strings.Map(descriptionChar, v)} {
			if f != "" {
				s = strings.ReplaceAll(s, f, redacted)
			}
		}
	}
	if len(s) > maxProviderText { // ASCII now: bytes are characters
		s = s[:maxProviderText-1] + "…"
	}
	return s
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

// checkDeviceAuth refuses a device authorization answer hub would show a
// person but should not: a verification_uri that is not an absolute http
// or https URL (a javascript: link, a terminal escape) or a user_code
// with characters that are not printable.
func checkDeviceAuth(uri, code string) error {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.IndexFunc(uri, func(r rune) bool { return r <= 0x20 || r >= 0x7f }) >= 0 {
		return fmt.Errorf("the provider's verification_uri %q is not an http or https URL", providerText(uri))
	}
	if code == "" || utf8.RuneCountInString(code) > maxUserCode || strings.IndexFunc(code, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return errors.New("the provider's user_code is empty, too long or not printable")
	}
	return nil
}
