// Package fault is hub's one classification of errors from third parties
// and connectors. A connector returns a classified error; the host reads the
// kind to decide whether to retry, wait, refresh credentials or dead-letter.
// Both sides of the plugin protocol use it, so it depends on nothing of hub.
package fault

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind says what the host should do about an error.
type Kind int

const (
	// Permanent errors will not succeed if repeated: dead-letter at once.
	// An unclassified error is treated as permanent.
	Permanent Kind = iota
	// Retryable errors may succeed later: back off and retry.
	Retryable
	// RateLimited means the third party throttled the call: wait at least
	// Error.RetryAfter before the next one.
	RateLimited
	// AuthExpired means the credentials expired or were revoked: refresh
	// them once, then retry.
	AuthExpired
	// InvalidInput means the input is wrong; it is permanent and carries
	// the offending fields as Violations.
	InvalidInput
	// CursorExpired means a cursor or stream position can no longer be
	// resumed from at the third party (its retention passed).
	CursorExpired
)

var kindNames = [...]string{
	Permanent:     "permanent",
	Retryable:     "retryable",
	RateLimited:   "rate_limited",
	AuthExpired:   "auth_expired",
	InvalidInput:  "invalid_input",
	CursorExpired: "cursor_expired",
}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, bool) {
	for k, name := range kindNames {
		if name == s {
			return Kind(k), true
		}
	}
	return Permanent, false
}

// Violation is one problem with an input at a path such as "lines[2].sku".
type Violation struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (v Violation) String() string {
	if v.Path == "" {
		return v.Message
	}
	return v.Path + ": " + v.Message
}

// Error is a classified error.
type Error struct {
	Kind    Kind
	Message string
	// RetryAfter is the least time to wait before trying again; zero when
	// the third party did not say.
	RetryAfter time.Duration
	Violations []Violation
	// HTTPStatus is the third party's status code, when there was one.
	HTTPStatus int
	// Cause is the underlying error, when there is one; it does not cross
	// the plugin boundary except through Message.
	Cause error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Cause != nil && !strings.Contains(e.Message, e.Cause.Error()) {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	for i, v := range e.Violations {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(v.String())
		if i == len(e.Violations)-1 {
			b.WriteString(")")
		}
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " [retry after %s]", e.RetryAfter)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Cause }

// Retryable reports whether the host may try the call again.
func (e *Error) Retryable() bool {
	switch e.Kind {
	case Retryable, RateLimited, AuthExpired:
		return true
	}
	return false
}

func newf(k Kind, format string, args []any) *Error {
	e := &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
	for _, a := range args {
		if err, ok := a.(error); ok && e.Cause == nil {
			e.Cause = err
		}
	}
	return e
}

// Retryablef returns a retryable error.
func Retryablef(format string, args ...any) *Error { return newf(Retryable, format, args) }

// Permanentf returns a permanent error.
func Permanentf(format string, args ...any) *Error { return newf(Permanent, format, args) }

// AuthExpiredf returns an auth-expired error.
func AuthExpiredf(format string, args ...any) *Error { return newf(AuthExpired, format, args) }

// CursorExpiredf returns a cursor-expired error.
func CursorExpiredf(format string, args ...any) *Error { return newf(CursorExpired, format, args) }

// RateLimitedf returns a rate-limited error that asks to wait at least after.
func RateLimitedf(after time.Duration, format string, args ...any) *Error {
	e := newf(RateLimited, format, args)
	e.RetryAfter = after
	return e
}

// Invalid returns an invalid-input error listing the violations.
func Invalid(message string, violations ...Violation) *Error {
	return &Error{Kind: InvalidInput, Message: message, Violations: violations}
}

// As returns err as a classified error. An error that is not classified
// comes back as permanent, wrapping err, so callers always get a kind.
func As(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Permanent, Message: err.Error(), Cause: err}
}

// KindOf returns the kind of err; Permanent for an unclassified error.
func KindOf(err error) Kind { return As(err).Kind }

// Is reports whether err is classified as kind k.
func Is(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}
