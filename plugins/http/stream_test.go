package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/sdktest"
	"github.com/hubhq/hub/sdk/wire"
)

// The tests below speak the warehouse stream protocol
// (/work/notes/issue8-ws.md) with a small server of their own.

const streamToken = "tok-123"

// streamCfg is the stream config docs/no-code.md uses for the warehouse.
func streamCfg(extra map[string]any) map[string]any {
	cfg := map[string]any{
		"path": "/api/stream", "resume_param": "since",
		"type_path": "type", "event_type": "event", "events_path": "event",
		"id_path": "id", "kind_path": "kind", "time_path": "at", "position_path": "seq",
		"error_path": "code", "expired_code": "position_expired", "error_message_path": "message",
		// One message per batch, so tests can speak of each; batching of
		// messages that arrived together has its own test.
		"max_batch_messages": 1,
	}
	for k, v := range extra {
		cfg[k] = v
	}
	return cfg
}

// wsHandler serves one accepted connection; r is the upgrade request.
type wsHandler func(ctx context.Context, c *websocket.Conn, r *http.Request)

// wsServer serves handle for every upgrade on loopback and returns the
// base URL a connection points at.
func wsServer(t *testing.T, handle wsHandler) string {
	t.Helper()
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer c.CloseNow()
		wg.Add(1)
		defer wg.Done()
		handle(ctx, c, r)
	}))
	t.Cleanup(func() {
		cancel()
		srv.Close()
		wg.Wait()
	})
	return srv.URL
}

// bearerConn is a bearer-token connection to base.
func bearerConn(base string) wire.Connection {
	c := sdktest.Connection(map[string]any{"base_url": base, "headers": map[string]any{"X-Client": "hub"}})
	c.Auth = wire.Auth{Type: schema.AuthBearer, Token: streamToken}
	return c
}

// streamHarness serves the connector with pings after pingEvery of quiet.
func streamHarness(t *testing.T, pingEvery time.Duration) *sdktest.Harness {
	t.Helper()
	h := sdktest.New(t, declare(&kit{now: fixedNow, pingEvery: pingEvery}))
	h.Timeout = 5 * time.Second
	return h
}

func send(ctx context.Context, t *testing.T, c *websocket.Conn, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Errorf("server write: %v", err)
	}
}

func eventMsg(seq int, id string) map[string]any {
	ev := map[string]any{"kind": "order.status_changed", "data": map[string]any{"order_id": "ord_1001", "status": "packed"}, "at": "2026-01-05T10:00:00Z"}
	if id != "" {
		ev["id"] = id
	}
	return map[string]any{"type": "event", "seq": seq, "event": ev}
}

// hold keeps the server side reading (answering pings and the close
// handshake) until the client goes, returning how it closed.
func hold(ctx context.Context, c *websocket.Conn) websocket.StatusCode {
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func streamCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestStream_ResumesAfterThePositionAndEmitsABatchPerMessage(t *testing.T) {
	type upgrade struct {
		since, auth, client, subscribe string
	}
	seen := make(chan upgrade, 1)
	base := wsServer(t, func(ctx context.Context, c *websocket.Conn, r *http.Request) {
		_, sub, err := c.Read(ctx)
		if err != nil {
			t.Errorf("read the subscription: %v", err)
			return
		}
		seen <- upgrade{r.URL.Query().Get("since"), r.Header.Get("Authorization"), r.Header.Get("X-Client"), string(sub)}
		send(ctx, t, c, map[string]any{"type": "hello"})
		send(ctx, t, c, eventMsg(42, "evt_42"))
		send(ctx, t, c, map[string]any{"type": "event", "seq": 43, "event": []any{map[string]any{"id": "evt_43a"}, map[string]any{"id": 7}}})
		hold(ctx, c)
	})
	h := streamHarness(t, time.Hour)
	cfg := streamCfg(map[string]any{"subscribe": map[string]any{"type": "subscribe", "topics": []string{"orders"}}})
	batches, err := h.Stream(streamCtx(t), "stream", bearerConn(base), cfg, []byte("41"), 2)
	if err != nil {
		t.Fatal(err)
	}
	up := <-seen
	if up.since != "41" || up.auth != "Bearer "+streamToken || up.client != "hub" {
		t.Errorf("upgrade request: %+v", up)
	}
	if up.subscribe != `{"topics":["orders"],"type":"subscribe"}` {
		t.Errorf("subscription sent: %s", up.subscribe)
	}
	if len(batches) != 2 {
		t.Fatalf("batches: %+v", batches)
	}
	first, second := batches[0], batches[1]
	if string(first.Position) != "42" || len(first.Events) != 1 || first.Events[0].ID != "evt_42" {
		t.Fatalf("first batch: %+v", first)
	}
	if ev := first.Events[0]; ev.Type != "order.status_changed" || !ev.OccurredAt.Equal(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)) || !strings.Contains(string(ev.Payload), `"status":"packed"`) {
		t.Errorf("event: %+v %s", ev, ev.Payload)
	}
	if string(second.Position) != "43" || fmt.Sprint(eventIDs(second.Events)) != "[evt_43a 7]" {
		t.Errorf("second batch: %s %v", second.Position, eventIDs(second.Events))
	}
}

