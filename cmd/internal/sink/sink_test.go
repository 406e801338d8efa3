package sink

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func start(t *testing.T, opts Options) *Sink {
	t.Helper()
	s := New(opts)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// client is a keep-alive client of its own, so one test's idle connections
// do not leak into another.
func client(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// post sends body with key and returns the status and Retry-After, or the
// transport error.
func post(c *http.Client, url, key, body string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if key != "" {
		req.Header.Set(KeyHeader, key)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

func mustPost(t *testing.T, c *http.Client, url, key string) int {
	t.Helper()
	status, _, err := post(c, url, key, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	return status
}

func TestSink_CountsEffectiveDeliveriesByKey(t *testing.T) {
	s := start(t, Options{})
	c := client(t)
	for _, k := range []string{"a", "b", "a", ""} {
		if got := mustPost(t, c, s.URL()+"/any/path", k); got != http.StatusOK {
			t.Fatalf("status %d", got)
		}
	}
	keys := s.Keys()
	if len(keys) != 3 || keys["a"] != 2 || keys["b"] != 1 || keys[""] != 1 {
		t.Fatalf("keys = %v", keys)
	}
	if s.Requests() != 4 || s.Effective() != 3 {
		t.Fatalf("requests = %d, effective = %d", s.Requests(), s.Effective())
	}
}

func TestSink_StatusOptionSetsTheSuccessAnswer(t *testing.T) {
	s := start(t, Options{Status: http.StatusAccepted})
	if got := mustPost(t, client(t), s.URL(), "k"); got != http.StatusAccepted || s.Keys()["k"] != 1 {
		t.Fatalf("status %d, keys %v", got, s.Keys())
	}
}

func TestSink_FailAnswersTheNextNWithStatusAndRetryAfter(t *testing.T) {
	s := start(t, Options{})
	c := client(t)
	s.Fail(2, http.StatusTooManyRequests, "1")
	for i := range 2 {
		status, after, err := post(c, s.URL(), "k", `{}`)
		if err != nil || status != http.StatusTooManyRequests || after != "1" {
			t.Fatalf("request %d: %d retry-after %q, %v", i, status, after, err)
		}
	}
	status, after, err := post(c, s.URL(), "k", `{}`)
	if err != nil || status != http.StatusOK || after != "" {
		t.Fatalf("third request: %d retry-after %q, %v", status, after, err)
	}
	if keys := s.Keys(); keys["k"] != 1 || s.Requests() != 3 {
		t.Fatalf("keys = %v, requests = %d: failed requests must not count as effective", keys, s.Requests())
	}
}

func TestSink_FailWithZeroCancels(t *testing.T) {
	s := start(t, Options{})
	s.Fail(5, http.StatusServiceUnavailable, "")
	s.Fail(0, 0, "")
	if got := mustPost(t, client(t), s.URL(), "k"); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
}

func TestSink_FailUntilFailsEveryRequestBeforeTheTime(t *testing.T) {
	s := start(t, Options{})
	c := client(t)
	s.FailUntil(time.Now().Add(time.Hour), http.StatusServiceUnavailable, "")
	for i := range 3 {
		if got := mustPost(t, c, s.URL(), "k"); got != http.StatusServiceUnavailable {
			t.Fatalf("request %d: status %d", i, got)
		}
	}
	s.FailUntil(time.Now().Add(-time.Second), http.StatusServiceUnavailable, "")
	if got := mustPost(t, c, s.URL(), "k"); got != http.StatusOK {
		t.Fatalf("after the window: status %d", got)
	}
	if s.Keys()["k"] != 1 || s.Requests() != 4 {
		t.Fatalf("keys = %v, requests = %d", s.Keys(), s.Requests())
	}
}

func TestSink_FailCountIsUsedBeforeFailUntil(t *testing.T) {
	s := start(t, Options{})
	c := client(t)
	s.FailUntil(time.Now().Add(time.Hour), http.StatusServiceUnavailable, "")
	s.Fail(1, http.StatusTooManyRequests, "2")
	if got := mustPost(t, c, s.URL(), "k"); got != http.StatusTooManyRequests {
		t.Fatalf("first: %d", got)
	}
	if got := mustPost(t, c, s.URL(), "k"); got != http.StatusServiceUnavailable {
		t.Fatalf("second: %d", got)
	}
}

func TestSink_DownResetsConnectionsUntilUp(t *testing.T) {
	s := start(t, Options{})
	c := client(t)
	// A keep-alive connection exists before the outage; it must not
	// survive it.
	if got := mustPost(t, c, s.URL(), "before"); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	s.Down(true)
	for i := range 3 {
		if status, _, err := post(c, s.URL(), "during", `{}`); err == nil {
			t.Fatalf("request %d while down answered %d", i, status)
		}
	}
	s.Down(false)
	if got := mustPost(t, c, s.URL(), "after"); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	keys := s.Keys()
	if keys["before"] != 1 || keys["during"] != 0 || keys["after"] != 1 {
		t.Fatalf("keys = %v", keys)
	}
}

func TestSink_OnDeliverSeesKeyBodyAndTimeOfEffectiveRequestsOnly(t *testing.T) {
	type call struct {
		key, body string
		at        time.Time
	}
	var (
		mu    sync.Mutex
		calls []call
	)
	s := start(t, Options{OnDeliver: func(key string, body []byte, at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, call{key, string(body), at})
	}})
	c := client(t)
	s.Fail(1, http.StatusInternalServerError, "")
	before := time.Now()
	for _, body := range []string{`{"n":1}`, `{"n":2}`} {
		if _, _, err := post(c, s.URL(), "k", body); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 1 || calls[0].key != "k" || calls[0].body != `{"n":2}` {
		t.Fatalf("calls = %+v, want only the answered one", calls)
	}
	if calls[0].at.Before(before) {
		t.Fatalf("at %v is before the request was sent (%v)", calls[0].at, before)
	}
}

func TestSink_OnlyPostIsAccepted(t *testing.T) {
	s := start(t, Options{})
	resp, err := client(t).Get(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || s.Requests() != 0 {
		t.Fatalf("GET: %d, requests = %d", resp.StatusCode, s.Requests())
	}
}

func TestSink_ConcurrentDeliveriesAreAllCounted(t *testing.T) {
	s := start(t, Options{})
	c := client(t)
	const workers, each = 8, 50
	s.Fail(workers, http.StatusServiceUnavailable, "")
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("w%d-%d", w, i)
				for {
					status, _, err := post(c, s.URL(), key, `{}`)
					if err != nil {
						errs <- err
						return
					}
					if status == http.StatusOK {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	keys := s.Keys()
	if len(keys) != workers*each || s.Requests() != workers*each+workers {
		t.Fatalf("%d keys, %d requests; want %d and %d", len(keys), s.Requests(), workers*each, workers*each+workers)
	}
	for k, n := range keys {
		if n != 1 {
			t.Fatalf("key %s effective %d times", k, n)
		}
	}
}

func TestSink_WaitReturnsWhenTheConditionHoldsOrTheContextEnds(t *testing.T) {
	s := start(t, Options{})
	c := client(t)
	go func() { _, _, _ = post(c, s.URL(), "k", `{}`) }()
	if err := s.Wait(t.Context(), time.Millisecond, func(s *Sink) bool { return s.Effective() == 1 }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Wait(ctx, time.Millisecond, func(*Sink) bool { return false }); err == nil {
		t.Fatal("Wait with an ended context returned nil")
	}
}

func TestSink_StallHoldsRequestsUntilReleasedThenAnswers503(t *testing.T) {
	var delivered sync.WaitGroup
	s := start(t, Options{OnDeliver: func(string, []byte, time.Time) { delivered.Done() }})
	c := client(t)
	s.Stall(true)
	s.Stall(true) // a second Stall(true) keeps the same stall
	type answer struct {
		status int
		err    error
	}
	answers := make(chan answer, 3)
	for i := range 3 {
		go func() {
			status, _, err := post(c, s.URL(), fmt.Sprint("k", i), `{}`)
			answers <- answer{status, err}
		}()
	}
	if err := s.Wait(t.Context(), time.Millisecond, func(s *Sink) bool { return s.Held() == 3 }); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-answers:
		t.Fatalf("a stalled request was answered: %+v", a)
	default:
	}
	s.Stall(false)
	for range 3 {
		if a := <-answers; a.err != nil || a.status != http.StatusServiceUnavailable {
			t.Fatalf("released request: %d, %v; want 503", a.status, a.err)
		}
	}
	if n := s.Effective(); n != 0 || s.Held() != 0 || s.Requests() != 3 {
		t.Fatalf("effective %d, held %d, requests %d; want 0, 0, 3", n, s.Held(), s.Requests())
	}
	// After the release requests are answered as usual again.
	delivered.Add(1)
	if status := mustPost(t, c, s.URL(), "after"); status != http.StatusOK {
		t.Fatalf("after release: %d", status)
	}
	delivered.Wait()
}

func TestSink_CloseReleasesStalledRequests(t *testing.T) {
	s := New(Options{})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	s.Stall(true)
	c := client(t)
	answered := make(chan error, 1)
	go func() {
		_, _, err := post(c, s.URL(), "k", `{}`)
		answered <- err
	}()
	if err := s.Wait(t.Context(), time.Millisecond, func(s *Sink) bool { return s.Held() == 1 }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// The client sees the 503 or the closed connection, whichever wins;
	// either way it is not left waiting.
	<-answered
	if err := s.Wait(t.Context(), time.Millisecond, func(s *Sink) bool { return s.Held() == 0 }); err != nil {
		t.Fatal(err)
	}
	if n := s.Effective(); n != 0 {
		t.Fatalf("effective %d after a stall; want 0", n)
	}
}
