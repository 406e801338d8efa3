package schema

import (
	"encoding/json"
	"testing"
)

// FuzzPrepare feeds arbitrary input (what a host passes on from a workflow,
// ultimately from third parties) to the SDK's per-call preparation. It must
// never panic, and its result must be stable: prepared input that is valid
// stays valid and unchanged when prepared again.
func FuzzPrepare(f *testing.F) {
	shape := ObjectOf([]Field{
		{Name: "ref", Type: String, Required: true},
		{Name: "qty", Type: Integer, Default: json.RawMessage(`1`)},
		{Name: "status", Type: String, Enum: []json.RawMessage{json.RawMessage(`"paid"`), json.RawMessage(`"open"`)}},
		{Name: "at", Type: String, Format: "date-time"},
		{Name: "lines", Type: List, Items: &Field{Type: Object, Properties: []Field{
			{Name: "sku", Type: String, Required: true},
			{Name: "price", Type: Number, Default: json.RawMessage(`0`)},
		}}},
		{Name: "meta", Type: Object, AdditionalProperties: true},
	})
	for _, s := range []string{`{"ref":"a"}`, `{"ref":"a","lines":[{"sku":"x"},{}]}`, `{}`, ``, `null`, `[]`, `{"qty":1.5}`,
		`{"ref":"a","qty":12345678901234567890,"at":"2026-11-23T10:00:00Z","status":"paid","meta":{"k":[1,2]}}`, `{"ref":`, `{"ref":"a"} x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, vs, err := Prepare(shape, raw)
		if err != nil || len(vs) > 0 {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Prepare(%q) produced invalid JSON %q", raw, out)
		}
		again, vs2, err := Prepare(shape, out)
		if err != nil || len(vs2) > 0 || string(again) != string(out) {
			t.Fatalf("Prepare is not stable: %q -> %q -> %q, %v, %v", raw, out, again, vs2, err)
		}
	})
}
