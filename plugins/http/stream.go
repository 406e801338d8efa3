package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/hashicorp/go-hclog"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
)

// Stream defaults and bounds.
const (
	// streamPingEvery is how long a stream may be quiet before the
	// connector pings the server. The host's heartbeat wants a sign of
	// life at least every 15 s; a ping every 10 s of silence, answered,
	// gives one even from a server that never pings itself.
	streamPingEvery = 10 * time.Second
	// defaultMaxMessage bounds one message unless max_message_bytes says
	// otherwise.
	defaultMaxMessage = 1 << 20
	// closeWait bounds the close handshake when hub ends a stream: a peer
	// that does not answer must not hold the host's shutdown.
	closeWait = 2 * time.Second
)

// Stream auth placements.
const (
	StreamAuthHeader  = "header"
	StreamAuthQuery   = "query"
	StreamAuthMessage = "message"
)

// streamConfig is the stream trigger's configuration.
type streamConfig struct {
	Path             string                     `json:"path"`
	Query            map[string]json.RawMessage `json:"query"`
	Auth             string                     `json:"auth"`
	AuthQueryParam   string                     `json:"auth_query_param"`
	AuthMessage      string                     `json:"auth_message"`
	Subscribe        json.RawMessage            `json:"subscribe"`
	ResumeParam      string                     `json:"resume_param"`
	TypePath         string                     `json:"type_path"`
	EventType        string                     `json:"event_type"`
	EventsPath       string                     `json:"events_path"`
	IDPath           string                     `json:"id_path"`
	KindPath         string                     `json:"kind_path"`
	TimePath         string                     `json:"time_path"`
	PositionPath     string                     `json:"position_path"`
	ErrorPath        string                     `json:"error_path"`
	ExpiredCode      string                     `json:"expired_code"`
	ErrorMessagePath string                     `json:"error_message_path"`
	MaxMessageBytes  int64                      `json:"max_message_bytes"`
	MaxBatchMessages int                        `json:"max_batch_messages"`
}

// defaultMaxBatch is how many messages that have already arrived one
// batch takes at most.
const defaultMaxBatch = 256

