package engine

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// schemaCache keeps each connector version's schema, read once, for the
// input fields its actions mark secret.
type schemaCache struct {
	mu sync.Mutex
	m  map[string]*schema.Schema // by ref; nil when it could not be read
}

func (c *schemaCache) get(ctx context.Context, ref string, h wire.Connector) *schema.Schema {
	c.mu.Lock()
	sc, ok := c.m[ref]
	c.mu.Unlock()
	if ok {
		return sc
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sc, err := h.Schema(ctx)
	if err != nil {
		return nil // tried again next time
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*schema.Schema{}
	}
	c.m[ref] = sc
	c.mu.Unlock()
	return sc
}

// redactSecretInputs replaces, in an action's input as recorded in the
// run history, every value whose field the action's schema marks secret:
// a mapping may put a password taken from the event (not from secret())
// into such a field, and the history must not keep it.
func redactSecretInputs(input json.RawMessage, sc *schema.Schema, action string) json.RawMessage {
	if sc == nil || len(input) == 0 {
		return input
	}
	a, ok := sc.Action(action)
	if !ok || a.Input == nil || !hasSecret(a.Input) {
		return input
	}
	var doc any
	if err := json.Unmarshal(input, &doc); err != nil {
		return input
	}
	out, err := json.Marshal(redactField(doc, a.Input))
	if err != nil {
		return input
	}
	return out
}

func hasSecret(f *schema.Field) bool {
	if f.Secret {
		return true
	}
	for i := range f.Properties {
		if hasSecret(&f.Properties[i]) {
			return true
		}
	}
	return f.Items != nil && hasSecret(f.Items)
}

func redactField(v any, f *schema.Field) any {
	if f.Secret && v != nil {
		return "(sensitive)"
	}
	switch x := v.(type) {
	case map[string]any:
		for i := range f.Properties {
			p := &f.Properties[i]
			if child, ok := x[p.Name]; ok {
				x[p.Name] = redactField(child, p)
			}
		}
	case []any:
		if f.Items != nil {
			for i := range x {
				x[i] = redactField(x[i], f.Items)
			}
		}
	}
	return v
}
