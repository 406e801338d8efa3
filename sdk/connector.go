package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// Values that cross the plugin boundary unchanged, so an author needs only
// this package.
type (
	// Event is one thing that happened at the third party.
	Event = wire.Event
	// Auth is a connection's credentials; see Conn.Auth.
	Auth = wire.Auth
	// AuthResult is the new auth state a login or refresh produced.
	AuthResult = wire.AuthStepResult
	// PollResult is one page of a poll: events, the cursor after them, and
	// whether more are ready now.
	PollResult = wire.PollResult
	// Subscription is a webhook registration at the third party.
	Subscription = wire.Subscription
	// WebhookResult is what a webhook delivery contained and, optionally,
	// what to answer the sender.
	WebhookResult = wire.WebhookResult
	// HTTPRequest is an incoming webhook request as received.
	HTTPRequest = wire.HTTPRequest
	// HTTPResponse is what the host answers a webhook sender.
	HTTPResponse = wire.HTTPResponse
)

// Connector is a connector's whole declaration: identity, auth, connection
// properties, triggers and actions, and the optional connection-level hooks.
type Connector struct {
	// Name is lower snake case, e.g. "shopify"; Version is semver.
	Name        string
	Version     string
	DisplayName string
	Description string
	Homepage    string
	Categories  []string
	// Auth lists the schemes a connection may use.
	Auth []schema.AuthScheme
	// Properties are the custom properties of a connection (e.g. a shop
	// domain); handlers read them with Conn.Properties.
	Properties  []schema.Field
	Triggers    []Trigger
	Actions     []Action
	Deprecation *schema.Deprecation

	// Check proves a connection's credentials and properties work and says
	// whose account they reach, e.g. "shop acme.myshopify.com". When nil,
	// checking a connection only validates its properties.
	Check func(ctx context.Context, c *Conn) (account string, err error)
	// Login runs a session login with the declared credential fields and
	// returns the session (Auth of type session) to attach to requests.
	// Required when Auth offers a session scheme.
	Login func(ctx context.Context, c *Conn, credentials map[string]string) (AuthResult, error)
	// Refresh exchanges a refresh token for new credentials, for third
	// parties whose refresh is not standard OAuth 2.0.
	Refresh func(ctx context.Context, c *Conn, refreshToken string) (AuthResult, error)
	// Logout ends a session at the third party; nil means nothing to do.
	Logout func(ctx context.Context, c *Conn) error
	// MigrateCursor converts a cursor or stream position stored by an
	// older version (fromVersion) of this connector. Nil keeps cursors as
	// they are, which is right while their format does not change.
	MigrateCursor func(ctx context.Context, trigger, fromVersion string, cursor []byte) ([]byte, error)
}

// Action is an action's declaration and handler; build one with NewAction.
type Action struct {
	Spec schema.Action
	run  func(ctx context.Context, c *Conn, input json.RawMessage, call ActionCall) (json.RawMessage, error)
}

// ActionCall is what a handler may need to know about the attempt.
type ActionCall struct {
	Action string
	// IdempotencyKey is the same for every attempt of one step of one run;
	// pass it to third parties that deduplicate (e.g. an Idempotency-Key
	// header) so a retried create does not create twice.
	IdempotencyKey string
	// Attempt is 1 for the first attempt.
	Attempt int
}

// NewAction pairs an action's declaration with a typed handler. Before fn
// runs the input has its declared defaults filled in, is validated against
// spec.Input (a failure is an invalid-input error listing every problem, and
// fn is not called) and is decoded into In. fn's Out is encoded as the
// action's JSON output. In and Out are usually structs with json tags;
// json.RawMessage or map[string]any work too.
func NewAction[In, Out any](spec schema.Action, fn func(ctx context.Context, c *Conn, in In, call ActionCall) (Out, error)) Action {
	return Action{Spec: spec, run: func(ctx context.Context, c *Conn, input json.RawMessage, call ActionCall) (json.RawMessage, error) {
		var in In
		if err := json.Unmarshal(input, &in); err != nil {
			// The input already matched the schema, so this is the
			// author's In type disagreeing with the declaration.
			return nil, Permanent("action %s: decode input into %T: %v", call.Action, in, err)
		}
		out, err := fn(ctx, c, in, call)
		if err != nil {
			return nil, err
		}
		raw, err := json.Marshal(out)
		if err != nil {
			return nil, Permanent("action %s: encode output %T: %v", call.Action, out, err)
		}
		return raw, nil
	}}
}

// Trigger is a trigger's declaration and the handlers for the modes it
// offers. Leave Spec.Modes empty to have them derived from the handlers
// set; when given they must match the handlers.
type Trigger struct {
	Spec    schema.Trigger
	Poll    func(ctx context.Context, c *Conn, req PollRequest) (PollResult, error)
	Webhook *Webhook
	// Stream connects to the third party's event stream, resumes after
	// req.Position and emits batches until ctx ends (return nil or ctx's
	// error) or the connection fails (return a classified error, e.g.
	// CursorExpired when the position is too old to resume from).
	Stream func(ctx context.Context, c *Conn, req StreamRequest, emit *Emitter) error
}