func (k *kit) streamTrigger() sdk.Trigger {
	return sdk.Trigger{
		Spec: schema.Trigger{
			Name: "stream", DisplayName: "Stream",
			Description: "Keeps a WebSocket open to the API (base_url with ws/wss for http/https, plus path) and emits the events its messages carry (the messages that have already arrived go to hub as one batch, up to max_batch_messages), resuming after the last stored position through resume_param. An expired position is reported as a gap and the stream starts again from the oldest event the API keeps.",
			Modes:       []schema.Mode{schema.ModeStream},
			Config: []schema.Field{
				{Name: "path", Type: schema.String, Required: true, Description: "Path of the stream, appended to base_url, e.g. \"/api/stream\"."},
				{Name: "query", Type: schema.Object, AdditionalProperties: true, Description: "Query parameters sent when connecting."},
				{Name: "auth", Type: schema.String, Default: sdk.JSON(StreamAuthHeader), Enum: sdk.Enum(StreamAuthHeader, StreamAuthQuery, StreamAuthMessage),
					Description: "Where the connection's credentials go: \"header\" on the upgrade request as for any request, \"query\" as auth_query_param, or \"message\" as auth_message sent first. query and message take a bearer token or an API key."},
				{Name: "auth_query_param", Type: schema.String, Description: "With auth = \"query\": the query parameter carrying the token, e.g. \"token\"."},
				{Name: "auth_message", Type: schema.String, Description: "With auth = \"message\": the JSON message sent first, {{token}} replaced by the token, e.g. \"{\\\"type\\\":\\\"auth\\\",\\\"token\\\":\\\"{{token}}\\\"}\"."},
				{Name: "subscribe", Type: schema.Object, AdditionalProperties: true, Description: "A JSON message sent after connecting (and authenticating), e.g. {type = \"subscribe\", topics = [\"orders\"]}."},
				{Name: "resume_param", Type: schema.String, Description: "Query parameter carrying the last stored position when reconnecting, e.g. \"since\"; without it every connection starts where the API starts it."},
				{Name: "type_path", Type: schema.String, Description: "JSON path of a message's type, e.g. \"type\"; with event_type, only messages of that type carry events."},
				{Name: "event_type", Type: schema.String, Description: "The type_path value of messages that carry an event, e.g. \"event\"."},
				{Name: "events_path", Type: schema.String, Default: sdk.JSON(""), Description: "JSON path of the event within a message, e.g. \"event\"; \"\" when the message is the event. A list there is several events."},
				{Name: "id_path", Type: schema.String, Required: true, Description: "JSON path of an event's id within the event, e.g. \"id\"; an event without one is skipped with a warning."},
				{Name: "kind_path", Type: schema.String, Description: "JSON path of the event's kind within the event, e.g. \"kind\", recorded as the event's type."},
				{Name: "time_path", Type: schema.String, Description: "JSON path of the event's RFC 3339 time within the event, e.g. \"at\"."},
				{Name: "position_path", Type: schema.String, Description: "JSON path of the message's position within the message, e.g. \"seq\"; stored after the message's events as the API gave it and sent back as resume_param."},
				{Name: "error_path", Type: schema.String, Description: "JSON path of an error code in a message, e.g. \"code\"; a message with one reports the failure the server's close status classifies."},
				{Name: "expired_code", Type: schema.String, Description: "The error code meaning the position is too old to resume from, e.g. \"position_expired\"."},
				{Name: "error_message_path", Type: schema.String, Description: "JSON path of an error message's text, e.g. \"message\"."},
				{Name: "max_message_bytes", Type: schema.Integer, Default: sdk.JSON(defaultMaxMessage), Description: "The largest message accepted; a larger one fails the connection, which is opened again."},
				{Name: "max_batch_messages", Type: schema.Integer, Default: sdk.JSON(defaultMaxBatch), Description: "Messages that have already arrived are sent to hub together, up to this many in one batch: hub stores a batch with one synced write, so a busy stream costs a sync per batch, not per message. 1 sends each message on its own."},
			},
			Output:  &schema.Field{Type: schema.Any, Description: "One event, as the message carried it (the value at events_path)."},
			Example: sdk.JSON(map[string]any{"id": "evt_42", "kind": "order.status_changed", "data": map[string]any{"seq": 42, "shipment_id": "shp_1001", "order_id": "ord_1001", "status": "packed"}, "at": "2026-01-05T10:00:00Z"}),
		},
		Stream: k.stream,
	}
}

func (k *kit) stream(ctx context.Context, c *sdk.Conn, req sdk.StreamRequest, emit *sdk.Emitter) error {
	var cfg streamConfig
	if err := req.Config.Decode(&cfg); err != nil {
		return err
	}
	if cfg.Auth == "" {
		cfg.Auth = StreamAuthHeader
	}
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = defaultMaxMessage
	}
	if cfg.MaxBatchMessages == 0 {
		cfg.MaxBatchMessages = defaultMaxBatch
	}
	if cfg.MaxBatchMessages < 0 {
		return invalidSetting("max_batch_messages", "must be positive")
	}
	if cfg.MaxMessageBytes < 0 {
		return invalidSetting("max_message_bytes", "must be positive")
	}
	if cfg.IDPath == "" {
		return invalidSetting("id_path", "is required: the host deduplicates on event ids")
	}
	e, err := open(c)
	if err != nil {
		return err
	}
	u, err := e.streamURL(cfg, req.Position)
	if err != nil {
		return err
	}
	s := &streamSession{
		cfg:   cfg,
		emit:  emit,
		log:   c.Logger(),
		where: cfg.Path,
		alive: make(chan struct{}, 1),
	}
	conn, err := e.dial(ctx, cfg, u, s.signal)
	if err != nil {
		return err
	}
	defer conn.CloseNow()
	s.conn = conn
	conn.SetReadLimit(cfg.MaxMessageBytes)
	if err := s.greet(ctx, e); err != nil {
		return err
	}
	return s.run(ctx, k.pingEvery)
}

