package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/hubhq/hub/host/ingest"
	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/server"
	"github.com/hubhq/hub/host/store"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// kindSubscription holds a webhook trigger's subscription, by workflow.
const kindSubscription = "subscription"

// Sealer seals and opens small values with additional data that binds
// each to its record, and keys hashes that must not be guessable
// offline (host/secrets.Sealer).
type Sealer interface {
	Seal(plaintext, ad []byte) (string, error)
	Open(sealed string, ad []byte) ([]byte, error)
	Hash(purpose string, data []byte) string
}

// subscription is a webhook trigger's registration: the signing secret
// hub generated (or the third party returned) and the connector's state.
//
// In memory Secret holds the signing secret and Config the trigger's
// config. In the store both are sealed, into SealedSecret and
// SealedConfig, when the engine has a Sealer: whoever can read the
// Badger directory could otherwise forge deliveries, and a trigger's
// config may hold a secret() (the http connector's webhook secret, a
// client_secret). Records stored before sealing hold them in the clear;
// they are read as they are and rewritten sealed.
type subscription struct {
	Workflow     string          `json:"workflow"`
	ID           string          `json:"id,omitempty"`
	Secret       string          `json:"secret,omitempty"`
	SealedSecret string          `json:"sealed_secret,omitempty"`
	SealedConfig string          `json:"sealed_config,omitempty"`
	State        json.RawMessage `json:"state,omitempty"`
	URL          string          `json:"url"`
	// Connector is the "<source>@<version>" that made the subscription.
	Connector string `json:"connector"`
	// Subscribed is false while the third party has not confirmed the
	// subscription; every start and apply tries again.
	Subscribed bool `json:"subscribed"`
	// Fingerprint identifies what the subscription was made for; a
	// trigger whose fingerprint changes is subscribed again. With a
	// Sealer it is keyed (see Engine.fingerprint).
	Fingerprint string `json:"fingerprint,omitempty"`
	// Trigger, Conn and Config are what the subscription was made with,
	// for unsubscribing it later.
	Trigger string          `json:"trigger,omitempty"`
	Conn    string          `json:"conn,omitempty"`
	Config  json.RawMessage `json:"config,omitempty"`
}

