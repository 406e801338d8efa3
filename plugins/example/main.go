// Command hub-connector-example is hub's first-party example connector. It
// talks to no third party: its actions and triggers are deterministic so the
// host's own tests (retries, dead-lettering, polling, webhooks, streams,
// side-by-side versions) can drive a real plugin binary, and so authors have
// a complete connector to read.
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
)

// version is set at build time with -ldflags "-X main.version=1.2.3" so one
// source tree can produce the several versions the host's side-by-side
// tests install.
var version = "1.0.0"

func main() { sdk.Serve(connector()) }

// connector declares the example connector.
func connector() *sdk.Connector {
	return &sdk.Connector{
		Name:        "example",
		Version:     version,
		DisplayName: "Example",
		Description: "A deterministic connector with no third party, for trying hub and testing the host.",
		Homepage:    "https://github.com/hubhq/hub/tree/main/plugins/example",
		Categories:  []string{"developer-tools"},
		Auth: []schema.AuthScheme{
			{Type: schema.AuthNone},
			{Type: schema.AuthAPIKey, Description: "A key sent as X-Api-Key; the example accepts any key.",
				APIKey: &schema.APIKeySpec{In: schema.InHeader, Name: "X-Api-Key"}},
			sessionScheme(),
			{Type: schema.AuthOAuth2, Description: "An OAuth 2.0 access token sent as a bearer token by deliver and feed. The example has no authorization server of its own: the endpoints below are a local server's on port 9096, and a connection points them at its own with token_url, authorization_url and device_authorization_url.",
				OAuth2: &schema.OAuth2Spec{
					AuthorizationURL:       "http://127.0.0.1:9096/authorize",
					TokenURL:               "http://127.0.0.1:9096/token",
					DeviceAuthorizationURL: "http://127.0.0.1:9096/device",
					Grants:                 []string{"authorization_code", "client_credentials", "device_code", "refresh_token"},
				}},
		},
		Properties: []schema.Field{
			{Name: "greeting", Type: schema.String, Description: "Word the connection greets with.",
				Default: sdk.JSON("hello"), Example: sdk.JSON("hi")},
		},
		Check:    checkConnection,
		Login:    login,
		Actions:  []sdk.Action{echoAction(), sumAction(), failAction(), deliverAction()},
		Triggers: []sdk.Trigger{tickTrigger(), incomingTrigger(), ticksTrigger(), feedTrigger()},
	}
}

func checkConnection(context.Context, *sdk.Conn) (string, error) {
	return "example (no account)", nil
}

// ---- echo

type echoInput struct {
	Message   string `json:"message"`
	Uppercase bool   `json:"uppercase"`
}

type echoOutput struct {
	Message          string `json:"message"`
	ConnectorVersion string `json:"connector_version"`
	IdempotencyKey   string `json:"idempotency_key"`
	Attempt          int    `json:"attempt"`
}

func echoAction() sdk.Action {
	return sdk.NewAction(schema.Action{
		Name: "echo", DisplayName: "Echo", Kind: schema.KindRead, Idempotent: true,
		Description: "Returns the message, with the connector version and the attempt's idempotency key, so a test can see which version and attempt ran.",
		Input: sdk.Object(
			schema.Field{Name: "message", Type: schema.String, Required: true, Description: "Text to return."},
			schema.Field{Name: "uppercase", Type: schema.Boolean, Default: sdk.JSON(false), Description: "Return the text in upper case."},
		),
		Output: sdk.Object(
			schema.Field{Name: "message", Type: schema.String, Description: "The text, upper-cased if asked."},
			schema.Field{Name: "connector_version", Type: schema.String, Description: "Version of the connector that ran."},
			schema.Field{Name: "idempotency_key", Type: schema.String, Description: "The attempt's idempotency key."},
			schema.Field{Name: "attempt", Type: schema.Integer, Description: "The attempt number, 1 for the first."},
		),
		ExampleInput:  sdk.JSON(map[string]any{"message": "hi", "uppercase": true}),
		ExampleOutput: sdk.JSON(map[string]any{"message": "HI", "connector_version": "1.0.0", "idempotency_key": "run-1/step-echo", "attempt": 1}),
	}, func(_ context.Context, _ *sdk.Conn, in echoInput, call sdk.ActionCall) (echoOutput, error) {
		msg := in.Message
		if in.Uppercase {
			msg = strings.ToUpper(msg)
		}
		return echoOutput{Message: msg, ConnectorVersion: version, IdempotencyKey: call.IdempotencyKey, Attempt: call.Attempt}, nil
	})
}

