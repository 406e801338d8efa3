package sdk

import (
	"container/list"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/hubhq/hub/sdk/fault"
)

// HTTP Digest authentication (RFC 7616), qop=auth, as a client. The
// first request to a protection space goes out bare to get a challenge.
// The challenge is then kept in a digestCache, and later requests (also
// concurrent ones) answer it before being asked, each with the next nonce
// count, until the server says the nonce is stale, forgets it, or names
// the next one in Authentication-Info.

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

// maxDigestSessions bounds a digestCache. Past it, the protection space
// used least recently is forgotten and pays one challenge when next used.
const maxDigestSessions = 256

// digestKey names a protection space as one set of credentials sees it.
// The realm is not part of the key: it is only known from a challenge,
// after a request went out. A session holds the challenge of one realm at
// a time, and a challenge for another realm at the same origin replaces it.
type digestKey struct {
	// creds is a hash of the username and password, so connections with
	// different credentials never share a nonce, and the cache keeps no
	// password.
	creds string
	// origin is scheme://host:port in lower case, the port always given.
	origin string
}

// digestCreds fingerprints a credential set for digestKey.
func digestCreds(username, password string) string {
	h := sha256.New()
	// The length prefix keeps "a:b"+"c" and "a"+"b:c" apart.
	fmt.Fprintf(h, "%d:%s:%s", len(username), username, password)
	return hex.EncodeToString(h.Sum(nil))
}

// digestOrigin is the canonical root URL of u (RFC 7616 §3.3 protection
// space), the part of the key that keeps one server's nonce from being
// sent to another.
func digestOrigin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = "80"
		if scheme == "https" {
			port = "443"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// digestCache holds the digest sessions of the clients sharing it, so a
// nonce outlives the request that got it. It is safe for concurrent use.
type digestCache struct {
	mu    sync.Mutex
	max   int
	byKey map[digestKey]*list.Element // values are *digestSession
	order *list.List                  // most recently used at the front
}

func newDigestCache(max int) *digestCache {
	return &digestCache{max: max, byKey: map[digestKey]*list.Element{}, order: list.New()}
}

// session returns the session for key, starting an empty one if there is
// none. A session evicted while requests use it stays valid for them; it is
// only no longer shared.
func (c *digestCache) session(key digestKey) *digestSession {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*digestSession)
	}
	s := &digestSession{key: key}
	c.byKey[key] = c.order.PushFront(s)
	if c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*digestSession).key)
	}
	return s
}

// len is the number of sessions held.
func (c *digestCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// digestSession is the challenge in use for one protection space and how
// often its nonce was used. Counts are handed out under the lock, so
// concurrent requests never send the same (nonce, nc) pair.
type digestSession struct {
	key digestKey

	mu sync.Mutex
	ch *digestChallenge
	nc uint32
	// probing is closed when the bare request sent to get a challenge has
	// its answer; nil when none is in flight.
	probing chan struct{}
}

// acquire returns the challenge to answer and the next nonce count for it.
// Without a usable challenge it returns nil and done: the caller sends the
// bare request and calls done once it has installed the challenge (or got
// none). Callers arriving meanwhile wait for that one request instead of
// each drawing a 401, but only once: if it brought nothing, they go bare
// themselves, in parallel, rather than queueing behind a failing server.
func (s *digestSession) acquire(ctx context.Context) (ch *digestChallenge, nc uint32, done func(), err error) {
	waited := false
	for {
		s.mu.Lock()
		if s.ch != nil && s.nc < math.MaxUint32 {
			s.nc++
			ch, nc = s.ch, s.nc
			s.mu.Unlock()
			return ch, nc, nil, nil
		}
		if s.probing == nil {
			p := make(chan struct{})
			s.probing = p
			s.mu.Unlock()
			var once sync.Once
			return nil, 0, func() {
				once.Do(func() {
					s.mu.Lock()
					s.probing = nil
					s.mu.Unlock()
					close(p)
				})
			}, nil
		}
		if waited {
			s.mu.Unlock()
			return nil, 0, func() {}, nil
		}
		wait := s.probing
		s.mu.Unlock()
		select {
		case <-wait:
			waited = true
		case <-ctx.Done():
			return nil, 0, nil, ctx.Err()
		}
	}
}

// use installs next in place of old (nil: no challenge yet) and returns the
// challenge to answer with its next nonce count. When another request has
// already replaced old, its challenge is as fresh as next and is kept, so
// concurrent requests do not undo each other's work.
func (s *digestSession) use(old, next *digestChallenge) (*digestChallenge, uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == old || s.ch == nil || s.nc == math.MaxUint32 {
		s.ch, s.nc = next, 0
	}
	s.nc++
	return s.ch, s.nc
}

// drop forgets ch after the server rejected it, unless it was replaced.
func (s *digestSession) drop(ch *digestChallenge) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == ch {
		s.ch, s.nc = nil, 0
	}
}

