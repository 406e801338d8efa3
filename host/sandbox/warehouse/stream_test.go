package warehouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// guard bounds a test step that would otherwise hang on a bug; it is not
// a timing assertion.
const guard = 10 * time.Second

// streamURL serves s on loopback and returns its stream URL.
func streamURL(t *testing.T, s *Sim) string {
	t.Helper()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/stream"
}

func dialStream(t *testing.T, url string, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func bearer(tok string) *websocket.DialOptions {
	return &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}}
}

// next reads one message; it fails the test on a read error.
func next(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	m, err := tryNext(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func tryNext(c *websocket.Conn) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("message %q is not JSON: %w", b, err)
	}
	return m, nil
}

// closedWith reads until the connection ends and checks its close status.
func closedWith(t *testing.T, c *websocket.Conn, want websocket.StatusCode) error {
	t.Helper()
	for {
		if _, err := tryNext(c); err != nil {
			if got := websocket.CloseStatus(err); got != want {
				t.Fatalf("closed with %v (%v), want %v", got, err, want)
			}
			return err
		}
	}
}

func seqOf(m map[string]any) int64 {
	f, _ := m["seq"].(float64)
	return int64(f)
}

// changes makes seq 1..3 stock changes and 4..5 shipment changes.
func changes(t *testing.T, s *Sim) {
	t.Helper()
	for i, q := range []int{5, 6, 7} {
		s.SetStock("SKU-MUG", q+i)
	}
	for _, st := range []string{StatusPicking, StatusPacked} {
		if err := s.Advance("ord_1001", st); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStream_ResumeFromSinceDeliversLaterEventsInOrderThenLive(t *testing.T) {
	s := New(Options{})
	changes(t, s)
	c := dialStream(t, streamURL(t, s)+"?since=2", bearer(DefaultToken))
	for _, want := range []struct {
		seq  int64
		kind string
	}{{3, EventStockChanged}, {4, EventOrderStatusChanged}, {5, EventOrderStatusChanged}} {
		m := next(t, c)
		if m["type"] != "event" || seqOf(m) != want.seq || dig(m, "event", "kind") != want.kind {
			t.Fatalf("want seq %d %s, got %v", want.seq, want.kind, m)
		}
		if id, _ := dig(m, "event", "id").(string); id == "" {
			t.Errorf("event without id: %v", m)
		}
		if _, err := time.Parse(time.RFC3339, dig(m, "event", "at").(string)); err != nil {
			t.Errorf("at: %v", err)
		}
	}
	s.SetStock("SKU-POSTER", 9)
	m := next(t, c)
	if seqOf(m) != 6 || dig(m, "event", "data", "sku") != "SKU-POSTER" || dig(m, "event", "data", "qty") != 9.0 {
		t.Fatalf("live event: %v", m)
	}
	// data is the REST feed's item for the same change.
	_, _, feed := newClient(t, s).do("GET", "/api/stock?since=5", nil, nil)
	item, _ := json.Marshal(dig(feed, "data", "items").([]any)[0])
	data, _ := json.Marshal(dig(m, "event", "data"))
	if string(item) != string(data) {
		t.Fatalf("stream data %s, REST item %s", data, item)
	}
}

func TestStream_WithoutSinceStartsAtOldestRetained(t *testing.T) {
	s := New(Options{})
	changes(t, s)
	s.SetRetention(2)
	c := dialStream(t, streamURL(t, s), bearer(DefaultToken))
	if m := next(t, c); seqOf(m) != 4 {
		t.Fatalf("first event %v, want seq 4", m)
	}
}

func TestStream_PositionExpiredAfterRetention(t *testing.T) {
	s := New(Options{})
	changes(t, s)
	s.SetRetention(2) // keeps seq 4 and 5
	url := streamURL(t, s)
	c := dialStream(t, url+"?since=2", bearer(DefaultToken))
	m := next(t, c)
	if m["type"] != "error" || m["code"] != "position_expired" || m["oldest"] != 4.0 {
		t.Fatalf("expired: %v", m)
	}
	closedWith(t, c, ClosePositionExpired)

	c = dialStream(t, url+"?since=3", bearer(DefaultToken))
	if m := next(t, c); seqOf(m) != 4 {
		t.Fatalf("resume at the retention's edge: %v", m)
	}
}

func TestStream_SinceAheadAfterResetIsExpired(t *testing.T) {
	s := New(Options{})
	changes(t, s)
	url := streamURL(t, s)
	c := dialStream(t, url+"?since=4", bearer(DefaultToken))
	next(t, c) // registered
	s.Reset()
	closedWith(t, c, websocket.StatusServiceRestart)
	c = dialStream(t, url+"?since=5", bearer(DefaultToken))
	if m := next(t, c); m["code"] != "position_expired" || m["oldest"] != 1.0 {
		t.Fatalf("since ahead of the stream: %v", m)
	}
	closedWith(t, c, ClosePositionExpired)
}

func TestStream_Unauthorized(t *testing.T) {
	s := New(Options{})
	url := streamURL(t, s)
	for name, dial := range map[string]func() *websocket.Conn{
		"wrong header": func() *websocket.Conn { return dialStream(t, url, bearer("wrong")) },
		"wrong query":  func() *websocket.Conn { return dialStream(t, url+"?token=wrong", nil) },
		"not an auth message": func() *websocket.Conn {
			c := dialStream(t, url, nil)
			if err := c.Write(context.Background(), websocket.MessageText, []byte(`{"type":"subscribe"}`)); err != nil {
				t.Fatal(err)
			}
			return c
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := dial()
			if m := next(t, c); m["type"] != "error" || m["code"] != "unauthorized" {
				t.Fatalf("got %v", m)
			}
			closedWith(t, c, CloseUnauthorized)
		})
	}
}

func TestStream_AuthByHeaderQueryOrMessage(t *testing.T) {
	s := New(Options{})
	s.SetStock("SKU-MUG", 1)
	url := streamURL(t, s)
	for name, dial := range map[string]func() *websocket.Conn{
		"header": func() *websocket.Conn { return dialStream(t, url, bearer(DefaultToken)) },
		"query":  func() *websocket.Conn { return dialStream(t, url+"?token="+DefaultToken, nil) },
		"message": func() *websocket.Conn {
			c := dialStream(t, url, nil)
			if err := c.Write(context.Background(), websocket.MessageText, []byte(`{"type":"auth","token":"`+DefaultToken+`"}`)); err != nil {
				t.Fatal(err)
			}
			return c
		},
	} {
		t.Run(name, func(t *testing.T) {
			if m := next(t, dial()); m["type"] != "event" || seqOf(m) != 1 {
				t.Fatalf("got %v", m)
			}
		})
	}
}

func TestStream_BadSinceAndRefusedSubscribe(t *testing.T) {
	s := New(Options{})
	url := streamURL(t, s)
	c := dialStream(t, url+"?since=x", bearer(DefaultToken))
	if m := next(t, c); m["code"] != "bad_request" {
		t.Fatalf("bad since: %v", m)
	}
	closedWith(t, c, CloseBadRequest)

	c = dialStream(t, url, bearer(DefaultToken))
	if err := c.Write(context.Background(), websocket.MessageText, []byte(`{"type":"subscribe","kinds":["order.shipped"]}`)); err != nil {
		t.Fatal(err)
	}
	if m := next(t, c); m["code"] != "bad_request" {
		t.Fatalf("unknown kind: %v", m)
	}
	closedWith(t, c, CloseBadRequest)
}

func TestStream_SubscribeFiltersKinds(t *testing.T) {
	s := New(Options{})
	c := dialStream(t, streamURL(t, s), bearer(DefaultToken))
	s.SetStock("SKU-MUG", 1) // seq 1, before the subscribe: delivered
	if m := next(t, c); seqOf(m) != 1 {
		t.Fatalf("got %v", m)
	}
	if err := c.Write(context.Background(), websocket.MessageText, []byte(`{"type":"subscribe","kinds":["order.status_changed"]}`)); err != nil {
		t.Fatal(err)
	}
	// The server's reader hands the subscribe to the writer before it
	// reads the ping, so once the pong is back the filter is in place.
	got := pingWhileReading(t, c)
	s.SetStock("SKU-MUG", 2)
	if err := s.Advance("ord_1001", StatusPicking); err != nil {
		t.Fatal(err)
	}
	if m := <-got; seqOf(m) != 3 || dig(m, "event", "kind") != EventOrderStatusChanged {
		t.Fatalf("want only the order change, got %v", m)
	}
}

// pingWhileReading pings c while a reader takes the pong, fails the test
// if a data message came before the pong, and returns the reader's
// channel: it yields the next message once one arrives.
func pingWhileReading(t *testing.T, c *websocket.Conn) <-chan map[string]any {
	t.Helper()
	got := make(chan map[string]any, 1)
	go func() {
		m, _ := tryNext(c) // nil on an error; the receiver reports it
		got <- m
	}()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	select {
	case m := <-got:
		t.Fatalf("message before the pong: %v", m)
	default:
	}
	return got
}

func TestStream_DropStreamFailsReadWithoutCloseFrame(t *testing.T) {
	s := New(Options{})
	s.SetStock("SKU-MUG", 1)
	c := dialStream(t, streamURL(t, s), bearer(DefaultToken))
	next(t, c) // the client is registered once it has an event
	s.DropStream()
	_, err := tryNext(c)
	if err == nil {
		t.Fatal("read after DropStream succeeded")
	}
	if code := websocket.CloseStatus(err); code != -1 {
		t.Fatalf("got close frame %v, want none", code)
	}
}

func TestStream_MalformedFrameThenEventsGoOn(t *testing.T) {
	s := New(Options{})
	s.SetStock("SKU-MUG", 1)
	c := dialStream(t, streamURL(t, s), bearer(DefaultToken))
	next(t, c)
	s.MalformedStream()
	if _, err := tryNext(c); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("want a frame that is not JSON, got %v", err)
	}
	s.SetStock("SKU-MUG", 2)
	if m := next(t, c); seqOf(m) != 2 {
		t.Fatalf("after the malformed frame: %v", m)
	}
}

