package sdk

import (
	"net/http"
	"testing"
	"time"
	"unicode/utf8"
)

// Fuzz targets for what the SDK parses from third parties. Run one with
// e.g. go test -fuzz FuzzParseRetryAfter ./sdk/ ; the seeds run in make test.

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "-5", "1.5", "1e300", "NaN", "Inf", "Wed, 21 Oct 2015 07:28:00 GMT", "", " 7 ", "soon"} {
		f.Add(s)
	}
	now := time.Date(2015, 10, 21, 7, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d := parseRetryAfter(v, now)
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %v, outside [0, %v]", v, d, maxRetryAfter)
		}
	})
}

func FuzzPickDigest(f *testing.F) {
	for _, s := range []string{
		`Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
		`Basic realm="x", Digest nonce=abc, algorithm=MD5-sess, qop=auth, stale=TRUE`,
		`Digest nonce="a\"b", realm=`, `Digest`, `digest nonce`, `,,,=`, `Digest nonce="unterminated`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ch, ok := pickDigest([]string{v})
		if ok && (ch == nil || ch.nonce == "" || ch.hash == nil) {
			t.Fatalf("pickDigest(%q) accepted a challenge without nonce or hash: %+v", v, ch)
		}
		if ok {
			// Answering the challenge must not panic either.
			_ = ch.authorization("u", "p", http.MethodGet, "/", 1, "cnonce")
		}
	})
}

func FuzzErrorMessage(f *testing.F) {
	for _, s := range []string{`{"message":"bad"}`, `{"errors":{"sku":["is required"]}}`, `{"error":{"message":"x"}}`,
		`{"errors":[{"message":"a"},"b"]}`, `not json`, ``, `{"errors":{"a":[1,{"b":2}]}}`, "\xff\xfe"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		msg, vs := errorMessage(body)
		if len(msg) > 4096 {
			t.Fatalf("message of %d bytes from a %d-byte body: not truncated", len(msg), len(body))
		}
		if utf8.ValidString(string(body)) && !utf8.ValidString(msg) {
			t.Fatalf("valid UTF-8 body gave an invalid message %q", msg)
		}
		for _, v := range vs {
			if v.Message == "" && v.Path == "" {
				t.Fatalf("empty violation from %q", body)
			}
		}
	})
}
