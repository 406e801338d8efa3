package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/sdktest"
	"github.com/hubhq/hub/sdk/wire"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, connector())
}

func TestCheck_ReportsNoAccount(t *testing.T) {
	h := sdktest.New(t, connector())
	account, err := h.Check(sdktest.Connection(nil))
	if err != nil || account != "example (no account)" {
		t.Fatalf("Check = %q, %v", account, err)
	}
}

func TestSchema_DerivesModesFromHandlers(t *testing.T) {
	s := sdktest.New(t, connector()).Schema()
	for name, mode := range map[string]string{"tick": "poll", "incoming": "webhook", "ticks": "stream"} {
		tr, ok := s.Trigger(name)
		if !ok || len(tr.Modes) != 1 || string(tr.Modes[0]) != mode {
			t.Errorf("trigger %s modes = %v, want [%s]", name, tr.Modes, mode)
		}
	}
}

func TestEcho_ReturnsMessageVersionKeyAndAttempt(t *testing.T) {
	h := sdktest.New(t, connector())
	out, err := h.ExecuteCall(wire.ActionRequest{Action: "echo", Conn: sdktest.Connection(nil),
		Input: json.RawMessage(`{"message":"hi","uppercase":true}`), IdempotencyKey: "run-7/step-a", Attempt: 3})
	if err != nil {
		t.Fatal(err)
	}
	var got echoOutput
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := echoOutput{Message: "HI", ConnectorVersion: version, IdempotencyKey: "run-7/step-a", Attempt: 3}
	if got != want {
		t.Fatalf("echo = %+v, want %+v", got, want)
	}
}

