// Package sink is a loopback HTTP receiver for hub's end-to-end tests and
// its load generator (cmd/hubload): it stands in for the third party a
// workflow delivers to. It counts every POST by its Idempotency-Key, so a
// test can check that each step took effect exactly once however often it
// was retried, reports each effective delivery to a hook for latency, and
// injects faults on demand: error statuses (with Retry-After) for the next
// n requests or until a time, and an outage in which connections are reset.
// It can also stand in for a consumer that has stopped: while stalled it
// reads each request and holds it unanswered until released (then it
// answers 503, so a held request never counts as delivered) or the sink
// closes.
//
// It listens on 127.0.0.1 only and keeps everything in memory; it must not
// grow into a general mock server.
package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// KeyHeader is the header deliveries are counted by.
const KeyHeader = "Idempotency-Key"

// maxBody bounds what one request may carry; larger bodies are answered
// 413 and count as requests only.
const maxBody = 8 << 20

// Options configure a Sink.
type Options struct {
	// OnDeliver, when set, is called for every request answered 2xx, with
	// its Idempotency-Key, its body and when the sink finished reading it.
	// It runs on the request's goroutine before the answer is written, so
	// it must be quick and safe for concurrent use.
	OnDeliver func(key string, body []byte, at time.Time)
	// Status answers a request that no fault applies to; default 200.
	Status int
}

// Sink is a loopback HTTP receiver. Its methods are safe for concurrent use.
type Sink struct {
	opts Options
	srv  *http.Server
	ln   net.Listener
	url  string
	done chan struct{}

	mu        sync.Mutex
	keys      map[string]int
	requests  int
	failN     int
	failNWith fault
	until     time.Time
	untilWith fault
	down      bool
	conns     map[net.Conn]struct{}
	stall     chan struct{} // while stalled, closed to release the held requests
	held      int           // requests being held by a stall
	closed    chan struct{} // closed by Close, releasing every held request
	closeOnce sync.Once
}

// fault is an error answer.
type fault struct {
	status     int
	retryAfter string
}

// New returns a sink configured by opts; Start makes it listen.
func New(opts Options) *Sink {
	if opts.Status == 0 {
		opts.Status = http.StatusOK
	}
	return &Sink{opts: opts, keys: map[string]int{}, conns: map[net.Conn]struct{}{}, closed: make(chan struct{})}
}

// Start listens on a free port of 127.0.0.1 and serves until Close.
func (s *Sink) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("sink: listen: %w", err)
	}
	s.ln = &gate{Listener: ln, s: s}
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serve),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState:         s.track,
	}
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(s.ln) // returns http.ErrServerClosed after Close
	}()
	return nil
}

// URL is the sink's base URL, "http://127.0.0.1:PORT"; any path is accepted.
func (s *Sink) URL() string { return s.url }

// Close stops the sink, closing every connection and releasing every
// request a stall holds. It waits for the serving goroutine, not for
// handlers already running.
func (s *Sink) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
	if s.srv == nil {
		return
	}
	_ = s.srv.Close()
	<-s.done
}

// Keys returns, for every Idempotency-Key seen, how many requests carrying
// it were answered 2xx; a key whose requests all failed is absent. A
// request without the header counts under "".
func (s *Sink) Keys() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.keys))
	for k, n := range s.keys {
		out[k] = n
	}
	return out
}

// Effective is how many distinct keys have been answered 2xx at least once:
// len(Keys()) without the copy.
func (s *Sink) Effective() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}

// Requests is how many POSTs the sink has read, whatever it answered.
// Connections reset during an outage (see Down) are not requests.
func (s *Sink) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Fail makes the next n requests fail with status, and with a Retry-After
// header when retryAfter is not empty (e.g. 429 with "1"). It replaces an
// earlier Fail's remaining count; n <= 0 cancels it.
func (s *Sink) Fail(n int, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN = max(n, 0)
	s.failNWith = fault{status, retryAfter}
}

