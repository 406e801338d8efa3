package sdk

import (
	"container/list"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
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
// The challenge answered then becomes a digest session, kept in a pool per
// credentials and origin (digestCache), and later requests answer its
// nonce before being asked.
//
// A session is held by one request at a time, from sending to the
// response, so each nonce is in use by one request and its nonce count
// rises in the order the server receives them: servers that refuse a count
// lower than the highest seen for a nonce (Apache with AuthDigestNcCheck,
// abbot/go-http-auth) refuse counts that overtook each other on the way.
// Concurrent requests therefore hold sessions of their own, each from its
// own challenge, as Python's requests keeps one per thread.

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
	// a1nonce is, for a -sess algorithm that followed a nextnonce, the
	// nonce of the challenge itself: H(A1) stays bound to it for the whole
	// session (RFC 7616 §3.4.2). Empty means nonce.
	a1nonce string
	// algorithm as the server spelled it, e.g. "SHA-256-sess".
	algorithm string
	hash      func() hash.Hash
	sess      bool
	// qop is "auth", or "" for an RFC 2069 server that offers none.
	qop      string
	userhash bool
	stale    bool
}

const (
	// maxDigestKeys bounds the protection spaces a digestCache holds. Past
	// it, the one used least recently that no request holds is forgotten
	// and pays a challenge per session when next used.
	maxDigestKeys = 256
	// maxDigestSessionsPerKey bounds the sessions of one protection space,
	// and so the requests to it that run at once: more wait for a session
	// to be free. Each session costs one challenge round trip to start.
	maxDigestSessionsPerKey = 16
)

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
	mu      sync.Mutex
	maxKeys int
	perKey  int
	byKey   map[digestKey]*list.Element // values are *digestPool
	order   *list.List                  // most recently used at the front
}

// newDigestCache returns a cache of at most maxKeys protection spaces,
// each with at most perKey sessions.
func newDigestCache(maxKeys, perKey int) *digestCache {
	return &digestCache{maxKeys: maxKeys, perKey: perKey, byKey: map[digestKey]*list.Element{}, order: list.New()}
}

// pool returns the sessions of key, starting an empty pool if there is
// none, for a request that hands it back with release when done. A pool
// is not forgotten while requests hold it: a request that found a pool
// gone would start a second one for its key, whose sessions the first
// pool's bound does not count. So while every pool is held the cache
// holds more than maxKeys, and shrinks back as they are released.
func (c *digestCache) pool(key digestKey) *digestPool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.order.MoveToFront(e)
		p := e.Value.(*digestPool)
		p.holders++
		return p
	}
	p := &digestPool{key: key, slots: make(chan struct{}, c.perKey), holders: 1}
	c.byKey[key] = c.order.PushFront(p)
	c.shrink()
	return p
}

// release hands back a pool pool returned.
func (c *digestCache) release(p *digestPool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p.holders--
	c.shrink()
}

// shrink forgets the pools no request holds, least recently used first,
// until at most maxKeys are left or all left are held. c.mu is held.
func (c *digestCache) shrink() {
	for e := c.order.Back(); e != nil && c.order.Len() > c.maxKeys; {
		prev := e.Prev()
		if p := e.Value.(*digestPool); p.holders == 0 {
			c.order.Remove(e)
			delete(c.byKey, p.key)
		}
		e = prev
	}
}