// Webhook implements server.Backend: verify and parse a delivery with the
// trigger's connector, then store its events durably before answering.
func (e *Engine) Webhook(ctx context.Context, req server.WebhookRequest) (*server.WebhookResponse, error) {
	if err := e.Ready(); err != nil {
		return nil, err
	}
	if req.Tenant != e.tenant {
		return nil, fmt.Errorf("tenant %q: %w", req.Tenant, server.ErrNotFound)
	}
	rt := e.rt.Load()
	var f *flowRT
	if rt != nil {
		f = rt.flows[req.Workflow]
	}
	if f == nil || f.mode != schema.ModeWebhook {
		return nil, fmt.Errorf("no webhook trigger for workflow %q: %w", req.Workflow, server.ErrNotFound)
	}
	c := rt.conns[f.conn]
	handle := e.opts.Connector(c.inst)
	sub := e.subscription(req.Workflow)
	if sub == nil || sub.Secret == "" {
		// Without its signing secret (a sealed one that does not open,
		// or a subscription that could not be stored) a delivery cannot
		// be verified: the engine refuses it rather than hand the
		// connector an empty secret and trust it to refuse. The sender
		// may send it again once the host is fixed.
		err := fault.Retryablef("workflow %s: the webhook signing secret cannot be read; deliveries are refused until it can", req.Workflow)
		e.m.webhookRejected.WithLabelValues(req.Workflow, fault.KindOf(err).String()).Inc()
		e.log.Error("webhook delivery refused: the trigger's signing secret cannot be read (see the earlier error about its subscription)", "workflow", req.Workflow)
		return &server.WebhookResponse{Status: http.StatusServiceUnavailable, Header: http.Header{"Content-Type": {"application/json"}},
			Body: errorBody("the delivery could not be taken now; send it again")}, err
	}
	// Verifying a delivery needs the signing secret, not a login or a
	// token: anyone can post here, so this route never logs in or
	// refreshes at the third party; it passes what is already held.
	conn := e.cachedConn(c)
	wr := wire.WebhookRequest{Trigger: f.trigger, Conn: conn, Config: f.config, Secret: sub.Secret, SubscriptionState: sub.State,
		HTTP: wire.HTTPRequest{Method: req.Method, URL: req.URL, Header: req.Header, Body: req.Body, RemoteAddr: req.RemoteAddr}}
	res, err := handle.HandleWebhook(ctx, wr)
	if err != nil {
		// A delivery the connector refuses (a bad signature, a body it
		// cannot parse) is the sender's problem, not the trigger's: only
		// a connector that cannot be reached marks the trigger failing.
		if k := fault.KindOf(err); k == fault.Retryable || k == fault.RateLimited || k == fault.AuthExpired {
			e.health.failed(req.Workflow, err)
		}
		e.m.webhookRejected.WithLabelValues(req.Workflow, fault.KindOf(err).String()).Inc()
		if res.Response != nil {
			return toServerResponse(res.Response), err
		}
		status, msg := http.StatusBadRequest, "the delivery was refused"
		switch fault.KindOf(err) {
		case fault.Retryable, fault.RateLimited, fault.AuthExpired:
			status, msg = http.StatusServiceUnavailable, "the delivery could not be taken now; send it again"
		}
		// The sender is anonymous: the connector's reason goes to the
		// host log only.
		e.log.Info("webhook delivery refused", "workflow", req.Workflow, "kind", fault.KindOf(err).String(), "error", err)
		return &server.WebhookResponse{Status: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: errorBody(msg)}, err
	}
	for _, ev := range res.Events {
		if !json.Valid(ev.Payload) {
			err := fault.Permanentf("connector %s returned event %q whose payload is not JSON", c.ref, ev.ID)
			e.health.failed(req.Workflow, err)
			return &server.WebhookResponse{Status: http.StatusBadGateway, Header: http.Header{"Content-Type": {"application/json"}},
				Body: errorBody("the connector could not parse this delivery; see the host log")}, err
		}
	}
	evs := make([]ingest.Event, len(res.Events))
	trigger := req.Workflow + "/" + f.trigger
	now := time.Now()
	for i, ev := range res.Events {
		evs[i] = ingest.Event{Tenant: e.tenant, Trigger: trigger, ID: ev.ID, Payload: ev.Payload, ReceivedAt: now}
	}
	accepted, dups := 0, 0
	if len(evs) > 0 {
		results, err := e.in.Accept(ctx, evs)
		if err != nil {
			e.health.failed(req.Workflow, err)
			return nil, fmt.Errorf("store the delivery's events: %w", err)
		}
		for _, r := range results {
			if r.Status == ingest.Accepted {
				accepted++
			} else {
				dups++
			}
		}
		e.kickRouter()
	}
	e.health.received(req.Workflow, accepted, now)
	e.m.eventsAccepted.WithLabelValues(req.Workflow).Add(float64(accepted))
	e.m.eventsDuplicate.WithLabelValues(req.Workflow).Add(float64(dups))
	if res.Response != nil {
		return toServerResponse(res.Response), nil
	}
	body, _ := json.Marshal(map[string]int{"accepted": accepted, "duplicates": dups})
	return &server.WebhookResponse{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}, nil
}

func toServerResponse(r *wire.HTTPResponse) *server.WebhookResponse {
	return &server.WebhookResponse{Status: r.Status, Header: r.Header, Body: r.Body}
}

func errorBody(msg string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "rejected", "message": msg}})
	return b
}

