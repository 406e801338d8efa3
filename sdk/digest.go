package sdk

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"sync"
)

// HTTP Digest authentication (RFC 7616), qop=auth, as a client. The first
// request goes out bare to get a challenge; later requests reuse the nonce
// with an increasing nonce count until the server says it is stale.

// digestAlgorithms maps the algorithms hub speaks to their hash, strongest
// first; a server offering several gets the strongest.
var digestAlgorithms = []struct {
	name string
	hash func() hash.Hash
}{
	{"SHA-512-256", sha512.New512_256},
	{"SHA-256", sha256.New},
	{"MD5", md5.New},
}

// challenge is one parsed WWW-Authenticate challenge.
type challenge struct {
	scheme string
	params map[string]string
}

// digestChallenge is a Digest challenge hub can answer.
type digestChallenge struct {
	realm, nonce, opaque string
	// algorithm as the server spelled it, e.g. "SHA-256-sess".
	algorithm string
	hash      func() hash.Hash
	sess      bool
	// qop is "auth", or "" for an RFC 2069 server that offers none.
	qop      string
	userhash bool
	stale    bool
}

// digestState is the challenge in use and how often its nonce was used.
type digestState struct {
	mu sync.Mutex
	ch *digestChallenge
	nc uint32
}

func (s *digestState) set(ch *digestChallenge) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ch, s.nc = ch, 0
}

// next returns the current challenge and the next nonce count for it.
func (s *digestState) next() (*digestChallenge, uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		return nil, 0
	}
	s.nc++
	return s.ch, s.nc
}

func (c *Client) sendDigest(req *http.Request) (*http.Response, error) {
	if ch, nc := c.digest.next(); ch != nil {
		resp, err := c.sendWithDigest(req, ch, nc)
		if err != nil || resp.StatusCode != http.StatusUnauthorized {
			return resp, err
		}
		// A stale nonce is the server asking for the same credentials
		// under a new nonce; anything else is a rejection, left for
		// CheckResponse to report as expired credentials.
		next, ok := pickDigest(resp.Header.Values("WWW-Authenticate"))
		if !ok || !next.stale {
			return resp, nil
		}
		discard(resp)
		c.digest.set(next)
		ch, nc = c.digest.next()
		return c.sendWithDigest(req, ch, nc)
	}

	probe, err := fresh(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.roundTrip(probe)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	ch, ok := pickDigest(resp.Header.Values("WWW-Authenticate"))
	if !ok {
		// No Digest challenge we can answer: the 401 stands.
		return resp, nil
	}
	discard(resp)
	c.digest.set(ch)
	ch, nc := c.digest.next()
	return c.sendWithDigest(req, ch, nc)
}

func (c *Client) sendWithDigest(req *http.Request, ch *digestChallenge, nc uint32) (*http.Response, error) {
	r, err := fresh(req)
	if err != nil {
		return nil, err
	}
	r.Header.Set("Authorization", ch.authorization(c.auth.Username, c.auth.Password, r.Method, r.URL.RequestURI(), nc, newCnonce()))
	return c.roundTrip(r)
}

func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
}

// newCnonce returns a client nonce with 128 bits of randomness.
func newCnonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// authorization builds the Authorization header value for one request.
func (ch *digestChallenge) authorization(username, password, method, uri string, nc uint32, cnonce string) string {
	ncs := fmt.Sprintf("%08x", nc)
	response := ch.response(username, password, method, uri, ncs, cnonce)
	user := username
	if ch.userhash {
		user = hexHash(ch.hash, username+":"+ch.realm)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `Digest username=%s, realm=%s, uri=%s, algorithm=%s, nonce=%s`,
		quote(user), quote(ch.realm), quote(uri), ch.algorithm, quote(ch.nonce))
	if ch.qop != "" {
		fmt.Fprintf(&b, `, nc=%s, cnonce=%s, qop=%s`, ncs, quote(cnonce), ch.qop)
	}
	fmt.Fprintf(&b, `, response=%s`, quote(response))
	if ch.opaque != "" {
		fmt.Fprintf(&b, `, opaque=%s`, quote(ch.opaque))
	}
	if ch.userhash {
		b.WriteString(`, userhash=true`)
	}
	return b.String()
}