// streamURL is the ws or wss URL of the stream: base_url's host, path and
// query, the position to resume after and, with auth = "query", the token.
func (e *endpoint) streamURL(cfg streamConfig, position []byte) (*url.URL, error) {
	u, err := e.resolve(cfg.Path, "path")
	if err != nil {
		return nil, err
	}
	if err := addQuery(u, cfg.Query, "query"); err != nil {
		return nil, err
	}
	q := u.Query()
	if cfg.ResumeParam != "" && len(position) > 0 {
		// Positions are the JSON value the API gave; a stored one that
		// is not a scalar was never this connector's.
		v, err := schema.DecodeJSON(position)
		if err != nil {
			return nil, sdk.CursorExpired("stream position %q is not this connector's: %v", position, err)
		}
		s, err := scalarText(v)
		if err != nil {
			return nil, sdk.CursorExpired("stream position %q is not this connector's: %v", position, err)
		}
		q.Set(cfg.ResumeParam, s)
	}
	switch cfg.Auth {
	case StreamAuthHeader, StreamAuthMessage:
	case StreamAuthQuery:
		if cfg.AuthQueryParam == "" {
			return nil, invalidSetting("auth_query_param", "is required with auth = \"query\"")
		}
		token, err := e.token("query")
		if err != nil {
			return nil, err
		}
		q.Set(cfg.AuthQueryParam, token)
	default:
		return nil, invalidSetting("auth", fmt.Sprintf("%q is not header, query or message", cfg.Auth))
	}
	u.RawQuery = q.Encode()
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	return u, nil
}

// token is the connection's secret for auth placements the SDK's client
// does not know: a bearer (or OAuth) token or an API key.
func (e *endpoint) token(placement string) (string, error) {
	switch e.auth.Type {
	case schema.AuthBearer, schema.AuthOAuth2:
		return e.auth.Token, nil
	case schema.AuthAPIKey:
		return e.auth.APIKey, nil
	}
	return "", invalidSetting("auth", fmt.Sprintf("%q needs a bearer, oauth2 or api_key connection, not %s", placement, e.auth.Type))
}

// dial opens the WebSocket. The upgrade request goes through the SDK's
// client, so header auth is applied exactly as on any other request and a
// refused upgrade (401, 429, 5xx) is classified the same way.
func (e *endpoint) dial(ctx context.Context, cfg streamConfig, u *url.URL, alive func()) (*websocket.Conn, error) {
	auth := e.auth
	if cfg.Auth != StreamAuthHeader {
		// The credentials travel in the query or a message; sending
		// them in a header as well would only widen where they leak.
		auth = sdk.Auth{Type: schema.AuthNone}
	}
	// No timeout on the client: it would cut the upgraded connection.
	// The dial itself is bounded by the connection's timeout.
	client := sdk.NewClient(auth, &http.Client{})
	header := http.Header{}
	for name, v := range e.props.Headers {
		header.Set(name, v.(string)) // open checked they are strings
	}
	dctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	conn, resp, err := websocket.Dial(dctx, u.String(), &websocket.DialOptions{
		HTTPClient:     &http.Client{Transport: sendVia{client}},
		HTTPHeader:     header,
		OnPingReceived: func(context.Context, []byte) bool { alive(); return true },
		OnPongReceived: func(context.Context, []byte) { alive() },
	})
	where := redactQuery(u)
	switch {
	case err == nil:
		return conn, nil
	case ctx.Err() != nil:
		return nil, sdk.Retryable("connect %s: %v", where, ctx.Err())
	case resp != nil && resp.StatusCode != http.StatusSwitchingProtocols:
		if cerr := sdk.CheckResponse(resp); cerr != nil {
			return nil, prefixed("connect "+where, cerr)
		}
		return nil, sdk.Permanent("connect %s: the server answered %s, not a WebSocket upgrade", where, resp.Status)
	}
	var f *fault.Error
	if errors.As(err, &f) {
		// The SDK's client classified it (a failure to reach the
		// server is retryable).
		return nil, prefixed("connect "+where, f)
	}
	return nil, sdk.Retryable("connect %s: %v", where, err)
}

// prefixed is err, classified as it was, with its message saying where.
// Only a classified error's own message crosses to the host, so wrapping
// with %w would lose the context.
func prefixed(where string, err error) error {
	f := *fault.As(err)
	msg := f.Message
	if msg == "" && f.Cause != nil {
		msg = f.Cause.Error()
	}
	f.Message = where + ": " + msg
	return &f
}

// sendVia is an http.RoundTripper sending through the SDK's client.
type sendVia struct{ c *sdk.Client }

func (t sendVia) RoundTrip(r *http.Request) (*http.Response, error) { return t.c.Send(r) }

