package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// jsonPath picks a value out of a decoded JSON document: dotted keys with
// [n] list indexes, e.g. "data.items", "data.orders[0].id", "[2]". A key
// holding '.', '[', ']' or '"', or an empty key, is written as a quoted JSON
// string in brackets: `meta["x.y"]`. The empty path is the whole document.
// It is the one path syntax of the connector (result, items_path, id_field,
// cursor_field, next_path, id_path, events_path, login.token_path).
type jsonPath []pathStep

// pathStep is one key or one list index.
type pathStep struct {
	key     string
	index   int
	isIndex bool
}

// maxPathIndex bounds an index so parsing never overflows and a path cannot
// ask for absurd positions.
const maxPathIndex = 1 << 30

// parsePath parses s, reporting where it is malformed.
func parsePath(s string) (jsonPath, error) {
	var p jsonPath
	i := 0
	for i < len(s) {
		switch {
		case s[i] == '[':
			step, n, err := parseBracket(s[i:])
			if err != nil {
				return nil, fmt.Errorf("path %q at %d: %w", s, i, err)
			}
			p = append(p, step)
			i += n
		case s[i] == '.' && len(p) > 0:
			i++
			n := keyLen(s[i:])
			if n == 0 {
				if i < len(s) && s[i] == '[' {
					return nil, fmt.Errorf("path %q at %d: '.' must be followed by a key, not '['", s, i)
				}
				return nil, fmt.Errorf("path %q at %d: empty key after '.'", s, i)
			}
			p = append(p, pathStep{key: s[i : i+n]})
			i += n
		case len(p) == 0:
			n := keyLen(s)
			if n == 0 {
				return nil, fmt.Errorf("path %q at 0: unexpected %q", s, s[0])
			}
			p = append(p, pathStep{key: s[:n]})
			i = n
		default:
			return nil, fmt.Errorf("path %q at %d: unexpected %q (want '.' or '[')", s, i, s[i])
		}
	}
	return p, nil
}

// keyLen is the length of the bare key at the start of s.
func keyLen(s string) int {
	for i := 0; i < len(s); i++ {
		if isSpecial(s[i]) {
			return i
		}
	}
	return len(s)
}

func isSpecial(c byte) bool { return c == '.' || c == '[' || c == ']' || c == '"' }

// parseBracket parses "[n]" or `["key"]` at the start of s and returns how
// many bytes it took.
func parseBracket(s string) (pathStep, int, error) {
	end := -1
	if len(s) > 1 && s[1] == '"' {
		// A quoted key: find its closing quote, skipping escapes.
		for j := 2; j < len(s); j++ {
			if s[j] == '\\' {
				j++
				continue
			}
			if s[j] == '"' {
				end = j + 1
				break
			}
		}
		if end < 0 || end >= len(s) || s[end] != ']' {
			return pathStep{}, 0, fmt.Errorf(`unterminated ["key"]`)
		}
		var key string
		if err := json.Unmarshal([]byte(s[1:end]), &key); err != nil {
			return pathStep{}, 0, fmt.Errorf("bad quoted key %s: %v", s[1:end], err)
		}
		return pathStep{key: key}, end + 1, nil
	}
	end = strings.IndexByte(s, ']')
	if end < 0 {
		return pathStep{}, 0, fmt.Errorf("missing ']'")
	}
	digits := s[1:end]
	if digits == "" || (len(digits) > 1 && digits[0] == '0') {
		return pathStep{}, 0, fmt.Errorf("index %q is not a whole number ≥ 0 without leading zeros", digits)
	}
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return pathStep{}, 0, fmt.Errorf("index %q is not a whole number ≥ 0", digits)
		}
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n > maxPathIndex {
		return pathStep{}, 0, fmt.Errorf("index %q is too large", digits)
	}
	return pathStep{index: n, isIndex: true}, end + 1, nil
}

// String writes p back in the syntax parsePath reads.
func (p jsonPath) String() string {
	var b strings.Builder
	for i, st := range p {
		switch {
		case st.isIndex:
			b.WriteString("[" + strconv.Itoa(st.index) + "]")
		case st.key != "" && keyLen(st.key) == len(st.key):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(st.key)
		default:
			q, _ := json.Marshal(st.key) // a string always encodes
			b.WriteString("[" + string(q) + "]")
		}
	}
	return b.String()
}

// lookup returns the value at p in v (as decoded by encoding/json) and
// whether it exists.
func (p jsonPath) lookup(v any) (any, bool) {
	for _, st := range p {
		if st.isIndex {
			list, ok := v.([]any)
			if !ok || st.index >= len(list) {
				return nil, false
			}
			v = list[st.index]
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[st.key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// lookupPath parses path and looks it up in v; at names the setting the
// path came from, for the error.
func lookupPath(v any, path, at string) (any, bool, error) {
	p, err := parsePath(path)
	if err != nil {
		return nil, false, invalidSetting(at, err.Error())
	}
	got, ok := p.lookup(v)
	return got, ok, nil
}
