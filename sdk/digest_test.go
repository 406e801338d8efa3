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
	"net/http/cookiejar"
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
	// algorithms offered, in order, e.g. "SHA-256", "MD5-sess".
	algorithms []string
	// staleAfter marks a nonce stale after that many uses (0: never).
	staleAfter int
	// nextNonce names a new nonce in Authentication-Info on every success.
	nextNonce bool
	// strict refuses a nonce count not above the highest seen for its
	// nonce with a fresh challenge, not stale, as Apache with
	// AuthDigestNcCheck On and abbot/go-http-auth do. Otherwise only a
	// count seen before is refused, and that fails the test.
	strict bool

	mu           sync.Mutex
	nonces       map[string]map[int]bool // nonce -> nonce counts seen
	highest      map[string]int          // nonce -> highest count accepted
	sessKeys     map[string]string       // nonce -> -sess H(A1), fixed by the first answer
	issued       int
	requests     int
	unauthorized int      // 401s sent
	refusedNC    int      // answers refused in strict mode for their count
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
	base, sess := strings.CutSuffix(p["algorithm"], "-sess")
	switch base {
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
	if s.strict && nc <= s.highest[p["nonce"]] {
		s.refusedNC++
		s.challenge(w, false)
		return
	}
	if seen[nc] {
		s.t.Errorf("nonce count %s replayed for %s", p["nc"], p["nonce"])
		s.challenge(w, false)
		return
	}
	s.seenNC = append(s.seenNC, p["nc"])
	s.seenPairs = append(s.seenPairs, p["nonce"]+"/"+p["nc"])
	ha1 := hf(s.user + ":" + s.realm + ":" + s.pwd)
	if sess {
		// Like a server that keeps the session key: the first answer to a
		// nonce fixes it, and later ones are checked against it.
		key, ok := s.sessKeys[p["nonce"]]
		if !ok {
			key = hf(ha1 + ":" + p["nonce"] + ":" + p["cnonce"])
		}
		ha1 = key
	}
	want := hf(ha1 + ":" + p["nonce"] + ":" + p["nc"] + ":" + p["cnonce"] + ":auth:" + hf(r.Method+":"+r.URL.RequestURI()))
	if p["username"] != s.user || p["response"] != want || p["cnonce"] == "" {
		s.challenge(w, false)
		return
	}
	seen[nc] = true
	s.highest[p["nonce"]] = max(s.highest[p["nonce"]], nc)
	if sess {
		s.sessKeys[p["nonce"]] = ha1
	}
	if s.staleAfter > 0 && nc > s.staleAfter {
		s.challenge(w, true)
		return
	}
	if s.nextNonce {
		next := s.newNonce()
		if sess {
			// The session, and its key, go on under the next nonce.
			s.sessKeys[next] = ha1
		}
		w.Header().Set("Authentication-Info", fmt.Sprintf(`rspauth="unchecked", cnonce="%s", nc=%s, qop=auth, nextnonce="%s"`, p["cnonce"], p["nc"], next))
	}
	fmt.Fprintf(w, `{"algorithm":%q}`, p["algorithm"])
}

func newDigestHandler(t *testing.T, algorithms ...string) *digestServer {
	return &digestServer{t: t, user: "Mufasa", pwd: "Circle of Life", realm: "http-auth@example.org",
		algorithms: algorithms, nonces: map[string]map[int]bool{}, highest: map[string]int{}, sessKeys: map[string]string{}}
}