// ---- sum

type sumInput struct {
	Numbers []float64 `json:"numbers"`
}

type sumOutput struct {
	Total float64 `json:"total"`
}

func sumAction() sdk.Action {
	return sdk.NewAction(schema.Action{
		Name: "sum", DisplayName: "Sum", Kind: schema.KindRead, Idempotent: true,
		Description: "Adds up a list of numbers.",
		Input: sdk.Object(schema.Field{Name: "numbers", Type: schema.List, Required: true,
			Items: &schema.Field{Type: schema.Number}, Description: "Numbers to add."}),
		Output:        sdk.Object(schema.Field{Name: "total", Type: schema.Number, Description: "Their sum."}),
		ExampleInput:  sdk.JSON(map[string]any{"numbers": []float64{1, 2, 3.5}}),
		ExampleOutput: sdk.JSON(map[string]any{"total": 6.5}),
	}, func(_ context.Context, _ *sdk.Conn, in sumInput, _ sdk.ActionCall) (sumOutput, error) {
		var total float64
		for _, n := range in.Numbers {
			total += n
		}
		return sumOutput{Total: total}, nil
	})
}

// ---- fail

type failInput struct {
	Kind              string `json:"kind"`
	Message           string `json:"message"`
	RetryAfterSeconds int    `json:"retry_after_seconds"`
}

// failKinds are the error kinds fail can return, by their fault names.
var failKinds = []fault.Kind{fault.Permanent, fault.Retryable, fault.RateLimited, fault.AuthExpired, fault.InvalidInput, fault.CursorExpired}

func failAction() sdk.Action {
	kinds := make([]any, len(failKinds))
	for i, k := range failKinds {
		kinds[i] = k.String()
	}
	return sdk.NewAction(schema.Action{
		Name: "fail", DisplayName: "Fail", Kind: schema.KindCreate,
		Description: "Always fails with the error kind asked for, so the host's retry, refresh and dead-letter paths can be exercised.",
		Input: sdk.Object(
			schema.Field{Name: "kind", Type: schema.String, Required: true, Enum: sdk.Enum(kinds...), Description: "Error kind to return."},
			schema.Field{Name: "message", Type: schema.String, Default: sdk.JSON("requested failure"), Description: "Error message."},
			schema.Field{Name: "retry_after_seconds", Type: schema.Integer, Default: sdk.JSON(0), Description: "Wait asked for by a rate_limited or retryable error."},
		),
		Output:        sdk.Object(),
		ExampleInput:  sdk.JSON(map[string]any{"kind": "rate_limited", "message": "slow down", "retry_after_seconds": 2}),
		ExampleOutput: sdk.JSON(map[string]any{}),
	}, func(_ context.Context, _ *sdk.Conn, in failInput, _ sdk.ActionCall) (struct{}, error) {
		kind, _ := fault.ParseKind(in.Kind) // the enum already admitted only known kinds
		after := time.Duration(in.RetryAfterSeconds) * time.Second
		e := &fault.Error{Kind: kind, Message: in.Message, RetryAfter: after}
		if kind == fault.InvalidInput {
			e.Violations = []fault.Violation{{Path: "message", Message: in.Message}}
		}
		return struct{}{}, e
	})
}

// ---- deliver

type deliverInput struct {
	URL  string          `json:"url"`
	Body json.RawMessage `json:"body"`
	// Headers is decoded loosely because the schema cannot say "map of
	// strings"; the handler reports a non-string value at its path.
	Headers map[string]any `json:"headers"`
}

