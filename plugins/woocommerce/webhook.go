package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
)

// Headers of a WooCommerce webhook delivery (class-wc-webhook.php).
const (
	headerSignature  = "X-WC-Webhook-Signature"
	headerTopic      = "X-WC-Webhook-Topic"
	headerResource   = "X-WC-Webhook-Resource"
	headerDeliveryID = "X-WC-Webhook-Delivery-ID"
)

func (w *wc) orderWebhook(name, topic string) sdk.Trigger {
	what := map[string]string{"order.created": "is created", "order.updated": "changes"}[topic]
	return sdk.Trigger{
		Spec: schema.Trigger{
			Name: name, DisplayName: "Order " + strings.TrimPrefix(topic, "order."),
			Description: "A WooCommerce webhook on " + topic + ": one event each time an order " + what + ", the order as the REST API returns it. " +
				"Deliveries are verified with " + headerSignature + " (base64 HMAC-SHA256 of the body under the subscription secret); the ping WooCommerce sends when the webhook is created is answered 200.",
			Output:  orderShape("The order, as GET /orders/{id} returns it."),
			Example: exampleOrder(),
		},
		Webhook: &sdk.Webhook{
			Subscribe: func(ctx context.Context, c *sdk.Conn, req sdk.SubscribeRequest) (sdk.Subscription, error) {
				return w.subscribe(ctx, c, req, topic)
			},
			Unsubscribe: w.unsubscribe,
			Handle: func(_ context.Context, _ *sdk.Conn, req sdk.WebhookRequest) (sdk.WebhookResult, error) {
				return handleOrderDelivery(req, topic)
			},
		},
	}
}

// webhookState is what a subscription remembers.
type webhookState struct {
	WebhookID int64 `json:"webhook_id"`
}

func (w *wc) subscribe(ctx context.Context, c *sdk.Conn, req sdk.SubscribeRequest, topic string) (sdk.Subscription, error) {
	if req.Secret == "" {
		// Without it WooCommerce signs with a secret of its own that it
		// never tells us, and no delivery would verify.
		return sdk.Subscription{}, sdk.Permanent("subscribe %s: hub gave no signing secret", topic)
	}
	a, err := w.api(c)
	if err != nil {
		return sdk.Subscription{}, err
	}
	body := map[string]string{
		"name":         fmt.Sprintf("hub %s (%s)", req.Trigger, c.Name()),
		"topic":        topic,
		"delivery_url": req.URL,
		"secret":       req.Secret,
	}
	var hook struct {
		ID int64 `json:"id"`
	}
	if _, err := a.do(ctx, http.MethodPost, "/webhooks", nil, body, &hook); err != nil {
		return sdk.Subscription{}, err
	}
	if hook.ID == 0 {
		return sdk.Subscription{}, sdk.Permanent("subscribe %s: the answer has no webhook id", topic)
	}
	state, _ := json.Marshal(webhookState{WebhookID: hook.ID})
	return sdk.Subscription{ID: strconv.FormatInt(hook.ID, 10), State: state}, nil
}

func (w *wc) unsubscribe(ctx context.Context, c *sdk.Conn, req sdk.UnsubscribeRequest) error {
	id := req.Subscription.ID
	var st webhookState
	if json.Unmarshal(req.Subscription.State, &st) == nil && st.WebhookID != 0 {
		id = strconv.FormatInt(st.WebhookID, 10)
	}
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return sdk.Permanent("unsubscribe: subscription id %q is not a webhook id", id)
	}
	a, err := w.api(c)
	if err != nil {
		return err
	}
	// Webhooks cannot be trashed: without force=true WooCommerce answers 501.
	_, err = a.do(ctx, http.MethodDelete, "/webhooks/"+id, url.Values{"force": {"true"}}, nil, nil)
	if e := fault.As(err); err != nil && e.HTTPStatus == http.StatusNotFound {
		return nil // already gone: what unsubscribing wants
	}
	return err
}

// handleOrderDelivery verifies and parses one delivery for topic.
func handleOrderDelivery(req sdk.WebhookRequest, topic string) (sdk.WebhookResult, error) {
	h := req.HTTP.Header
	sig := h.Get(headerSignature)
	if sig == "" && isPing(req.HTTP.Body) {
		// WooCommerce's ping on webhook creation carries no signature and
		// is not JSON; anything but exactly 200 shows the operator an error.
		return sdk.WebhookResult{Response: sdk.Reply(http.StatusOK, "text/plain", nil)}, nil
	}
	if !validSignature(req.HTTP.Body, sig, req.Secret) {
		return sdk.WebhookResult{Response: sdk.Reply(http.StatusUnauthorized, "text/plain", []byte("signature does not verify\n"))},
			sdk.Permanent("webhook %s: %s does not verify", req.Trigger, headerSignature)
	}
	if got := h.Get(headerTopic); got != "" && got != topic {
		// Signed by the shop but meant for another topic (the operator
		// pointed two webhooks at one URL): nothing for this trigger, and
		// a 200 so WooCommerce does not count a failure.
		return sdk.WebhookResult{Response: sdk.Reply(http.StatusOK, "text/plain", nil)}, nil
	}
	var head orderHead
	if err := json.Unmarshal(req.HTTP.Body, &head); err != nil || head.ID == 0 {
		msg := "no order id"
		if err != nil {
			msg = err.Error()
		}
		return sdk.WebhookResult{Response: sdk.Reply(http.StatusBadRequest, "text/plain", []byte("body is not an order\n"))},
			sdk.Invalid("webhook body is not an order", sdk.Violation{Path: "body", Message: msg})
	}
	// Not X-WC-Webhook-Delivery-ID: WooCommerce makes it from the
	// webhook's id and the current second (get_new_delivery_id), so every
	// delivery of one webhook within a second shares it and dedup would
	// drop all but the first. The order and its modification time name
	// the change itself; a redelivery of it is still a duplicate.
	resource := h.Get(headerResource)
	if resource == "" {
		resource = "order"
	}
	id := fmt.Sprintf("%s-%d@%s", resource, head.ID, head.DateModifiedGMT)
	return sdk.WebhookResult{Events: []sdk.Event{{
		ID: id, Type: topic, Payload: req.HTTP.Body, OccurredAt: parseGMT(head.DateModifiedGMT),
	}}}, nil
}

// isPing recognises WC_Webhook::deliver_ping's body, "webhook_id=<id>".
func isPing(body []byte) bool {
	q, err := url.ParseQuery(string(body))
	if err != nil || len(q) != 1 || len(q["webhook_id"]) != 1 {
		return false
	}
	_, err = strconv.ParseUint(q.Get("webhook_id"), 10, 64)
	return err == nil
}

// validSignature checks sig = base64(HMAC-SHA256(body, secret)) in
// constant time. WooCommerce signs with the secret as the operator entered
// it (it decodes the HTML entities its storage adds), so the raw secret is
// the key.
func validSignature(body []byte, sig, secret string) bool {
	if sig == "" || secret == "" {
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