func TestEcho_UppercaseDefaultsToFalse(t *testing.T) {
	out, err := sdktest.New(t, connector()).Execute("echo", sdktest.Connection(nil), map[string]any{"message": "Hi"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"message":"Hi"`) {
		t.Fatalf("output %s", out)
	}
}

func TestEcho_MissingMessageIsInvalidInputBeforeTheHandler(t *testing.T) {
	_, err := sdktest.New(t, connector()).Execute("echo", sdktest.Connection(nil), map[string]any{"uppercase": "yes"})
	e := fault.As(err)
	if e == nil || e.Kind != fault.InvalidInput {
		t.Fatalf("err = %v, want invalid input", err)
	}
	got := map[string]bool{}
	for _, v := range e.Violations {
		got[v.Path] = true
	}
	if !got["message"] || !got["uppercase"] {
		t.Fatalf("violations = %v, want message and uppercase", e.Violations)
	}
}

func TestSum_AddsNumbers(t *testing.T) {
	out, err := sdktest.New(t, connector()).Execute("sum", sdktest.Connection(nil), map[string]any{"numbers": []any{1, 2.5, -0.5}})
	if err != nil || string(out) != `{"total":3}` {
		t.Fatalf("sum = %s, %v", out, err)
	}
}

func TestSum_NonNumberItemIsReportedAtItsIndex(t *testing.T) {
	_, err := sdktest.New(t, connector()).Execute("sum", sdktest.Connection(nil), map[string]any{"numbers": []any{1, "2"}})
	e := fault.As(err)
	if e.Kind != fault.InvalidInput || len(e.Violations) != 1 || e.Violations[0].Path != "numbers[1]" {
		t.Fatalf("err = %v", err)
	}
}

func TestFail_ReturnsTheRequestedClassification(t *testing.T) {
	h := sdktest.New(t, connector())
	for _, k := range failKinds {
		t.Run(k.String(), func(t *testing.T) {
			_, err := h.Execute("fail", sdktest.Connection(nil), map[string]any{"kind": k.String(), "message": "boom", "retry_after_seconds": 7})
			e := fault.As(err)
			if e.Kind != k || !strings.Contains(e.Message, "boom") {
				t.Fatalf("err = %v, want %s", err, k)
			}
			if e.RetryAfter != 7*time.Second {
				t.Fatalf("retry after = %s, want 7s", e.RetryAfter)
			}
		})
	}
}

func TestFail_UnknownKindIsRejectedByTheEnum(t *testing.T) {
	_, err := sdktest.New(t, connector()).Execute("fail", sdktest.Connection(nil), map[string]any{"kind": "explode"})
	if e := fault.As(err); e.Kind != fault.InvalidInput || e.Violations[0].Path != "kind" {
		t.Fatalf("err = %v", err)
	}
}

func TestUnknownAction_IsInvalidAndNamesTheKnownOnes(t *testing.T) {
	_, err := sdktest.New(t, connector()).Execute("nope", sdktest.Connection(nil), nil)
	e := fault.As(err)
	if e.Kind != fault.InvalidInput || !strings.Contains(e.Message, `no action "nope"`) || !strings.Contains(e.Violations[0].Message, "echo") {
		t.Fatalf("err = %v", err)
	}
}

func TestTick_PagesThroughTheSequenceAfterTheCursor(t *testing.T) {
	h := sdktest.New(t, connector())
	conn := sdktest.Connection(map[string]any{"greeting": "hey"})
	res, err := h.Poll("tick", conn, map[string]any{"count": 7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != tickPage || !res.HasMore || string(res.NextCursor) != "5" || res.Events[0].ID != "tick-1" {
		t.Fatalf("first page: %d events, more=%v, cursor=%s", len(res.Events), res.HasMore, res.NextCursor)
	}
	if !strings.Contains(string(res.Events[0].Payload), `"message":"hey 1"`) {
		t.Fatalf("payload %s", res.Events[0].Payload)
	}
	res, err = h.Poll("tick", conn, map[string]any{"count": 7}, res.NextCursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 2 || res.HasMore || string(res.NextCursor) != "7" || res.Events[1].ID != "tick-7" {
		t.Fatalf("second page: %+v", res)
	}
	res, err = h.Poll("tick", conn, map[string]any{"count": 7}, res.NextCursor)
	if err != nil || len(res.Events) != 0 || string(res.NextCursor) != "7" {
		t.Fatalf("after the end: %+v, %v", res, err)
	}
}

func TestTick_DefaultsAndLimitApply(t *testing.T) {
	h := sdktest.New(t, connector())
	events, cursor, err := h.PollAll("tick", sdktest.Connection(nil), nil, nil, 10)
	if err != nil || len(events) != 10 || string(cursor) != "10" {
		t.Fatalf("PollAll = %d events, cursor %s, %v", len(events), cursor, err)
	}
	if !strings.Contains(string(events[0].Payload), "hello 1") {
		t.Fatalf("greeting default not applied: %s", events[0].Payload)
	}
	res, err := h.PollLimit("tick", sdktest.Connection(nil), map[string]any{"start": 100}, nil, 2)
	if err != nil || len(res.Events) != 2 || res.Events[0].ID != "tick-101" {
		t.Fatalf("limit 2 from 100: %+v, %v", res, err)
	}
}

func TestTick_GarbledCursorIsCursorExpired(t *testing.T) {
	_, err := sdktest.New(t, connector()).Poll("tick", sdktest.Connection(nil), nil, []byte("x"))
	if fault.KindOf(err) != fault.CursorExpired {
		t.Fatalf("err = %v", err)
	}
}

func TestTick_InvalidConfigAndPropertiesAreRejected(t *testing.T) {
	h := sdktest.New(t, connector())
	_, err := h.Poll("tick", sdktest.Connection(nil), map[string]any{"count": "ten"}, nil)
	if e := fault.As(err); e.Kind != fault.InvalidInput || e.Violations[0].Path != "count" {
		t.Fatalf("config: err = %v", err)
	}
	_, err = h.Poll("tick", sdktest.Connection(map[string]any{"greeting": 5}), nil, nil)
	if e := fault.As(err); e.Kind != fault.InvalidInput || e.Violations[0].Path != "properties.greeting" {
		t.Fatalf("properties: err = %v", err)
	}
}

func TestTick_WrongModeIsPermanent(t *testing.T) {
	h := sdktest.New(t, connector())
	_, err := h.Webhook("tick", sdktest.Connection(nil), nil, httptest.NewRequest("POST", "/", nil), "s")
	if e := fault.As(err); e.Kind != fault.Permanent || !strings.Contains(e.Message, "does not offer webhook") {
		t.Fatalf("err = %v", err)
	}
}

func sign(body, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestIncoming_SignedDeliveryBecomesOneEventAnswered202(t *testing.T) {
	h := sdktest.New(t, connector())
	body := `{"id":"evt-9","total":12}`
	req := httptest.NewRequest("POST", "/hooks/incoming", strings.NewReader(body))
	req.Header.Set(SignatureHeader, sign(body, "s3cret"))
	res, err := h.Webhook("incoming", sdktest.Connection(nil), nil, req, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 1 || res.Events[0].ID != "evt-9" || string(res.Events[0].Payload) != body {
		t.Fatalf("events = %+v", res.Events)
	}
	if res.Response == nil || res.Response.Status != http.StatusAccepted {
		t.Fatalf("response = %+v", res.Response)
	}
}

func TestIncoming_IDFallsBackToRequestIDHeader(t *testing.T) {
	body := `{"total":12}`
	req := httptest.NewRequest("POST", "/", strings.NewReader(body))
	req.Header.Set(SignatureHeader, sign(body, "k"))
	req.Header.Set("X-Request-Id", "req-42")
	res, err := sdktest.New(t, connector()).Webhook("incoming", sdktest.Connection(nil), nil, req, "k")
	if err != nil || len(res.Events) != 1 || res.Events[0].ID != "req-42" {
		t.Fatalf("res = %+v, %v", res, err)
	}
}

func TestIncoming_BadSignatureIsAnswered401WithNoEvents(t *testing.T) {
	h := sdktest.New(t, connector())
	body := `{"id":"evt-9"}`
	for name, header := range map[string]string{
		"wrong secret":   sign(body, "other"),
		"tampered body":  sign(`{"id":"evt-8"}`, "s3cret"),
		"missing":        "",
		"not hex":        "sha256=zz",
		"wrong prefix":   strings.Replace(sign(body, "s3cret"), "sha256=", "sha1=", 1),
		"truncated hmac": sign(body, "s3cret")[:20],
	} {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/", strings.NewReader(body))
			if header != "" {
				req.Header.Set(SignatureHeader, header)
			}
			res, err := h.Webhook("incoming", sdktest.Connection(nil), nil, req, "s3cret")
			if err == nil || len(res.Events) != 0 {
				t.Fatalf("accepted: %+v", res)
			}
			if res.Response == nil || res.Response.Status != http.StatusUnauthorized {
				t.Fatalf("response = %+v, want 401", res.Response)
			}
		})
	}
}

func TestIncoming_BodyWithoutIDIsAnswered400(t *testing.T) {
	body := `{"total":1}`
	req := httptest.NewRequest("POST", "/", strings.NewReader(body))
	req.Header.Set(SignatureHeader, sign(body, "k"))
	res, err := sdktest.New(t, connector()).Webhook("incoming", sdktest.Connection(nil), nil, req, "k")
	if fault.KindOf(err) != fault.InvalidInput || res.Response == nil || res.Response.Status != http.StatusBadRequest {
		t.Fatalf("res = %+v, err = %v", res, err)
	}
}

func TestIncoming_SubscribeIsManualAndSucceeds(t *testing.T) {
	h := sdktest.New(t, connector())
	sub, err := h.Subscribe("incoming", sdktest.Connection(nil), nil, "https://hub.example/hooks/x", "s")
	if err != nil || sub.ID != "" {
		t.Fatalf("subscribe = %+v, %v", sub, err)
	}
	if err := h.Unsubscribe("incoming", sdktest.Connection(nil), nil, sub); err != nil {
		t.Fatal(err)
	}
}

func TestTicks_StreamsBatchesWithResumePositions(t *testing.T) {
	h := sdktest.New(t, connector())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := map[string]any{"interval_ms": 5, "batch_size": 2, "count": 10}
	batches, err := h.Stream(ctx, "ticks", sdktest.Connection(nil), cfg, []byte("3"), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 2 {
		t.Fatalf("%d batches", len(batches))
	}
	if ids := batches[0].Events[0].ID + "," + batches[0].Events[1].ID; ids != "tick-4,tick-5" || string(batches[0].Position) != "5" {
		t.Fatalf("first batch %s at %s", ids, batches[0].Position)
	}
	if string(batches[1].Position) != "7" {
		t.Fatalf("second batch position %s", batches[1].Position)
	}
}

func TestTicks_GarbledPositionFailsTheStreamAsCursorExpired(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := sdktest.New(t, connector()).Stream(ctx, "ticks", sdktest.Connection(nil), nil, []byte("abc"), 1)
	if fault.KindOf(err) != fault.CursorExpired {
		t.Fatalf("err = %v", err)
	}
}

func TestMigrateCursor_KeepsCursorsUnchanged(t *testing.T) {
	got, err := sdktest.New(t, connector()).MigrateCursor("tick", "0.9.0", []byte("12"))
	if err != nil || string(got) != "12" {
		t.Fatalf("migrate = %s, %v", got, err)
	}
}

// receiver is a fake third party for deliver: it records each request and
// answers with the status the test sets.
type receiver struct {
	srv      *httptest.Server
	status   int
	header   http.Header
	body     string
	requests int
}

func newReceiver(t *testing.T, status int, retryAfter string) *receiver {
	r := &receiver{status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.requests++
		r.header, r.body = req.Header.Clone(), string(b)
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(r.status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func TestDeliver_PostsBodyWithIdempotencyKeyAttemptAndHeaders(t *testing.T) {
	r := newReceiver(t, http.StatusAccepted, "")
	h := sdktest.New(t, connector())
	input := `{"url":"` + r.srv.URL + `/in","body":{"id":"evt-1","n":[1,2]},"headers":{"X-Tenant":"acme","Idempotency-Key":"forged"}}`
	out, err := h.ExecuteCall(wire.ActionRequest{Action: "deliver", Conn: sdktest.Connection(nil),
		Input: json.RawMessage(input), IdempotencyKey: "run-3/step-deliver", Attempt: 2})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"status":202}` {
		t.Fatalf("output %s", out)
	}
	if r.body != `{"id":"evt-1","n":[1,2]}` {
		t.Fatalf("body %s", r.body)
	}
	for name, want := range map[string]string{
		IdempotencyKeyHeader: "run-3/step-deliver", AttemptHeader: "2",
		"X-Tenant": "acme", "Content-Type": "application/json",
	} {
		if got := r.header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestDeliver_ReceiverAnswersAreClassified(t *testing.T) {
	for _, tc := range []struct {
		status     int
		retryAfter string
		want       fault.Kind
	}{
		{http.StatusServiceUnavailable, "", fault.Retryable},
		{http.StatusInternalServerError, "", fault.Retryable},
		{http.StatusTooManyRequests, "3", fault.RateLimited},
		{http.StatusBadRequest, "", fault.InvalidInput},
		{http.StatusNotFound, "", fault.Permanent},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			r := newReceiver(t, tc.status, tc.retryAfter)
			_, err := sdktest.New(t, connector()).Execute("deliver", sdktest.Connection(nil),
				map[string]any{"url": r.srv.URL, "body": "x"})
			e := fault.As(err)
			if e == nil || e.Kind != tc.want {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
			if tc.want == fault.RateLimited && e.RetryAfter != 3*time.Second {
				t.Fatalf("retry after = %s, want 3s", e.RetryAfter)
			}
		})
	}
}

func TestDeliver_UnreachableReceiverIsRetryable(t *testing.T) {
	r := newReceiver(t, http.StatusOK, "")
	url := r.srv.URL
	r.srv.Close()
	_, err := sdktest.New(t, connector()).Execute("deliver", sdktest.Connection(nil), map[string]any{"url": url, "body": 1})
	if fault.KindOf(err) != fault.Retryable {
		t.Fatalf("err = %v, want retryable", err)
	}
}

func TestDeliver_InputIsCheckedBeforeSending(t *testing.T) {
	h := sdktest.New(t, connector())
	for name, tc := range map[string]struct {
		input map[string]any
		path  string
	}{
		"missing url":        {map[string]any{"body": 1}, "url"},
		"missing body":       {map[string]any{"url": "http://127.0.0.1:1/"}, "body"},
		"relative url":       {map[string]any{"url": "/in", "body": 1}, "url"},
		"unsupported scheme": {map[string]any{"url": "ftp://127.0.0.1/in", "body": 1}, "url"},
		"non-string header":  {map[string]any{"url": "http://127.0.0.1:1/", "body": 1, "headers": map[string]any{"X-N": 1}}, "headers.X-N"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := h.Execute("deliver", sdktest.Connection(nil), tc.input)
			e := fault.As(err)
			if e == nil || e.Kind != fault.InvalidInput || len(e.Violations) == 0 || e.Violations[0].Path != tc.path {
				t.Fatalf("err = %v, want invalid input at %s", err, tc.path)
			}
		})
	}
}
