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
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SignatureHeader is the example connector's incoming trigger's signature
// header.
const SignatureHeader = "X-Hub-Signature-256"

// sign is the header value the incoming trigger verifies:
// "sha256=" + hex HMAC-SHA256 of body under secret.
func sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// eventBody is the JSON object of one event: its id, when it was sent (unix
// nanoseconds) and padding that makes it size bytes long (or as short as
// it can be, when size is smaller than the object without padding).
func eventBody(id string, sentAt time.Time, size int) []byte {
	b := make([]byte, 0, max(size, 64))
	b = append(b, `{"id":`...)
	b = strconv.AppendQuote(b, id)
	b = append(b, `,"sent_at":`...)
	b = strconv.AppendInt(b, sentAt.UnixNano(), 10)
	b = append(b, `,"pad":"`...)
	for n := size - len(b) - len(`"}`); n > 0; n-- {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}

// delivered is what the sink received of one event.
type delivered struct {
	ID     string      `json:"id"`
	SentAt json.Number `json:"sent_at"`
}

// parseDelivered reads the id and sent_at the deliver step forwarded. The
// host may have carried sent_at as a float, so both forms are read.
func parseDelivered(body []byte) (id string, sentAt time.Time, err error) {
	var d delivered
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return "", time.Time{}, fmt.Errorf("decode delivery %q: %w", snippet(body), err)
	}
	if d.ID == "" {
		return "", time.Time{}, fmt.Errorf("delivery %q has no id", snippet(body))
	}
	ns, err := d.SentAt.Int64()
	if err != nil {
		f, ferr := d.SentAt.Float64()
		if ferr != nil {
			return "", time.Time{}, fmt.Errorf("delivery %q: sent_at is not a number", snippet(body))
		}
		ns = int64(f)
	}
	return d.ID, time.Unix(0, ns), nil
}

func snippet(b []byte) string {
	if len(b) > 120 {
		return string(b[:120]) + "…"
	}
	return string(b)
}

// completions records, for each event id the sink received, when it first
// arrived and how long after it was sent, and how many ids arrived more
// than once.
type completions struct {
	mu         sync.Mutex
	first      map[string]time.Duration
	last       time.Time
	duplicates int
	bad        int
	badErr     error
}

func newCompletions() *completions {
	return &completions{first: map[string]time.Duration{}}
}

// record is the sink's OnDeliver hook.
func (c *completions) record(_ string, body []byte, at time.Time) {
	id, sentAt, err := parseDelivered(body)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.bad++
		if c.badErr == nil {
			c.badErr = err
		}
		return
	}
	if _, seen := c.first[id]; seen {
		c.duplicates++
		return
	}
	c.first[id] = at.Sub(sentAt)
	if at.After(c.last) {
		c.last = at
	}
}

// problems returns how many ids arrived more than once, and how many
// deliveries could not be read with the first such error.
func (c *completions) problems() (duplicates, bad int, badErr error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.duplicates, c.bad, c.badErr
}

// count is how many distinct ids have arrived.
func (c *completions) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.first)
}

// of returns the end-to-end latencies of the ids in accepted that arrived,
// and the time the last of them arrived.
func (c *completions) of(accepted []string) ([]time.Duration, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]time.Duration, 0, len(accepted))
	for _, id := range accepted {
		if d, ok := c.first[id]; ok {
			out = append(out, d)
		}
	}
	return out, c.last
}

// firing is the outcome of the load phase.
type firing struct {
	accepted []string        // ids answered 2xx
	acks     []time.Duration // their ack latencies
	errors   int             // requests not answered 2xx, or not answered
	firstErr []string        // the first few distinct errors
	elapsed  time.Duration
}

// fireOptions say how to load one webhook.
type fireOptions struct {
	url, secret string
	runID       string
	concurrency int
	duration    time.Duration
	bodySize    int
	// rate paces the events across all senders on one schedule (see
	// pace): a sender takes the next event and posts it when it is due,
	// or at once when it is already late; 0 sends each as soon as the
	// sender's previous one was answered.
	rate float64
}

// fire posts signed events to the webhook from concurrency goroutines for
// duration (or until ctx ends) over keep-alive connections.
func fire(ctx context.Context, o fireOptions) firing {
	tr := &http.Transport{
		MaxIdleConns:        o.concurrency,
		MaxIdleConnsPerHost: o.concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	type result struct {
		accepted []string
		acks     []time.Duration
		errors   int
		errs     []string
	}
	results := make([]result, o.concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	sched := pace{start: start, rate: o.rate}
	var next atomic.Int64 // the schedule's next event
	for w := range o.concurrency {
		wg.Go(func() {
			r := &results[w]
			timer := time.NewTimer(time.Hour)
			timer.Stop()
			for seq := 0; ctx.Err() == nil; seq++ {
				if o.rate > 0 && !sleep(ctx, timer, time.Until(sched.at(int(next.Add(1)-1)))) {
					return // the run ended while waiting for a turn
				}
				id := o.runID + "-" + strconv.Itoa(w) + "-" + strconv.Itoa(seq)
				sent := time.Now()
				err := post(ctx, client, o.url, o.secret, eventBody(id, sent, o.bodySize))
				if err != nil {
					if ctx.Err() != nil {
						return // cut off by the end of the run, not a failure
					}
					r.errors++
					if len(r.errs) < 3 {
						r.errs = append(r.errs, err.Error())
					}
					continue
				}
				r.acks = append(r.acks, time.Since(sent))
				r.accepted = append(r.accepted, id)
			}
		})
	}
	wg.Wait()
	f := firing{elapsed: time.Since(start)}
	seen := map[string]bool{}
	for _, r := range results {
		f.accepted = append(f.accepted, r.accepted...)
		f.acks = append(f.acks, r.acks...)
		f.errors += r.errors
		for _, e := range r.errs {
			if !seen[e] && len(f.firstErr) < 5 {
				seen[e] = true
				f.firstErr = append(f.firstErr, e)
			}
		}
	}
	return f
}

// post sends one signed event and reports any answer but 2xx as an error.
func post(ctx context.Context, client *http.Client, url, secret string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, sign(body, secret))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, strings.TrimSpace(string(answer)))
	}
	return nil
}