type deliverOutput struct {
	Status int `json:"status"`
}

// Header names deliver sets on every request; the receiver deduplicates by
// the first and can tell retries apart by the second.
const (
	IdempotencyKeyHeader = "Idempotency-Key"
	AttemptHeader        = "X-Hub-Attempt"
)

func deliverAction() sdk.Action {
	return sdk.NewAction(schema.Action{
		Name: "deliver", DisplayName: "Deliver",
		// Idempotent because every attempt of a step carries the same
		// Idempotency-Key, which the receiver is expected to honour.
		Kind: schema.KindCreate, Idempotent: true,
		Description: "POSTs the body as JSON to the URL with " + IdempotencyKeyHeader + " (the step's idempotency key) and " + AttemptHeader + " headers; a 429 or 5xx answer is retried, another 4xx is not.",
		Input: sdk.Object(
			schema.Field{Name: "url", Type: schema.String, Required: true, Format: "uri", Description: "Where to POST."},
			schema.Field{Name: "body", Type: schema.Any, Required: true, Description: "Any JSON value, sent as the request body."},
			schema.Field{Name: "headers", Type: schema.Object, AdditionalProperties: true,
				Description: "Extra request headers, name to string value; they cannot replace the idempotency and attempt headers."},
		),
		Output: sdk.Object(
			schema.Field{Name: "status", Type: schema.Integer, Description: "The receiver's HTTP status (2xx or 3xx)."},
		),
		ExampleInput:  sdk.JSON(map[string]any{"url": "https://receiver.example/orders", "body": map[string]any{"id": "evt-1"}}),
		ExampleOutput: sdk.JSON(map[string]any{"status": 202}),
	}, deliver)
}

func deliver(ctx context.Context, c *sdk.Conn, in deliverInput, call sdk.ActionCall) (deliverOutput, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.URL, bytes.NewReader(in.Body))
	if err == nil && req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		// Retrying an unsupported scheme can never succeed.
		err = fmt.Errorf("scheme %q is not http or https", req.URL.Scheme)
	}
	if err != nil {
		return deliverOutput{}, sdk.Invalid("url is not usable", sdk.Violation{Path: "url", Message: err.Error()})
	}
	for _, k := range slices.Sorted(maps.Keys(in.Headers)) {
		v, ok := in.Headers[k].(string)
		if !ok {
			return deliverOutput{}, sdk.Invalid("header values are strings", sdk.Violation{Path: "headers." + k, Message: "expected string"})
		}
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(IdempotencyKeyHeader, call.IdempotencyKey)
	req.Header.Set(AttemptHeader, strconv.Itoa(call.Attempt))
	// Do classifies the answer (sdk.CheckResponse): 429 with Retry-After is
	// rate_limited, 5xx and network failures retryable, 400 and 422 invalid
	// input, other 4xx permanent.
	resp, err := c.HTTP().Do(req)
	if err != nil {
		return deliverOutput{}, err
	}
	// Drain so the connection is reused for the next delivery.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return deliverOutput{Status: resp.StatusCode}, nil
}

// ---- tick (poll)

type tickConfig struct {
	Start int `json:"start"`
	Count int `json:"count"`
}

// tickPage is how many events one poll returns at most when the host gives
// no limit; small, so paging is exercised.
const tickPage = 5

// tickOutput is the payload of a tick event.
func tickOutput() *schema.Field {
	return sdk.Object(
		schema.Field{Name: "seq", Type: schema.Integer, Description: "Sequence number of the tick."},
		schema.Field{Name: "message", Type: schema.String, Description: "The connection's greeting and the number."},
	)
}

func tickConfigFields() []schema.Field {
	return []schema.Field{
		{Name: "start", Type: schema.Integer, Default: sdk.JSON(0), Description: "Sequence number after which ticks begin."},
		{Name: "count", Type: schema.Integer, Default: sdk.JSON(10), Description: "How many ticks exist in total."},
	}
}