// advance switches to the nonce the server named in Authentication-Info
// after accepting a request answering ch (RFC 7616 §3.5), counting from 1
// again. Requests already out under ch's nonce are unaffected.
func (s *digestSession) advance(ch *digestChallenge, nextnonce string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != ch || nextnonce == "" || nextnonce == ch.nonce {
		return
	}
	n := *ch
	n.nonce, n.stale = nextnonce, false
	s.ch, s.nc = &n, 0
}

func (c *Client) sendDigest(req *http.Request) (*http.Response, error) {
	sess := c.digests.session(digestKey{creds: c.digestCreds, origin: digestOrigin(req.URL)})
	ch, nc, done, err := sess.acquire(req.Context())
	if err != nil {
		e := fault.Retryablef("%s %s: wait for digest challenge: %v", req.Method, redactURL(req.URL.String()), err)
		e.Cause = err
		return nil, e
	}
	if ch == nil {
		defer done()
		probe, err := fresh(req)
		if err != nil {
			return nil, err
		}
		resp, err := c.roundTrip(probe)
		if err != nil || resp.StatusCode != http.StatusUnauthorized {
			return resp, err
		}
		next, ok := pickDigest(resp.Header.Values("WWW-Authenticate"))
		if !ok {
			// No Digest challenge we can answer: the 401 stands.
			return resp, nil
		}
		discard(resp)
		ch, nc = sess.use(nil, next)
		done() // the others may go ahead while this answer is out
		return c.answerDigest(req, sess, ch, nc)
	}

	resp, err := c.sendWithDigest(req, sess, ch, nc)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	next, ok := pickDigest(resp.Header.Values("WWW-Authenticate"))
	if !ok {
		sess.drop(ch)
		return resp, nil
	}
	discard(resp)
	// With stale=true the server took the credentials but wants them under
	// a new nonce. Without it, the server forgot the nonce or no longer
	// takes the credentials; its 401 carries the fresh challenge a bare
	// request would get. Either way the request is answered once more, and
	// only a 401 to that answer is reported.
	ch, nc = sess.use(ch, next)
	return c.answerDigest(req, sess, ch, nc)
}

// answerDigest sends req answering ch, with no further retry: a 401 means
// the server rejects the credentials, so the session forgets ch and the
// 401 is left for checkResponse to report as expired credentials.
func (c *Client) answerDigest(req *http.Request, sess *digestSession, ch *digestChallenge, nc uint32) (*http.Response, error) {
	resp, err := c.sendWithDigest(req, sess, ch, nc)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		sess.drop(ch)
	}
	return resp, err
}

func (c *Client) sendWithDigest(req *http.Request, sess *digestSession, ch *digestChallenge, nc uint32) (*http.Response, error) {
	r, err := fresh(req)
	if err != nil {
		return nil, err
	}
	r.Header.Set("Authorization", ch.authorization(c.auth.Username, c.auth.Password, r.Method, r.URL.RequestURI(), nc, newCnonce()))
	resp, err := c.roundTrip(r)
	if err == nil && resp.StatusCode != http.StatusUnauthorized {
		sess.advance(ch, nextNonce(resp.Header.Get("Authentication-Info")))
	}
	return resp, err
}

// nextNonce reads nextnonce from an Authentication-Info value, a list of
// auth-params with no scheme in front (RFC 7616 §3.5).
func nextNonce(v string) string {
	if v == "" {
		return ""
	}
	cs := parseChallenges("Digest " + v)
	if len(cs) == 0 {
		return ""
	}
	return cs[0].params["nextnonce"]
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