// response is RFC 7616 §3.4.1: KD(H(A1), nonce:nc:cnonce:qop:H(A2)), or
// KD(H(A1), nonce:H(A2)) without qop; for a -sess algorithm A1 also binds
// the nonce and cnonce.
func (ch *digestChallenge) response(username, password, method, uri, nc, cnonce string) string {
	ha1 := hexHash(ch.hash, username+":"+ch.realm+":"+password)
	if ch.sess {
		ha1 = hexHash(ch.hash, ha1+":"+ch.nonce+":"+cnonce)
	}
	ha2 := hexHash(ch.hash, method+":"+uri)
	if ch.qop == "" {
		return hexHash(ch.hash, ha1+":"+ch.nonce+":"+ha2)
	}
	return hexHash(ch.hash, ha1+":"+ch.nonce+":"+nc+":"+cnonce+":"+ch.qop+":"+ha2)
}

func hexHash(h func() hash.Hash, s string) string {
	d := h()
	d.Write([]byte(s))
	return hex.EncodeToString(d.Sum(nil))
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// pickDigest chooses the strongest Digest challenge hub can answer among
// the WWW-Authenticate values of a 401.
func pickDigest(values []string) (*digestChallenge, bool) {
	var best *digestChallenge
	bestRank := len(digestAlgorithms)
	for _, v := range values {
		for _, c := range parseChallenges(v) {
			if !strings.EqualFold(c.scheme, "Digest") {
				continue
			}
			ch, rank, ok := toDigest(c)
			if ok && rank < bestRank {
				best, bestRank = ch, rank
			}
		}
	}
	return best, best != nil
}

func toDigest(c challenge) (*digestChallenge, int, bool) {
	p := c.params
	if p["nonce"] == "" {
		return nil, 0, false
	}
	alg := p["algorithm"]
	if alg == "" {
		alg = "MD5"
	}
	base, sess := strings.CutSuffix(strings.ToUpper(alg), "-SESS")
	rank := -1
	for i, a := range digestAlgorithms {
		if a.name == base {
			rank = i
		}
	}
	if rank < 0 {
		return nil, 0, false
	}
	qop := ""
	if offered, ok := p["qop"]; ok {
		for _, q := range strings.Split(offered, ",") {
			if strings.TrimSpace(q) == "auth" {
				qop = "auth"
			}
		}
		if qop == "" {
			// Only auth-int offered: hub does not hash bodies.
			return nil, 0, false
		}
	}
	return &digestChallenge{
		realm: p["realm"], nonce: p["nonce"], opaque: p["opaque"], algorithm: alg,
		hash: digestAlgorithms[rank].hash, sess: sess, qop: qop,
		userhash: strings.EqualFold(p["userhash"], "true"),
		stale:    strings.EqualFold(p["stale"], "true"),
	}, rank, true
}

// parseChallenges splits one WWW-Authenticate value into challenges. A value
// may hold several ("Basic realm=x, Digest nonce=y"): a token not followed
// by "=" starts a new challenge, a token followed by "=" is a parameter of
// the current one.
func parseChallenges(s string) []challenge {
	var out []challenge
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',' || s[i] == '\r' || s[i] == '\n') {
			i++
		}
	}
	token := func() string {
		start := i
		for i < len(s) && !strings.ContainsRune(" \t,=\r\n\"", rune(s[i])) {
			i++
		}
		return s[start:i]
	}
	for {
		skip()
		if i >= len(s) {
			return out
		}
		tok := token()
		if tok == "" {
			i++ // a stray character; move past it
			continue
		}
		j := i
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		if j >= len(s) || s[j] != '=' || len(out) == 0 {
			if j < len(s) && s[j] == '=' && len(out) == 0 {
				// A parameter before any scheme: malformed, skip it.
				i = j + 1
				readValue(s, &i)
				continue
			}
			out = append(out, challenge{scheme: tok, params: map[string]string{}})
			continue
		}
		i = j + 1
		out[len(out)-1].params[strings.ToLower(tok)] = readValue(s, &i)
	}
}

// readValue reads a token or quoted-string at s[*i:].
func readValue(s string, i *int) string {
	for *i < len(s) && (s[*i] == ' ' || s[*i] == '\t') {
		*i++
	}
	if *i < len(s) && s[*i] == '"' {
		*i++
		var b strings.Builder
		for *i < len(s) {
			ch := s[*i]
			*i++
			switch {
			case ch == '\\' && *i < len(s):
				b.WriteByte(s[*i])
				*i++
			case ch == '"':
				return b.String()
			default:
				b.WriteByte(ch)
			}
		}
		return b.String()
	}
	start := *i
	for *i < len(s) && s[*i] != ',' && s[*i] != ' ' && s[*i] != '\t' {
		*i++
	}
	return s[start:*i]
}
