package runs

// appendRaw appends src, one JSON value, to b without insignificant
// whitespace, and reports false when src is not one valid JSON value.
//
// It is the check that keeps a corrupt field from making a run record
// unreadable, and it runs on every write of a run rather than trusting the
// engine: the engine does check events and outputs as they arrive, but a
// check here costs one tight pass over the bytes (a small part of what
// encoding/json's scanner, called per byte through a function pointer,
// costs) and needs no memory of which run was written before. Strings are
// checked as json.Valid checks them: control characters and bad escapes
// are errors, invalid UTF-8 is not (decoding replaces it). Values nested
// deeper than maxRawDepth are reported invalid, so encoding/json decides
// those.
func appendRaw(b, src []byte) ([]byte, bool) {
	compact, ok := scanRaw(src)
	if !ok {
		return b, false
	}
	if compact {
		return append(b, src...), true
	}
	return appendCompacted(b, src), true
}

// maxRawDepth is how deep appendRaw follows nested arrays and objects:
// the bits of the uint64 that remembers which of them are objects.
const maxRawDepth = 64

// scanRaw reports whether src is one valid JSON value, and whether it has
// no whitespace outside its strings.
func scanRaw(src []byte) (compact, ok bool) {
	var objects uint64 // bit d: the container at depth d is an object
	depth := 0
	i, n := 0, len(src)
	compact = true
	// A value is due; after it, a comma, a closing bracket or the end.
	for {
		j := skipSpace(src, i)
		if j != i {
			compact = false
			i = j
		}
		if i >= n {
			return false, false
		}
		switch c := src[i]; {
		case c == '{' || c == '[':
			if depth == maxRawDepth {
				return false, false
			}
			if c == '{' {
				objects |= 1 << depth
			} else {
				objects &^= 1 << depth
			}
			depth++
			i++
			j := skipSpace(src, i)
			if j != i {
				compact = false
				i = j
			}
			if i < n && (src[i] == '}' && c == '{' || src[i] == ']' && c == '[') {
				depth--
				i++
				break
			}
			if c == '{' {
				if i, ok = scanKey(src, i); !ok {
					return false, false
				}
				if j := skipSpace(src, i); j != i {
					compact = false
					i = j
				}
				if i >= n || src[i] != ':' {
					return false, false
				}
				i++
			}
			continue // the first value in the container
		case c == '"':
			if i, ok = scanString(src, i); !ok {
				return false, false
			}
		case c == 't':
			if i, ok = scanLiteral(src, i, "true"); !ok {
				return false, false
			}
		case c == 'f':
			if i, ok = scanLiteral(src, i, "false"); !ok {
				return false, false
			}
		case c == 'n':
			if i, ok = scanLiteral(src, i, "null"); !ok {
				return false, false
			}
		case c == '-' || '0' <= c && c <= '9':
			if i, ok = scanNumber(src, i); !ok {
				return false, false
			}
		default:
			return false, false
		}
		// A value ended at i: close containers, or find the next value.
		for {
			j := skipSpace(src, i)
			if j != i {
				compact = false
				i = j
			}
			if depth == 0 {
				return compact, i == n
			}
			if i >= n {
				return false, false
			}
			inObject := objects&(1<<(depth-1)) != 0
			c := src[i]
			if inObject && c == '}' || !inObject && c == ']' {
				depth--
				i++
				continue
			}
			if c != ',' {
				return false, false
			}
			i++
			if inObject {
				if j := skipSpace(src, i); j != i {
					compact = false
					i = j
				}
				if i, ok = scanKey(src, i); !ok {
					return false, false
				}
				if j := skipSpace(src, i); j != i {
					compact = false
					i = j
				}
				if i >= n || src[i] != ':' {
					return false, false
				}
				i++
			}
			break
		}
	}
}

func skipSpace(src []byte, i int) int {
	for i < len(src) {
		switch src[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func scanKey(src []byte, i int) (int, bool) {
	if i >= len(src) || src[i] != '"' {
		return i, false
	}
	return scanString(src, i)
}

// scanString returns the index after the string that opens at src[i].
func scanString(src []byte, i int) (int, bool) {
	for i++; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			i++
			if i >= len(src) {
				return i, false
			}
			switch src[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(src) {
					return i, false
				}
				for _, h := range src[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return i, false
					}
				}
				i += 4
			default:
				return i, false
			}
		}
	}
	return i, false
}

func scanLiteral(src []byte, i int, lit string) (int, bool) {
	if len(src)-i < len(lit) || string(src[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// scanNumber returns the index after the number that starts at src[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(src []byte, i int) (int, bool) {
	n := len(src)
	if src[i] == '-' {
		i++
	}
	switch {
	case i < n && src[i] == '0':
		i++
	case i < n && '1' <= src[i] && src[i] <= '9':
		i = digits(src, i+1)
	default:
		return i, false
	}
	if i < n && src[i] == '.' {
		j := digits(src, i+1)
		if j == i+1 {
			return i, false
		}
		i = j
	}
	if i < n && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < n && (src[i] == '+' || src[i] == '-') {
			i++
		}
		j := digits(src, i)
		if j == i {
			return i, false
		}
		i = j
	}
	return i, true
}

func digits(src []byte, i int) int {
	for i < len(src) && '0' <= src[i] && src[i] <= '9' {
		i++
	}
	return i
}

// appendCompacted appends valid JSON src to b without the whitespace
// outside its strings.
func appendCompacted(b, src []byte) []byte {
	start := 0
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '"':
			end, _ := scanString(src, i)
			i = end - 1
		case ' ', '\t', '\n', '\r':
			b = append(b, src[start:i]...)
			start = i + 1
		}
	}
	return append(b, src[start:]...)
}
