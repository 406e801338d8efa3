package sdk

import (
	"time"

	"github.com/hubhq/hub/sdk/fault"
)

// Violation is one problem with an input at a path such as "lines[2].sku".
type Violation = fault.Violation

// Retryable reports a failure that may succeed later; the host backs off and
// retries. Use it for timeouts, 5xx answers and dropped connections.
func Retryable(format string, args ...any) error { return fault.Retryablef(format, args...) }

// RateLimited reports that the third party throttled the call; the host
// waits at least after (zero: its own default) before trying again.
func RateLimited(after time.Duration, format string, args ...any) error {
	return fault.RateLimitedf(after, format, args...)
}

// AuthExpired reports credentials that expired or were revoked; the host
// refreshes them once and retries.
func AuthExpired(format string, args ...any) error { return fault.AuthExpiredf(format, args...) }

// Permanent reports a failure that repeating will not fix; the host
// dead-letters at once. An error that is not classified is permanent too.
func Permanent(format string, args ...any) error { return fault.Permanentf(format, args...) }

// Invalid reports input the third party (or the connector) will not accept,
// listing each offending field; it is permanent.
func Invalid(message string, violations ...Violation) error {
	return fault.Invalid(message, violations...)
}

// CursorExpired reports a cursor or stream position the third party can no
// longer resume from; the host reconciles (e.g. with the stream's poll
// trigger) and starts afresh.
func CursorExpired(format string, args ...any) error { return fault.CursorExpiredf(format, args...) }
