package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
)

// Headers of a Shopify webhook delivery (names are case-insensitive).
const (
	hmacHeader      = "X-Shopify-Hmac-Sha256"
	topicHeader     = "X-Shopify-Topic"
	shopHeader      = "X-Shopify-Shop-Domain"
	webhookIDHeader = "X-Shopify-Webhook-Id"
)

// webhookConfig is a webhook trigger's configuration.
type webhookConfig struct {
	ClientSecret string `json:"client_secret"`
}

// webhookTrigger declares a trigger fed by Shopify webhooks of one topic.
func webhookTrigger(name, display, topic, description string) sdk.Trigger {
	output, example := orderShape(), exampleOrder()
	if topic == "inventory_levels/update" {
		output, example = inventoryLevelShape(), exampleInventoryLevel()
	}
	return sdk.Trigger{
		Spec: schema.Trigger{
			Name: name, DisplayName: display,
			Description: description + " Each delivery is verified with " + hmacHeader + " (base64 HMAC-SHA256 of the raw body under the app's client secret) and becomes one event whose payload is the body as Shopify sent it; the event id is " + webhookIDHeader + ".",
			Config: []schema.Field{
				{Name: "client_secret", Type: schema.String, Secret: true,
					Description: "The app's client secret, which Shopify signs webhooks with. When empty, deliveries are verified with the subscription's secret, which must then be the client secret."},
			},
			Output:  output,
			Example: example,
		},
		Webhook: &sdk.Webhook{
			Subscribe: func(ctx context.Context, c *sdk.Conn, req sdk.SubscribeRequest) (sdk.Subscription, error) {
				return subscribe(ctx, c, req, topic)
			},
			Unsubscribe: unsubscribe,
			Handle: func(ctx context.Context, c *sdk.Conn, req sdk.WebhookRequest) (sdk.WebhookResult, error) {
				return handleDelivery(c, req, topic)
			},
		},
	}
}

// subscriptionState is what a subscription remembers for unsubscribing.
type subscriptionState struct {
	ID    int64  `json:"id"`
	Topic string `json:"topic"`
}

type webhookRecord struct {
	ID      int64  `json:"id"`
	Topic   string `json:"topic"`
	Address string `json:"address"`
}

// subscribe registers req.URL for topic with POST /webhooks.json. Shopify
// refuses a second registration of the same address and topic; that one is
// adopted, so subscribing again after a lost answer is harmless.
func subscribe(ctx context.Context, c *sdk.Conn, req sdk.SubscribeRequest, topic string) (sdk.Subscription, error) {
	a, err := newAPI(c)
	if err != nil {
		return sdk.Subscription{}, err
	}
	var cfg webhookConfig
	if err := req.Config.Decode(&cfg); err != nil {
		return sdk.Subscription{}, err
	}
	if cfg.ClientSecret == "" {
		// Shopify signs every delivery with the app's client secret; a
		// subscription without it would answer 401 to each delivery
		// until Shopify gives up and deletes the webhook.
		return sdk.Subscription{}, sdk.Invalid("a Shopify webhook needs the app's client secret, which Shopify signs deliveries with",
			sdk.Violation{Path: "config.client_secret", Message: `required to subscribe: client_secret = secret("shopify_client_secret")`})
	}
	body := map[string]any{"webhook": map[string]any{"topic": topic, "address": req.URL, "format": "json"}}
	var out struct {
		Webhook webhookRecord `json:"webhook"`
	}
	_, err = a.call(ctx, http.MethodPost, a.endpoint("webhooks.json", nil), body, &out)
	if e := fault.As(err); e != nil && e.HTTPStatus == http.StatusUnprocessableEntity && strings.Contains(e.Error(), "already been taken") {
		var list struct {
			Webhooks []webhookRecord `json:"webhooks"`
		}
		q := url.Values{"address": {req.URL}, "topic": {topic}}
		if _, lerr := a.call(ctx, http.MethodGet, a.endpoint("webhooks.json", q), nil, &list); lerr != nil {
			return sdk.Subscription{}, lerr
		}
		for _, h := range list.Webhooks {
			if h.Address == req.URL && h.Topic == topic {
				out.Webhook, err = h, nil
			}
		}
	}
	if err != nil {
		return sdk.Subscription{}, err
	}
	state, _ := json.Marshal(subscriptionState{ID: out.Webhook.ID, Topic: topic})
	// Shopify signs with the app's client secret, not one hub made up:
	// when the trigger names it, it becomes the subscription's secret.
	return sdk.Subscription{ID: strconv.FormatInt(out.Webhook.ID, 10), State: state, Secret: cfg.ClientSecret}, nil
}

