package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

// Signature algorithms a webhook trigger may use.
const (
	AlgHMACSHA256       = "hmac-sha256"
	AlgHMACSHA1         = "hmac-sha1"
	AlgStandardWebhooks = "standard-webhooks"
)

// Standard Webhooks (standardwebhooks.com) headers, and how far a
// delivery's timestamp may be from now, as the reference libraries allow.
const (
	SWIDHeader        = "webhook-id"
	SWTimestampHeader = "webhook-timestamp"
	SWSignatureHeader = "webhook-signature"
	SWTolerance       = 5 * time.Minute
)

// webhookConfig is the webhook trigger's configuration.
type webhookConfig struct {
	Algorithm       string           `json:"algorithm"`
	SignatureHeader string           `json:"signature_header"`
	Encoding        string           `json:"encoding"`
	Prefix          string           `json:"prefix"`
	Secret          string           `json:"secret"`
	IDHeader        string           `json:"id_header"`
	IDPath          string           `json:"id_path"`
	EventsPath      string           `json:"events_path"`
	TypePath        string           `json:"type_path"`
	Subscribe       *subscribeConfig `json:"subscribe"`
}

// subscribeConfig says how to register hub's URL with the API.
type subscribeConfig struct {
	Path              string         `json:"path"`
	Method            string         `json:"method"`
	Body              map[string]any `json:"body"`
	URLField          string         `json:"url_field"`
	SecretField       string         `json:"secret_field"`
	IDPath            string         `json:"id_path"`
	SecretPath        string         `json:"secret_path"`
	UnsubscribePath   string         `json:"unsubscribe_path"`
	UnsubscribeMethod string         `json:"unsubscribe_method"`
}

func (k *kit) webhookTrigger() sdk.Trigger {
	return sdk.Trigger{
		Spec: schema.Trigger{
			Name: "webhook", DisplayName: "Webhook",
			Description: "Receives the API's signed deliveries: verifies the signature in constant time (HMAC-SHA256 or HMAC-SHA1 of the raw body in a header, hex or base64, with an optional prefix; or Standard Webhooks) with the subscription's secret, answers 401 when it does not verify, and emits the body, or each element of the list at events_path, as an event.",
			Config: []schema.Field{
				{Name: "algorithm", Type: schema.String, Default: sdk.JSON(AlgHMACSHA256), Enum: sdk.Enum(AlgHMACSHA256, AlgHMACSHA1, AlgStandardWebhooks),
					Description: "How deliveries are signed. standard-webhooks reads webhook-id, webhook-timestamp (within 5 minutes) and webhook-signature (v1,<base64 HMAC-SHA256 of id.timestamp.body>) with a whsec_ base64 secret."},
				{Name: "signature_header", Type: schema.String, Description: "Header carrying an HMAC signature, e.g. \"X-Warehouse-Signature\"; required for the hmac algorithms."},
				{Name: "encoding", Type: schema.String, Default: sdk.JSON("hex"), Enum: sdk.Enum("hex", "base64"), Description: "How the HMAC signature is written."},
				{Name: "prefix", Type: schema.String, Default: sdk.JSON(""), Description: "Text before the signature in the header, e.g. \"sha256=\"."},
				{Name: "secret", Type: schema.String, Secret: true, Description: "The signing secret when the API made it (e.g. secret(\"wms_webhook_secret\")); without it, the subscription's secret hub generated."},
				{Name: "id_header", Type: schema.String, Description: "Header carrying the delivery's unique id, e.g. \"X-Warehouse-Delivery\"; hub drops repeated ids."},
				{Name: "id_path", Type: schema.String, Description: "JSON path of the event's id in the body (in each element with events_path); wins over id_header."},
				{Name: "events_path", Type: schema.String, Description: "JSON path of a list in the body whose elements are one event each."},
				{Name: "type_path", Type: schema.String, Description: "JSON path of the event's type in the body (in each element with events_path), e.g. \"event\"."},
				{Name: "subscribe", Type: schema.Object, Description: "How to register hub's URL with the API; without it, register the URL and secret `hub webhooks` shows by hand.",
					Properties: []schema.Field{
						{Name: "path", Type: schema.String, Required: true, Description: "Path to register at, e.g. \"/api/webhooks\"."},
						{Name: "method", Type: schema.String, Default: sdk.JSON(http.MethodPost), Enum: sdk.Enum(http.MethodPost, http.MethodPut), Description: "Method of the registration."},
						{Name: "body", Type: schema.Object, AdditionalProperties: true, Description: "JSON body fields besides the URL and secret, e.g. {events = [\"stock.changed\"]}."},
						{Name: "url_field", Type: schema.String, Default: sdk.JSON("url"), Description: "Body field that gets hub's URL."},
						{Name: "secret_field", Type: schema.String, Default: sdk.JSON("secret"), Description: "Body field that gets the signing secret; \"\" sends none."},
						{Name: "id_path", Type: schema.String, Description: "JSON path of the registration's id in the answer, e.g. \"data.webhook.id\"."},
						{Name: "secret_path", Type: schema.String, Description: "JSON path of a signing secret the API generated, in the answer."},
						{Name: "unsubscribe_path", Type: schema.String, Description: "Path that removes the registration, with {id} for its id, e.g. \"/api/webhooks/{id}\"."},
						{Name: "unsubscribe_method", Type: schema.String, Default: sdk.JSON(http.MethodDelete), Enum: sdk.Enum(http.MethodDelete, http.MethodPost), Description: "Method of the removal."},
					}},
			},
			Output:  &schema.Field{Type: schema.Any, Description: "The delivered JSON body, or one element of its events_path list."},
			Example: sdk.JSON(map[string]any{"id": "dlv_1", "event": "stock.changed", "data": map[string]any{"sku": "SKU-MUG", "qty": 3}}),
		},
		Webhook: &sdk.Webhook{Handle: k.handleWebhook, Subscribe: k.subscribe, Unsubscribe: k.unsubscribe},
	}
}

