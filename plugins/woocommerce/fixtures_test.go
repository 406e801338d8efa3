package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/sdktest"
	"github.com/hubhq/hub/sdk/wire"
)

// fixtures returns ../shared/fixtures beside the repository root (the
// directory holding go.mod), skipping the test when a clean clone has none.
func fixtures(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no go.mod above the test directory")
		}
		dir = parent
	}
	fx := filepath.Join(dir, "..", "shared", "fixtures")
	if _, err := os.Stat(filepath.Join(fx, "woocommerce")); err != nil {
		t.Skip("fixtures not found at " + fx)
	}
	return fx
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// webhookConn is a connection for delivery tests, which make no calls.
func webhookConn() wire.Connection {
	return sdktest.Connection(map[string]any{"base_url": "https://shop.example"})
}

type signatureVectors struct {
	Vectors []struct {
		ID       string            `json:"id"`
		Secret   string            `json:"secret"`
		BodyFile string            `json:"body_file"`
		RawBody  string            `json:"raw_body"`
		Headers  map[string]string `json:"headers"`
		Expected json.RawMessage   `json:"expected"`
		// the ampersand case
		SecretAsEntered string `json:"secret_as_entered"`
		SigAmp          string `json:"signature_with_secret_a&b"`
		SigEntity       string `json:"signature_with_secret_a&amp;b"`
		Request         struct {
			Headers map[string]string `json:"headers"`
			Body    string            `json:"body"`
		} `json:"request"`
	} `json:"vectors"`
}