func newDigestServer(t *testing.T, algorithms ...string) (*digestServer, *httptest.Server) {
	ds := newDigestHandler(t, algorithms...)
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

// concurrently runs n calls of f and fails on the first error.
func concurrently(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs <- f(i) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestDigest_ConcurrentRequestsEachHoldASessionOfTheirOwn(t *testing.T) {
	ds, srv := newDigestServer(t, "SHA-256")
	ds.strict = true
	c := digestClient("Mufasa", "Circle of Life")
	const n = 200
	concurrently(t, n, func(i int) error {
		return c.DoJSON(t.Context(), "POST", srv.URL+"/items", map[string]int{"i": i}, nil)
	})
	// A nonce is used by one request at a time, so its counts reach even
	// a server refusing any count not above the highest it saw in the
	// order they were given out. Requests past the pool's bound waited for
	// a session rather than drawing a challenge of their own.
	if ds.refusedNC != 0 {
		t.Fatalf("%d answers refused for their nonce count", ds.refusedNC)
	}
	pairs := map[string]bool{}
	for _, p := range ds.seenPairs {
		pairs[p] = true
	}
	if len(ds.seenPairs) != n || len(pairs) != n {
		t.Fatalf("%d answers with %d distinct (nonce, nc) pairs, want %d", len(ds.seenPairs), len(pairs), n)
	}
	if ds.unauthorized < 1 || ds.unauthorized > maxDigestSessionsPerKey {
		t.Fatalf("401s = %d, want 1 to %d (one per session)", ds.unauthorized, maxDigestSessionsPerKey)
	}
}

func TestDigest_StrictServerAcceptsEveryRequestOfConcurrentWorkers(t *testing.T) {
	ds, srv := newDigestServer(t, "SHA-256")
	ds.strict = true
	c := digestClient("Mufasa", "Circle of Life")
	const workers, each = 8, 50
	concurrently(t, workers, func(w int) error {
		for i := range each {
			if err := get(t, c, fmt.Sprintf("%s/w%d/%d", srv.URL, w, i)); err != nil {
				return fmt.Errorf("worker %d request %d: %w", w, i, err)
			}
		}
		return nil
	})
	// No more sessions than requests ever out at once, each started by
	// one challenge; every other request answered before being asked.
	if ds.refusedNC != 0 || ds.unauthorized > workers || ds.requests != workers*each+ds.unauthorized {
		t.Fatalf("refused = %d, 401s = %d, requests = %d; want 0, at most %d, and %d plus the 401s",
			ds.refusedNC, ds.unauthorized, ds.requests, workers, workers*each)
	}
}

func TestDigest_SessKeyIsFixedByTheFirstAnswerOfTheSession(t *testing.T) {
	for _, next := range []bool{false, true} {
		t.Run(fmt.Sprintf("nextnonce=%v", next), func(t *testing.T) {
			ds, srv := newDigestServer(t, "SHA-256-sess")
			ds.nextNonce = next
			c := digestClient("Mufasa", "Circle of Life")
			for i := 0; i < 4; i++ {
				var out struct{ Algorithm string }
				if err := c.DoJSON(t.Context(), "GET", srv.URL+"/s", nil, &out); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if out.Algorithm != "SHA-256-sess" {
					t.Fatalf("server saw %s", out.Algorithm)
				}
			}
			// The server checks later answers against the session key the
			// first one fixed, also under a nextnonce: one challenge only.
			if ds.unauthorized != 1 || ds.requests != 5 {
				t.Fatalf("401s = %d, requests = %d; want 1 and 5", ds.unauthorized, ds.requests)
			}
		})
	}
}

func TestDigest_SessWithoutQopIsNotAnswered(t *testing.T) {
	if ch, ok := pickDigest([]string{`Digest realm="r", nonce="n", algorithm=MD5-sess`}); ok {
		t.Fatalf("accepted %+v: H(A1) binds a cnonce that an answer without qop cannot carry", ch)
	}
	if _, ok := pickDigest([]string{`Digest realm="r", nonce="n", algorithm=MD5`}); !ok {
		t.Fatal("refused an RFC 2069 challenge without qop")
	}
}

func TestDigest_ChallengeFromAnotherOriginAfterARedirectIsNotAnswered(t *testing.T) {
	dsB, srvB := newDigestServer(t, "SHA-256")
	var mu sync.Mutex
	var authsA []string
	srvA := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		authsA = append(authsA, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Redirect(w, r, srvB.URL+r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(srvA.Close)
	c := digestClient("Mufasa", "Circle of Life")
	for i := 0; i < 2; i++ {
		e := fault.As(get(t, c, srvA.URL+"/items"))
		if e == nil || e.Kind != fault.AuthExpired || e.HTTPStatus != http.StatusUnauthorized {
			t.Fatalf("request %d: err = %v, want the other origin's 401", i, e)
		}
	}
	// B's challenge is neither answered to A nor kept for A, nor answered
	// to B, which the connection does not point at.
	mu.Lock()
	defer mu.Unlock()
	if len(authsA) != 2 || authsA[0] != "" || authsA[1] != "" {
		t.Fatalf("the redirecting origin got Authorization %q", authsA)
	}
	if dsB.requests != 2 || dsB.auths[0] != "" || dsB.auths[1] != "" {
		t.Fatalf("the other origin got %d requests with Authorization %q", dsB.requests, dsB.auths)
	}
}

func TestDigest_AnswerIsNotForwardedOnARedirect(t *testing.T) {
	var mu sync.Mutex
	var authsB []string
	srvB := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		authsB = append(authsB, r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	t.Cleanup(srvB.Close)
	// A takes Digest answers at /, and redirects /moved to B after
	// checking the answer; net/http would forward the Authorization to
	// another port of the same host.
	ds := newDigestHandler(t, "SHA-256")
	mux := http.NewServeMux()
	mux.Handle("/", ds)
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		ds.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			t.Errorf("A refused the answer to /moved: %d", rec.Code)
		}
		http.Redirect(w, r, srvB.URL+"/moved", http.StatusTemporaryRedirect)
	})
	srvA := httptest.NewServer(mux)
	t.Cleanup(srvA.Close)
	c := digestClient("Mufasa", "Circle of Life")
	if err := get(t, c, srvA.URL); err != nil {
		t.Fatal(err)
	}
	if err := get(t, c, srvA.URL+"/moved"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(authsB) != 1 || authsB[0] != "" {
		t.Fatalf("the redirect target got Authorization %q", authsB)
	}
}

func TestDigest_ChallengeAfterASameOriginRedirectIsAnsweredAtTheChallengedURL(t *testing.T) {
	ds := newDigestHandler(t, "SHA-256")
	mux := http.NewServeMux()
	mux.Handle("/items", ds)
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/items", http.StatusTemporaryRedirect)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c := digestClient("Mufasa", "Circle of Life")
	for i := 0; i < 2; i++ {
		if err := c.DoJSON(t.Context(), "POST", srv.URL+"/old", map[string]int{"i": i}, nil); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	// Each time /items is reached bare (the answer for /old is not
	// forwarded) and its challenge is answered with uri=/items, which the
	// server checks, the body replayed.
	if ds.requests != 4 || ds.unauthorized != 2 || len(ds.seenPairs) != 2 {
		t.Fatalf("requests = %d, 401s = %d, answers = %v; want 4, 2 and 2", ds.requests, ds.unauthorized, ds.seenPairs)
	}
	if ds.bodies[1] != `{"i":0}` || ds.bodies[3] != `{"i":1}` {
		t.Fatalf("bodies = %q", ds.bodies)
	}
}

// The request answering a challenge after a redirect starts from the
// redirect net/http made, which already carries the jar's cookies: the
// jar adds them once more when it is sent, and the caller's own once.
func TestDigest_AnswerAfterARedirectCarriesEachCookieOnce(t *testing.T) {
	ds := newDigestHandler(t, "SHA-256")
	var (
		mu      sync.Mutex
		cookies []string
	)
	mux := http.NewServeMux()
	mux.HandleFunc("/items", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cookies = append(cookies, strings.Join(r.Header.Values("Cookie"), "; "))
		mu.Unlock()
		ds.ServeHTTP(w, r)
	})
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/items", http.StatusTemporaryRedirect)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: "j1"}})
	c := NewClient(Auth{Type: schema.AuthDigest, Username: "Mufasa", Password: "Circle of Life"}, &http.Client{Jar: jar})
	req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/old", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: "own", Value: "c1"})

	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	discard(resp)

	mu.Lock()
	defer mu.Unlock()
	if len(cookies) != 2 {
		t.Fatalf("requests to /items = %d, want 2 (bare, answer)", len(cookies))
	}
	for i, got := range cookies {
		if strings.Count(got, "session=j1") != 1 || strings.Count(got, "own=c1") != 1 {
			t.Errorf("request %d to /items: Cookie %q, want each cookie once", i, got)
		}
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
	cache := newDigestCache(maxDigestKeys, maxDigestSessionsPerKey)
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
	cache := newDigestCache(2, 1)
	a := digestKey{creds: "a", origin: "http://x:80"}
	b := digestKey{creds: "b", origin: "http://x:80"}
	c := digestKey{creds: "a", origin: "http://y:80"}
	use := func(k digestKey) *digestPool {
		p := cache.pool(k)
		cache.release(p)
		return p
	}
	pa := use(a)
	pb := use(b)
	use(a) // a is now more recent than b
	use(c)
	if n := cache.len(); n != 2 {
		t.Fatalf("protection spaces = %d, want 2", n)
	}
	if use(a) != pa {
		t.Fatal("the recently used pool was evicted")
	}
	if use(b) == pb {
		t.Fatal("the least recently used pool was kept")
	}
}

// A pool forgotten while a request holds one of its sessions would be
// replaced by a second pool for the same key, and the key's requests
// would hold more sessions than its bound. The cache grows past its
// bound instead, and shrinks back when the pool is released.
func TestDigest_CacheKeepsAHeldPoolPastItsBound(t *testing.T) {
	cache := newDigestCache(1, 1)
	a := digestKey{creds: "a", origin: "http://x:80"}
	b := digestKey{creds: "b", origin: "http://x:80"}
	pa := cache.pool(a)
	sa, err := pa.checkout(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	pb := cache.pool(b) // a is held: it stays
	if n := cache.len(); n != 2 {
		t.Fatalf("protection spaces while a is held = %d, want 2", n)
	}
	cache.release(pb)
	again := cache.pool(a)
	if again != pa {
		t.Fatal("a held pool was forgotten: its key has a second pool")
	}
	done, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := again.checkout(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("second checkout for a key of one session: %v, want to wait for the first", err)
	}
	cache.release(again)

	pa.checkin(sa)
	cache.release(pa)
	if n := cache.len(); n != 1 {
		t.Fatalf("protection spaces once released = %d, want 1", n)
	}
}

func TestDigest_PoolHandsOutEachSessionToOneRequestAtATime(t *testing.T) {
	p := newDigestCache(1, 2).pool(digestKey{creds: "a", origin: "http://x:80"})
	ctx := t.Context()
	s1, err := p.checkout(ctx)
	if err != nil || s1.ch != nil {
		t.Fatalf("first checkout: %+v, %v; want a new session", s1, err)
	}
	s1.install(&digestChallenge{nonce: "n1"})
	s2, err := p.checkout(ctx)
	if err != nil || s2 == s1 || s2.ch != nil {
		t.Fatalf("second checkout while the first is held: %+v, %v; want another new session", s2, err)
	}
	// Both slots are held: a third request waits, here until its context
	// ends.
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.checkout(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("third checkout: %v, want the context's error", err)
	}
	p.checkin(s2) // never challenged: dropped
	p.checkin(s1)
	if got, err := p.checkout(ctx); err != nil || got != s1 {
		t.Fatalf("checkout after checkin: %+v, %v; want the answered session", got, err)
	}
	if got, err := p.checkout(ctx); err != nil || got.ch != nil {
		t.Fatalf("checkout with no idle session: %+v, %v; want a new one", got, err)
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

func TestDigest_WaitForAFreeSessionEndsWithTheContext(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	c := newClient(Auth{Type: schema.AuthDigest, Username: "Mufasa", Password: "Circle of Life"}, nil, newDigestCache(maxDigestKeys, 1))
	first := make(chan error, 1)
	go func() { first <- get(t, c, srv.URL) }()
	<-arrived
	// The first request holds the only session; a second one waits for
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