func reject(status int, err error) (sdk.WebhookResult, error) {
	msg := "rejected"
	if status == http.StatusUnauthorized {
		msg = "signature does not verify"
	}
	return sdk.WebhookResult{Response: sdk.Reply(status, "text/plain; charset=utf-8", []byte(msg+"\n"))}, err
}

func (k *kit) handleWebhook(_ context.Context, _ *sdk.Conn, req sdk.WebhookRequest) (sdk.WebhookResult, error) {
	var cfg webhookConfig
	if err := req.Config.Decode(&cfg); err != nil {
		return reject(http.StatusInternalServerError, err)
	}
	secret := cfg.Secret
	if secret == "" {
		secret = req.Secret
	}
	if err := k.verify(cfg, req.HTTP, secret); err != nil {
		// The reason stays in hub's log; the sender learns only 401.
		return reject(http.StatusUnauthorized, sdk.Permanent("webhook %s: %v", req.Trigger, err))
	}
	body, err := schema.DecodeJSON(req.HTTP.Body)
	if err != nil || body == nil {
		return reject(http.StatusBadRequest, sdk.Invalid("webhook body is not JSON", sdk.Violation{Path: "body", Message: fmt.Sprint(err)}))
	}
	items := []any{body}
	if cfg.EventsPath != "" {
		v, _, err := lookupPath(body, cfg.EventsPath, "events_path")
		if err != nil {
			return reject(http.StatusInternalServerError, err)
		}
		list, ok := v.([]any)
		if !ok {
			return reject(http.StatusBadRequest, sdk.Invalid("webhook body has no list at events_path", sdk.Violation{Path: "body." + cfg.EventsPath, Message: "expected a list, got " + jsonKind(v)}))
		}
		items = list
	}
	deliveryID := ""
	switch {
	case cfg.IDHeader != "":
		deliveryID = req.HTTP.Header.Get(cfg.IDHeader)
	case cfg.Algorithm == AlgStandardWebhooks:
		deliveryID = req.HTTP.Header.Get(SWIDHeader)
	}
	var res sdk.WebhookResult
	for i, item := range items {
		ev := sdk.Event{Type: "webhook"}
		switch {
		case cfg.IDPath != "":
			v, ok, err := lookupPath(item, cfg.IDPath, "id_path")
			if err != nil {
				return reject(http.StatusInternalServerError, err)
			}
			id, terr := scalarText(v)
			if !ok || terr != nil || id == "" {
				return reject(http.StatusBadRequest, sdk.Invalid("webhook event has no id", sdk.Violation{Path: "body." + cfg.IDPath, Message: "a string or number id is required"}))
			}
			ev.ID = id
		case deliveryID != "":
			ev.ID = deliveryID
		case cfg.IDHeader != "":
			return reject(http.StatusBadRequest, sdk.Invalid("webhook delivery has no id", sdk.Violation{Path: "header." + cfg.IDHeader, Message: "required"}))
		default:
			// Without an id from the sender, identical bodies are one
			// event: a redelivery is dropped.
			sum := sha256.Sum256(req.HTTP.Body)
			ev.ID = "sha256:" + hex.EncodeToString(sum[:])
		}
		if cfg.EventsPath != "" && cfg.IDPath == "" {
			ev.ID += "#" + strconv.Itoa(i)
		}
		if cfg.TypePath != "" {
			if v, ok, err := lookupPath(item, cfg.TypePath, "type_path"); err != nil {
				return reject(http.StatusInternalServerError, err)
			} else if s, err := scalarText(v); ok && err == nil && s != "" {
				ev.Type = s
			}
		}
		payload, err := json.Marshal(item)
		if err != nil {
			return reject(http.StatusInternalServerError, sdk.Permanent("encode event %d: %v", i, err))
		}
		ev.Payload = payload
		res.Events = append(res.Events, ev)
	}
	return res, nil
}

