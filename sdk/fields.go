package sdk

import (
	"encoding/json"
	"fmt"

	"github.com/hubhq/hub/sdk/schema"
)

// Object returns an object field with the given properties: the shape of an
// action's input or output, or of an event.
func Object(properties ...schema.Field) *schema.Field {
	return &schema.Field{Type: schema.Object, Properties: properties}
}

// JSON encodes v for a declaration's defaults, enum values and examples.
// Declarations are built once at start-up from literals, so a value that
// cannot be encoded is a programming error and panics there, before the
// connector serves anything.
func JSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sdk.JSON(%#v): %v", v, err))
	}
	return b
}

// Enum encodes each value for a field's Enum.
func Enum(values ...any) []json.RawMessage {
	out := make([]json.RawMessage, len(values))
	for i, v := range values {
		out[i] = JSON(v)
	}
	return out
}
