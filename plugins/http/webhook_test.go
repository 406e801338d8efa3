package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/host/sandbox/warehouse"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/sdktest"
)

func sign(h func() hash.Hash, secret string, body []byte) []byte {
	m := hmac.New(h, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

func delivery(body string, header map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/w", strings.NewReader(body))
	for k, v := range header {
		r.Header.Set(k, v)
	}
	return r
}

func TestWebhook_HMACRules(t *testing.T) {
	const secret = "s3cret-s3cret-s3cret"
	body := `{"id":"evt_1","event":"stock.changed","data":{"sku":"SKU-MUG","qty":3}}`
	hexSig := hex.EncodeToString(sign(sha256.New, secret, []byte(body)))
	b64Sig := base64.StdEncoding.EncodeToString(sign(sha256.New, secret, []byte(body)))
	sha1Sig := hex.EncodeToString(sign(sha1.New, secret, []byte(body)))
	h := harness(t, fixedNow)
	conn := sdktest.Connection(map[string]any{"base_url": "http://127.0.0.1:1"})
	for _, tc := range []struct {
		name   string
		cfg    map[string]any
		header string
		body   string
		secret string
		ok     bool
	}{
		{"hex", map[string]any{"signature_header": "X-Sig"}, hexSig, body, secret, true},
		{"hex upper case", map[string]any{"signature_header": "X-Sig"}, strings.ToUpper(hexSig), body, secret, true},
		{"base64", map[string]any{"signature_header": "X-Sig", "encoding": "base64"}, b64Sig, body, secret, true},
		{"prefix", map[string]any{"signature_header": "X-Sig", "prefix": "sha256="}, "sha256=" + hexSig, body, secret, true},
		{"sha1", map[string]any{"signature_header": "X-Sig", "algorithm": "hmac-sha1", "prefix": "sha1="}, "sha1=" + sha1Sig, body, secret, true},
		{"config secret wins", map[string]any{"signature_header": "X-Sig", "secret": secret}, hexSig, body, "other", true},
		{"missing prefix", map[string]any{"signature_header": "X-Sig", "prefix": "sha256="}, hexSig, body, secret, false},
		{"wrong secret", map[string]any{"signature_header": "X-Sig"}, hexSig, body, "not-the-secret", false},
		{"no secret", map[string]any{"signature_header": "X-Sig"}, hexSig, body, "", false},
		{"body changed", map[string]any{"signature_header": "X-Sig"}, hexSig, strings.Replace(body, "3", "4", 1), secret, false},
		{"body re-serialised", map[string]any{"signature_header": "X-Sig"}, hexSig, strings.ReplaceAll(body, ":", ": "), secret, false},
		{"no header", map[string]any{"signature_header": "X-Sig"}, "", body, secret, false},
		{"not hex", map[string]any{"signature_header": "X-Sig"}, "zz" + hexSig[2:], body, secret, false},
		{"base64 header read as hex", map[string]any{"signature_header": "X-Sig"}, b64Sig, body, secret, false},
		{"sha256 checked as sha1", map[string]any{"signature_header": "X-Sig", "algorithm": "hmac-sha1"}, hexSig, body, secret, false},
		{"no signature_header configured", map[string]any{}, hexSig, body, secret, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := h.Webhook("webhook", conn, tc.cfg, delivery(tc.body, map[string]string{"X-Sig": tc.header}), tc.secret)
			if tc.ok {
				if err != nil || len(res.Events) != 1 {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			wantKind(t, err, fault.Permanent)
			if res.Response == nil || res.Response.Status != http.StatusUnauthorized {
				t.Fatalf("response %+v, want 401", res.Response)
			}
		})
	}
}

func TestWebhook_IDsTypesAndEventLists(t *testing.T) {
	const secret = "s3cret-s3cret-s3cret"
	h := harness(t, fixedNow)
	conn := sdktest.Connection(map[string]any{"base_url": "http://127.0.0.1:1"})
	signed := func(body string, hdr map[string]string) *http.Request {
		if hdr == nil {
			hdr = map[string]string{}
		}
		hdr["X-Sig"] = hex.EncodeToString(sign(sha256.New, secret, []byte(body)))
		return delivery(body, hdr)
	}
	body := `{"batch":[{"id":11,"kind":"a"},{"id":12,"kind":"b"}]}`
	res, err := h.Webhook("webhook", conn, map[string]any{"signature_header": "X-Sig", "events_path": "batch", "id_path": "id", "type_path": "kind"}, signed(body, nil), secret)
	if err != nil || len(res.Events) != 2 || res.Events[0].ID != "11" || res.Events[1].Type != "b" || string(res.Events[0].Payload) != `{"id":11,"kind":"a"}` {
		t.Fatalf("events %+v, %v", res.Events, err)
	}
	res, err = h.Webhook("webhook", conn, map[string]any{"signature_header": "X-Sig", "events_path": "batch", "id_header": "X-Delivery"}, signed(body, map[string]string{"X-Delivery": "d-1"}), secret)
	if err != nil || res.Events[0].ID != "d-1#0" || res.Events[1].ID != "d-1#1" {
		t.Fatalf("events %+v, %v", res.Events, err)
	}
	// Without any id, identical bodies are one event.
	a, err1 := h.Webhook("webhook", conn, map[string]any{"signature_header": "X-Sig"}, signed(`{"x":1}`, nil), secret)
	b, err2 := h.Webhook("webhook", conn, map[string]any{"signature_header": "X-Sig"}, signed(`{"x":1}`, nil), secret)
	if err1 != nil || err2 != nil || a.Events[0].ID != b.Events[0].ID || !strings.HasPrefix(a.Events[0].ID, "sha256:") {
		t.Fatalf("content ids %v %v", a.Events, b.Events)
	}
	for name, tc := range map[string]struct {
		cfg  map[string]any
		body string
	}{
		"id header missing": {map[string]any{"signature_header": "X-Sig", "id_header": "X-Delivery"}, `{"x":1}`},
		"id path missing":   {map[string]any{"signature_header": "X-Sig", "id_path": "id"}, `{"x":1}`},
		"not JSON":          {map[string]any{"signature_header": "X-Sig"}, `x=1`},
		"events not a list": {map[string]any{"signature_header": "X-Sig", "events_path": "batch"}, `{"batch":{}}`},
	} {
		res, err := h.Webhook("webhook", conn, tc.cfg, signed(tc.body, nil), secret)
		if fault.KindOf(err) != fault.InvalidInput || res.Response == nil || res.Response.Status != http.StatusBadRequest {
			t.Errorf("%s: %v, response %+v", name, err, res.Response)
		}
	}
}

// warehouseHook is the webhook trigger config docs/no-code.md uses.
func warehouseHook() map[string]any {
	return map[string]any{
		"signature_header": warehouse.SignatureHeader, "prefix": "sha256=", "id_header": warehouse.DeliveryHeader, "type_path": "event",
		"subscribe": map[string]any{"path": "/api/webhooks", "body": map[string]any{"events": []string{warehouse.EventStockChanged}},
			"id_path": "data.webhook.id", "unsubscribe_path": "/api/webhooks/{id}"},
	}
}

func TestWebhook_WarehouseSubscribeDeliverVerifyUnsubscribe(t *testing.T) {
	sim, base := sandbox(t)
	var (
		mu  sync.Mutex
		got []*http.Request
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rr := httptest.NewRequest(r.Method, r.URL.String(), bytes.NewReader(body))
		rr.Header = r.Header.Clone()
		mu.Lock()
		got = append(got, rr)
		mu.Unlock()
	}))
	t.Cleanup(recv.Close)
	h := harness(t, fixedNow)
	conn := warehouseConn(base, nil)
	const secret = "hub-generated-secret-0123456789"
	sub, err := h.Subscribe("webhook", conn, warehouseHook(), recv.URL+"/hooks/stock", secret)
	if err != nil {
		t.Fatal(err)
	}
	if hooks := sim.Webhooks(); len(hooks) != 1 || hooks[0].ID != sub.ID || hooks[0].URL != recv.URL+"/hooks/stock" {
		t.Fatalf("subscription %+v, warehouse has %+v", sub, hooks)
	}
	sim.SetStock("SKU-MUG", 5)
	mu.Lock()
	deliveries := got
	mu.Unlock()
	if len(deliveries) != 1 {
		t.Fatalf("%d deliveries", len(deliveries))
	}
	res, err := h.Webhook("webhook", conn, warehouseHook(), deliveries[0], secret)
	if err != nil {
		t.Fatal(err)
	}
	ev := res.Events[0]
	if ev.ID != deliveries[0].Header.Get(warehouse.DeliveryHeader) || ev.Type != warehouse.EventStockChanged || !strings.Contains(string(ev.Payload), `"qty":5`) {
		t.Fatalf("event %+v", ev)
	}
	if _, err := h.Webhook("webhook", conn, warehouseHook(), deliveries[0], "a-different-secret"); fault.KindOf(err) != fault.Permanent {
		t.Fatalf("wrong secret: %v", err)
	}
	if err := h.Unsubscribe("webhook", conn, warehouseHook(), sub); err != nil {
		t.Fatal(err)
	}
	if len(sim.Webhooks()) != 0 {
		t.Fatal("still subscribed")
	}
	// Removing what is already gone is fine.
	if err := h.Unsubscribe("webhook", conn, warehouseHook(), sub); err != nil {
		t.Fatal(err)
	}
}

func TestWebhook_WithoutSubscribeTheOperatorRegistersByHand(t *testing.T) {
	h := harness(t, fixedNow)
	sub, err := h.Subscribe("webhook", sdktest.Connection(map[string]any{"base_url": "http://127.0.0.1:1"}), map[string]any{"signature_header": "X-Sig"}, "http://hub/hooks/x", "s")
	if err != nil || sub.ID != "" {
		t.Fatalf("subscribe = %+v, %v", sub, err)
	}
}

// standardDelivery signs body the Standard Webhooks way.
func standardDelivery(t *testing.T, secret, id string, ts int64, body string) *http.Request {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.%s", id, ts, body)
	return delivery(body, map[string]string{SWIDHeader: id, SWTimestampHeader: strconv.FormatInt(ts, 10),
		SWSignatureHeader: "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))})
}

func TestWebhook_StandardWebhooksTimestampTolerance(t *testing.T) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	now := fixedNow()
	h := harness(t, func() time.Time { return now })
	conn := sdktest.Connection(map[string]any{"base_url": "http://127.0.0.1:1"})
	cfg := map[string]any{"algorithm": "standard-webhooks"}
	for _, tc := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"now", now, true},
		{"5 minutes ago", now.Add(-SWTolerance), true},
		{"in 5 minutes", now.Add(SWTolerance), true},
		{"5 minutes 1 second ago", now.Add(-SWTolerance - time.Second), false},
		{"in 5 minutes 1 second", now.Add(SWTolerance + time.Second), false},
	} {
		res, err := h.Webhook("webhook", conn, cfg, standardDelivery(t, secret, "msg_1", tc.at.Unix(), `{"a":1}`), secret)
		if tc.ok != (err == nil) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if tc.ok && (len(res.Events) != 1 || res.Events[0].ID != "msg_1") {
			t.Errorf("%s: events %+v", tc.name, res.Events)
		}
	}
}

