// Package engine runs applied workflows: it turns webhook deliveries and
// polled events into durable runs, executes their steps through connector
// plugins with stable idempotency keys, retries what failed by the class
// of its error, dead-letters what cannot succeed, and records every run.
//
// Everything the engine writes goes through the ingester's group commit
// (host/ingest), so one synced Badger transaction carries many state
// changes. A state change is always one transaction: the router stores a
// run, its first job and the routed position together; a step's outcome
// deletes its job and stores the run and the next job (or the dead
// letter) together. A crash therefore leaves every run either before or
// after a step, and a step whose outcome was not recorded runs again with
// the same idempotency key.
//
// Jobs wait in the store under keys ordered by due time (host/runs) and in
// memory in one lane per connection. A lane's workers take due jobs,
// respect the connection's concurrency and rate limits (host/limiter) and
// its circuit breaker, and execute them. On start the engine reloads every
// stored job, so nothing queued is lost across restarts.
//
// Connection credentials and trigger configs are resolved from the
// secret store when a runtime is compiled; when the store changes,
// ReloadCredentials resolves those that read secrets again and swaps in
// the changed ones, so a rotated key is used from the next call without
// a restart. Values kept in the store that may hold secrets (webhook
// signing secrets, trigger configs) are sealed with Options.Sealer.
//
// The engine must not speak HTTP (host/server does, through the
// server.Backend this package implements), parse HCL (host/config does)
// or launch processes (host/supervisor does).
package engine
