package sdk

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// digestServer is an RFC 7616 server written separately from the client
// (its own header parsing and hashing), so a shared misreading of the RFC
// cannot make the tests pass. Like a careful server, it refuses a nonce
// count it has already seen for a nonce, in whatever order requests come.
type digestServer struct {
	t         *testing.T
	user, pwd string
	realm     string
	// algorithms offered, in order, e.g. "SHA-256", "MD5".
	algorithms []string
	// staleAfter marks a nonce stale after that many uses (0: never).
	staleAfter int
	// nextNonce names a new nonce in Authentication-Info on every success.
	nextNonce bool

	mu           sync.Mutex
	nonces       map[string]map[int]bool // nonce -> nonce counts seen
	issued       int
	requests     int
	unauthorized int      // 401s sent
	auths        []string // Authorization of each request, "" when bare
	seenNC       []string // nc of each answer to a known nonce, in order
	seenPairs    []string // nonce/nc of the same
	bodies       []string
}

var authParam = regexp.MustCompile(`(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))`)

func (s *digestServer) newNonce() string {
	s.issued++
	nonce := fmt.Sprintf("nonce-%d", s.issued)
	s.nonces[nonce] = map[int]bool{}
	return nonce
}

func (s *digestServer) challenge(w http.ResponseWriter, stale bool) {
	s.unauthorized++
	nonce := s.newNonce()
	for _, alg := range s.algorithms {
		v := fmt.Sprintf(`Digest realm="%s", qop="auth, auth-int", algorithm=%s, nonce="%s", opaque="op4que"`, s.realm, alg, nonce)
		if stale {
			v += ", stale=true"
		}
		w.Header().Add("WWW-Authenticate", v)
	}
	w.WriteHeader(http.StatusUnauthorized)
}

// forget drops every nonce issued, as a server restarting would.
func (s *digestServer) forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.nonces)
}

func (s *digestServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	body, _ := io.ReadAll(r.Body)
	s.bodies = append(s.bodies, string(body))
	s.auths = append(s.auths, r.Header.Get("Authorization"))
	h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Digest ")
	if !ok {
		s.challenge(w, false)
		return
	}
	p := map[string]string{}
	for _, m := range authParam.FindAllStringSubmatch(h, -1) {
		p[m[1]] = m[2] + m[3]
	}
	var hf func(string) string
	switch p["algorithm"] {
	case "MD5":
		hf = func(x string) string { d := md5.Sum([]byte(x)); return hex.EncodeToString(d[:]) }
	case "SHA-256":
		hf = func(x string) string { d := sha256.Sum256([]byte(x)); return hex.EncodeToString(d[:]) }
	default:
		s.t.Errorf("client used algorithm %q", p["algorithm"])
		s.challenge(w, false)
		return
	}
	seen, known := s.nonces[p["nonce"]]
	if !known {
		s.challenge(w, false)
		return
	}
	if p["qop"] != "auth" || p["opaque"] != "op4que" || p["uri"] != r.URL.RequestURI() || p["realm"] != s.realm {
		s.t.Errorf("bad digest parameters: %v", p)
	}
	var nc int
	if _, err := fmt.Sscanf(p["nc"], "%08x", &nc); err != nil || len(p["nc"]) != 8 || nc < 1 {
		s.t.Errorf("malformed nonce count %q", p["nc"])
	}
	if seen[nc] {
		s.t.Errorf("nonce count %s replayed for %s", p["nc"], p["nonce"])
		s.challenge(w, false)
		return
	}
	s.seenNC = append(s.seenNC, p["nc"])
	s.seenPairs = append(s.seenPairs, p["nonce"]+"/"+p["nc"])
	want := hf(hf(s.user+":"+s.realm+":"+s.pwd) + ":" + p["nonce"] + ":" + p["nc"] + ":" + p["cnonce"] + ":auth:" + hf(r.Method+":"+r.URL.RequestURI()))
	if p["username"] != s.user || p["response"] != want || p["cnonce"] == "" {
		s.challenge(w, false)
		return
	}
	seen[nc] = true
	if s.staleAfter > 0 && nc > s.staleAfter {
		s.challenge(w, true)
		return
	}
	if s.nextNonce {
		w.Header().Set("Authentication-Info", fmt.Sprintf(`rspauth="unchecked", cnonce="%s", nc=%s, qop=auth, nextnonce="%s"`, p["cnonce"], p["nc"], s.newNonce()))
	}
	fmt.Fprintf(w, `{"algorithm":%q}`, p["algorithm"])
}