func TestStream_PauseHoldsEventsAndAnswersPings(t *testing.T) {
	s := New(Options{})
	s.SetStock("SKU-MUG", 1)
	c := dialStream(t, streamURL(t, s), bearer(DefaultToken))
	next(t, c)
	s.PauseStream(true)
	s.SetStock("SKU-MUG", 2)
	s.SetStock("SKU-MUG", 3)
	got := pingWhileReading(t, c) // alive, and nothing sent while paused
	s.PauseStream(false)
	if m := <-got; seqOf(m) != 2 {
		t.Fatalf("after resume: %v, want seq 2", m)
	}
	if m := next(t, c); seqOf(m) != 3 {
		t.Fatalf("after resume: %v, want seq 3", m)
	}
}

func TestStream_ServerPings(t *testing.T) {
	s := New(Options{PingInterval: 5 * time.Millisecond})
	pinged := make(chan struct{}, 1)
	opts := bearer(DefaultToken)
	opts.OnPingReceived = func(context.Context, []byte) bool {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return true
	}
	c := dialStream(t, streamURL(t, s), opts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _, _, _ = c.Read(ctx) }() // control frames are read by Read
	select {
	case <-pinged:
	case <-time.After(guard):
		t.Fatal("no ping from the server")
	}
}

// smallBuffers shrinks each accepted connection's socket buffers, so a
// client that does not read makes the server's writes block at once.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

