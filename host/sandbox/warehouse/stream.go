package warehouse

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// Close codes the stream ends with, besides the standard ones (1008 for a
// client that fell behind, 1012 when the simulator is Reset).
const (
	// CloseBadRequest follows a "bad_request" error: an unparsable since
	// or a client message the server refuses.
	CloseBadRequest = 4400
	// CloseUnauthorized follows an "unauthorized" error: no token, a
	// wrong one, or no auth message within the auth wait.
	CloseUnauthorized = 4401
	// ClosePositionExpired follows a "position_expired" error: since is
	// older than the retention, or ahead of the stream (after a Reset).
	ClosePositionExpired = 4410
)

// Stream defaults.
const (
	// DefaultPingInterval is Options.PingInterval when it is 0.
	DefaultPingInterval = 10 * time.Second
	// DefaultStreamBuffer is Options.StreamBuffer when it is 0.
	DefaultStreamBuffer = 256
)

// authWait is how long a client that sent no token in the upgrade request
// has to send its auth message.
const authWait = 5 * time.Second

// streamEvent is one published change, encoded once for every client.
type streamEvent struct {
	seq  int64
	kind string
	msg  []byte
}

// streamClient is one connected, authenticated stream. Its fields but conn
// and ch are guarded by Sim.mu.
type streamClient struct {
	conn *websocket.Conn
	// ch is the bounded buffer between the publisher and the writer: the
	// publisher never blocks on it, and a client whose buffer is full is
	// ended (lagged) instead.
	ch chan streamEvent
	// kick wakes the writer when malformed or ended changes.
	kick      chan struct{}
	malformed int
	// ended is why the server ends the stream: "" while it runs.
	ended string
}

const (
	endLagged = "lagged"
	endReset  = "reset"
)

func (c *streamClient) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// streamState is the stream half of the simulator's state, guarded by
// Sim.mu.
type streamState struct {
	events []streamEvent
	// trimmed is the highest seq dropped by the retention; a resume from
	// a since below it has lost events.
	trimmed int64
	// keep is how many events are kept for resume; 0 keeps everything.
	keep    int
	epoch   string
	clients map[*streamClient]struct{}
	paused  bool
	// pauseChanged is closed, and replaced, whenever paused changes.
	pauseChanged chan struct{}
}

// resetStream empties the stream, ends every client with 1012 (their seq
// numbering would go backwards) and clears the switches; s.mu is held.
func (s *Sim) resetStream() {
	for c := range s.stream.clients {
		c.ended = endReset
		c.wake()
	}
	if s.stream.pauseChanged != nil {
		close(s.stream.pauseChanged) // wakes writers waiting out a pause
	}
	s.stream = streamState{
		epoch:        newEpoch(),
		clients:      map[*streamClient]struct{}{},
		pauseChanged: make(chan struct{}),
	}
}

// newEpoch names one run between Resets, so event ids stay unique when
// Reset starts seq again at 1.
func newEpoch() string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand does not fail on supported platforms; a clock
		// value keeps ids distinct all the same.
		return strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return hex.EncodeToString(b)
}

// publish appends a change to the stream and hands it to every client
// without blocking; s.mu is held. data is the REST feed item of the change.
func (s *Sim) publish(seq int64, kind string, data any, at time.Time) {
	msg, err := json.Marshal(map[string]any{
		"type": "event",
		"seq":  seq,
		"event": map[string]any{
			"id":   fmt.Sprintf("evt_%s_%d", s.stream.epoch, seq),
			"kind": kind,
			"data": data,
			"at":   at.UTC().Format(time.RFC3339Nano),
		},
	})
	if err != nil {
		return // the feed item types always encode
	}
	ev := streamEvent{seq: seq, kind: kind, msg: msg}
	s.stream.events = append(s.stream.events, ev)
	s.trimStream()
	for c := range s.stream.clients {
		select {
		case c.ch <- ev:
		default:
			// A full buffer means the client reads slower than the
			// warehouse changes; holding the simulator for it would
			// stall every API call, so it is ended and resumes.
			c.ended = endLagged
			delete(s.stream.clients, c)
			c.wake()
		}
	}
}