func TestStream_PositionIsKeptAsTheJSONTheAPIGave(t *testing.T) {
	base := wsServer(t, func(ctx context.Context, c *websocket.Conn, r *http.Request) {
		if got := r.URL.Query().Get("since"); got != "c-9" {
			t.Errorf("since = %q", got)
		}
		send(ctx, t, c, map[string]any{"type": "event", "seq": "c-10", "event": map[string]any{"id": "e10"}})
		send(ctx, t, c, map[string]any{"type": "event", "seq": json.Number("12345678901234567890"), "event": map[string]any{"id": "e11"}})
		hold(ctx, c)
	})
	batches, err := streamHarness(t, time.Hour).Stream(streamCtx(t), "stream", bearerConn(base), streamCfg(nil), []byte(`"c-9"`), 2)
	if err != nil {
		t.Fatal(err)
	}
	if string(batches[0].Position) != `"c-10"` || string(batches[1].Position) != "12345678901234567890" {
		t.Errorf("positions %s %s", batches[0].Position, batches[1].Position)
	}
}

func TestStream_AuthGoesWhereConfigSays(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra map[string]any
		// check judges the upgrade request and the first message (""
		// when the client sent none before the server's event).
		check func(r *http.Request, first string) error
	}{
		{"header", nil, func(r *http.Request, _ string) error {
			if r.Header.Get("Authorization") != "Bearer "+streamToken {
				return fmt.Errorf("authorization %q", r.Header.Get("Authorization"))
			}
			return nil
		}},
		{"query", map[string]any{"auth": "query", "auth_query_param": "token"}, func(r *http.Request, _ string) error {
			if r.URL.Query().Get("token") != streamToken || r.Header.Get("Authorization") != "" {
				return fmt.Errorf("query %q, authorization %q", r.URL.RawQuery, r.Header.Get("Authorization"))
			}
			return nil
		}},
		{"message", map[string]any{"auth": "message", "auth_message": `{"type":"auth","token":"{{token}}"}`}, func(r *http.Request, first string) error {
			if first != `{"type":"auth","token":"`+streamToken+`"}` || r.Header.Get("Authorization") != "" {
				return fmt.Errorf("first message %q, authorization %q", first, r.Header.Get("Authorization"))
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := wsServer(t, func(ctx context.Context, c *websocket.Conn, r *http.Request) {
				first := ""
				if tc.name == "message" {
					_, b, err := c.Read(ctx)
					if err != nil {
						t.Errorf("read the auth message: %v", err)
						return
					}
					first = string(b)
				}
				if err := tc.check(r, first); err != nil {
					t.Error(err)
					send(ctx, t, c, map[string]any{"type": "error", "code": "unauthorized", "message": "bad token"})
					c.Close(4401, "unauthorized")
					return
				}
				send(ctx, t, c, eventMsg(1, "evt_1"))
				hold(ctx, c)
			})
			batches, err := streamHarness(t, time.Hour).Stream(streamCtx(t), "stream", bearerConn(base), streamCfg(tc.extra), nil, 1)
			if err != nil || len(batches) != 1 {
				t.Fatalf("batches %+v, err %v", batches, err)
			}
		})
	}
}

