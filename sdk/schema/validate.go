package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/mail"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hubhq/hub/sdk/fault"
)

// String formats a field may declare.
const (
	FormatDateTime = "date-time"
	FormatDate     = "date"
	FormatEmail    = "email"
	FormatURI      = "uri"
)

// Formats lists the string formats hub validates, in a stable order.
var Formats = []string{FormatDateTime, FormatDate, FormatEmail, FormatURI}

// ObjectOf returns an object field with the given properties, the shape of
// a connection's properties or a trigger's config, so they validate like
// any other object.
func ObjectOf(fields []Field) *Field {
	return &Field{Type: Object, Properties: fields}
}

// DecodeJSON decodes raw the way validation sees it: numbers stay
// json.Number so 64-bit ids keep every digit and "integer" can be judged on
// the literal. Empty input decodes to nil (JSON null).
func DecodeJSON(raw json.RawMessage) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decode JSON: unexpected data after the value")
	}
	return v, nil
}

// ValidateJSON checks raw against f and returns every problem found, each at
// a path like "lines[2].sku". Input that is not JSON is one violation at the
// root.
func ValidateJSON(f *Field, raw json.RawMessage) []fault.Violation {
	v, err := DecodeJSON(raw)
	if err != nil {
		return []fault.Violation{{Message: err.Error()}}
	}
	return Validate(f, v)
}

// Validate checks a decoded JSON value (as produced by DecodeJSON, or by
// encoding/json into any) against f.
func Validate(f *Field, v any) []fault.Violation {
	var vs []fault.Violation
	validate(f, v, "", &vs)
	return vs
}

func addf(vs *[]fault.Violation, path, format string, args ...any) {
	*vs = append(*vs, fault.Violation{Path: path, Message: fmt.Sprintf(format, args...)})
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	if key == "" {
		return path
	}
	return path + "." + key
}

// prefixPath puts at in front of a path produced relative to a value.
func prefixPath(at, p string) string {
	switch {
	case p == "":
		return at
	case at == "":
		return p
	case strings.HasPrefix(p, "["):
		return at + p
	}
	return at + "." + p
}

func joinIndex(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// jsonTypeName names a decoded value's JSON type for messages.
func jsonTypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		if isWhole(x.String()) {
			return "integer"
		}
		return "number"
	case float64, float32, int, int64, int32:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "list"
	}
	return fmt.Sprintf("%T", v)
}

// numberLiteral returns a decoded number as its decimal literal.
func numberLiteral(v any) (string, bool) {
	switch x := v.(type) {
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	}
	return "", false
}

// isWhole reports whether a number literal has no fractional part; 3, 3.0
// and 3e2 are whole, 3.5 is not. big.Rat keeps precision for 64-bit ids.
func isWhole(lit string) bool {
	r, ok := new(big.Rat).SetString(lit)
	return ok && r.IsInt()
}

func validate(f *Field, v any, path string, vs *[]fault.Violation) {
	if f == nil || f.Type == Any {
		if f != nil {
			checkEnum(f, v, path, vs)
		}
		return
	}
	if v == nil {
		addf(vs, path, "expected %s, got null", f.Type)
		return
	}
	switch f.Type {
	case String:
		s, ok := v.(string)
		if !ok {
			addf(vs, path, "expected string, got %s", jsonTypeName(v))
			return
		}
		if msg := checkFormat(f, s); msg != "" {
			addf(vs, path, "%s", msg)
			return
		}
	case Integer:
		lit, ok := numberLiteral(v)
		if !ok {
			addf(vs, path, "expected integer, got %s", jsonTypeName(v))
			return
		}
		if !isWhole(lit) {
			addf(vs, path, "expected integer, got %s (not a whole number)", shown(f, lit))
			return
		}
	case Number:
		if _, ok := numberLiteral(v); !ok {
			addf(vs, path, "expected number, got %s", jsonTypeName(v))
			return
		}
	case Boolean:
		if _, ok := v.(bool); !ok {
			addf(vs, path, "expected boolean, got %s", jsonTypeName(v))
			return
		}
	case Object:
		obj, ok := v.(map[string]any)
		if !ok {
			addf(vs, path, "expected object, got %s", jsonTypeName(v))
			return
		}
		validateObject(f, obj, path, vs)
	case List:
		list, ok := v.([]any)
		if !ok {
			addf(vs, path, "expected list, got %s", jsonTypeName(v))
			return
		}
		for i, item := range list {
			validate(f.Items, item, joinIndex(path, i), vs)
		}
	default:
		addf(vs, path, "field has unknown type %q", f.Type)
		return
	}
	checkEnum(f, v, path, vs)
}

