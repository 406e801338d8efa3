package woocommerce

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// oauthWindow is how far an OAuth timestamp may be from the server's
// clock, and how long a nonce is remembered.
const oauthWindow = 15 * time.Minute

// authenticate applies class-wc-rest-authentication.php's rules. It
// returns nil when the request may go on. Callers do not hold s.mu.
func (s *Sim) authenticate(r *http.Request) *apiError {
	if r.TLS != nil {
		user, pass, ok := r.BasicAuth()
		if !ok {
			q := r.URL.Query()
			user, pass = q.Get("consumer_key"), q.Get("consumer_secret")
			ok = user != "" && pass != ""
		}
		if !ok {
			return cannot(r)
		}
		return s.checkKey(user, pass)
	}
	// Plain HTTP: WooCommerce only looks at OAuth 1.0a parameters; Basic
	// credentials sent in the clear are ignored.
	q := r.URL.Query()
	if q.Get("oauth_consumer_key") == "" && q.Get("oauth_signature") == "" {
		return cannot(r)
	}
	return s.checkOAuth(r, q)
}

// cannot is WordPress's answer to an anonymous caller of a WooCommerce
// route: the permission check fails with the resource's verb.
func cannot(r *http.Request) *apiError {
	code, msg := "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."
	switch r.Method {
	case http.MethodPost:
		code, msg = "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."
	case http.MethodPut, http.MethodPatch:
		code, msg = "woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."
	case http.MethodDelete:
		code, msg = "woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."
	}
	return &apiError{Status: http.StatusUnauthorized, Code: code, Message: msg}
}

func (s *Sim) checkKey(key, secret string) *apiError {
	if subtle.ConstantTimeCompare([]byte(key), []byte(s.key)) != 1 {
		return &apiError{Status: 401, Code: "woocommerce_rest_authentication_error", Message: "Consumer key is invalid."}
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(s.secret)) != 1 {
		return &apiError{Status: 401, Code: "woocommerce_rest_authentication_error", Message: "Consumer secret is invalid."}
	}
	return nil
}

func (s *Sim) checkOAuth(r *http.Request, q url.Values) *apiError {
	for _, p := range []string{"oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature", "oauth_signature_method"} {
		if q.Get(p) == "" {
			return &apiError{Status: 401, Code: "woocommerce_rest_authentication_missing_parameter", Message: "Missing OAuth parameter " + p}
		}
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("oauth_consumer_key")), []byte(s.key)) != 1 {
		return &apiError{Status: 401, Code: "woocommerce_rest_authentication_error", Message: "Consumer key is invalid."}
	}
	var newHash func() hash.Hash
	switch q.Get("oauth_signature_method") {
	case "HMAC-SHA1":
		newHash = sha1.New
	case "HMAC-SHA256":
		newHash = sha256.New
	default:
		return &apiError{Status: 401, Code: "woocommerce_rest_authentication_error", Message: "Invalid signature - signature method is invalid."}
	}
	// The signed URL is the site's: scheme and host as the client reached
	// us, and the path as requested (RequestURI survives a StripPrefix
	// mount, URL.Path does not).
	path := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && r.RequestURI != "" {
		path = u.Path
	}
	params := map[string]string{}
	for k, v := range q {
		if k != "oauth_signature" && len(v) > 0 {
			params[k] = v[0]
		}
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = rfc3986(k) + "=" + rfc3986(params[k])
	}
	base := r.Method + "&" + rfc3986("http://"+r.Host+path) + "&" + rfc3986(strings.Join(pairs, "&"))
	mac := hmac.New(newHash, []byte(s.secret+"&"))
	mac.Write([]byte(base))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	got := strings.ReplaceAll(q.Get("oauth_signature"), " ", "+")
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return &apiError{Status: 401, Code: "woocommerce_rest_authentication_error", Message: "Invalid signature - provided signature does not match."}
	}
	ts, err := strconv.ParseInt(q.Get("oauth_timestamp"), 10, 64)
	now := s.now()
	if err != nil || now.Sub(time.Unix(ts, 0)).Abs() > oauthWindow {
		return &apiError{Status: 401, Code: "woocommerce_rest_authentication_error", Message: "Invalid timestamp."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, at := range s.nonces {
		if now.Sub(at) > oauthWindow {
			delete(s.nonces, n)
		}
	}
	nonce := q.Get("oauth_nonce")
	if _, used := s.nonces[nonce]; used {
		return &apiError{Status: 401, Code: "woocommerce_rest_authentication_error", Message: "Invalid nonce - nonce has already been used."}
	}
	s.nonces[nonce] = now
	return nil
}

// rfc3986 percent-encodes everything but the unreserved characters, as
// PHP's rawurlencode does.
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