// redactQuery names a URL without its query, which may hold a token.
func redactQuery(u *url.URL) string {
	v := *u
	v.RawQuery = ""
	return v.String()
}

// streamSession is one open stream: the connection and what the reading
// loop keeps between messages.
type streamSession struct {
	cfg   streamConfig
	conn  *websocket.Conn
	emit  *sdk.Emitter
	log   hclog.Logger
	where string
	// alive is signalled (without blocking) when a ping or pong arrives;
	// the reading goroutine cannot call the emitter itself.
	alive chan struct{}
	// position is the last position a message carried.
	position []byte
	// serverError is what the last error message said, kept for the
	// close that follows it.
	serverError string
	// pending and pendingPos are the events and the position gathered
	// from messages not yet sent to the host; gathered says there are.
	pending    []sdk.Event
	pendingPos []byte
	gathered   bool
}

// signal notes a ping or pong without blocking the reader.
func (s *streamSession) signal() {
	select {
	case s.alive <- struct{}{}:
	default:
	}
}

// greet sends the auth message and the subscription, in that order.
func (s *streamSession) greet(ctx context.Context, e *endpoint) error {
	wctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	if s.cfg.Auth == StreamAuthMessage {
		if s.cfg.AuthMessage == "" {
			return invalidSetting("auth_message", "is required with auth = \"message\"")
		}
		token, err := e.token("message")
		if err != nil {
			return err
		}
		// The token is JSON-escaped, so the template stays JSON
		// whatever the token holds.
		quoted, _ := json.Marshal(token)
		msg := strings.ReplaceAll(s.cfg.AuthMessage, "{{token}}", string(quoted[1:len(quoted)-1]))
		if !json.Valid([]byte(msg)) {
			return invalidSetting("auth_message", "is not JSON once {{token}} is filled in")
		}
		if err := s.conn.Write(wctx, websocket.MessageText, []byte(msg)); err != nil {
			return sdk.Retryable("stream %s: send the auth message: %v", s.where, err)
		}
	}
	if len(s.cfg.Subscribe) > 0 && string(s.cfg.Subscribe) != "null" {
		if err := s.conn.Write(wctx, websocket.MessageText, s.cfg.Subscribe); err != nil {
			return sdk.Retryable("stream %s: send the subscription: %v", s.where, err)
		}
	}
	return nil
}

// frame is one message read, or the error that ended reading.
type frame struct {
	data []byte
	err  error
}

// run reads messages until ctx ends or the connection fails. One
// goroutine reads (it must keep reading for pings and pongs to be
// answered and seen); this one alone talks to the emitter.
func (s *streamSession) run(ctx context.Context, pingEvery time.Duration) error {
	// Reading runs under its own context: coder/websocket closes the
	// connection abruptly when a read's context ends, and hub's
	// cancellation deserves a close handshake.
	rctx, rcancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	budget := newByteBudget(maxBufferedBytes)
	defer func() {
		rcancel()
		budget.close()
		s.conn.CloseNow()
		wg.Wait()
	}()
	// Buffered: the reader goes on reading while the host stores a
	// batch, and what arrived meanwhile goes into the next batch, up to
	// max_batch_messages messages and maxBufferedBytes bytes read and not
	// yet sent.
	frames := make(chan frame, s.cfg.MaxBatchMessages)
	wg.Go(func() {
		for {
			_, data, err := s.conn.Read(rctx)
			if err == nil && !budget.take(len(data)) {
				return
			}
			select {
			case frames <- frame{data, err}:
			case <-rctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	})

	ticker := time.NewTicker(pingEvery)
	defer ticker.Stop()
	pinged := make(chan error, 1)
	pinging := false
	// activity counts messages, pings and pongs; batches counts emitted
	// batches. A ping left unanswered means a dead connection only if
	// nothing arrived meanwhile and hub was not itself holding the
	// reader back while the host stored a batch.
	var activity, batches, pingActivity, pingBatches int
	quiet := true
	for {
		select {
		case <-ctx.Done():
			s.close()
			return nil
		case f := <-frames:
			// Every message that has already arrived joins one batch, up
			// to max_batch_messages (see its description).
			var failure error
			held := 0 // bytes of the messages taken, given back once sent
			for n := 1; ; n++ {
				activity++
				quiet = false
				held += len(f.data)
				if f.err != nil {
					failure = errStreamDone
					if ctx.Err() == nil {
						failure = s.readFailure(f.err)
					}
					break
				}
				if _, err := s.gather(f.data); err != nil {
					failure = err
					break
				}
				if n >= s.cfg.MaxBatchMessages {
					break
				}
				more := false
				select {
				case f, more = <-frames:
				default:
				}
				if !more {
					break
				}
			}
			// What was gathered before a failure is still sent: the host
			// stores it, and the stream resumes after it.
			sent, err := s.flush()
			budget.give(held)
			if err != nil {
				return err
			}
			if sent {
				batches++
			}
			if failure == errStreamDone {
				return nil
			}
			if failure != nil {
				return failure
			}
		case <-s.alive:
			activity++
			quiet = false
			if err := s.emit.Keepalive(time.Now()); err != nil {
				return err
			}
		case <-ticker.C:
			if quiet && !pinging {
				pinging, pingActivity, pingBatches = true, activity, batches
				wg.Go(func() {
					pctx, cancel := context.WithTimeout(rctx, pingEvery)
					defer cancel()
					pinged <- s.conn.Ping(pctx)
				})
			}
			quiet = true
		case err := <-pinged:
			pinging = false
			if err != nil && activity == pingActivity && batches == pingBatches && ctx.Err() == nil {
				return sdk.Retryable("stream %s: no answer to a ping within %s", s.where, pingEvery)
			}
		}
	}
}

// close ends the stream with a close handshake, bounded by closeWait.
func (s *streamSession) close() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.conn.Close(websocket.StatusNormalClosure, "hub closed the stream")
	}()
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.conn.CloseNow()
		<-done
	}
}