// secretAD is the additional data a subscription's sealed secret and
// config are bound to, so a sealed value copied to another workflow's or
// tenant's record does not open there.
func secretAD(tenant, workflow string) []byte {
	return []byte("hub webhook secret v1\x00" + tenant + "\x00" + workflow)
}

// encodeSubscription is s as the store keeps it under workflow: its
// secret and config sealed when there is a Sealer.
func (e *Engine) encodeSubscription(workflow string, s *subscription) ([]byte, error) {
	rec := *s
	if e.opts.Sealer != nil && rec.Secret != "" {
		sealed, err := e.opts.Sealer.Seal([]byte(rec.Secret), secretAD(e.tenant, workflow))
		if err != nil {
			return nil, fmt.Errorf("seal the signing secret of workflow %q: %w", workflow, err)
		}
		rec.Secret, rec.SealedSecret = "", sealed
	}
	if e.opts.Sealer != nil && len(rec.Config) > 0 {
		sealed, err := e.opts.Sealer.Seal(rec.Config, secretAD(e.tenant, workflow))
		if err != nil {
			return nil, fmt.Errorf("seal the trigger config of workflow %q: %w", workflow, err)
		}
		rec.Config, rec.SealedConfig = nil, sealed
	}
	b, err := json.Marshal(&rec)
	if err != nil {
		return nil, fmt.Errorf("encode the subscription of workflow %q: %w", workflow, err)
	}
	return b, nil
}

// decodeSubscription reads a stored subscription of workflow id. inClear
// says its secret or config was stored in the clear and should be sealed
// now. A sealed value that cannot be opened is an error, with the rest
// of the record still returned.
func (e *Engine) decodeSubscription(id string, v []byte) (s *subscription, inClear bool, err error) {
	s = &subscription{}
	if err := json.Unmarshal(v, s); err != nil {
		return nil, false, fmt.Errorf("read the subscription of workflow %q: %w", id, err)
	}
	if s.Workflow == "" {
		s.Workflow = id
	}
	inClear = e.opts.Sealer != nil && (s.Secret != "" || len(s.Config) > 0)
	if s.SealedSecret == "" && s.SealedConfig == "" {
		return s, inClear, nil
	}
	if e.opts.Sealer == nil {
		return s, false, fmt.Errorf("the subscription of workflow %q is sealed and this engine has no Sealer", id)
	}
	if s.SealedSecret != "" {
		plain, err := e.opts.Sealer.Open(s.SealedSecret, secretAD(e.tenant, id))
		if err != nil {
			return s, false, fmt.Errorf("open the signing secret of workflow %q: %w", id, err)
		}
		s.Secret, s.SealedSecret = string(plain), ""
	}
	if s.SealedConfig != "" {
		plain, err := e.opts.Sealer.Open(s.SealedConfig, secretAD(e.tenant, id))
		if err != nil {
			return s, false, fmt.Errorf("open the trigger config of workflow %q: %w", id, err)
		}
		s.Config, s.SealedConfig = plain, ""
	}
	return s, inClear, nil
}

func (e *Engine) subscription(workflow string) *subscription {
	e.subsMu.Lock()
	defer e.subsMu.Unlock()
	return e.subs[workflow]
}

