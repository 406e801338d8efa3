package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"

	"github.com/zclconf/go-cty/cty"
)

// Events and step outputs are JSON; mappings and conditions work on cty
// values. go-cty's own JSON package takes two passes to read (one to find
// the type) and formats every number through big.Float, which made these
// conversions the largest cost of running a step. These do one pass each,
// and write integers and float64-exact numbers with strconv.

// decodeJSON turns a JSON document into a cty value: objects become
// object values, arrays tuples, numbers numbers (exactly: a number that
// is not an int64 or float64 is kept as written).
func decodeJSON(raw []byte) (cty.Value, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return cty.NilVal, fmt.Errorf("read JSON: %w", err)
	}
	if _, err := dec.Token(); err == nil {
		return cty.NilVal, fmt.Errorf("read JSON: data after the value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (cty.Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return cty.NilVal, err
	}
	switch t := tok.(type) {
	case nil:
		return cty.NullVal(cty.DynamicPseudoType), nil
	case bool:
		return cty.BoolVal(t), nil
	case string:
		return cty.StringVal(t), nil
	case json.Number:
		return numberVal(string(t))
	case json.Delim:
		switch t {
		case '{':
			attrs := map[string]cty.Value{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return cty.NilVal, err
				}
				k, ok := kt.(string)
				if !ok {
					return cty.NilVal, fmt.Errorf("object key %v is not a string", kt)
				}
				v, err := decodeValue(dec)
				if err != nil {
					return cty.NilVal, err
				}
				attrs[k] = v
			}
			if _, err := dec.Token(); err != nil { // '}'
				return cty.NilVal, err
			}
			return cty.ObjectVal(attrs), nil
		case '[':
			var elems []cty.Value
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return cty.NilVal, err
				}
				elems = append(elems, v)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return cty.NilVal, err
			}
			if len(elems) == 0 {
				return cty.EmptyTupleVal, nil
			}
			return cty.TupleVal(elems), nil
		}
	}
	return cty.NilVal, fmt.Errorf("unexpected token %v", tok)
}

func numberVal(s string) (cty.Value, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return cty.NumberIntVal(i), nil
	}
	return cty.ParseNumberVal(s)
}

// encodeJSON writes v, which must be wholly known and unmarked, as JSON.
func encodeJSON(v cty.Value) ([]byte, error) {
	var b bytes.Buffer
	if err := encodeValue(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func encodeValue(b *bytes.Buffer, v cty.Value) error {
	if !v.IsKnown() {
		return fmt.Errorf("the value is not known")
	}
	if v.IsNull() {
		b.WriteString("null")
		return nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		s, _ := json.Marshal(v.AsString())
		b.Write(s)
	case ty == cty.Bool:
		if v.True() {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case ty == cty.Number:
		b.WriteString(formatNumber(v.AsBigFloat()))
	case ty.IsObjectType() || ty.IsMapType():
		keys := make([]string, 0, v.LengthInt())
		vals := map[string]cty.Value{}
		for it := v.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			keys = append(keys, k.AsString())
			vals[k.AsString()] = ev
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			ks, _ := json.Marshal(k)
			b.Write(ks)
			b.WriteByte(':')
			if err := encodeValue(b, vals[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		b.WriteByte('[')
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			_, ev := it.Element()
			if err := encodeValue(b, ev); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case ty == cty.DynamicPseudoType:
		return fmt.Errorf("the value is not known")
	default:
		return fmt.Errorf("cannot write a %s as JSON", ty.FriendlyName())
	}
	return nil
}

// formatNumber writes f as JSON: integers that fit int64 and values that
// a float64 holds exactly through strconv, anything else in full.
func formatNumber(f *big.Float) string {
	if f.IsInt() {
		if i, acc := f.Int64(); acc == big.Exact {
			return strconv.FormatInt(i, 10)
		}
	}
	if x, acc := f.Float64(); acc == big.Exact {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return f.Text('f', -1)
}