func validateObject(f *Field, obj map[string]any, path string, vs *[]fault.Violation) {
	for i := range f.Properties {
		p := &f.Properties[i]
		val, present := obj[p.Name]
		// A null stands for "not given": templates and mappings produce
		// it for optional values, and it must not fail a type check.
		if !present || val == nil {
			if p.Required {
				addf(vs, joinKey(path, p.Name), "required")
			}
			continue
		}
		validate(p, val, joinKey(path, p.Name), vs)
	}
	if f.AdditionalProperties {
		return
	}
	var unknown []string
	for k := range obj {
		if _, ok := f.Property(k); !ok {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		addf(vs, joinKey(path, k), "unknown property (known: %s)", knownNames(f))
	}
}

func knownNames(f *Field) string {
	if len(f.Properties) == 0 {
		return "none"
	}
	names := make([]string, len(f.Properties))
	for i := range f.Properties {
		names[i] = f.Properties[i].Name
	}
	return strings.Join(names, ", ")
}

func checkEnum(f *Field, v any, path string, vs *[]fault.Violation) {
	if len(f.Enum) == 0 {
		return
	}
	for _, e := range f.Enum {
		ev, err := DecodeJSON(e)
		if err == nil && equalJSON(ev, v) {
			return
		}
	}
	allowed := make([]string, len(f.Enum))
	for i, e := range f.Enum {
		allowed[i] = string(e)
	}
	addf(vs, path, "must be one of %s", strings.Join(allowed, ", "))
}

// equalJSON compares decoded JSON values, numbers by value (1 == 1.0).
func equalJSON(a, b any) bool {
	if la, ok := numberLiteral(a); ok {
		lb, ok := numberLiteral(b)
		if !ok {
			return false
		}
		ra, okA := new(big.Rat).SetString(la)
		rb, okB := new(big.Rat).SetString(lb)
		return okA && okB && ra.Cmp(rb) == 0
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equalJSON(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

// shown is how a message quotes a value: a secret field's value never
// appears in a violation, which travels into errors, logs and run history.
func shown(f *Field, v string) string {
	if f.Secret {
		return "the secret value"
	}
	return strconv.Quote(v)
}

// checkFormat returns why s is not of f's format, or "" when it is (or the
// format is not one hub checks; Schema.Check reports unknown formats).
// The value is quoted (as shown) only for a message: quoting is not free
// on the hot path.
func checkFormat(f *Field, s string) string {
	switch f.Format {
	case FormatDateTime:
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return shown(f, s) + " is not a date-time (RFC 3339, e.g. 2026-01-02T15:04:05Z)"
		}
	case FormatDate:
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return shown(f, s) + " is not a date (YYYY-MM-DD)"
		}
	case FormatEmail:
		// ParseAddress also accepts `Name <a@b>`; a field holds the bare
		// address only.
		a, err := mail.ParseAddress(s)
		if err != nil || a.Address != s || a.Name != "" {
			return shown(f, s) + " is not an email address"
		}
	case FormatURI:
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "" && u.Path == "") {
			return shown(f, s) + " is not an absolute URI"
		}
	}
	return ""
}

// ApplyDefaults returns raw with every absent property that declares a
// default filled in, recursively through nested objects and lists of
// objects. Objects that are themselves absent are not created. Empty raw
// for an object field is taken as {} so a call without input still gets its
// defaults.
func ApplyDefaults(f *Field, raw json.RawMessage) (json.RawMessage, error) {
	out, _, err := prepare(f, raw, false)
	return out, err
}

// Prepare is ApplyDefaults followed by validation, decoding raw once: it is
// what the SDK runs on every call's input, so it is on the hot path. When
// no default was filled in, raw is returned as it came, not re-encoded.
// err is set only when raw is not JSON.
func Prepare(f *Field, raw json.RawMessage) (json.RawMessage, []fault.Violation, error) {
	return prepare(f, raw, true)
}

func prepare(f *Field, raw json.RawMessage, check bool) (json.RawMessage, []fault.Violation, error) {
	v, err := DecodeJSON(raw)
	if err != nil {
		return nil, nil, err
	}
	changed := false
	if v == nil && f != nil && f.Type == Object {
		v, changed = map[string]any{}, true
	}
	// Defaults of absent top-level properties (the common case) are
	// spliced into raw; any other change re-encodes the whole value.
	var spliced []addition
	if obj, ok := v.(map[string]any); ok && !changed && f != nil && f.Type == Object {
		spliced, err = topLevelDefaults(f, obj, &changed)
	} else {
		v, err = applyDefaults(f, v, &changed)
	}
	if err != nil {
		return nil, nil, err
	}
	var vs []fault.Violation
	if check {
		vs = Validate(f, v)
	}
	switch {
	case changed:
		out, err := json.Marshal(v)
		if err != nil {
			return nil, nil, fmt.Errorf("encode with defaults: %w", err)
		}
		return out, vs, nil
	case len(spliced) > 0:
		return splice(raw, len(v.(map[string]any))-len(spliced) == 0, spliced), vs, nil
	}
	return raw, vs, nil
}

// addition is a top-level property filled in from its default.
type addition struct {
	name  string
	value json.RawMessage
}

// topLevelDefaults fills obj's absent properties from their defaults and
// returns them to be spliced; a null replaced by its default or a default
// deeper down sets *changed instead.
func topLevelDefaults(f *Field, obj map[string]any, changed *bool) ([]addition, error) {
	var adds []addition
	for i := range f.Properties {
		p := &f.Properties[i]
		cur, present := obj[p.Name]
		if (!present || cur == nil) && len(p.Default) > 0 {
			d, err := DecodeJSON(p.Default)
			if err != nil {
				return nil, fmt.Errorf("default of %s: %w", p.Name, err)
			}
			obj[p.Name] = d
			if present {
				*changed = true
			} else {
				adds = append(adds, addition{p.Name, p.Default})
			}
			continue
		}
		if present {
			nv, err := applyDefaults(p, cur, changed)
			if err != nil {
				return nil, err
			}
			obj[p.Name] = nv
		}
	}
	return adds, nil
}

// splice appends properties to the JSON object raw, which decoded without
// error, so it ends with '}' once trailing space is trimmed.
func splice(raw json.RawMessage, empty bool, adds []addition) json.RawMessage {
	body := bytes.TrimRight(raw, " \t\r\n")
	body = body[:len(body)-1]
	out := make([]byte, 0, len(body)+64*len(adds))
	out = append(out, body...)
	for i, a := range adds {
		if i > 0 || !empty {
			out = append(out, ',')
		}
		key, _ := json.Marshal(a.name)
		out = append(out, key...)
		out = append(out, ':')
		out = append(out, bytes.TrimSpace(a.value)...)
	}
	return append(out, '}')
}

func applyDefaults(f *Field, v any, changed *bool) (any, error) {
	if f == nil {
		return v, nil
	}
	switch x := v.(type) {
	case map[string]any:
		if f.Type != Object {
			return v, nil
		}
		for i := range f.Properties {
			p := &f.Properties[i]
			cur, present := x[p.Name]
			if (!present || cur == nil) && len(p.Default) > 0 {
				d, err := DecodeJSON(p.Default)
				if err != nil {
					return nil, fmt.Errorf("default of %s: %w", p.Name, err)
				}
				x[p.Name] = d
				*changed = true
				continue
			}
			if present {
				nv, err := applyDefaults(p, cur, changed)
				if err != nil {
					return nil, err
				}
				x[p.Name] = nv
			}
		}
	case []any:
		if f.Type != List {
			return v, nil
		}
		for i := range x {
			nv, err := applyDefaults(f.Items, x[i], changed)
			if err != nil {
				return nil, err
			}
			x[i] = nv
		}
	}
	return v, nil
}

// withoutConstraints is f with its enum removed, so an enum value can be
// checked for type alone.
func withoutConstraints(f *Field) *Field {
	c := *f
	c.Enum = nil
	return &c
}

// validRawFor validates raw against f, prefixing paths with at.
func validRawFor(f *Field, raw json.RawMessage, at string, vs *[]fault.Violation) {
	for _, v := range ValidateJSON(f, raw) {
		v.Path = prefixPath(at, v.Path)
		*vs = append(*vs, v)
	}
}

// knownType reports whether t is a field type hub knows.
func knownType(t Type) bool {
	return slices.Contains([]Type{String, Integer, Number, Boolean, Object, List, Any}, t)
}