// syncSubscriptions makes sure every webhook trigger of rt has a
// subscription (asking the third party to deliver when the connector can)
// and removes those of triggers no longer applied.
func (e *Engine) syncSubscriptions(ctx context.Context, rt *Runtime) {
	stored := map[string]*subscription{}
	// inClear: records whose secret is still in the clear; unopened: those
	// whose sealed secret does not open (secrets.json replaced, or
	// another data key), which are never overwritten.
	inClear := map[string]bool{}
	unopened := map[string]error{}
	_ = e.st.View(func(tx *store.Tx) error {
		return tx.Scan(e.tenant, kindSubscription, "", 0, func(id string, v []byte) error {
			s, c, err := e.decodeSubscription(id, v)
			if s != nil {
				stored[id] = s
				inClear[id] = c
			}
			if s != nil && err != nil {
				unopened[id] = err
			}
			return nil
		})
	})
	want := map[string]bool{}
	for name, f := range rt.flows {
		if f.mode != schema.ModeWebhook {
			continue
		}
		want[name] = true
		url, _ := e.webhookURL(name)
		c := rt.conns[f.conn]
		fp, legacy := e.fingerprint(f, c)
		prev, had := stored[name]
		if err := unopened[name]; err != nil {
			// A new secret would break a registration made with the old
			// one, and the record may open again once the right
			// secrets.json is back: leave it as it is. Webhook refuses
			// its deliveries meanwhile.
			e.log.Error("cannot read a webhook subscription's signing secret; deliveries to it are refused until the secret store that sealed it is restored", "workflow", name, "error", err)
			e.health.failed(name, err)
			e.subsMu.Lock()
			delete(e.subs, name)
			e.subsMu.Unlock()
			continue
		}
		// A fingerprint stored before fingerprints were keyed is compared
		// the old way once, then stored keyed: upgrading hub must not
		// subscribe every webhook again.
		same := had && (prev.Fingerprint == fp || (legacy != "" && prev.Fingerprint == legacy))
		if same && prev.URL == url && prev.Subscribed {
			if inClear[name] || prev.Fingerprint != fp {
				// Stored before its secret, config and fingerprint were
				// sealed and keyed: store it so now.
				prev.Fingerprint = fp
				e.putSubscription(name, prev)
			}
			e.subsMu.Lock()
			e.subs[name] = prev
			e.subsMu.Unlock()
			continue
		}
		if ctx.Err() != nil {
			// Cut short (the host is stopping): a half-done change
			// would drop the live registration's id. Keep the old
			// subscription as it is; the next apply, reload or start
			// takes the change up again.
			if had {
				e.subsMu.Lock()
				e.subs[name] = prev
				e.subsMu.Unlock()
			}
			continue
		}
		if had && prev.Subscribed && prev.ID != "" {
			// The trigger changed (address, connection, config or
			// connector version): the old registration goes first.
			e.unsubscribe(ctx, rt, name, prev)
		}
		// A subscription tried before keeps its secret: an operator may
		// have registered it with the third party by hand.
		secret := ""
		if had {
			secret = prev.Secret
		}
		if secret == "" {
			b := make([]byte, 24)
			if _, err := rand.Read(b); err != nil {
				e.log.Error("cannot make a webhook secret", "workflow", name, "error", err)
				continue
			}
			secret = hex.EncodeToString(b)
		}
		s := &subscription{Workflow: name, Secret: secret, URL: url, Connector: c.ref, Fingerprint: fp, Trigger: f.trigger, Conn: f.conn, Config: f.config}
		// Deliveries may arrive while the third party is still being
		// asked: many check the URL with a challenge before they confirm
		// the subscription. They are verified with the secret being
		// registered.
		e.subsMu.Lock()
		e.subs[name] = s
		e.subsMu.Unlock()
		handle := e.opts.Connector(c.inst)
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		conn, err := e.connFor(cctx, rt, c, handle)
		if err == nil {
			var got wire.Subscription
			got, err = handle.SubscribeWebhook(cctx, wire.SubscribeRequest{Trigger: f.trigger, Conn: conn, Config: f.config, URL: url, Secret: s.Secret})
			if err == nil {
				s.Subscribed = true
				s.ID, s.State = got.ID, got.State
				if got.Secret != "" {
					s.Secret = got.Secret
				}
			}
		}
		cancel()
		if err != nil {
			// The trigger still receives deliveries an operator
			// registers by hand with the URL and secret (hub webhooks).
			e.log.Warn("webhook subscription with the third party failed; register the URL by hand or fix and apply again", "workflow", name, "error", err)
			e.health.failed(name, err)
		}
		if !e.putSubscription(name, s) {
			// Not stored: what was stored before stands (a restart
			// would read it), and so it does in memory.
			e.subsMu.Lock()
			if had {
				e.subs[name] = prev
			} else {
				delete(e.subs, name)
			}
			e.subsMu.Unlock()
		}
	}
	for name, s := range stored {
		if want[name] {
			continue
		}
		if s.ID != "" {
			e.unsubscribe(ctx, rt, name, s)
		}
		if err := e.st.Delete(e.tenant, kindSubscription, name); err != nil {
			e.log.Error("cannot delete a webhook subscription", "workflow", name, "error", err)
		}
		e.subsMu.Lock()
		delete(e.subs, name)
		e.subsMu.Unlock()
	}
}