func TestStream_SlowClientDoesNotBlockPublishingAndResumes(t *testing.T) {
	s := New(Options{StreamBuffer: 4})
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/stream"
	dialer := &net.Dialer{}
	slowHTTP := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return c, err
	}}}
	opts := bearer(DefaultToken)
	opts.HTTPClient = slowHTTP
	slow := dialStream(t, url, opts)
	s.SetStock("SKU-MUG", 0)
	next(t, slow) // registered; from here on it does not read

	const n = 2000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			s.SetStock("SKU-MUG", i+1)
		}
	}()
	select {
	case <-done:
	case <-time.After(guard):
		t.Fatal("publishing blocked on a client that does not read")
	}

	// Now it reads: what was in flight, then a 1008 close that says
	// where to resume.
	last := int64(1)
	var err error
	for {
		var m map[string]any
		if m, err = tryNext(slow); err != nil {
			break
		}
		if seqOf(m) != last+1 {
			t.Fatalf("seq %d after %d", seqOf(m), last)
		}
		last = seqOf(m)
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation {
		t.Fatalf("slow client ended with %v, want 1008", err)
	}
	if last >= n+1 {
		t.Fatalf("the slow client got every event (%d); it never fell behind", last)
	}
	since, ok := strings.CutPrefix(ce.Reason, "fell behind; resume with since=")
	if !ok || since != strconv.FormatInt(last, 10) {
		t.Fatalf("close reason %q, last seq read %d", ce.Reason, last)
	}
	c := dialStream(t, url+"?since="+since, bearer(DefaultToken))
	if m := next(t, c); seqOf(m) != last+1 {
		t.Fatalf("resume: %v, want seq %d", m, last+1)
	}
}

func TestControl_StreamSwitches(t *testing.T) {
	s := New(Options{})
	ctl := httptest.NewServer(s.Control())
	t.Cleanup(ctl.Close)
	post := func(path, body string) int {
		resp, err := http.Post(ctl.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	changes(t, s)
	url := streamURL(t, s)
	c := dialStream(t, url+"?since=4", bearer(DefaultToken))
	next(t, c)

	if code := post("/stream/pause", `{"paused":true}`); code != 204 {
		t.Fatalf("pause: %d", code)
	}
	s.SetStock("SKU-MUG", 100)
	got := pingWhileReading(t, c)
	if code := post("/stream/pause", `{"paused":false}`); code != 204 {
		t.Fatalf("unpause: %d", code)
	}
	if m := <-got; seqOf(m) != 6 {
		t.Fatalf("after unpause: %v", m)
	}
	if code := post("/stream/malformed", ``); code != 204 {
		t.Fatalf("malformed: %d", code)
	}
	if _, err := tryNext(c); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("malformed frame: %v", err)
	}
	if code := post("/stream/drop", ``); code != 204 {
		t.Fatalf("drop: %d", code)
	}
	if _, err := tryNext(c); err == nil || websocket.CloseStatus(err) != -1 {
		t.Fatalf("after drop: %v", err)
	}
	if code := post("/stream/retention", `{"keep":1}`); code != 204 {
		t.Fatalf("retention: %d", code)
	}
	c = dialStream(t, url+"?since=4", bearer(DefaultToken))
	if m := next(t, c); m["code"] != "position_expired" || m["oldest"] != 6.0 {
		t.Fatalf("after retention 1: %v", m)
	}
	if code := post("/stream/pause", `{}`); code != 422 {
		t.Fatalf("pause without paused: %d", code)
	}
}
