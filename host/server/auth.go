package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// requireKey lets a request through only with the API key as its bearer
// token.
func (s *Server) requireKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.keyMatches(r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hub"`)
			writeError(w, http.StatusUnauthorized, CodeUnauthorized,
				"missing or wrong API key: send Authorization: Bearer <key> (the key is in <data dir>/api-key, or HUB_API_KEY)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// keyMatches compares digests in constant time: comparing the keys
// themselves would leak their length, and an early exit their prefix.
func (s *Server) keyMatches(authorization string) bool {
	scheme, token, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], s.keySum[:]) == 1
}