// deliver runs one delivery through the trigger as the host would.
func deliver(t *testing.T, h *sdktest.Harness, trigger string, body []byte, headers map[string]string, secret string) (int, []string, error) {
	t.Helper()
	req := httptest.NewRequest("POST", "/hooks/wc", bytes.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := h.Webhook(trigger, webhookConn(), nil, req, secret)
	status := 0
	if res.Response != nil {
		status = res.Response.Status
	}
	var ids []string
	for _, e := range res.Events {
		ids = append(ids, e.ID)
	}
	return status, ids, err
}

func TestFixtures_WebhookSignatureVectors(t *testing.T) {
	var vs signatureVectors
	if err := json.Unmarshal(readFixture(t, "woocommerce/webhook-signature-vectors.json"), &vs); err != nil {
		t.Fatal(err)
	}
	h := sdktest.New(t, connector())
	seen := map[string]bool{}
	for _, v := range vs.Vectors {
		seen[v.ID] = true
		t.Run(v.ID, func(t *testing.T) {
			body := []byte(v.RawBody)
			if v.BodyFile != "" {
				body = readFixture(t, v.BodyFile)
			}
			switch {
			case v.SecretAsEntered != "":
				sig := map[string]string{"X-WC-Webhook-Signature": v.SigAmp, "X-WC-Webhook-Topic": "order.created"}
				if _, ids, err := deliver(t, h, "order_created", body, sig, v.SecretAsEntered); err != nil || len(ids) != 1 {
					t.Fatalf("signature under the secret as entered: %v, %v", ids, err)
				}
				sig["X-WC-Webhook-Signature"] = v.SigEntity
				if status, ids, err := deliver(t, h, "order_created", body, sig, v.SecretAsEntered); err == nil || status != 401 || len(ids) != 0 {
					t.Fatalf("signature under the HTML-encoded secret was accepted: %d %v", status, ids)
				}
			case v.Request.Body != "":
				status, ids, err := deliver(t, h, "order_created", []byte(v.Request.Body), v.Request.Headers, "any-secret")
				if err != nil || status != 200 || len(ids) != 0 {
					t.Fatalf("ping = %d %v %v, want exactly 200 and no event", status, ids, err)
				}
			default:
				var want struct {
					Valid bool `json:"valid"`
				}
				if err := json.Unmarshal(v.Expected, &want); err != nil {
					t.Fatal(err)
				}
				trigger := "order_" + strings.TrimPrefix(v.Headers["X-WC-Webhook-Topic"], "order.")
				if trigger == "order_" {
					trigger = "order_updated"
				}
				status, ids, err := deliver(t, h, trigger, body, v.Headers, v.Secret)
				if want.Valid {
					if err != nil || len(ids) != 1 || !strings.HasPrefix(ids[0], "order-") || !strings.Contains(ids[0], "@") {
						t.Fatalf("valid delivery: %v, %v", ids, err)
					}
				} else if err == nil || status != 401 || len(ids) != 0 {
					t.Fatalf("tampered delivery accepted: %d %v", status, ids)
				}
			}
		})
	}
	for _, id := range []string{"wc-docs-order-pretty", "wc-docs-order-as-sent", "wc-one-byte-changed", "wc-secret-with-ampersand", "wc-ping"} {
		if !seen[id] {
			t.Errorf("vector %s missing from the fixture", id)
		}
	}
}

type oauthVectors struct {
	Vectors []struct {
		ID             string `json:"id"`
		ConsumerSecret string `json:"consumer_secret"`
		SigningKey     string `json:"signing_key"`
		Input          struct {
			Method string            `json:"method"`
			URL    string            `json:"url"`
			Params map[string]string `json:"params"`
		} `json:"input"`
		ExpectedBase      string       `json:"expected_signature_base_string"`
		ExpectedSignature string       `json:"expected_oauth_signature"`
		Cases             [][][]string `json:"cases"`
	} `json:"vectors"`
}

func TestFixtures_OAuth1Vectors(t *testing.T) {
	var vs oauthVectors
	if err := json.Unmarshal(readFixture(t, "woocommerce/oauth1-vectors.json"), &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs.Vectors) < 4 {
		t.Fatalf("%d vectors", len(vs.Vectors))
	}
	for _, v := range vs.Vectors {
		t.Run(v.ID, func(t *testing.T) {
			if v.Cases != nil {
				for _, c := range v.Cases {
					var in []param
					for _, k := range c[0] {
						in = append(in, param{key: k})
					}
					var got []string
					for _, p := range sortParams(in) {
						got = append(got, p.key)
					}
					if strings.Join(got, " ") != strings.Join(c[1], " ") {
						t.Errorf("sortParams(%v) = %v, want %v", c[0], got, c[1])
					}
				}
				return
			}
			var ps []param
			for k, val := range v.Input.Params {
				ps = append(ps, param{k, val})
			}
			base := oauthBaseString(v.Input.Method, v.Input.URL, ps)
			if base != v.ExpectedBase {
				t.Fatalf("base string\n got %s\nwant %s", base, v.ExpectedBase)
			}
			if v.ExpectedSignature == "" {
				return
			}
			secret := strings.TrimSuffix(v.SigningKey, "&")
			sig, err := oauthSignature(v.Input.Params["oauth_signature_method"], secret, base)
			if err != nil || sig != v.ExpectedSignature {
				t.Fatalf("signature = %s, %v, want %s", sig, err, v.ExpectedSignature)
			}
		})
	}
}

func TestFixtures_PayloadsFitTheDeclaredShapes(t *testing.T) {
	s := connector().Schema()
	poll, _ := s.Trigger("orders")
	hook, _ := s.Trigger("order_created")
	get, _ := s.Action("get_order")
	create, _ := s.Action("create_order")
	for _, f := range []*schema.Field{poll.Output, hook.Output, get.Output} {
		if vs := schema.ValidateJSON(f, readFixture(t, "woocommerce/order.retrieve.response.json")); len(vs) > 0 {
			t.Errorf("order 727 does not fit: %v", vs)
		}
	}
	var list []json.RawMessage
	if err := json.Unmarshal(readFixture(t, "woocommerce/orders.list.response.json"), &list); err != nil || len(list) != 2 {
		t.Fatalf("list: %v", err)
	}
	for i, o := range list {
		if vs := schema.ValidateJSON(poll.Output, o); len(vs) > 0 {
			t.Errorf("listed order %d does not fit: %v", i, vs)
		}
	}
	if vs := schema.ValidateJSON(create.Input, readFixture(t, "woocommerce/order.create.request.json")); len(vs) > 0 {
		t.Errorf("the docs' create request is not a valid create_order input: %v", vs)
	}
	var head orderHead
	if err := json.Unmarshal(readFixture(t, "woocommerce/order.webhook-body.derived.json"), &head); err != nil ||
		head.ID != 727 || head.DateModifiedGMT != "2017-03-22T19:28:08" {
		t.Fatalf("derived webhook body: %+v, %v", head, err)
	}
}

func TestFixtures_ErrorExamplesAreClassifiedWithTheirCode(t *testing.T) {
	var examples []json.RawMessage
	if err := json.Unmarshal(readFixture(t, "woocommerce/errors.examples.json"), &examples); err != nil {
		t.Fatal(err)
	}
	for _, body := range examples {
		var e wcError
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatal(err)
		}
		err := classify(errorResponse(e.Data.Status, string(body)))
		if !strings.Contains(err.Error(), e.Message) || !strings.Contains(err.Error(), e.Code) {
			t.Errorf("classify(%s) = %v", body, err)
		}
	}
}
