package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/hubhq/hub/host/runs"
)

// ErrNotFound is returned by a Backend for a workflow, run or dead letter
// that does not exist; the server answers 404.
var ErrNotFound = errors.New("not found")

// ErrUnavailable is returned while the backend cannot take work (starting
// or shutting down); the server answers 503 with Retry-After.
var ErrUnavailable = errors.New("unavailable")

// ErrConflict is returned when a request was made against a state that
// has changed since (an apply planned against an older applied state);
// the server answers 409.
var ErrConflict = errors.New("conflict")

// ErrInvalid is returned for a request the backend understood but refuses
// (a workspace that does not validate); the server answers 422 with the
// error's message.
var ErrInvalid = errors.New("invalid")

// WebhookRequest is one delivery to a webhook trigger.
type WebhookRequest struct {
	Tenant   string
	Workflow string
	Method   string
	// URL is the request's path and query as received.
	URL    string
	Header http.Header
	Body   []byte
	// RemoteAddr is the peer's address.
	RemoteAddr string
}

// WebhookResponse is what the sender gets once the delivery's events are
// stored.
type WebhookResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// Backend is what the server serves: the engine, behind this interface so
// the HTTP layer knows nothing of workflows or storage.
type Backend interface {
	// Webhook verifies, parses and durably stores one delivery. It returns
	// only after the events are synced to disk. An error wrapping
	// ErrNotFound means no webhook trigger of that workflow; a response
	// may come with an error (e.g. 401 for a bad signature).
	Webhook(ctx context.Context, req WebhookRequest) (*WebhookResponse, error)
	// Ready reports nil when the host takes work.
	Ready() error
	Status(ctx context.Context, tenant string) (*runs.HostStatus, error)
	Webhooks(ctx context.Context, tenant string) ([]runs.Webhook, error)
	ListRuns(ctx context.Context, tenant string, f runs.Filter) ([]runs.Summary, error)
	Run(ctx context.Context, tenant, id string) (*runs.Run, error)
	ListDead(ctx context.Context, tenant string, f runs.Filter) ([]runs.DeadLetter, error)
	// Replay resumes a dead run from its failed step with its original
	// data; Discard drops it. Both answer ErrNotFound for a run that is
	// not in the dead-letter queue.
	Replay(ctx context.Context, tenant, id string) error
	Discard(ctx context.Context, tenant, id string) error
}

// ApplyRequest is hub apply against a running host: the workspace source
// to run, the desired state the operator's plan showed, and the applied
// state the plan was made against.
type ApplyRequest struct {
	// Source is the workspace's files and load inputs (state.Source).
	Source json.RawMessage `json:"source"`
	// State is the desired state as planned (state.State).
	State json.RawMessage `json:"state"`
	// AppliedSHA256 is the hex SHA-256 of the applied state's JSON the
	// plan was made against; the apply is refused when it changed.
	AppliedSHA256 string `json:"applied_sha256"`
}

// ApplyResult says what an apply did.
type ApplyResult struct {
	Applied bool `json:"applied"`
	// AppliedSHA256 is the hash of the new applied state.
	AppliedSHA256 string `json:"applied_sha256"`
}

// AppliedState is the applied state of a tenant, with its hash.
type AppliedState struct {
	State  json.RawMessage `json:"state"`
	SHA256 string          `json:"sha256"`
}

// Deployer is implemented by a backend that takes a new applied state
// while it runs (hub apply against a running host). The server offers
// GET /v1/state and POST /v1/apply only for such a backend.
type Deployer interface {
	AppliedState(ctx context.Context, tenant string) (*AppliedState, error)
	// Apply validates the source and, only when it is sound and the
	// applied state is still the planned-against one, makes it the
	// applied state and runs it. A refused apply changes nothing.
	Apply(ctx context.Context, tenant string, req ApplyRequest) (*ApplyResult, error)
}

// Connections is implemented by a backend that lists and tests its
// connections; the server offers GET /v1/connections and
// POST /v1/connections/{name}/test only for such a backend.
type Connections interface {
	ListConnections(ctx context.Context, tenant string) ([]runs.Connection, error)
	// TestConnection asks the connector to check the connection's
	// credentials; a failed check is a result, not an error. ErrNotFound
	// for an unknown connection.
	TestConnection(ctx context.Context, tenant, name string) (*runs.ConnectionTest, error)
}

// Authorizer is implemented by a backend that connects oauth2 connections
// (hub connect); the server offers POST /v1/connections/{name}/connect
// only for such a backend.
type Authorizer interface {
	Connect(ctx context.Context, tenant, name string) (*runs.ConnectStart, error)
}
