package main

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// OAuth 1.0a one-legged signing as class-wc-rest-authentication.php checks
// it: the base string is METHOD & enc(URL without query) & enc(sorted,
// encoded key=value pairs joined by &), the key is the consumer secret
// followed by "&", and the signature is base64 of the HMAC.

// param is one query parameter, kept in order.
type param struct{ key, value string }

// paramsOf flattens q, keys in sorted order and values in their order.
func paramsOf(q url.Values) []param {
	var out []param
	for _, k := range sortedKeys(q) {
		for _, v := range q[k] {
			out = append(out, param{k, v})
		}
	}
	return out
}

// sortParams orders parameters as the server compares them: by the key's
// base name (the text before "["), with keys that share a base keeping
// their relative order, because PHP has already folded b[c] and b[a] into
// one array b whose elements stay as sent (the official Python client's
// sorted_params).
func sortParams(ps []param) []param {
	out := slices.Clone(ps)
	base := func(k string) string {
		if i := strings.IndexByte(k, '['); i >= 0 {
			return k[:i]
		}
		return k
	}
	sort.SliceStable(out, func(i, j int) bool { return base(out[i].key) < base(out[j].key) })
	return out
}

// oauthBaseString is the signature base string of a request; rawURL has no
// query (its parameters are in params) and oauth_signature is not among
// params.
func oauthBaseString(method, rawURL string, params []param) string {
	pairs := make([]string, 0, len(params))
	for _, p := range sortParams(params) {
		if p.key == "oauth_signature" {
			continue
		}
		pairs = append(pairs, rfc3986(p.key)+"="+rfc3986(p.value))
	}
	return strings.ToUpper(method) + "&" + rfc3986(rawURL) + "&" + rfc3986(strings.Join(pairs, "&"))
}

// oauthSignature signs a base string with HMAC-SHA1 or HMAC-SHA256 under
// consumerSecret + "&".
func oauthSignature(method, consumerSecret, base string) (string, error) {
	var h func() hash.Hash
	switch method {
	case "HMAC-SHA1":
		h = sha1.New
	case "HMAC-SHA256":
		h = sha256.New
	default:
		return "", fmt.Errorf("oauth signature method %q is not HMAC-SHA1 or HMAC-SHA256", method)
	}
	mac := hmac.New(h, []byte(consumerSecret+"&"))
	mac.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// rfc3986 percent-encodes all but the unreserved characters (A-Z a-z 0-9
// - . _ ~), as PHP's rawurlencode.
func rfc3986(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