func tickTrigger() sdk.Trigger {
	return sdk.Trigger{
		Spec: schema.Trigger{
			Name: "tick", DisplayName: "Tick",
			Description:         "A fixed sequence of numbered events, read page by page after a cursor (the last sequence number seen).",
			Config:              tickConfigFields(),
			Output:              tickOutput(),
			DefaultPollInterval: 10 * time.Second,
			Example:             sdk.JSON(map[string]any{"seq": 1, "message": "hello 1"}),
		},
		Poll: pollTicks,
	}
}

type greetingProps struct {
	Greeting string `json:"greeting"`
}

func pollTicks(_ context.Context, c *sdk.Conn, req sdk.PollRequest) (sdk.PollResult, error) {
	var cfg tickConfig
	if err := req.Config.Decode(&cfg); err != nil {
		return sdk.PollResult{}, err
	}
	var props greetingProps
	if err := c.Properties(&props); err != nil {
		return sdk.PollResult{}, err
	}
	last := cfg.Start
	if len(req.Cursor) > 0 {
		n, err := strconv.Atoi(string(req.Cursor))
		if err != nil {
			return sdk.PollResult{}, sdk.CursorExpired("cursor %q is not a tick number", req.Cursor)
		}
		last = n
	}
	end := cfg.Start + cfg.Count
	page := tickPage
	if req.Limit > 0 && req.Limit < page {
		page = req.Limit
	}
	var res sdk.PollResult
	for seq := last + 1; seq <= end && len(res.Events) < page; seq++ {
		res.Events = append(res.Events, tickEvent(seq, props.Greeting))
		last = seq
	}
	res.NextCursor = []byte(strconv.Itoa(last))
	res.HasMore = last < end
	return res, nil
}

// tickEvent is event number seq; its time is fixed so the sequence is the
// same on every run.
func tickEvent(seq int, greeting string) sdk.Event {
	return sdk.Event{
		ID:         "tick-" + strconv.Itoa(seq),
		Type:       "tick",
		Payload:    sdk.JSON(map[string]any{"seq": seq, "message": greeting + " " + strconv.Itoa(seq)}),
		OccurredAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(seq) * time.Second),
	}
}

// ---- incoming (webhook)

// SignatureHeader carries "sha256=" + hex HMAC-SHA256 of the body under the
// subscription's secret.
const SignatureHeader = "X-Hub-Signature-256"

func incomingTrigger() sdk.Trigger {
	return sdk.Trigger{
		Spec: schema.Trigger{
			Name: "incoming", DisplayName: "Incoming",
			Description: "Receives a JSON object signed with the subscription secret (" + SignatureHeader + ": sha256=<hex HMAC-SHA256>); each delivery is one event.",
			Output: &schema.Field{Type: schema.Object, AdditionalProperties: true,
				Description: "The delivered JSON object as sent."},
			Example: sdk.JSON(map[string]any{"id": "evt-1", "hello": "world"}),
		},
		Webhook: &sdk.Webhook{Handle: handleIncoming},
	}
}

