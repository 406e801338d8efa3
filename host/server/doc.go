// Package server is the HTTP face of "hub serve": webhook deliveries from
// third parties, health and readiness probes, Prometheus metrics, and the
// admin API (/v1/) that the CLI and outside tools use. docs/api.md is its
// reference.
//
// The server knows nothing of workflows, connectors or storage: it serves
// a Backend (the engine) and turns the Backend's answers and errors into
// HTTP. It owns what is HTTP's concern: routing, the API key, body limits,
// JSON error bodies, timeouts, graceful shutdown and request metrics.
//
// A webhook is acknowledged with 2xx only after Backend.Webhook returns,
// and the Backend returns only once the delivery's events are synced to
// disk, so a sender that got a 2xx never needs to resend. The server must
// not answer a webhook before that, buffer deliveries itself, or retry
// them: a sender that got no answer retries, and the Backend drops the
// duplicate.
package server
