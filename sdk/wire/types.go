package wire

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/hubhq/hub/sdk/schema"
)

// Connector is what a connector plugin does for the host. Methods return
// classified errors (package fault); an unclassified error is permanent.
type Connector interface {
	Schema(ctx context.Context) (*schema.Schema, error)
	// CheckConnection returns who the credentials belong to, in words.
	CheckConnection(ctx context.Context, conn Connection) (account string, err error)
	ExecuteAction(ctx context.Context, req ActionRequest) (output json.RawMessage, err error)
	PollTrigger(ctx context.Context, req PollRequest) (PollResult, error)
	SubscribeWebhook(ctx context.Context, req SubscribeRequest) (Subscription, error)
	UnsubscribeWebhook(ctx context.Context, req UnsubscribeRequest) error
	// HandleWebhook may return a result (its Response) with an error, e.g.
	// 401 for a signature that does not verify.
	HandleWebhook(ctx context.Context, req WebhookRequest) (WebhookResult, error)
	AuthStep(ctx context.Context, req AuthStepRequest) (AuthStepResult, error)
	// OpenStream delivers batches to sink until ctx ends or the stream
	// fails. When sink returns an error the stream stops with it.
	OpenStream(ctx context.Context, req StreamRequest, sink StreamSink) error
	MigrateCursor(ctx context.Context, req MigrateCursorRequest) ([]byte, error)
}

// StreamSink receives what a stream produces. Calls are sequential; a slow
// sink slows the stream down (gRPC flow control reaches the connector).
// A sink may keep a batch after Batch returned (the host stores batches
// while it takes the next), so the caller must not change or reuse its
// slices.
type StreamSink interface {
	Batch(StreamBatch) error
	Keepalive(at time.Time) error
}

// Connection is one configured account at a third party, as a call needs it.
type Connection struct {
	// Name is the operator's name for the connection.
	Name string
	Auth Auth
	// Properties are the connection's custom properties, a JSON object.
	Properties json.RawMessage
	// Env holds the environment variables configured for this connector
	// version.
	Env map[string]string
	// Environment is the workspace environment, e.g. "sandbox" or "live".
	Environment string
	Tenant      string
}

// Auth is a connection's credentials for one scheme. Its String and
// GoString never show a secret, so printing it is safe.
type Auth struct {
	Type schema.AuthType
	// Basic and digest.
	Username string
	Password string
	// API key.
	APIKey     string
	APIKeySpec schema.APIKeySpec
	// Bearer token or OAuth 2.0 access token.
	Token     string
	TokenType string
	Scopes    []string
	// When an OAuth 2.0 token or a session expires; zero if unknown.
	Expiry time.Time
	// Session: what the login produced, attached to every request.
	Headers map[string]string
	Cookies map[string]string
	Query   map[string]string
}

func (a Auth) String() string {
	if a.Type == "" {
		return "auth(none)"
	}
	return "auth(" + string(a.Type) + ", credentials redacted)"
}

// GoString keeps %#v from printing secrets.
func (a Auth) GoString() string { return a.String() }

// MarshalJSON keeps JSON logs (hclog's JSON format encodes values directly,
// bypassing String) from printing secrets. Credentials are stored by the
// host in its own encrypted form, never by marshalling an Auth.
func (a Auth) MarshalJSON() ([]byte, error) {
	typ := string(a.Type)
	if typ == "" {
		typ = "none"
	}
	return json.Marshal(struct {
		Type        string `json:"type"`
		Credentials string `json:"credentials"`
	}{typ, "redacted"})
}

// Event is one thing that happened at the third party.
type Event struct {
	// ID is unique within the trigger; the host deduplicates on it.
	ID         string
	Type       string
	Payload    json.RawMessage
	OccurredAt time.Time
}

// ActionRequest asks for one attempt of an action.
type ActionRequest struct {
	Action string
	Conn   Connection
	Input  json.RawMessage
	// IdempotencyKey is the same for every attempt of one step of one run.
	IdempotencyKey string
	// Attempt is 1 for the first attempt.
	Attempt int
}

// PollRequest asks for the events after a cursor.
type PollRequest struct {
	Trigger string
	Conn    Connection
	Config  json.RawMessage
	// Cursor is opaque to the host; nil on the first poll.
	Cursor []byte
	// Limit is a hint: the most events wanted.
	Limit int
}

// PollResult is one page of a poll.
type PollResult struct {
	Events     []Event
	NextCursor []byte
	// HasMore says more events are ready now.
	HasMore bool
}

// SubscribeRequest asks the third party to deliver a trigger's events to URL.
type SubscribeRequest struct {
	Trigger string
	Conn    Connection
	Config  json.RawMessage
	URL     string
	// Secret is a signing secret hub generated, for third parties that
	// accept one.
	Secret string
}

// Subscription is a webhook registration at the third party.
type Subscription struct {
	ID string
	// State is whatever the connector needs later; the host stores it.
	State json.RawMessage
	// Secret is a signing secret the third party generated, if it did.
	Secret string
}

// UnsubscribeRequest removes a subscription.
type UnsubscribeRequest struct {
	Trigger      string
	Conn         Connection
	Config       json.RawMessage
	Subscription Subscription
}

// HTTPRequest is an incoming webhook request as received.
type HTTPRequest struct {
	Method string
	// URL is the path and query.
	URL        string
	Header     http.Header
	Body       []byte
	RemoteAddr string
}

// HTTPResponse is what the host answers a webhook sender.
type HTTPResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// WebhookRequest asks a connector to verify and parse a delivery.
type WebhookRequest struct {
	Trigger string
	Conn    Connection
	Config  json.RawMessage
	HTTP    HTTPRequest
	// Secret is the signing secret of the subscription.
	Secret            string
	SubscriptionState json.RawMessage
}

// WebhookResult is what a delivery contained.
type WebhookResult struct {
	Events []Event
	// Response, when set, is what the sender gets; otherwise the host
	// answers 200 once the events are stored.
	Response *HTTPResponse
}

// Auth steps a connector may implement.
const (
	StepLogin   = "login"
	StepRefresh = "refresh"
	StepLogout  = "logout"
)

// AuthStepRequest runs a connector-specific auth step.
type AuthStepRequest struct {
	Step string
	Conn Connection
	// Credentials are the step's inputs: the declared credential fields
	// for a login, "refresh_token" for a refresh.
	Credentials map[string]string
}

// AuthStepResult is the new auth state for the host to store.
type AuthStepResult struct {
	Auth Auth
	// RefreshToken is a rotated refresh token, stored before it is used.
	RefreshToken string
}

// StreamRequest opens a trigger's event stream after Position.
type StreamRequest struct {
	Trigger  string
	Conn     Connection
	Config   json.RawMessage
	Position []byte
}

// StreamBatch is events and the position to resume after them.
type StreamBatch struct {
	Events   []Event
	Position []byte
}

// MigrateCursorRequest converts a cursor stored by an older version.
type MigrateCursorRequest struct {
	Trigger     string
	FromVersion string
	Cursor      []byte
}