// errStreamDone marks a read that ended because the stream was cancelled.
var errStreamDone = errors.New("stream done")

// flush sends the events and position gathered since the last batch to
// the host, which stores them together; only then is the position the
// session's. sent says a batch went out.
func (s *streamSession) flush() (sent bool, err error) {
	if !s.gathered {
		return false, nil
	}
	events, position := s.pending, s.pendingPos
	s.pending, s.pendingPos, s.gathered = nil, nil, false
	if len(events) == 0 && string(position) == string(s.position) {
		return false, s.emit.Keepalive(time.Now())
	}
	if err := s.emit.Batch(events, position); err != nil {
		return false, err
	}
	s.position = position
	return true, nil
}

// gather turns one message into events and a position for the next
// batch, a keepalive or a failure; gathered says it added to the batch.
func (s *streamSession) gather(data []byte) (gathered bool, err error) {
	msg, err := schema.DecodeJSON(data)
	if err != nil || msg == nil {
		// The size, not the content: a message may carry personal data.
		s.log.Warn("stream message is not JSON; reconnecting", "path", s.where, "bytes", len(data))
		return false, sdk.Retryable("stream %s: a message of %d bytes is not JSON", s.where, len(data))
	}
	if s.cfg.ErrorPath != "" {
		v, ok, err := lookupPath(msg, s.cfg.ErrorPath, "error_path")
		if err != nil {
			return false, err
		}
		if code, terr := scalarText(v); ok && v != nil && terr == nil && code != "" {
			return false, s.serverFailure(msg, code)
		}
	}
	if s.cfg.TypePath != "" {
		v, _, err := lookupPath(msg, s.cfg.TypePath, "type_path")
		if err != nil {
			return false, err
		}
		if t, terr := scalarText(v); terr != nil || t != s.cfg.EventType {
			return false, s.emit.Keepalive(time.Now())
		}
	}
	position := s.position
	if s.gathered {
		position = s.pendingPos
	}
	if s.cfg.PositionPath != "" {
		v, ok, err := lookupPath(msg, s.cfg.PositionPath, "position_path")
		if err != nil {
			return false, err
		}
		if _, terr := scalarText(v); ok && v != nil && terr == nil {
			// Kept as the JSON the API gave: a number stays a number,
			// every digit of it, and a string stays a string.
			if position, err = json.Marshal(v); err != nil {
				return false, sdk.Permanent("stream %s: encode the position: %v", s.where, err)
			}
		}
	}
	items := []any{msg}
	if s.cfg.EventsPath != "" {
		v, _, err := lookupPath(msg, s.cfg.EventsPath, "events_path")
		if err != nil {
			return false, err
		}
		switch v := v.(type) {
		case nil:
			items = nil
		case []any:
			items = v
		default:
			items = []any{v}
		}
	}
	events, err := s.events(items)
	if err != nil {
		return false, err
	}
	s.pending = append(s.pending, events...)
	s.pendingPos, s.gathered = position, true
	return true, nil
}

