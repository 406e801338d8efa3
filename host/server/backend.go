package server

import (
	"context"
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
