package fault

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestAs_UnclassifiedErrorIsPermanent(t *testing.T) {
	err := errors.New("boom")
	got := As(err)
	if got.Kind != Permanent || !errors.Is(got, err) {
		t.Fatalf("As(%v) = %+v, want permanent wrapping it", err, got)
	}
}

func TestAs_FindsWrappedClassifiedError(t *testing.T) {
	inner := RateLimitedf(3*time.Second, "slow down")
	err := fmt.Errorf("call shop: %w", inner)
	if KindOf(err) != RateLimited || As(err).RetryAfter != 3*time.Second {
		t.Fatalf("classification lost through wrapping: %v", err)
	}
	if !Is(err, RateLimited) || Is(err, Retryable) {
		t.Fatalf("Is mismatched for %v", err)
	}
}

func TestError_MessageNamesKindViolationsAndWait(t *testing.T) {
	e := Invalid("bad order", Violation{Path: "lines[0].sku", Message: "required"})
	if got, want := e.Error(), "invalid_input: bad order (lines[0].sku: required)"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	r := RateLimitedf(2*time.Second, "429 from shop")
	if got, want := r.Error(), "rate_limited: 429 from shop [retry after 2s]"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestRetryablef_KeepsCause(t *testing.T) {
	cause := errors.New("connection refused")
	e := Retryablef("dial warehouse: %v", cause)
	if !errors.Is(e, cause) || !e.Retryable() {
		t.Fatalf("cause or retryability lost: %+v", e)
	}
	if Permanentf("x").Retryable() || Invalid("x").Retryable() {
		t.Fatal("permanent kinds must not be retryable")
	}
}

func TestParseKind_RoundTrips(t *testing.T) {
	for k := Permanent; k <= CursorExpired; k++ {
		got, ok := ParseKind(k.String())
		if !ok || got != k {
			t.Fatalf("ParseKind(%q) = %v, %v", k.String(), got, ok)
		}
	}
	if _, ok := ParseKind("nope"); ok {
		t.Fatal("unknown kind parsed")
	}
}