// putSubscription stores s, its secret sealed, and reports whether it
// did; a failure is logged.
func (e *Engine) putSubscription(name string, s *subscription) bool {
	b, err := e.encodeSubscription(name, s)
	if err == nil {
		err = e.st.Put(e.tenant, kindSubscription, name, b)
	}
	if err != nil {
		e.log.Error("cannot store a webhook subscription", "workflow", name, "error", err)
		return false
	}
	return true
}

// fingerprintPurpose keys subscription fingerprints (Sealer.Hash).
const fingerprintPurpose = "hub webhook subscription fingerprint v1"

// fingerprint identifies a webhook trigger's subscription inputs, which
// may hold secrets (a config's secret(), properties): with a Sealer it is
// a keyed hash, which whoever reads the Badger directory cannot check
// guesses against, and legacy is the plain SHA-256 that hub stored
// before, for records written then. Without a Sealer it is the plain
// SHA-256 and legacy is "".
func (e *Engine) fingerprint(f *flowRT, c *connRT) (fp, legacy string) {
	var b []byte
	for _, part := range [][]byte{[]byte(f.conn), []byte(f.trigger), f.config, []byte(c.ref), c.wire.Properties} {
		b = append(b, part...)
		b = append(b, 0)
	}
	sum := sha256.Sum256(b)
	plain := hex.EncodeToString(sum[:])
	if e.opts.Sealer == nil {
		return plain, ""
	}
	return "keyed:" + e.opts.Sealer.Hash(fingerprintPurpose, b), plain
}

// unsubscribe asks the connector version that made s to remove it.
func (e *Engine) unsubscribe(ctx context.Context, rt *Runtime, workflow string, s *subscription) {
	inst, ok := rt.installed[s.Connector]
	if !ok {
		e.log.Warn("cannot remove an old webhook subscription: its connector version is no longer installed", "workflow", workflow, "connector", s.Connector, "subscription", s.ID)
		return
	}
	req := wire.UnsubscribeRequest{Trigger: s.Trigger, Config: s.Config, Subscription: wire.Subscription{ID: s.ID, State: s.State}}
	if c, ok := rt.conns[s.Conn]; ok {
		req.Conn = c.wire
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := e.opts.Connector(inst).UnsubscribeWebhook(ctx, req); err != nil {
		e.log.Warn("webhook unsubscribe failed; remove it at the third party by hand", "workflow", workflow, "subscription", s.ID, "error", err)
	}
}

// Webhooks implements server.Backend.
func (e *Engine) Webhooks(_ context.Context, tenant string) ([]runs.Webhook, error) {
	if tenant != e.tenant {
		return []runs.Webhook{}, nil
	}
	rt := e.rt.Load()
	out := []runs.Webhook{}
	if rt == nil {
		return out, nil
	}
	for name, f := range rt.flows {
		if f.mode != schema.ModeWebhook {
			continue
		}
		url, path := e.webhookURL(name)
		w := runs.Webhook{Workflow: name, Connection: f.conn, Trigger: f.trigger, URL: url, Path: path}
		if s := e.subscription(name); s != nil {
			w.Secret = s.Secret
		}
		out = append(out, w)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Workflow < out[k].Workflow })
	return out, nil
}
