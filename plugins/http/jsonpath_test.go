package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/hubhq/hub/sdk/schema"
)

func TestParsePath_Syntax(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want jsonPath
	}{
		{"", nil},
		{"data", jsonPath{{key: "data"}}},
		{"data.items", jsonPath{{key: "data"}, {key: "items"}}},
		{"data.orders[0].id", jsonPath{{key: "data"}, {key: "orders"}, {index: 0, isIndex: true}, {key: "id"}}},
		{"[2][10]", jsonPath{{index: 2, isIndex: true}, {index: 10, isIndex: true}}},
		{`meta["x.y"]`, jsonPath{{key: "meta"}, {key: "x.y"}}},
		{`[""]`, jsonPath{{key: ""}}},
		{`["a\"]"].b`, jsonPath{{key: `a"]`}, {key: "b"}}},
		{"line items.sku", jsonPath{{key: "line items"}, {key: "sku"}}},
	} {
		got, err := parsePath(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parsePath(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
}

func TestParsePath_Errors(t *testing.T) {
	for _, in := range []string{".a", "a.", "a..b", "a.[0]", "a[", "a[]", "a[-1]", "a[01]", "a[x]", "a]", `a"b`, `a["b]`, `a["b"`, "a[99999999999999999999]", "a[0]b"} {
		if p, err := parsePath(in); err == nil {
			t.Errorf("parsePath(%q) = %#v, want an error", in, p)
		}
	}
}

func TestLookup_FindsValuesAndMisses(t *testing.T) {
	doc, err := schema.DecodeJSON([]byte(`{"data": {"orders": [{"id": "ord_1", "n": 123456789012345678}], "empty": null}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want any
		ok   bool
	}{
		{"data.orders[0].id", "ord_1", true},
		{"data.orders[0].n", json.Number("123456789012345678"), true},
		{"data.empty", nil, true},
		{"data.orders[1]", nil, false},
		{"data.orders.id", nil, false},
		{"data.orders[0].id[0]", nil, false},
		{"nope", nil, false},
	} {
		p, err := parsePath(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := p.lookup(doc)
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("lookup %q = %v, %v; want %v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParsePath checks that parsing never panics, that what parses prints
// back to a path that parses to the same steps, and that looking a path up
// in any JSON document never panics.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"", "data.items", "data.orders[0].id", `meta["x.y"][3]`, `["a\"]"]`, "a[", "[01]", ".", "a..b", `[""]`} {
		f.Add(s, `{"data": {"items": [1, {"id": "x"}]}, "meta": {"x.y": [0, 1, 2, 3]}}`)
	}
	f.Fuzz(func(t *testing.T, s, doc string) {
		p, err := parsePath(s)
		if err != nil {
			return
		}
		again, err := parsePath(p.String())
		if err != nil {
			t.Fatalf("parsePath(%q) printed %q, which does not parse: %v", s, p.String(), err)
		}
		if len(p) != len(again) || (len(p) > 0 && !reflect.DeepEqual(p, again)) {
			t.Fatalf("parsePath(%q) = %#v printed as %q, which parses to %#v", s, p, p.String(), again)
		}
		for _, st := range p {
			if !st.isIndex && st.key == "" && !strings.Contains(s, `""`) {
				t.Fatalf("parsePath(%q) has an empty key that was not written as [\"\"]", s)
			}
		}
		if v, err := schema.DecodeJSON([]byte(doc)); err == nil {
			p.lookup(v)
		}
	})
}