// verify checks a delivery's signature under secret. Every comparison of
// signature bytes is constant time.
func (k *kit) verify(cfg webhookConfig, r sdk.HTTPRequest, secret string) error {
	if secret == "" {
		return fmt.Errorf("no signing secret: the subscription has none and config.secret is not set")
	}
	switch cfg.Algorithm {
	case AlgStandardWebhooks:
		return verifyStandard(r, secret, k.now())
	case AlgHMACSHA256, AlgHMACSHA1:
		if cfg.SignatureHeader == "" {
			return fmt.Errorf("config.signature_header is required with %s", cfg.Algorithm)
		}
		got := strings.TrimSpace(r.Header.Get(cfg.SignatureHeader))
		if got == "" {
			return fmt.Errorf("no %s header", cfg.SignatureHeader)
		}
		got, ok := strings.CutPrefix(got, cfg.Prefix)
		if !ok {
			return fmt.Errorf("%s does not start with %q", cfg.SignatureHeader, cfg.Prefix)
		}
		var sig []byte
		var err error
		if cfg.Encoding == "base64" {
			sig, err = base64.StdEncoding.DecodeString(got)
		} else {
			sig, err = hex.DecodeString(got)
		}
		if err != nil {
			return fmt.Errorf("%s is not %s: %v", cfg.SignatureHeader, cfg.Encoding, err)
		}
		h := sha256.New
		if cfg.Algorithm == AlgHMACSHA1 {
			h = sha1.New
		}
		if !hmac.Equal(sig, mac(h, []byte(secret), r.Body)) {
			return fmt.Errorf("%s does not match the body", cfg.SignatureHeader)
		}
		return nil
	}
	return fmt.Errorf("unknown algorithm %q", cfg.Algorithm)
}