// len is the number of protection spaces held.
func (c *digestCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// digestPool is the sessions of one protection space. A request checks one
// out, holds it alone while it is sent and answered, then checks it in.
// Sessions held plus sessions idle never exceed the slots: a new session
// is only started when none is idle.
type digestPool struct {
	key digestKey
	// holders counts the requests between pool and release; guarded by
	// the digestCache's mu.
	holders int
	// slots holds a token per session checked out.
	slots chan struct{}

	mu sync.Mutex
	// idle holds sessions with a challenge that no request holds, the one
	// checked in last at the end.
	idle []*digestSession
}

// checkout returns a session for one request, waiting with ctx while all
// are held. It is the one checked in last, whose nonce is the least likely
// to be stale, or, when none is idle, a new session without a challenge:
// its request goes out bare and starts it from the challenge it gets.
func (p *digestPool) checkout(ctx context.Context) (*digestSession, error) {
	select {
	case p.slots <- struct{}{}:
	default:
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.idle); n > 0 {
		s := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		return s, nil
	}
	return &digestSession{}, nil
}

// checkin returns s after its request was answered. A session with no
// challenge left to answer (rejected, or never challenged) is dropped.
func (p *digestPool) checkin(s *digestSession) {
	if s.usable() {
		p.mu.Lock()
		p.idle = append(p.idle, s)
		p.mu.Unlock()
	}
	<-p.slots
}

// digestSession is a challenge being answered: the nonce, how often it was
// used, and for a -sess algorithm the cnonce that fixed the session key.
// Only the request that checked it out touches it.
type digestSession struct {
	ch *digestChallenge // nil until a challenge was answered
	nc uint32
	// cnonce is the client nonce H(A1) of a -sess algorithm binds, the
	// first of the session (RFC 7616 §3.4.2). It is sent with every
	// request of the session, so a server that keeps the session key and
	// one that derives it from each request agree.
	cnonce string
}

func (s *digestSession) usable() bool { return s.ch != nil && s.nc < math.MaxUint32 }

// install starts answering ch: the count starts over, and for a -sess
// algorithm a new cnonce fixes the session key.
func (s *digestSession) install(ch *digestChallenge) {
	s.ch, s.nc, s.cnonce = ch, 0, newCnonce()
}

// reset forgets the challenge after the server rejected an answer to it.
func (s *digestSession) reset() {
	s.ch, s.nc, s.cnonce = nil, 0, ""
}

// next returns the nonce count and cnonce of the next request.
func (s *digestSession) next() (uint32, string) {
	s.nc++
	if s.ch.sess {
		return s.nc, s.cnonce
	}
	return s.nc, newCnonce()
}

// advance switches to the nonce the server named in Authentication-Info
// (RFC 7616 §3.5), counting from 1 again. A -sess session key stays bound
// to the challenge's nonce and the session's cnonce.
func (s *digestSession) advance(nextnonce string) {
	if s.ch == nil || nextnonce == "" || nextnonce == s.ch.nonce {
		return
	}
	n := *s.ch
	if n.sess && n.a1nonce == "" {
		n.a1nonce = n.nonce
	}
	n.nonce, n.stale = nextnonce, false
	s.ch, s.nc = &n, 0
}

func (c *Client) sendDigest(req *http.Request) (*http.Response, error) {
	origin := digestOrigin(req.URL)
	pool := c.digests.pool(digestKey{creds: c.digestCreds, origin: origin})
	defer c.digests.release(pool)
	sess, err := pool.checkout(req.Context())
	if err != nil {
		e := fault.Retryablef("%s %s: wait for a free digest session: %v", req.Method, redactURL(req.URL.String()), err)
		e.Cause = err
		return nil, e
	}
	defer pool.checkin(sess)

	resp, err := c.sendInSession(req, sess)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	challenged := req
	if redirected(resp) {
		challenged = resp.Request
	}
	if digestOrigin(challenged.URL) != origin {
		// A redirect led to another origin, and it is that one asking. Its
		// challenge belongs to neither this session nor this origin, and
		// the connection's credentials are not sent where the connection
		// does not point: the 401 stands.
		return resp, nil
	}
	next, ok := pickDigest(resp.Header.Values("WWW-Authenticate"))
	if !ok {
		// No Digest challenge we can answer: the 401 stands.
		sess.reset()
		return resp, nil
	}
	discard(resp)
	// With stale=true the server took the credentials but wants them under
	// a new nonce. Without it, the server forgot the nonce or no longer
	// takes the credentials; its 401 carries the fresh challenge a bare
	// request would get. Either way this session takes the new challenge,
	// no other request uses it before this one's answer is in, and only a
	// 401 to that answer is reported. The answer goes to the URL that was
	// challenged: after a redirect within the origin, not req's.
	retry := req
	if challenged != req {
		retry = challenged.Clone(req.Context())
		retry.Response = nil
		if c.hc.Jar != nil {
			// net/http added the jar's cookies to the redirect request and
			// adds them again to this one: it starts, as req did, from
			// the caller's own cookies only.
			retry.Header.Del("Cookie")
			if v := req.Header.Values("Cookie"); len(v) > 0 {
				retry.Header["Cookie"] = append([]string(nil), v...)
			}
		}
	}
	sess.install(next)
	resp, err = c.sendInSession(retry, sess)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		sess.reset()
	}
	return resp, err
}

// sendInSession sends req, answering the session's challenge before being
// asked when it has one, and follows a nextnonce the server names.
func (c *Client) sendInSession(req *http.Request, sess *digestSession) (*http.Response, error) {
	r, err := fresh(req)
	if err != nil {
		return nil, err
	}
	if sess.ch != nil {
		nc, cnonce := sess.next()
		r.Header.Set("Authorization", sess.ch.authorization(c.auth.Username, c.auth.Password, r.Method, r.URL.RequestURI(), nc, cnonce))
	}
	resp, err := c.roundTrip(r)
	if err == nil && sess.ch != nil && resp.StatusCode != http.StatusUnauthorized && !redirected(resp) {
		sess.advance(nextNonce(resp.Header.Get("Authentication-Info")))
	}
	return resp, err
}

// redirected reports whether resp answers a request the client made to
// follow a redirect, rather than the one it was given.
func redirected(resp *http.Response) bool {
	return resp.Request != nil && resp.Request.Response != nil
}

// digestRedirects returns a copy of hc that sends no Authorization when
// following a redirect. A Digest answer is bound to the URI and nonce
// count of the request it was made for: forwarded within the origin it is
// a replay, and to another one (net/http forwards it to any port of the
// same host) it hands that server an answer to a nonce it did not issue.
// The URL that asks is answered by sendDigest instead, when it is on the
// same origin.
func digestRedirects(hc *http.Client) *http.Client {
	c := *hc
	check := hc.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		req.Header.Del("Authorization")
		if check != nil {
			return check(req, via)
		}
		// net/http's own policy, which a nil CheckRedirect stands for.
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
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
// the challenge's nonce and cnonce, which for a session's later requests
// is the session's first (see digestSession).
func (ch *digestChallenge) response(username, password, method, uri, nc, cnonce string) string {
	ha1 := hexHash(ch.hash, username+":"+ch.realm+":"+password)
	if ch.sess {
		a1nonce := ch.nonce
		if ch.a1nonce != "" {
			a1nonce = ch.a1nonce
		}
		ha1 = hexHash(ch.hash, ha1+":"+a1nonce+":"+cnonce)
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
	if sess && qop == "" {
		// H(A1) binds a cnonce, which only a qop answer carries: the
		// server could never check one.
		return nil, 0, false
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
