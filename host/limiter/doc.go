// Package limiter owns per-connection flow control: how many calls to one
// third party may be in flight, how fast new calls may start, and whether
// calls should be made at all while the third party is unwell.
//
// A Limiter bounds concurrency (a FIFO queue of waiters, so a lane cannot
// starve) and start rate (a token bucket from golang.org/x/time/rate). Its
// limits change live with Set, keeping the count of calls in flight, so a
// "hub apply" that edits a connection's limits block takes effect on a
// running host without a restart.
//
// A Breaker is a circuit breaker that counts only the failures the caller
// says mean the third party is unwell (timeouts, 5xx, connection refused;
// not a rejected input). It is hand-written rather than built on
// sony/gobreaker because the engine runs durable jobs: when a call may not
// be made it reschedules the job for the moment the breaker will let a
// call through, instead of failing it. gobreaker only answers "not now"
// (ErrOpenState, ErrTooManyRequests) and keeps the end of its open period
// unexported; it also has a fixed open timeout, where hub doubles the
// cooldown each time a half-open probe fails, and reads the wall clock,
// where tests here use a fake one. Allow therefore returns retryAt.
//
// The package decides nothing about what a call is or which errors count:
// it holds no connections, makes no calls and keeps no global state; the
// engine owns one Limiter and one Breaker per connection.
package limiter