func TestStream_FailuresAreClassified(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra map[string]any
		serve wsHandler
		want  fault.Kind
		says  string
	}{
		{"position expired", nil, func(ctx context.Context, c *websocket.Conn, _ *http.Request) {
			send(ctx, t, c, map[string]any{"type": "error", "code": "position_expired", "message": "since 3 is older than 90", "oldest": 90})
			c.Close(4410, "position expired")
		}, fault.CursorExpired, "position_expired: since 3 is older than 90"},
		{"unauthorized", nil, func(ctx context.Context, c *websocket.Conn, _ *http.Request) {
			send(ctx, t, c, map[string]any{"type": "error", "code": "unauthorized", "message": "bad token"})
			c.Close(4401, "unauthorized")
		}, fault.AuthExpired, "unauthorized: bad token"},
		{"subscription refused", nil, func(ctx context.Context, c *websocket.Conn, _ *http.Request) {
			send(ctx, t, c, map[string]any{"type": "error", "code": "bad_request", "message": "unknown topic"})
			c.Close(4400, "bad request")
		}, fault.InvalidInput, "bad_request: unknown topic"},
		{"malformed frame", nil, func(ctx context.Context, c *websocket.Conn, _ *http.Request) {
			c.Write(ctx, websocket.MessageText, []byte("{not json"))
			hold(ctx, c)
		}, fault.Retryable, "a message of 9 bytes is not JSON"},
		{"oversized message", map[string]any{"max_message_bytes": 64}, func(ctx context.Context, c *websocket.Conn, _ *http.Request) {
			send(ctx, t, c, map[string]any{"type": "event", "seq": 1, "event": map[string]any{"id": strings.Repeat("x", 200)}})
			hold(ctx, c)
		}, fault.Retryable, "larger than max_message_bytes (64)"},
		{"dropped connection", nil, func(ctx context.Context, c *websocket.Conn, _ *http.Request) {
			c.CloseNow()
		}, fault.Retryable, "connection lost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := wsServer(t, tc.serve)
			batches, err := streamHarness(t, time.Hour).Stream(streamCtx(t), "stream", bearerConn(base), streamCfg(tc.extra), []byte("3"), 1)
			if err == nil || !fault.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err = %v (batches %+v), want kind %v saying %q", err, batches, tc.want, tc.says)
			}
		})
	}
}

func TestStream_RefusedUpgradeIsClassifiedLikeAnyAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":"bad token"}`, http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	_, err := streamHarness(t, time.Hour).Stream(streamCtx(t), "stream", bearerConn(srv.URL), streamCfg(nil), nil, 1)
	if !fault.Is(err, fault.AuthExpired) {
		t.Fatalf("err = %v, want auth expired", err)
	}
}

func TestStream_EventWithoutIDIsSkippedButItsPositionKept(t *testing.T) {
	base := wsServer(t, func(ctx context.Context, c *websocket.Conn, _ *http.Request) {
		send(ctx, t, c, eventMsg(1, ""))
		send(ctx, t, c, eventMsg(2, "evt_2"))
		hold(ctx, c)
	})
	batches, err := streamHarness(t, time.Hour).Stream(streamCtx(t), "stream", bearerConn(base), streamCfg(nil), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches[0].Events) != 0 || string(batches[0].Position) != "1" {
		t.Errorf("first batch %+v", batches[0])
	}
	if fmt.Sprint(eventIDs(batches[1].Events)) != "[evt_2]" || string(batches[1].Position) != "2" {
		t.Errorf("second batch %+v", batches[1])
	}
}

// sink records what a stream sends and ends it after enough keepalives.
type sink struct {
	mu         sync.Mutex
	keepalives int
	want       int
	done       context.CancelFunc
}

func (s *sink) Batch(wire.StreamBatch) error { return nil }

func (s *sink) Keepalive(time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keepalives++
	if s.keepalives == s.want {
		s.done()
	}
	return nil
}

func TestStream_QuietHealthyConnectionSendsKeepalives(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pingEvery time.Duration
		// serverPings: the server pings; otherwise the connector
		// pings a server that only answers.
		serverPings bool
	}{
		{"connector pings", 20 * time.Millisecond, false},
		{"server pings", time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := wsServer(t, func(ctx context.Context, c *websocket.Conn, _ *http.Request) {
				ctx = c.CloseRead(ctx)
				if !tc.serverPings {
					<-ctx.Done()
					return
				}
				for ctx.Err() == nil {
					if err := c.Ping(ctx); err != nil {
						return
					}
				}
			})
			h := streamHarness(t, tc.pingEvery)
			ctx, cancel := context.WithCancel(streamCtx(t))
			defer cancel()
			s := &sink{want: 3, done: cancel}
			err := h.Remote().OpenStream(ctx, wire.StreamRequest{Trigger: "stream", Conn: bearerConn(base), Config: mustJSON(t, streamCfg(nil))}, s)
			if err != nil && ctx.Err() == nil {
				t.Fatal(err)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.keepalives < 3 {
				t.Fatalf("keepalives %d, err %v", s.keepalives, err)
			}
		})
	}
}