func newDigestServer(t *testing.T, algorithms ...string) (*digestServer, *httptest.Server) {
	ds := &digestServer{t: t, user: "Mufasa", pwd: "Circle of Life", realm: "http-auth@example.org",
		algorithms: algorithms, nonces: map[string]map[int]bool{}}
	srv := httptest.NewServer(ds)
	t.Cleanup(srv.Close)
	return ds, srv
}

func digestClient(user, pwd string) *Client {
	return NewClient(Auth{Type: schema.AuthDigest, Username: user, Password: pwd}, nil)
}

func TestDigest_MatchesRFC7616Vectors(t *testing.T) {
	raw, err := os.ReadFile("../../shared/fixtures/vectors.json")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("shared fixtures not present")
	}
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Digest struct {
			Challenges []string `json:"server_challenges_verbatim"`
			Inputs     struct {
				Username, Password, Realm, Method, URI, Nonce, NC, Cnonce, Qop, Opaque string
			} `json:"inputs"`
			Expected map[string]struct {
				Response string `json:"response"`
			} `json:"expected"`
		} `json:"rfc7616_digest"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	in := v.Digest.Inputs
	// The challenges are quoted as header lines; parse them as a server
	// would send them.
	var values []string
	for _, c := range v.Digest.Challenges {
		values = append(values, strings.TrimPrefix(c, "WWW-Authenticate: "))
	}
	ch, ok := pickDigest(values)
	if !ok || ch.algorithm != "SHA-256" {
		t.Fatalf("picked %+v, want SHA-256 (the stronger offer)", ch)
	}
	for _, alg := range []string{"SHA-256", "MD5"} {
		want := v.Digest.Expected[alg].Response
		var chal *digestChallenge
		for _, val := range values {
			if c, ok := pickDigest([]string{val}); ok && c.algorithm == alg {
				chal = c
			}
		}
		if chal == nil {
			t.Fatalf("no %s challenge parsed", alg)
		}
		if chal.realm != in.Realm || chal.nonce != in.Nonce || chal.opaque != in.Opaque || chal.qop != in.Qop {
			t.Fatalf("%s challenge parsed as %+v", alg, chal)
		}
		if got := chal.response(in.Username, in.Password, in.Method, in.URI, in.NC, in.Cnonce); got != want {
			t.Errorf("%s response = %s, want %s", alg, got, want)
		}
		header := chal.authorization(in.Username, in.Password, in.Method, in.URI, 1, in.Cnonce)
		for _, part := range []string{`username="Mufasa"`, `nc=00000001`, `qop=auth`, `algorithm=` + alg, `response="` + want + `"`, `opaque="` + in.Opaque + `"`} {
			if !strings.Contains(header, part) {
				t.Errorf("%s Authorization %s lacks %s", alg, header, part)
			}
		}
	}
}

func TestDigest_AuthenticatesAndCountsNoncesUp(t *testing.T) {
	for _, alg := range []string{"SHA-256", "MD5"} {
		t.Run(alg, func(t *testing.T) {
			ds, srv := newDigestServer(t, alg)
			c := digestClient("Mufasa", "Circle of Life")
			for i := 0; i < 3; i++ {
				var out struct{ Algorithm string }
				if err := c.DoJSON(t.Context(), "POST", srv.URL+"/dir/index.html?x=1", map[string]int{"i": i}, &out); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if out.Algorithm != alg {
					t.Fatalf("server saw %s", out.Algorithm)
				}
			}
			// One bare request for the challenge, then three answered
			// under one nonce with nc 1, 2, 3.
			if ds.requests != 4 || strings.Join(ds.seenNC, ",") != "00000001,00000002,00000003" {
				t.Fatalf("requests = %d, nc = %v", ds.requests, ds.seenNC)
			}
			if ds.bodies[0] != `{"i":0}` || ds.bodies[1] != `{"i":0}` {
				t.Fatalf("body not replayed after the challenge: %q", ds.bodies)
			}
		})
	}
}

func TestDigest_PrefersSHA256WhenBothAreOffered(t *testing.T) {
	_, srv := newDigestServer(t, "MD5", "SHA-256")
	var out struct{ Algorithm string }
	if err := digestClient("Mufasa", "Circle of Life").DoJSON(t.Context(), "GET", srv.URL, nil, &out); err != nil || out.Algorithm != "SHA-256" {
		t.Fatalf("algorithm = %s, err = %v", out.Algorithm, err)
	}
}

func TestDigest_SequentialRequestsMakeOneChallenge(t *testing.T) {
	ds, srv := newDigestServer(t, "SHA-256")
	c := digestClient("Mufasa", "Circle of Life")
	const n = 6
	for i := 0; i < n; i++ {
		if err := get(t, c, srv.URL+"/a"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if ds.unauthorized != 1 || ds.requests != n+1 {
		t.Fatalf("401s = %d, requests = %d; want 1 and %d", ds.unauthorized, ds.requests, n+1)
	}
	if got := strings.Join(ds.seenNC, ","); got != "00000001,00000002,00000003,00000004,00000005,00000006" {
		t.Fatalf("nc sequence = %s", got)
	}
	// Only the first request went out bare; the rest answered at once.
	for i, a := range ds.auths[1:] {
		if !strings.HasPrefix(a, "Digest ") {
			t.Fatalf("request %d carried Authorization %q", i+1, a)
		}
	}
}

func TestDigest_ConcurrentRequestsShareTheNonceWithoutReplay(t *testing.T) {
	ds, srv := newDigestServer(t, "SHA-256")
	c := digestClient("Mufasa", "Circle of Life")
	const n = 50
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs <- c.DoJSON(t.Context(), "POST", srv.URL+"/items", map[string]int{"i": i}, nil)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The server fails the test itself on a replayed nonce count; here,
	// every answer used its own pair, and the requests waiting on the
	// first challenge did not draw 401s of their own.
	pairs := map[string]bool{}
	for _, p := range ds.seenPairs {
		pairs[p] = true
	}
	if len(ds.seenPairs) != n || len(pairs) != n {
		t.Fatalf("%d answers with %d distinct (nonce, nc) pairs, want %d", len(ds.seenPairs), len(pairs), n)
	}
	if ds.unauthorized != 1 {
		t.Fatalf("401s = %d, want 1", ds.unauthorized)
	}
}

func TestDigest_StaleNonceIsRechallengedOnce(t *testing.T) {
	ds, srv := newDigestServer(t, "SHA-256")
	ds.staleAfter = 2
	c := digestClient("Mufasa", "Circle of Life")
	for i := 0; i < 4; i++ {
		if err := c.DoJSON(t.Context(), "PUT", srv.URL+"/a", map[string]int{"i": i}, nil); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	// The third use of nonce-1 is stale; the client retries at once under
	// nonce-2, starting its count again at 1, and keeps that nonce.
	if got := strings.Join(ds.seenPairs, ","); got != "nonce-1/00000001,nonce-1/00000002,nonce-1/00000003,nonce-2/00000001,nonce-2/00000002" {
		t.Fatalf("answers = %s", got)
	}
	if ds.issued != 2 || ds.unauthorized != 2 || ds.requests != 6 {
		t.Fatalf("nonces issued = %d, 401s = %d, requests = %d", ds.issued, ds.unauthorized, ds.requests)
	}
	if ds.bodies[3] != `{"i":2}` || ds.bodies[4] != `{"i":2}` {
		t.Fatalf("body not replayed after the stale answer: %q", ds.bodies)
	}
}

func TestDigest_ForgottenNonceGetsOneFreshChallenge(t *testing.T) {
	ds, srv := newDigestServer(t, "SHA-256")
	c := digestClient("Mufasa", "Circle of Life")
	for i := 0; i < 2; i++ {
		if err := get(t, c, srv.URL); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	ds.forget()
	for i := 2; i < 4; i++ {
		if err := c.DoJSON(t.Context(), "POST", srv.URL+"/b", map[string]int{"i": i}, nil); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	// The 401 to nonce-1 is the fresh challenge: answered once, then kept.
	if got := strings.Join(ds.seenPairs, ","); got != "nonce-1/00000001,nonce-1/00000002,nonce-2/00000001,nonce-2/00000002" {
		t.Fatalf("answers = %s", got)
	}
	if ds.unauthorized != 2 || ds.requests != 6 {
		t.Fatalf("401s = %d, requests = %d; want 2 and 6", ds.unauthorized, ds.requests)
	}
	if ds.bodies[3] != `{"i":2}` || ds.bodies[4] != `{"i":2}` {
		t.Fatalf("body not replayed after the fresh challenge: %q", ds.bodies)
	}
}

func TestDigest_NextnonceFromAuthenticationInfoIsUsed(t *testing.T) {
	ds, srv := newDigestServer(t, "SHA-256")
	ds.nextNonce = true
	c := digestClient("Mufasa", "Circle of Life")
	for i := 0; i < 3; i++ {
		if err := get(t, c, srv.URL); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if got := strings.Join(ds.seenPairs, ","); got != "nonce-1/00000001,nonce-2/00000001,nonce-3/00000001" {
		t.Fatalf("answers = %s", got)
	}
	if ds.unauthorized != 1 {
		t.Fatalf("401s = %d, want 1", ds.unauthorized)
	}
}

func TestDigest_WrongPasswordIsAuthExpiredWithoutLooping(t *testing.T) {
	ds, srv := newDigestServer(t, "SHA-256")
	c := digestClient("Mufasa", "wrong")
	for i := 1; i <= 2; i++ {
		e := fault.As(get(t, c, srv.URL))
		if e == nil || e.Kind != fault.AuthExpired || e.HTTPStatus != http.StatusUnauthorized {
			t.Fatalf("request %d: err = %v", i, e)
		}
		// Nothing cached from a rejected answer: each request is a probe
		// and one answer.
		if ds.requests != 2*i || ds.auths[2*i-2] != "" {
			t.Fatalf("request %d: requests = %d, want %d (probe and one answer)", i, ds.requests, 2*i)
		}
	}
}

func TestDigest_RevokedPasswordIsAuthExpiredAfterOneFreshChallenge(t *testing.T) {
	ds, srv := newDigestServer(t, "SHA-256")
	c := digestClient("Mufasa", "Circle of Life")
	if err := get(t, c, srv.URL); err != nil {
		t.Fatal(err)
	}
	ds.mu.Lock()
	ds.pwd = "changed"
	ds.mu.Unlock()
	if err := get(t, c, srv.URL); fault.KindOf(err) != fault.AuthExpired {
		t.Fatalf("err = %v", err)
	}
	// The cached answer is refused, the fresh challenge is answered once,
	// and that refusal is the one reported.
	if ds.requests != 4 || ds.unauthorized != 3 {
		t.Fatalf("requests = %d, 401s = %d; want 4 and 3", ds.requests, ds.unauthorized)
	}
}

func TestDigest_SharedCacheKeepsCredentialsAndOriginsApart(t *testing.T) {
	dsA, srvA := newDigestServer(t, "SHA-256")
	dsB, srvB := newDigestServer(t, "SHA-256")
	cache := newDigestCache(maxDigestSessions)
	good := Auth{Type: schema.AuthDigest, Username: "Mufasa", Password: "Circle of Life"}
	bad := Auth{Type: schema.AuthDigest, Username: "Mufasa", Password: "Circle of Lif"}
	first, second := newClient(good, nil, cache), newClient(good, nil, cache)
	other := newClient(bad, nil, cache)

	if err := get(t, first, srvA.URL); err != nil {
		t.Fatal(err)
	}
	// The same credentials through another client answer at once.
	if err := get(t, second, srvA.URL); err != nil {
		t.Fatal(err)
	}
	if dsA.requests != 3 || dsA.auths[2] == "" {
		t.Fatalf("second client: requests = %d, auths = %q", dsA.requests, dsA.auths)
	}
	// Other credentials start bare, never with the first set's nonce.
	if err := get(t, other, srvA.URL); fault.KindOf(err) != fault.AuthExpired {
		t.Fatalf("other credentials: err = %v", err)
	}
	if dsA.auths[3] != "" {
		t.Fatalf("other credentials sent %q before any challenge", dsA.auths[3])
	}
	// Another origin starts bare too: no nonce, username or response is
	// sent to a server that did not ask.
	if err := get(t, first, srvB.URL); err != nil {
		t.Fatal(err)
	}
	if dsB.auths[0] != "" || dsB.unauthorized != 1 {
		t.Fatalf("second origin: auths = %q", dsB.auths)
	}
	if n := cache.len(); n != 3 {
		t.Fatalf("sessions = %d, want 3 (two credential sets on A, one on B)", n)
	}
}

func TestDigest_CacheForgetsTheLeastRecentlyUsedPastItsBound(t *testing.T) {
	cache := newDigestCache(2)
	a := digestKey{creds: "a", origin: "http://x:80"}
	b := digestKey{creds: "b", origin: "http://x:80"}
	c := digestKey{creds: "a", origin: "http://y:80"}
	sa := cache.session(a)
	sb := cache.session(b)
	cache.session(a) // a is now more recent than b
	cache.session(c)
	if n := cache.len(); n != 2 {
		t.Fatalf("sessions = %d, want 2", n)
	}
	if cache.session(a) != sa {
		t.Fatal("the recently used session was evicted")
	}
	if cache.session(b) == sb {
		t.Fatal("the least recently used session was kept")
	}
}

func TestDigest_OriginIsCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"HTTP://Example.org/a?b":     "http://example.org:80",
		"http://example.org:80/":     "http://example.org:80",
		"https://example.org/x":      "https://example.org:443",
		"https://example.org:8443/x": "https://example.org:8443",
		"http://[::1]:8080/x":        "http://[::1]:8080",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := digestOrigin(u); got != want {
			t.Errorf("digestOrigin(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestDigest_ParsesSeveralChallengesInOneHeader(t *testing.T) {
	cs := parseChallenges(`Basic realm="x", Digest realm="r, with comma", nonce="n\"1", qop="auth", algorithm=MD5, Bearer`)
	if len(cs) != 3 || cs[1].scheme != "Digest" || cs[1].params["realm"] != "r, with comma" || cs[1].params["nonce"] != `n"1` || cs[2].scheme != "Bearer" {
		t.Fatalf("parsed %+v", cs)
	}
	if _, ok := pickDigest([]string{`Digest nonce="n", qop="auth-int"`}); ok {
		t.Fatal("accepted a challenge that only offers auth-int")
	}
}