// unsubscribe deletes the registration; one already gone counts as done.
func unsubscribe(ctx context.Context, c *sdk.Conn, req sdk.UnsubscribeRequest) error {
	a, err := newAPI(c)
	if err != nil {
		return err
	}
	id := req.Subscription.ID
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return sdk.Permanent("subscription id %q is not a Shopify webhook id", id)
	}
	_, err = a.call(ctx, http.MethodDelete, a.endpoint("webhooks/"+id+".json", nil), nil, nil)
	if notFound(err) {
		return nil
	}
	return err
}

// handleDelivery verifies a delivery and turns it into one event.
func handleDelivery(c *sdk.Conn, req sdk.WebhookRequest, topic string) (sdk.WebhookResult, error) {
	var cfg webhookConfig
	if err := req.Config.Decode(&cfg); err != nil {
		return sdk.WebhookResult{}, err
	}
	secret := cfg.ClientSecret
	if secret == "" {
		secret = req.Secret
	}
	if secret == "" {
		return reject(http.StatusUnauthorized, sdk.Permanent("webhook %s: no secret to verify %s with; set the trigger's client_secret to the app's client secret", req.Trigger, hmacHeader))
	}
	h := req.HTTP.Header
	if !verify(header(h, hmacHeader), req.HTTP.Body, secret) {
		return reject(http.StatusUnauthorized, sdk.Permanent("webhook %s: %s does not verify", req.Trigger, hmacHeader))
	}
	got := header(h, topicHeader)
	if got == "" {
		return reject(http.StatusBadRequest, sdk.Invalid("webhook delivery has no topic", sdk.Violation{Path: "header." + topicHeader, Message: "required"}))
	}
	shop := header(h, shopHeader)
	if shop == "" {
		return reject(http.StatusBadRequest, sdk.Invalid("webhook delivery has no shop domain", sdk.Violation{Path: "header." + shopHeader, Message: "required"}))
	}
	log := c.Logger()
	if got != topic {
		// Signed by the app, but a topic this trigger does not handle:
		// answer 200 so Shopify does not retry (and eventually remove the
		// subscription), and start nothing.
		log.Warn("shopify webhook for another topic ignored", "trigger", req.Trigger, "topic", got, "want", topic)
		return sdk.WebhookResult{Response: sdk.Reply(http.StatusOK, "", nil)}, nil
	}
	var p props
	if err := c.Properties(&p); err == nil {
		if want, err := shopDomain(p.Shop); err == nil && !strings.EqualFold(want, shop) {
			log.Warn("shopify webhook from another shop ignored", "trigger", req.Trigger, "shop", shop, "want", want)
			return sdk.WebhookResult{Response: sdk.Reply(http.StatusOK, "", nil)}, nil
		}
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(req.HTTP.Body, &body); err != nil {
		return reject(http.StatusBadRequest, sdk.Invalid("webhook body is not a JSON object", sdk.Violation{Path: "body", Message: err.Error()}))
	}
	updated := stringField(body, "updated_at")
	id := header(h, webhookIDHeader)
	if id == "" {
		// Without Shopify's delivery id, the resource and its version
		// identify the change: a redelivery of it is still a duplicate.
		id = topic + ":" + resourceID(body) + "@" + updated
	}
	ev := sdk.Event{ID: id, Type: topic, Payload: req.HTTP.Body}
	if t, err := time.Parse(time.RFC3339, updated); err == nil {
		ev.OccurredAt = t
	}
	return sdk.WebhookResult{Events: []sdk.Event{ev}}, nil
}

func reject(status int, err error) (sdk.WebhookResult, error) {
	return sdk.WebhookResult{Response: sdk.Reply(status, "text/plain; charset=utf-8", []byte(err.Error()+"\n"))}, err
}

// verify checks the base64 HMAC-SHA256 of the raw body under secret in
// constant time. The body is hashed exactly as received: re-encoding the
// JSON first would change the bytes and the signature. Surrounding
// whitespace in the header is ignored (some senders append a newline).
func verify(sig string, body []byte, secret string) bool {
	sig = strings.TrimSpace(sig)
	if sig == "" || len(body) == 0 {
		return false
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// header looks a header up by name without regard to case, whether or not
// the map's keys were canonicalised on the way in.
func header(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, vs := range h {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

func stringField(obj map[string]json.RawMessage, name string) string {
	var s string
	_ = json.Unmarshal(obj[name], &s)
	return s
}

// resourceID is the delivered resource's id: an order's id, or an
// inventory level's item and location.
func resourceID(obj map[string]json.RawMessage) string {
	num := func(name string) string {
		var n json.Number
		_ = json.Unmarshal(obj[name], &n)
		return n.String()
	}
	if id := num("id"); id != "" {
		return id
	}
	return num("inventory_item_id") + "/" + num("location_id")
}
