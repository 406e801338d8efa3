package engine

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

func TestJSONCodec_RoundTripsWhatConnectorsSend(t *testing.T) {
	for _, doc := range []string{
		`{"id":"o-1","total":19.99,"qty":3,"big":1763935200123456789,"huge":123456789012345678901234567890,"tiny":1e-30,"neg":-7}`,
		`{"lines":[{"sku":"A","qty":1},{"sku":"B","qty":2.5}],"tags":[],"meta":{},"note":null,"ok":true}`,
		`["mixed",1,{"a":[null,false]}]`,
		`"just a string with \"quotes\" and ünïcödé \u2028"`,
		`0`, `null`,
	} {
		v, err := decodeJSON([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		// The same value as go-cty's own decoder gives.
		ty, err := ctyjson.ImpliedType([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		want, err := ctyjson.Unmarshal([]byte(doc), ty)
		if err != nil {
			t.Fatal(err)
		}
		if !v.RawEquals(want) && !(v.IsNull() && want.IsNull()) {
			t.Errorf("%s: decoded %#v, go-cty decodes %#v", doc, v, want)
		}
		out, err := encodeJSON(v)
		if err != nil {
			t.Fatalf("%s: encode: %v", doc, err)
		}
		var a, b any
		if err := json.Unmarshal([]byte(doc), &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatalf("%s: encoded %s is not JSON: %v", doc, out, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: round trip gave %s", doc, out)
		}
	}
}

func TestJSONCodec_NumbersAreWrittenExactly(t *testing.T) {
	for in, want := range map[string]string{
		"1763935200123456789":            "1763935200123456789",
		"19.99":                          "19.99",
		"123456789012345678901234567890": "123456789012345678901234567890",
		"-0.5":                           "-0.5",
	} {
		v, err := decodeJSON([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		out, err := encodeJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != want {
			t.Errorf("%s written as %s, want %s", in, out, want)
		}
	}
	if out, _ := encodeJSON(cty.NumberFloatVal(0.1).Add(cty.NumberFloatVal(0.2))); string(out) == "" {
		t.Error("a computed number was not written")
	}
}

func TestJSONCodec_RefusesWhatIsNotOneJSONValue(t *testing.T) {
	for _, doc := range []string{``, `{`, `{"a":}`, `[1,]`, `{} {}`, `nul`} {
		if _, err := decodeJSON([]byte(doc)); err == nil {
			t.Errorf("%q decoded", doc)
		}
	}
}

// FuzzDecodeJSON: event payloads come from third parties through
// connectors; whatever they hold must decode or fail cleanly, and what
// decodes must write back as the same JSON.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1,"x",null,true,{"b":[2.5e10]}]`, `"s"`, `1e400`, `{"a":{"a":{"a":[]}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		v, err := decodeJSON(doc)
		if err != nil {
			return
		}
		out, err := encodeJSON(v)
		if err != nil {
			t.Fatalf("%q decoded but does not encode: %v", doc, err)
		}
		if !json.Valid(out) {
			t.Fatalf("%q encoded as invalid JSON %q", doc, out)
		}
	})
}