func handleIncoming(_ context.Context, _ *sdk.Conn, req sdk.WebhookRequest) (sdk.WebhookResult, error) {
	if !validSignature(req.HTTP.Header.Get(SignatureHeader), req.HTTP.Body, req.Secret) {
		return sdk.WebhookResult{Response: sdk.Reply(http.StatusUnauthorized, "text/plain", []byte("signature does not verify\n"))},
			sdk.Permanent("webhook %s: %s does not verify", req.Trigger, SignatureHeader)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(req.HTTP.Body, &body); err != nil {
		return sdk.WebhookResult{Response: sdk.Reply(http.StatusBadRequest, "text/plain", []byte("body is not a JSON object\n"))},
			sdk.Invalid("webhook body is not a JSON object", sdk.Violation{Path: "body", Message: err.Error()})
	}
	id := req.HTTP.Header.Get("X-Request-Id")
	var bodyID string
	if raw, ok := body["id"]; ok && json.Unmarshal(raw, &bodyID) == nil && bodyID != "" {
		id = bodyID
	}
	if id == "" {
		return sdk.WebhookResult{Response: sdk.Reply(http.StatusBadRequest, "text/plain", []byte("no id in body or X-Request-Id\n"))},
			sdk.Invalid("webhook delivery has no id", sdk.Violation{Path: "body.id", Message: `required (or an X-Request-Id header)`})
	}
	return sdk.WebhookResult{
		Events:   []sdk.Event{{ID: id, Type: "incoming", Payload: req.HTTP.Body}},
		Response: sdk.Reply(http.StatusAccepted, "", nil),
	}, nil
}

// validSignature compares in constant time so response timing does not
// reveal how much of a forged signature was right.
func validSignature(header string, body []byte, secret string) bool {
	got, ok := strings.CutPrefix(header, "sha256=")
	if !ok || secret == "" {
		return false
	}
	sig, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(sig, mac.Sum(nil))
}

// ---- ticks (stream)

type ticksConfig struct {
	Start      int `json:"start"`
	Count      int `json:"count"`
	IntervalMS int `json:"interval_ms"`
	BatchSize  int `json:"batch_size"`
	// RetainFrom emulates a third party's retention: a resume position
	// before it can no longer be resumed from.
	RetainFrom int `json:"retain_from"`
}

func ticksTrigger() sdk.Trigger {
	return sdk.Trigger{
		Spec: schema.Trigger{
			Name: "ticks", DisplayName: "Ticks (stream)",
			Description: "The tick sequence as a stream: a batch every interval, each with the position to resume after. Reconciled by polling tick.",
			Config: append(tickConfigFields(),
				schema.Field{Name: "interval_ms", Type: schema.Integer, Default: sdk.JSON(1000), Description: "Milliseconds between batches."},
				schema.Field{Name: "batch_size", Type: schema.Integer, Default: sdk.JSON(2), Description: "Ticks per batch."},
				schema.Field{Name: "retain_from", Type: schema.Integer, Default: sdk.JSON(0), Description: "Emulated retention: a resume position below this is refused as expired (cursor_expired), so the host reconciles with tick. 0 keeps everything."},
			),
			Output:        tickOutput(),
			ReconcileWith: "tick",
			Example:       sdk.JSON(map[string]any{"seq": 1, "message": "hello 1"}),
		},
		Stream: streamTicks,
	}
}

func streamTicks(ctx context.Context, c *sdk.Conn, req sdk.StreamRequest, emit *sdk.Emitter) error {
	var cfg ticksConfig
	if err := req.Config.Decode(&cfg); err != nil {
		return err
	}
	if cfg.IntervalMS <= 0 || cfg.BatchSize <= 0 {
		return sdk.Invalid("stream config out of range",
			sdk.Violation{Path: "interval_ms", Message: "must be positive"}, sdk.Violation{Path: "batch_size", Message: "must be positive"})
	}
	var props greetingProps
	if err := c.Properties(&props); err != nil {
		return err
	}
	last := cfg.Start
	if len(req.Position) > 0 {
		n, err := strconv.Atoi(string(req.Position))
		if err != nil {
			return sdk.CursorExpired("stream position %q is not a tick number", req.Position)
		}
		if n < cfg.RetainFrom {
			return sdk.CursorExpired("stream position %d is no longer retained (oldest %d)", n, cfg.RetainFrom)
		}
		last = n
	}
	end := cfg.Start + cfg.Count
	ticker := time.NewTicker(time.Duration(cfg.IntervalMS) * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case at := <-ticker.C:
			if last >= end {
				// The sequence is exhausted; show the host the stream
				// is alive rather than going silent.
				if err := emit.Keepalive(at); err != nil {
					return err
				}
				continue
			}
			var events []sdk.Event
			for len(events) < cfg.BatchSize && last < end {
				last++
				events = append(events, tickEvent(last, props.Greeting))
			}
			if err := emit.Batch(events, []byte(strconv.Itoa(last))); err != nil {
				return fmt.Errorf("stream ticks: %w", err)
			}
		}
	}
}