// FailUntil makes every request read before t fail with status (and
// Retry-After when retryAfter is not empty). A t in the past cancels it.
// Fail's count, while it lasts, is used first.
func (s *Sink) FailUntil(t time.Time, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.until = t
	s.untilWith = fault{status, retryAfter}
}

// Down(true) takes the sink off the air: open connections are closed and
// new ones are reset as soon as they are accepted, so a client sees a
// network failure rather than an answer. Down(false) brings it back on the
// same address.
func (s *Sink) Down(down bool) {
	s.mu.Lock()
	s.down = down
	var open []net.Conn
	if down {
		for c := range s.conns {
			open = append(open, c)
		}
	}
	s.mu.Unlock()
	for _, c := range open {
		reset(c)
	}
}

// Stall(true) makes the sink a consumer that has stopped: every request
// read from then on is held unanswered, however long its client waits.
// Stall(false) releases the held requests, which are answered 503 (they
// never count as delivered), and lets later requests be answered as
// usual. Close releases them too.
func (s *Sink) Stall(stall bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case stall && s.stall == nil:
		s.stall = make(chan struct{})
	case !stall && s.stall != nil:
		close(s.stall)
		s.stall = nil
	}
}

// Held is how many requests a stall is holding unanswered now.
func (s *Sink) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// hold waits until release is closed, the sink closes or the client goes
// away, and answers 503 unless the client went away.
func (s *Sink) hold(w http.ResponseWriter, r *http.Request, release <-chan struct{}) {
	select {
	case <-release:
	case <-s.closed:
	case <-r.Context().Done():
	}
	s.mu.Lock()
	s.held--
	s.mu.Unlock()
	if r.Context().Err() == nil {
		http.Error(w, "sink: stalled", http.StatusServiceUnavailable)
	}
}

func (s *Sink) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "only POST is accepted", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	at := time.Now()
	key := r.Header.Get(KeyHeader)

	s.mu.Lock()
	s.requests++
	if s.down {
		// The request raced the outage on a connection opened before it.
		s.mu.Unlock()
		if c, _, herr := http.NewResponseController(w).Hijack(); herr == nil {
			reset(c)
		}
		return
	}
	if release := s.stall; release != nil {
		s.held++
		s.mu.Unlock()
		s.hold(w, r, release)
		return
	}
	var f *fault
	switch {
	case err != nil:
		f = &fault{status: http.StatusRequestEntityTooLarge}
		var tooBig *http.MaxBytesError
		if !errors.As(err, &tooBig) {
			f.status = http.StatusBadRequest
		}
	case s.failN > 0:
		s.failN--
		f = &s.failNWith
	case at.Before(s.until):
		f = &s.untilWith
	}
	var answer fault
	if f != nil {
		answer = *f
	} else {
		answer.status = s.opts.Status
	}
	ok := answer.status >= 200 && answer.status < 300
	if ok {
		s.keys[key]++
	}
	s.mu.Unlock()

	if ok && s.opts.OnDeliver != nil {
		s.opts.OnDeliver(key, body, at)
	}
	if answer.retryAfter != "" {
		w.Header().Set("Retry-After", answer.retryAfter)
	}
	if ok {
		w.WriteHeader(answer.status)
		return
	}
	http.Error(w, "sink: injected "+strconv.Itoa(answer.status), answer.status)
}

// track keeps the set of open connections so Down can close them.
func (s *Sink) track(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch state {
	case http.StateNew:
		s.conns[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		delete(s.conns, c)
	}
}

func (s *Sink) isDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down
}

// gate resets connections accepted while the sink is down instead of
// handing them to the server.
type gate struct {
	net.Listener
	s *Sink
}

func (g *gate) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil || !g.s.isDown() {
			return c, err
		}
		reset(c)
	}
}

// reset closes c with an RST rather than an orderly FIN, as a crashed
// server's kernel would.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// Wait polls until cond holds for the sink or ctx ends, checking every
// interval.
func (s *Sink) Wait(ctx context.Context, interval time.Duration, cond func(*Sink) bool) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for !cond(s) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("sink: wait: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}