// trimStream drops the events beyond the retention; s.mu is held.
func (s *Sim) trimStream() {
	if s.stream.keep <= 0 || len(s.stream.events) <= s.stream.keep {
		return
	}
	drop := len(s.stream.events) - s.stream.keep
	s.stream.trimmed = s.stream.events[drop-1].seq
	// Reslicing, not copying: copying the kept events on every publish
	// made each change cost O(retention). append reallocates once the
	// backing array is full, copying only the kept events then, so the
	// dropped ones are freed and a publish stays amortised O(1).
	clear(s.stream.events[:drop])
	s.stream.events = s.stream.events[drop:]
}

// SetRetention keeps only the last n events for resume; n ≤ 0 keeps every
// event since Reset (the default). A since older than what is kept is
// refused with position_expired.
func (s *Sim) SetRetention(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stream.keep = max(n, 0)
	s.trimStream()
}

// DropStream closes every stream's TCP connection without a close frame,
// as a network failure would.
func (s *Sim) DropStream() {
	s.mu.Lock()
	conns := make([]*websocket.Conn, 0, len(s.stream.clients))
	for c := range s.stream.clients {
		conns = append(conns, c.conn)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.CloseNow() // already closed is fine: that is the goal
	}
}

// MalformedStream sends every connected stream one text frame that is not
// JSON, in order with its events.
func (s *Sim) MalformedStream() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.stream.clients {
		c.malformed++
		c.wake()
	}
}

// PauseStream stops (true) or restarts (false) sending events to streams.
// A paused stream still answers and sends pings; events published
// meanwhile wait in each client's buffer, and a client whose buffer
// fills is ended with 1008 as a slow one would be.
func (s *Sim) PauseStream(paused bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stream.paused == paused {
		return
	}
	s.stream.paused = paused
	close(s.stream.pauseChanged)
	s.stream.pauseChanged = make(chan struct{})
}

// streamError is an error message the stream sends before closing.
type streamError struct {
	code    string
	message string
	oldest  int64
	status  websocket.StatusCode
}

// send writes the error message and closes the connection with its status.
func (e streamError) send(ctx context.Context, conn *websocket.Conn) {
	body := map[string]any{"type": "error", "code": e.code, "message": e.message}
	if e.code == "position_expired" {
		body["oldest"] = e.oldest
	}
	b, err := json.Marshal(body)
	if err == nil {
		_ = conn.Write(ctx, websocket.MessageText, b) // the close below says the same
	}
	_ = conn.Close(e.status, e.code)
}

// validToken reports whether tok is the account token or a session; s.mu
// is held.
func (s *Sim) validToken(tok string) bool {
	return tok != "" && (subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.Token)) == 1 || s.sessions[tok])
}

// clientMessage is what a client may send: {"type":"auth","token"} first
// when the upgrade carried no token, then {"type":"subscribe","kinds"}.
type clientMessage struct {
	Type  string   `json:"type"`
	Token string   `json:"token"`
	Kinds []string `json:"kinds"`
}

// serveStream serves GET /api/stream: it authenticates, replays the
// retained events after since and then follows the live ones.
func (s *Sim) serveStream(w http.ResponseWriter, r *http.Request) {
	// Any origin may connect: a token is required whatever the origin,
	// so a foreign page gains nothing it could not do itself.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered the request
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer conn.CloseNow()

	// One reader for the life of the connection: it answers pings and
	// close frames, and hands data messages to this goroutine.
	in := make(chan []byte)
	go func() {
		defer cancel()
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			select {
			case in <- b:
			case <-ctx.Done():
				return
			}
		}
	}()

	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		tok = r.URL.Query().Get("token")
	}
	if tok == "" {
		tok = s.awaitAuth(ctx, in)
	}
	s.mu.Lock()
	valid := s.validToken(tok)
	s.mu.Unlock()
	if !valid {
		streamError{code: "unauthorized", message: "missing or invalid token", status: CloseUnauthorized}.send(ctx, conn)
		return
	}

	since := int64(-1)
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			streamError{code: "bad_request", message: "since must be a whole number ≥ 0", status: CloseBadRequest}.send(ctx, conn)
			return
		}
		since = n
	}
	c, backlog, refused := s.subscribe(conn, since)
	if refused != nil {
		refused.send(ctx, conn)
		return
	}
	defer func() {
		s.mu.Lock()
		delete(s.stream.clients, c)
		s.mu.Unlock()
	}()
	go s.ping(ctx, conn)
	s.follow(ctx, c, backlog, in)
}