func TestDigest_WaitForTheFirstChallengeEndsWithTheContext(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	c := digestClient("Mufasa", "Circle of Life")
	first := make(chan error, 1)
	go func() { first <- get(t, c, srv.URL) }()
	<-arrived
	// The first request is out for the challenge; a second one waits for
	// it, and gives up when its own context ends.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := c.DoJSON(ctx, "GET", srv.URL, nil, nil)
	if fault.KindOf(err) != fault.Retryable || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first request: %v", err)
	}
}

func TestDigest_CallsOfOnePluginShareTheNonce(t *testing.T) {
	ds, srv := newDigestServer(t, "SHA-256")
	c := &Connector{
		Name: "digest", Version: "1.0.0", Description: "digest test",
		Auth: []schema.AuthScheme{{Type: schema.AuthDigest, Description: "digest"}},
		Check: func(ctx context.Context, conn *Conn) (string, error) {
			return "ok", conn.HTTP().DoJSON(ctx, http.MethodGet, srv.URL+"/check", nil, nil)
		},
	}
	wc, err := Server(c)
	if err != nil {
		t.Fatal(err)
	}
	conn := wire.Connection{Name: "wh", Tenant: "acme", Auth: wire.Auth{Type: schema.AuthDigest, Username: "Mufasa", Password: "Circle of Life"}}
	const calls = 4
	for i := range calls {
		if _, err := wc.CheckConnection(context.Background(), conn); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	// Each call builds its own Conn; the Digest state is the plugin's,
	// so only the first call draws a challenge.
	if ds.unauthorized != 1 || ds.requests != calls+1 {
		t.Fatalf("401s = %d, requests = %d over %d calls; want 1 and %d", ds.unauthorized, ds.requests, calls, calls+1)
	}
}
