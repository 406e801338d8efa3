package woocommerce

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// userAgent is the Hookshot user agent deliveries carry.
const userAgent = "WooCommerce/9.4.0 Hookshot (WordPress/6.7)"

// maxFailures is woocommerce_max_webhook_delivery_failures' default: a
// failure arriving while the count is already above it disables the
// webhook.
const maxFailures = 5

// job is one queued delivery.
type job struct {
	hook  Webhook
	topic string
	body  []byte
	ping  bool
}

// Sign returns X-WC-Webhook-Signature for body under secret:
// base64(HMAC-SHA256(body, secret)), as WC_Webhook::generate_signature
// computes it (the secret as stored, HTML entities decoded).
func Sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// EncodeJSON encodes v as PHP's wp_json_encode does by default: compact,
// "/" escaped as "\/", non-ASCII as \uXXXX, and <, >, & left alone. A Go
// struct keeps its field order, so an Order encodes like the REST API's.
func EncodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	raw := bytes.TrimSpace(buf.Bytes())
	// "/" and non-ASCII occur only inside strings, so escaping them
	// everywhere is escaping them in strings.
	out := make([]byte, 0, len(raw)+len(raw)/8)
	for i := 0; i < len(raw); {
		c := raw[i]
		if c == '/' {
			out = append(out, '\\', '/')
			i++
			continue
		}
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(raw[i:])
		i += size
		if r > 0xFFFF {
			r -= 0x10000
			out = fmt.Appendf(out, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
			continue
		}
		out = fmt.Appendf(out, `\u%04x`, r)
	}
	return out, nil
}

// wpJSONEncode is EncodeJSON for values the simulator builds itself,
// which always encode.
func wpJSONEncode(v any) []byte {
	b, err := EncodeJSON(v)
	if err != nil {
		return []byte(`{"code":"internal_server_error","message":"encode failed","data":{"status":500}}`)
	}
	return b
}

// hooksFor returns copies of the active webhooks on topic, by id. Callers
// hold s.mu.
func (s *Sim) hooksFor(topic string) []Webhook {
	var out []Webhook
	for _, w := range s.webhooks {
		if w.Topic == topic && w.Status == "active" {
			out = append(out, *w)
		}
	}
	slices.SortFunc(out, func(a, b Webhook) int { return a.ID - b.ID })
	return out
}

func (s *Sim) deliverOrder(hooks []Webhook, topic string, o Order) {
	if len(hooks) == 0 {
		return
	}
	body := wpJSONEncode(o)
	for _, h := range hooks {
		s.enqueue(job{hook: h, topic: topic, body: body})
	}
}

func (s *Sim) enqueue(j job) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	s.queue = append(s.queue, j)
	s.pending++
	if !s.working {
		s.working = true
		go s.work()
	}
}

// work delivers queued jobs in order and exits when the queue is empty.
func (s *Sim) work() {
	for {
		s.qmu.Lock()
		if len(s.queue) == 0 {
			s.working = false
			s.qmu.Unlock()
			return
		}
		j := s.queue[0]
		s.queue = s.queue[1:]
		s.deliverSeq++
		seq := s.deliverSeq
		s.qmu.Unlock()

		d := s.deliver(j, seq)

		s.qmu.Lock()
		s.deliveries = append(s.deliveries, d)
		s.pending--
		s.qcond.Broadcast()
		s.qmu.Unlock()
		s.countDelivery(j, d)
	}
}

// deliver POSTs one job as WC_Webhook::deliver (or deliver_ping) does.
func (s *Sim) deliver(j job, seq int) Delivery {
	d := Delivery{WebhookID: j.hook.ID, Topic: j.topic, Ping: j.ping, URL: j.hook.DeliveryURL}
	body := j.body
	if j.ping {
		body = []byte("webhook_id=" + strconv.Itoa(j.hook.ID))
	}
	d.Body = body
	req, err := http.NewRequest(http.MethodPost, j.hook.DeliveryURL, bytes.NewReader(body))
	if err != nil {
		d.Err = err.Error()
		return d
	}
	req.Header.Set("User-Agent", userAgent)
	if !j.ping {
		// As WooCommerce does (wp_hash of id . strtotime('now')): one id
		// for every delivery of the webhook within a second.
		sum := md5.Sum([]byte(strconv.Itoa(j.hook.ID) + strconv.FormatInt(s.now().Unix(), 10)))
		d.DeliveryID = hex.EncodeToString(sum[:])
		resource, event, _ := strings.Cut(j.topic, ".")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-WC-Webhook-Source", s.site)
		req.Header.Set("X-WC-Webhook-Topic", j.topic)
		req.Header.Set("X-WC-Webhook-Resource", resource)
		req.Header.Set("X-WC-Webhook-Event", event)
		req.Header.Set("X-WC-Webhook-Signature", Sign(body, j.hook.secret))
		req.Header.Set("X-WC-Webhook-ID", strconv.Itoa(j.hook.ID))
		req.Header.Set("X-WC-Webhook-Delivery-ID", d.DeliveryID)
	} else {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	// WooCommerce sends with redirection 0: a redirect is the answer.
	client := *s.client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		d.Err = err.Error()
		return d
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	d.Status = resp.StatusCode
	return d
}

// countDelivery applies WC_Webhook::log_delivery's failure counting; the
// ping does not count.
func (s *Sim) countDelivery(j job, d Delivery) {
	if j.ping {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.webhooks[j.hook.ID]
	if !ok {
		return
	}
	if d.Status >= 200 && d.Status < 303 {
		h.failureCount = 0
		return
	}
	if h.failureCount > maxFailures {
		h.Status = "disabled"
		return
	}
	h.failureCount++
}