// events turns a message's event objects into hub events, skipping those
// without an id (the host could not deduplicate them).
func (s *streamSession) events(items []any) ([]sdk.Event, error) {
	var out []sdk.Event
	for _, item := range items {
		v, ok, err := lookupPath(item, s.cfg.IDPath, "id_path")
		if err != nil {
			return nil, err
		}
		id, terr := scalarText(v)
		if !ok || v == nil || terr != nil || id == "" {
			s.log.Warn("stream event has no id; skipped", "path", s.where, "id_path", s.cfg.IDPath)
			continue
		}
		ev := sdk.Event{ID: id, Type: "event"}
		if s.cfg.KindPath != "" {
			v, _, err := lookupPath(item, s.cfg.KindPath, "kind_path")
			if err != nil {
				return nil, err
			}
			if k, err := scalarText(v); err == nil && v != nil && k != "" {
				ev.Type = k
			}
		}
		if s.cfg.TimePath != "" {
			v, _, err := lookupPath(item, s.cfg.TimePath, "time_path")
			if err != nil {
				return nil, err
			}
			if t, ok := v.(string); ok {
				if at, err := time.Parse(time.RFC3339Nano, t); err == nil {
					ev.OccurredAt = at
				}
			}
		}
		payload, err := json.Marshal(item)
		if err != nil {
			return nil, sdk.Permanent("stream %s: encode event %s: %v", s.where, id, err)
		}
		ev.Payload = payload
		out = append(out, ev)
	}
	return out, nil
}

// serverFailure handles an error message: the expired code ends the
// stream at once; any other is kept so the close that follows it is
// classified with its text.
func (s *streamSession) serverFailure(msg any, code string) error {
	text := ""
	if s.cfg.ErrorMessagePath != "" {
		v, _, err := lookupPath(msg, s.cfg.ErrorMessagePath, "error_message_path")
		if err != nil {
			return err
		}
		text, _ = scalarText(v)
	}
	s.serverError = code
	if text != "" {
		s.serverError += ": " + text
	}
	if s.cfg.ExpiredCode != "" && code == s.cfg.ExpiredCode {
		return sdk.CursorExpired("stream %s: the position %s is too old to resume from (%s)", s.where, s.position, s.serverError)
	}
	s.log.Warn("stream server reported an error", "path", s.where, "code", code)
	return nil
}

// readFailure classifies the error that ended reading. Application close
// statuses 4000-4999 follow the common convention of 4000 plus an HTTP
// status, so they are judged as that status would be.
func (s *streamSession) readFailure(err error) error {
	said := ""
	if s.serverError != "" {
		said = " (" + s.serverError + ")"
	}
	if errors.Is(err, websocket.ErrMessageTooBig) {
		return sdk.Retryable("stream %s: a message is larger than max_message_bytes (%d)", s.where, s.cfg.MaxMessageBytes)
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		return sdk.Retryable("stream %s: connection lost%s: %v", s.where, said, err)
	}
	closed := fmt.Sprintf("stream %s: the server closed it with %d %q%s", s.where, int(ce.Code), ce.Reason, said)
	switch status := int(ce.Code) - 4000; {
	case status == http.StatusUnauthorized:
		return sdk.AuthExpired("%s", closed)
	case status == http.StatusGone:
		return sdk.CursorExpired("%s", closed)
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return sdk.Invalid(closed, sdk.Violation{Path: "subscribe", Message: "the server refused the stream's request" + said})
	case status == http.StatusTooManyRequests:
		return sdk.RateLimited(0, "%s", closed)
	case status == http.StatusForbidden || status == http.StatusNotFound:
		return sdk.Permanent("%s", closed)
	}
	// Normal closure, going away, restarts and internal errors: the
	// stream is opened again after the host's backoff.
	return sdk.Retryable("%s", closed)
}