func mac(h func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(h, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// verifyStandard checks a Standard Webhooks delivery: one v1 entry of
// webhook-signature must be base64(HMAC-SHA256(key, id.timestamp.body)),
// key being the secret without "whsec_", base64-decoded, and the timestamp
// must be within SWTolerance of now (replays of old deliveries fail).
func verifyStandard(r sdk.HTTPRequest, secret string, now time.Time) error {
	id := r.Header.Get(SWIDHeader)
	ts := r.Header.Get(SWTimestampHeader)
	sigs := r.Header.Get(SWSignatureHeader)
	if id == "" || ts == "" || sigs == "" {
		return fmt.Errorf("missing %s, %s or %s", SWIDHeader, SWTimestampHeader, SWSignatureHeader)
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q is not a unix time", SWTimestampHeader, ts)
	}
	at := time.Unix(secs, 0)
	if at.Before(now.Add(-SWTolerance)) || at.After(now.Add(SWTolerance)) {
		return fmt.Errorf("%s is more than %s from now", SWTimestampHeader, SWTolerance)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return fmt.Errorf("the secret is not a whsec_ base64 key")
	}
	want := mac(sha256.New, key, []byte(id), []byte("."), []byte(ts), []byte("."), r.Body)
	for _, entry := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("no v1 entry of %s matches", SWSignatureHeader)
}

// subscribe registers hub's URL with the API when config.subscribe says
// how; otherwise the operator registers it by hand.
func (k *kit) subscribe(ctx context.Context, c *sdk.Conn, req sdk.SubscribeRequest) (sdk.Subscription, error) {
	var cfg webhookConfig
	if err := req.Config.Decode(&cfg); err != nil {
		return sdk.Subscription{}, err
	}
	sc := cfg.Subscribe
	if sc == nil {
		return sdk.Subscription{}, nil
	}
	e, err := open(c)
	if err != nil {
		return sdk.Subscription{}, err
	}
	body := maps.Clone(sc.Body)
	if body == nil {
		body = map[string]any{}
	}
	body[sc.URLField] = req.URL
	if sc.SecretField != "" {
		secret := req.Secret
		if cfg.Secret != "" {
			secret = cfg.Secret
		}
		body[sc.SecretField] = secret
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return sdk.Subscription{}, sdk.Permanent("encode the subscription body: %v", err)
	}
	out, err := e.exchange(ctx, requestInput{Method: sc.Method, Path: sc.Path, Body: raw}, nil)
	if err != nil {
		return sdk.Subscription{}, fmt.Errorf("subscribe at %s: %w", sc.Path, err)
	}
	var sub sdk.Subscription
	for _, f := range []struct {
		path, at string
		into     *string
	}{{sc.IDPath, "subscribe.id_path", &sub.ID}, {sc.SecretPath, "subscribe.secret_path", &sub.Secret}} {
		if f.path == "" {
			continue
		}
		v, ok, err := lookupPath(out.Body, f.path, f.at)
		if err != nil {
			return sdk.Subscription{}, err
		}
		s, terr := scalarText(v)
		if !ok || terr != nil || s == "" {
			return sdk.Subscription{}, sdk.Permanent("subscribe at %s: the answer has nothing at %q", sc.Path, f.path)
		}
		*f.into = s
	}
	return sub, nil
}

// unsubscribe removes a registration subscribe made; one already gone
// (404) is fine.
func (k *kit) unsubscribe(ctx context.Context, c *sdk.Conn, req sdk.UnsubscribeRequest) error {
	var cfg webhookConfig
	if err := req.Config.Decode(&cfg); err != nil {
		return err
	}
	sc := cfg.Subscribe
	if sc == nil || sc.UnsubscribePath == "" || req.Subscription.ID == "" {
		return nil
	}
	e, err := open(c)
	if err != nil {
		return err
	}
	path := strings.ReplaceAll(sc.UnsubscribePath, "{id}", url.PathEscape(req.Subscription.ID))
	u, err := e.resolve(path, "subscribe.unsubscribe_path")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, sc.UnsubscribeMethod, u.String(), nil)
	if err != nil {
		return sdk.Permanent("unsubscribe %s: %v", path, err)
	}
	e.defaultHeaders(r)
	resp, err := e.client.Send(r)
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil
	}
	if err := sdk.CheckResponse(resp); err != nil {
		return fmt.Errorf("unsubscribe %s: %w", path, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return nil
}