// Webhook handles a trigger's webhook mode.
type Webhook struct {
	// Subscribe registers req.URL with the third party. Nil means the
	// operator registers the URL by hand.
	Subscribe func(ctx context.Context, c *Conn, req SubscribeRequest) (Subscription, error)
	// Unsubscribe removes what Subscribe registered; nil means nothing to
	// remove.
	Unsubscribe func(ctx context.Context, c *Conn, req UnsubscribeRequest) error
	// Handle verifies a delivery (signature, shared token) and parses it
	// into events. Required.
	Handle func(ctx context.Context, c *Conn, req WebhookRequest) (WebhookResult, error)
}

// Config is a trigger's configuration, already validated against the
// declared config fields with defaults filled in.
type Config json.RawMessage

// Decode decodes the configuration into v, usually a struct with json tags.
func (c Config) Decode(v any) error {
	if len(c) == 0 {
		return json.Unmarshal([]byte("{}"), v)
	}
	if err := json.Unmarshal(c, v); err != nil {
		return Permanent("decode trigger config into %T: %v", v, err)
	}
	return nil
}

// MarshalJSON lets a Config be logged or echoed as the JSON it holds.
func (c Config) MarshalJSON() ([]byte, error) {
	if len(c) == 0 {
		return []byte("{}"), nil
	}
	return c, nil
}

// PollRequest asks for the events after Cursor.
type PollRequest struct {
	Trigger string
	Config  Config
	// Cursor is what the previous poll returned as NextCursor; nil on the
	// first poll.
	Cursor []byte
	// Limit is a hint: the most events the host wants now (0: no hint).
	Limit int
}

// SubscribeRequest asks to register URL with the third party.
type SubscribeRequest struct {
	Trigger string
	Config  Config
	URL     string
	// Secret is a signing secret hub generated, for third parties that
	// accept one.
	Secret string
}

// UnsubscribeRequest removes a subscription.
type UnsubscribeRequest struct {
	Trigger      string
	Config       Config
	Subscription Subscription
}

// WebhookRequest is one delivery to verify and parse.
type WebhookRequest struct {
	Trigger string
	Config  Config
	HTTP    HTTPRequest
	// Secret is the subscription's signing secret.
	Secret            string
	SubscriptionState json.RawMessage
}

// StreamRequest opens a trigger's stream after Position.
type StreamRequest struct {
	Trigger  string
	Config   Config
	Position []byte
}

// Reply builds the HTTP answer for a webhook sender.
func Reply(status int, contentType string, body []byte) *HTTPResponse {
	r := &HTTPResponse{Status: status, Body: body, Header: map[string][]string{}}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

// checkEvents refuses events the host could not deduplicate.
func checkEvents(trigger string, events []Event) error {
	for i, e := range events {
		if e.ID == "" {
			return Permanent("trigger %s: event %d has no id; the host deduplicates on it", trigger, i)
		}
	}
	return nil
}

// Emitter sends a stream's batches to the host.
type Emitter struct {
	trigger string
	sink    wire.StreamSink
	onBatch func(events []Event)
}

// Batch sends events and the position to resume after them. The host
// stores batches in the order sent, each batch's events with its
// position in one commit, so a position is only remembered once its
// events are safe. Batch returns once the host has taken the batch (it may
// still be storing it) and blocks while the host is behind. A batch too
// large for one message to the host is sent in parts, the position with
// the last. An error means the host is gone or the stream is ending;
// return it.
func (e *Emitter) Batch(events []Event, position []byte) error {
	if err := checkEvents(e.trigger, events); err != nil {
		return err
	}
	if e.onBatch != nil {
		e.onBatch(events)
	}
	for batchBytes(events) > maxBatchBytes {
		n, err := fitting(e.trigger, events)
		if err != nil {
			return err
		}
		if err := e.sink.Batch(wire.StreamBatch{Events: events[:n]}); err != nil {
			return fmt.Errorf("send batch: %w", err)
		}
		events = events[n:]
	}
	if err := e.sink.Batch(wire.StreamBatch{Events: events, Position: position}); err != nil {
		return fmt.Errorf("send batch: %w", err)
	}
	return nil
}

// maxBatchBytes is the most a batch sent to the host in one message
// carries: half the wire's message limit, leaving room for the framing.
const maxBatchBytes = wire.MaxMessageBytes / 2

// eventOverhead is an event's size on the wire beyond its id, type and
// payload, rounded up: field tags, lengths, the timestamp.
const eventOverhead = 64

func eventBytes(ev Event) int { return len(ev.ID) + len(ev.Type) + len(ev.Payload) + eventOverhead }

func batchBytes(events []Event) int {
	n := 0
	for _, ev := range events {
		n += eventBytes(ev)
	}
	return n
}

// fitting returns how many of events, from the first, fit in one
// message to the host: at least one, unless that one alone is too large.
func fitting(trigger string, events []Event) (int, error) {
	size := 0
	for i, ev := range events {
		size += eventBytes(ev)
		if size > maxBatchBytes {
			if i == 0 {
				return 0, Permanent("trigger %s: event %s is %d bytes, more than a stream event may carry (%d)", trigger, ev.ID, eventBytes(ev), maxBatchBytes)
			}
			return i, nil
		}
	}
	return len(events), nil
}

// Keepalive tells the host the third party's connection is alive while no
// events flow; forward the third party's pings with it.
func (e *Emitter) Keepalive(at time.Time) error {
	if err := e.sink.Keepalive(at); err != nil {
		return fmt.Errorf("send keepalive: %w", err)
	}
	return nil
}