// awaitAuth waits up to authWait for the auth message and returns its
// token, "" when none came.
func (s *Sim) awaitAuth(ctx context.Context, in <-chan []byte) string {
	t := time.NewTimer(authWait)
	defer t.Stop()
	select {
	case b := <-in:
		var m clientMessage
		if json.Unmarshal(b, &m) != nil || m.Type != "auth" {
			return ""
		}
		return m.Token
	case <-t.C:
	case <-ctx.Done():
	}
	return ""
}

// subscribe registers a client and returns the retained events after
// since (-1: every retained event). Both happen under one lock, so the
// backlog and the live events meet without a gap or a repeat.
func (s *Sim) subscribe(conn *websocket.Conn, since int64) (*streamClient, []streamEvent, *streamError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if since < 0 {
		since = s.stream.trimmed
	}
	if since < s.stream.trimmed || since > s.feedSeq {
		return nil, nil, &streamError{
			code:    "position_expired",
			message: fmt.Sprintf("position %d is no longer available; the oldest event is %d", since, s.stream.trimmed+1),
			oldest:  s.stream.trimmed + 1,
			status:  ClosePositionExpired,
		}
	}
	var backlog []streamEvent
	for _, ev := range s.stream.events {
		if ev.seq > since {
			backlog = append(backlog, ev)
		}
	}
	buf := s.opts.StreamBuffer
	if buf <= 0 {
		buf = DefaultStreamBuffer
	}
	c := &streamClient{conn: conn, ch: make(chan streamEvent, buf), kick: make(chan struct{}, 1)}
	s.stream.clients[c] = struct{}{}
	return c, backlog, nil
}

// ping sends a ping every PingInterval and drops a peer that does not
// answer one within two intervals (at least 5 s).
func (s *Sim) ping(ctx context.Context, conn *websocket.Conn) {
	every := s.opts.PingInterval
	if every <= 0 {
		every = DefaultPingInterval
	}
	wait := max(2*every, 5*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, wait)
		err := conn.Ping(pctx)
		cancel()
		if err != nil {
			_ = conn.CloseNow() // the peer is gone; the reader ends the rest
			return
		}
	}
}

// follow writes the backlog, then live events, until the connection ends.
func (s *Sim) follow(ctx context.Context, c *streamClient, backlog []streamEvent, in <-chan []byte) {
	var (
		last  int64 // seq of the last event written
		kinds []string
	)
	write := func(b []byte) bool {
		return c.conn.Write(ctx, websocket.MessageText, b) == nil
	}
	for {
		s.mu.Lock()
		ended, malformed, paused, pauseChanged := c.ended, c.malformed, s.stream.paused, s.stream.pauseChanged
		c.malformed = 0
		s.mu.Unlock()
		switch ended {
		case endLagged:
			_ = c.conn.Close(websocket.StatusPolicyViolation, fmt.Sprintf("fell behind; resume with since=%d", last))
			return
		case endReset:
			_ = c.conn.Close(websocket.StatusServiceRestart, "simulator reset")
			return
		}
		for range malformed {
			if !write([]byte(`{"type":"event","seq":`)) {
				return
			}
		}
		var live <-chan streamEvent
		if !paused {
			if len(backlog) > 0 {
				ev := backlog[0]
				backlog = backlog[1:]
				if wanted(kinds, ev.kind) && !write(ev.msg) {
					return
				}
				last = ev.seq
				continue
			}
			live = c.ch
		}
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		case <-pauseChanged:
		case b := <-in:
			var m clientMessage
			if err := json.Unmarshal(b, &m); err != nil || m.Type != "subscribe" || !knownKinds(m.Kinds) {
				streamError{code: "bad_request", message: `expected {"type":"subscribe","kinds":[...]} with kinds among ` + EventOrderStatusChanged + ", " + EventStockChanged, status: CloseBadRequest}.send(ctx, c.conn)
				return
			}
			kinds = m.Kinds
		case ev := <-live:
			if wanted(kinds, ev.kind) && !write(ev.msg) {
				return
			}
			last = ev.seq
		}
	}
}

// wanted reports whether a subscription to kinds (none: all) takes kind.
func wanted(kinds []string, kind string) bool {
	return len(kinds) == 0 || slices.Contains(kinds, kind)
}

func knownKinds(kinds []string) bool {
	for _, k := range kinds {
		if k != EventOrderStatusChanged && k != EventStockChanged {
			return false
		}
	}
	return true
}