func TestStream_CancelClosesWithANormalClosure(t *testing.T) {
	closed := make(chan websocket.StatusCode, 1)
	base := wsServer(t, func(ctx context.Context, c *websocket.Conn, _ *http.Request) {
		send(ctx, t, c, eventMsg(1, "evt_1"))
		closed <- hold(ctx, c)
	})
	batches, err := streamHarness(t, time.Hour).Stream(streamCtx(t), "stream", bearerConn(base), streamCfg(nil), nil, 1)
	if err != nil || len(batches) != 1 {
		t.Fatalf("batches %+v, err %v", batches, err)
	}
	select {
	case code := <-closed:
		if code != websocket.StatusNormalClosure {
			t.Errorf("server saw close status %v", code)
		}
	case <-streamCtx(t).Done():
		t.Fatal("the server never saw the stream close")
	}
}

func TestStream_ConfigMistakesAreInvalid(t *testing.T) {
	base := wsServer(t, func(ctx context.Context, c *websocket.Conn, _ *http.Request) { hold(ctx, c) })
	basic := sdktest.Connection(map[string]any{"base_url": base})
	basic.Auth = wire.Auth{Type: schema.AuthBasic, Username: "u", Password: "p"}
	for _, tc := range []struct {
		name  string
		conn  wire.Connection
		extra map[string]any
	}{
		{"query auth without a parameter", bearerConn(base), map[string]any{"auth": "query"}},
		{"query auth on a basic connection", basic, map[string]any{"auth": "query", "auth_query_param": "token"}},
		{"auth message that is not JSON", bearerConn(base), map[string]any{"auth": "message", "auth_message": "token={{token}}"}},
		{"path off the base URL", bearerConn(base), map[string]any{"path": "//evil.example/stream"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := streamHarness(t, time.Hour).Stream(streamCtx(t), "stream", tc.conn, streamCfg(tc.extra), nil, 1)
			if !fault.Is(err, fault.InvalidInput) {
				t.Fatalf("err = %v, want invalid input", err)
			}
		})
	}
}

// Messages that have already arrived go to the host together, up to
// max_batch_messages: every event arrives once, in order, and each
// batch's position is that of its last message.
func TestStream_MessagesThatArrivedTogetherShareABatch(t *testing.T) {
	const total = 60
	base := wsServer(t, func(ctx context.Context, c *websocket.Conn, _ *http.Request) {
		for i := 1; i <= total; i++ {
			send(ctx, t, c, eventMsg(i, fmt.Sprintf("evt_%d", i)))
		}
		hold(ctx, c)
	})
	h := streamHarness(t, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []string
	var batches int
	done := make(chan error, 1)
	go func() {
		done <- h.Remote().OpenStream(ctx, wire.StreamRequest{Trigger: "stream", Conn: bearerConn(base),
			Config: mustJSON(t, streamCfg(map[string]any{"max_batch_messages": 16}))}, batchSink(func(b wire.StreamBatch) {
			batches++
			for _, e := range b.Events {
				got = append(got, e.ID)
			}
			if want := fmt.Sprint(len(got)); string(b.Position) != want {
				t.Errorf("batch ending with %d events has position %s", len(got), b.Position)
			}
			if len(b.Events) > 16 {
				t.Errorf("a batch of %d events, more than max_batch_messages", len(b.Events))
			}
			if len(got) == total {
				cancel()
			}
		}))
	}()
	<-done
	if len(got) != total {
		t.Fatalf("%d events arrived, want %d", len(got), total)
	}
	for i, id := range got {
		if id != fmt.Sprintf("evt_%d", i+1) {
			t.Fatalf("event %d is %s", i+1, id)
		}
	}
	if batches > total {
		t.Fatalf("%d batches for %d messages", batches, total)
	}
}

// batchSink is a stream sink calling f for each batch.
type batchSink func(wire.StreamBatch)

func (f batchSink) Batch(b wire.StreamBatch) error { f(b); return nil }
func (f batchSink) Keepalive(time.Time) error      { return nil }
