package state

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hubhq/hub/sdk/schema"
)

// A field the connector marks Secret is redacted even when the workspace
// writes it as a literal, in properties, and a change to it still shows.
func TestRedactSecretFields_SchemaSecretPropertiesNeverShow(t *testing.T) {
	schemas := map[string]*schema.Schema{"shop": {Name: "shopify", Version: "1.4.2", Properties: []schema.Field{
		{Name: "shop", Type: schema.String},
		{Name: "webhook_secret", Type: schema.String, Secret: true},
	}}}
	withSecret := func(secret string) *State {
		src := strings.Replace(base, `properties = { shop = var.shop }`,
			`properties = { shop = var.shop, webhook_secret = "`+secret+`" }`, 1)
		s := build(t, src, baseVars, baseLock)
		s.RedactSecretFields(schemas)
		return s
	}
	old, cur := withSecret("literal-webhook-secret"), withSecret("rotated-webhook-secret")

	p := Diff(old, cur)
	var text bytes.Buffer
	if err := p.Render(&text); err != nil {
		t.Fatal(err)
	}
	plan, _ := json.Marshal(p)
	stored, _ := json.Marshal(cur)
	for what, out := range map[string][]byte{"plan text": text.Bytes(), "plan JSON": plan, "state": stored} {
		for _, lit := range []string{"literal-webhook-secret", "rotated-webhook-secret"} {
			if bytes.Contains(out, []byte(lit)) {
				t.Errorf("the %s shows %q:\n%s", what, lit, out)
			}
		}
	}
	if !strings.Contains(text.String(), "properties.webhook_secret: (sensitive) -> (sensitive)") {
		t.Errorf("the rotated secret is not planned as a change:\n%s", text.String())
	}
	if !strings.Contains(string(stored), `"acme"`) {
		t.Errorf("a field that is not secret was redacted too:\n%s", stored)
	}
}
