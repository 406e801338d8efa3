package shopify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Topics returns the webhook topics the simulator delivers.
func Topics() []string {
	return []string{"orders/create", "orders/updated", "orders/fulfilled", "inventory_levels/update"}
}

// Delivery is one webhook POST the simulator made, and how it was answered.
type Delivery struct {
	Topic     string
	Address   string
	WebhookID string
	Body      []byte
	// Status is the receiver's HTTP status; zero when no answer came.
	Status int
	// Err says why there was no answer.
	Err string
}

// Webhooks returns the registered subscriptions, by id.
func (s *Sim) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sortedWebhooks()
}

// Deliveries returns the deliveries answered so far, in the order they
// were answered. Call Wait first to include those in flight.
func (s *Sim) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.delivered)
}

func (s *Sim) sortedWebhooks() []Webhook {
	out := make([]Webhook, 0, len(s.st.webhooks))
	for _, h := range s.st.webhooks {
		out = append(out, *h)
	}
	slices.SortFunc(out, func(a, b Webhook) int { return cmpInt(a.ID, b.ID) })
	return out
}

// Sign returns the X-Shopify-Hmac-Sha256 value for body under secret:
// base64 of the HMAC-SHA256 of the raw bytes.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// delivery is a webhook POST about to be made.
type delivery struct {
	topic, address, id, eventID string
	body                        []byte
	at                          time.Time
}

// queue prepares a delivery of v to every subscription to topic and counts
// it in flight; the caller holds s.mu and must pass the result to send.
func (s *Sim) queue(topic string, v any) []delivery {
	body, err := json.Marshal(v)
	if err != nil {
		// Every record type here encodes; failing is a bug in this package.
		panic(fmt.Sprintf("shopify sandbox: encode %s body: %v", topic, err))
	}
	var out []delivery
	for _, h := range s.sortedWebhooks() {
		if h.Topic != topic {
			continue
		}
		n := s.newID()
		s.inflight++
		out = append(out, delivery{
			topic: topic, address: h.Address, body: body, at: s.opts.Now(),
			id:      fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", n>>16, n&0xffff, h.ID&0xfff, n&0xfff, h.ID),
			eventID: strconv.FormatInt(n, 10),
		})
	}
	return out
}

// send starts every delivery in ds (queue counted them in flight); each
// records its answer when it comes. Deliveries outlive the request that
// caused them, as Shopify's do.
func (s *Sim) send(ctx context.Context, ds []delivery) {
	for _, d := range ds {
		go func() {
			rec := s.post(context.WithoutCancel(ctx), d)
			s.mu.Lock()
			s.st.delivered = append(s.st.delivered, rec)
			s.inflight--
			if s.inflight == 0 {
				s.idle.Broadcast()
			}
			s.mu.Unlock()
		}()
	}
}

// post makes one delivery with the headers Shopify sends.
func (s *Sim) post(ctx context.Context, d delivery) Delivery {
	rec := Delivery{Topic: d.topic, Address: d.address, WebhookID: d.id, Body: d.body}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.address, bytes.NewReader(d.body))
	if err != nil {
		rec.Err = err.Error()
		return rec
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("X-Shopify-Topic", d.topic)
	h.Set("X-Shopify-Hmac-Sha256", Sign(s.opts.ClientSecret, d.body))
	h.Set("X-Shopify-Shop-Domain", s.opts.Shop)
	h.Set("X-Shopify-API-Version", s.opts.APIVersion)
	h.Set("X-Shopify-Webhook-Id", d.id)
	h.Set("X-Shopify-Event-Id", d.eventID)
	h.Set("X-Shopify-Triggered-At", d.at.UTC().Format(time.RFC3339Nano))
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		rec.Err = err.Error()
		return rec
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	rec.Status = resp.StatusCode
	return rec
}

// ---- /webhooks.json

func (s *Sim) listWebhooks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	var out []any
	for _, h := range s.sortedWebhooks() {
		if (q.Get("address") == "" || h.Address == q.Get("address")) && (q.Get("topic") == "" || h.Topic == q.Get("topic")) {
			out = append(out, h)
		}
	}
	s.mu.Unlock()
	writeList(w, "webhooks", out, q.Get("fields"))
}

// webhookRequest is the body of POST /webhooks.json.
type webhookRequest struct {
	Webhook *struct {
		Topic   string `json:"topic"`
		Address string `json:"address"`
		Format  string `json:"format"`
	} `json:"webhook"`
}

func (s *Sim) createWebhook(w http.ResponseWriter, r *http.Request) {
	var req webhookRequest
	if !decodeBody(w, r, &req) {
		return
	}
	h := req.Webhook
	if h == nil {
		fieldError(w, http.StatusBadRequest, "webhook", "Required parameter missing or invalid")
		return
	}
	if !slices.Contains(Topics(), h.Topic) {
		fieldError(w, http.StatusUnprocessableEntity, "topic", "Invalid topic specified: "+h.Topic)
		return
	}
	if u, err := url.Parse(h.Address); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		fieldError(w, http.StatusUnprocessableEntity, "address", "is invalid")
		return
	}
	if h.Format == "" {
		h.Format = "json"
	}
	if h.Format != "json" {
		fieldError(w, http.StatusUnprocessableEntity, "format", "is not supported by the sandbox (json only)")
		return
	}
	s.mu.Lock()
	for _, other := range s.st.webhooks {
		if other.Topic == h.Topic && other.Address == h.Address {
			s.mu.Unlock()
			fieldError(w, http.StatusUnprocessableEntity, "address", "for this topic has already been taken")
			return
		}
	}
	now := stamp(s.opts.Now())
	hook := &Webhook{ID: s.newID(), Address: h.Address, Topic: h.Topic, CreatedAt: now, UpdatedAt: now, Format: h.Format,
		Fields: []string{}, MetafieldNamespaces: []string{}, APIVersion: s.opts.APIVersion, PrivateMetafieldNamespaces: []string{}}
	s.st.webhooks[hook.ID] = hook
	out := *hook
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"webhook": out})
}

func (s *Sim) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromFile(r.PathValue("file"))
	s.mu.Lock()
	_, found := s.st.webhooks[id]
	delete(s.st.webhooks, id)
	s.mu.Unlock()
	if !ok || !found {
		writeErrors(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}