// swVectors is the part of the Standard Webhooks fixture the tests read.
type swVectors struct {
	Vectors []struct {
		ID                string          `json:"id"`
		Secret            string          `json:"secret"`
		SecretForms       []string        `json:"secret_forms"`
		MsgID             string          `json:"msg_id"`
		Timestamp         json.RawMessage `json:"timestamp"`
		Payload           string          `json:"payload"`
		ExpectedSignature string          `json:"expected_signature"`
		HeadersChange     map[string]any  `json:"headers_change"`
		Signature         string          `json:"webhook-signature"`
		Cases             []string        `json:"cases"`
	} `json:"vectors"`
}

func TestWebhook_StandardWebhooksPublishedVectors(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures(t), "standard-webhooks", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx swVectors
	if err := json.Unmarshal(data, &fx); err != nil {
		t.Fatal(err)
	}
	byID := map[string]int{}
	for i, v := range fx.Vectors {
		byID[v.ID] = i
	}
	conn := sdktest.Connection(map[string]any{"base_url": "http://127.0.0.1:1"})
	cfg := map[string]any{"algorithm": "standard-webhooks"}
	type req struct {
		id, ts, sig, payload string
	}
	send := func(secret string, at int64, r req) error {
		h := harness(t, func() time.Time { return time.Unix(at, 0) })
		hdr := map[string]string{}
		for k, v := range map[string]string{SWIDHeader: r.id, SWTimestampHeader: r.ts, SWSignatureHeader: r.sig} {
			if v != "" {
				hdr[k] = v
			}
		}
		_, err := h.Webhook("webhook", conn, cfg, delivery(r.payload, hdr), secret)
		return err
	}

	// The published signatures verify.
	for _, id := range []string{"sign-python-php-js-go-java-csharp-ruby", "sign-rust"} {
		v := fx.Vectors[byID[id]]
		ts, _ := strconv.ParseInt(string(v.Timestamp), 10, 64)
		if err := send(v.Secret, ts, req{v.MsgID, string(v.Timestamp), v.ExpectedSignature, v.Payload}); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	base := fx.Vectors[byID["sign-python-php-js-go-java-csharp-ruby"]]
	ts, _ := strconv.ParseInt(string(base.Timestamp), 10, 64)
	good := req{base.MsgID, string(base.Timestamp), base.ExpectedSignature, base.Payload}

	// The secret with or without whsec_ is the same key.
	for _, s := range fx.Vectors[byID["secret-without-prefix"]].SecretForms {
		if err := send(s, ts, good); err != nil {
			t.Errorf("secret form %q: %v", s, err)
		}
	}
	// One valid v1 entry among invalid ones and a v2 entry is enough.
	multi := strings.Replace(fx.Vectors[byID["multiple-signatures"]].Signature, "<valid v1 signature>", base.ExpectedSignature, 1)
	if err := send(base.Secret, ts, req{good.id, good.ts, multi, good.payload}); err != nil {
		t.Errorf("multiple signatures: %v", err)
	}

	rejects := map[string]req{}
	for _, id := range []string{"reject-invalid-signature", "reject-one-char-changed"} {
		r := good
		r.sig = fx.Vectors[byID[id]].HeadersChange["webhook-signature"].(string)
		rejects[id] = r
	}
	rejects["partial: first 8 characters"] = req{good.id, good.ts, base.ExpectedSignature[:8], good.payload}
	rejects["partial: v1,"] = req{good.id, good.ts, "v1,", good.payload}
	rejects["no webhook-id"] = req{"", good.ts, good.sig, good.payload}
	rejects["no webhook-timestamp"] = req{good.id, "", good.sig, good.payload}
	rejects["no webhook-signature"] = req{good.id, good.ts, "", good.payload}
	rejects["webhook-timestamp = hello"] = req{good.id, "hello", good.sig, good.payload}
	rejects["body changed"] = req{good.id, good.ts, good.sig, strings.Replace(good.payload, "2", "3", 1)}
	for name, r := range rejects {
		if err := send(base.Secret, ts, r); fault.KindOf(err) != fault.Permanent {
			t.Errorf("%s: %v, want rejected", name, err)
		}
	}
	for _, skew := range []int64{-(5*60 + 1), 5*60 + 1} {
		if err := send(base.Secret, ts-skew, good); err == nil {
			t.Errorf("timestamp %+d s from now accepted", skew)
		}
	}
	// rust-no-verify: a signature made for another timestamp, sent as now.
	nv := fx.Vectors[byID["rust-no-verify"]]
	if err := send(nv.Secret, ts, req{nv.MsgID, good.ts, nv.Signature, nv.Payload}); err == nil {
		t.Error("rust-no-verify accepted")
	}
	for _, s := range fx.Vectors[byID["empty-secret"]].Cases {
		if err := send(s, ts, good); err == nil {
			t.Errorf("empty secret %q accepted", s)
		}
	}
}
