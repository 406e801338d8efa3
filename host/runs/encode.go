package runs

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendRun appends the JSON encoding of r to dst: the document
// json.Marshal(r) writes, decoding to the same value, without reflection
// and without encoding/json's second scan of every json.RawMessage field.
// The engine writes a run record on every transition, and re-scanning the
// event and each step's input and output was a tenth of the host's CPU in
// a full-mode load test.
//
// Each RawMessage field is checked by a single fast pass (see appendRaw)
// and appended as it is, or compacted when it holds whitespace. Should any
// field not be one valid JSON value, or a time or number not be encodable,
// the whole record is encoded by json.Marshal instead, so a bad field gives
// json.Marshal's error rather than a record that cannot be read back.
//
// Strings are escaped for JSON only: <, > and & are written as they are,
// where json.Marshal writes \u003c, \u003e and \u0026; decoding is the same.
func AppendRun(dst []byte, r *Run) ([]byte, error) {
	if r == nil {
		return append(dst, "null"...), nil
	}
	n0 := len(dst)
	if b, ok := appendRun(dst, r); ok {
		return b, nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return dst[:n0], err
	}
	return append(dst[:n0], b...), nil
}

// SizeHint is a capacity for AppendRun's buffer that holds most runs
// without growing: their raw JSON fields and room for the rest.
func SizeHint(r *Run) int {
	if r == nil {
		return 4
	}
	n := 512 + len(r.Event) + len(r.Error)
	for _, s := range r.Steps {
		if s != nil {
			n += 256 + len(s.Input) + len(s.Output) + 160*len(s.Attempts)
		}
	}
	return n
}

// appendRun writes the fields in the order of Run's declaration, as
// encoding/json does, and reports false when json.Marshal must decide.
func appendRun(b []byte, r *Run) ([]byte, bool) {
	var ok bool
	b = append(b, `{"id":`...)
	b = appendString(b, r.ID)
	b = append(b, `,"tenant":`...)
	b = appendString(b, r.Tenant)
	b = append(b, `,"workflow":`...)
	b = appendString(b, r.Workflow)
	b = append(b, `,"trigger":`...)
	b = appendString(b, r.Trigger)
	b = append(b, `,"event_seq":`...)
	b = strconv.AppendUint(b, r.EventSeq, 10)
	b = append(b, `,"event_id":`...)
	b = appendString(b, r.EventID)
	b = append(b, `,"event":`...)
	if r.Event == nil {
		b = append(b, "null"...)
	} else if b, ok = appendRaw(b, r.Event); !ok {
		return b, false
	}
	b = append(b, `,"status":`...)
	b = appendString(b, string(r.Status))
	b = append(b, `,"step":`...)
	b = strconv.AppendInt(b, int64(r.Step), 10)
	b = append(b, `,"steps":`...)
	if r.Steps == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range r.Steps {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendStep(b, s); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}
	if r.Error != "" {
		b = append(b, `,"error":`...)
		b = appendString(b, r.Error)
	}
	b = append(b, `,"received_at":`...)
	if b, ok = appendTime(b, r.ReceivedAt); !ok {
		return b, false
	}
	b = append(b, `,"created_at":`...)
	if b, ok = appendTime(b, r.CreatedAt); !ok {
		return b, false
	}
	b = append(b, `,"updated_at":`...)
	if b, ok = appendTime(b, r.UpdatedAt); !ok {
		return b, false
	}
	if r.FinishedAt != nil {
		b = append(b, `,"finished_at":`...)
		if b, ok = appendTime(b, *r.FinishedAt); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

func appendStep(b []byte, s *Step) ([]byte, bool) {
	if s == nil {
		return append(b, "null"...), true
	}
	var ok bool
	b = append(b, `{"name":`...)
	b = appendString(b, s.Name)
	b = append(b, `,"connection":`...)
	b = appendString(b, s.Connection)
	b = append(b, `,"action":`...)
	b = appendString(b, s.Action)
	if s.Connector != "" {
		b = append(b, `,"connector":`...)
		b = appendString(b, s.Connector)
	}
	b = append(b, `,"status":`...)
	b = appendString(b, string(s.Status))
	if len(s.Input) > 0 {
		b = append(b, `,"input":`...)
		if b, ok = appendRaw(b, s.Input); !ok {
			return b, false
		}
	}
	if len(s.Output) > 0 {
		b = append(b, `,"output":`...)
		if b, ok = appendRaw(b, s.Output); !ok {
			return b, false
		}
	}
	if s.IdempotencyKey != "" {
		b = append(b, `,"idempotency_key":`...)
		b = appendString(b, s.IdempotencyKey)
	}
	if len(s.Attempts) > 0 {
		b = append(b, `,"attempts":[`...)
		for i, a := range s.Attempts {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendAttempt(b, a); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}
	if s.SeriesStart != 0 {
		b = append(b, `,"series_start":`...)
		b = strconv.AppendInt(b, int64(s.SeriesStart), 10)
	}
	return append(b, '}'), true
}

func appendAttempt(b []byte, a *Attempt) ([]byte, bool) {
	if a == nil {
		return append(b, "null"...), true
	}
	var ok bool
	b = append(b, `{"n":`...)
	b = strconv.AppendInt(b, int64(a.N), 10)
	b = append(b, `,"started_at":`...)
	if b, ok = appendTime(b, a.StartedAt); !ok {
		return b, false
	}
	b = append(b, `,"duration_ms":`...)
	if b, ok = appendFloat(b, a.DurationMS); !ok {
		return b, false
	}
	if a.Error != "" {
		b = append(b, `,"error":`...)
		b = appendString(b, a.Error)
	}
	if a.ErrorKind != "" {
		b = append(b, `,"error_kind":`...)
		b = appendString(b, a.ErrorKind)
	}
	if a.RetryAt != nil {
		b = append(b, `,"retry_at":`...)
		if b, ok = appendTime(b, *a.RetryAt); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// appendTime writes t as time.Time.MarshalJSON does (strict RFC 3339 with
// nanoseconds); a time it refuses (a year past 9999) is not encodable.
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	out, err := t.AppendText(append(b, '"'))
	if err != nil {
		return b, false
	}
	return append(out, '"'), true
}

// appendFloat writes f as encoding/json does for a float64; NaN and the
// infinities are not encodable.
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 is written 1e-7, as encoding/json does.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string: quote, backslash and control
// characters escaped, invalid UTF-8 as \ufffd (as encoding/json does), and
// U+2028 and U+2029 escaped so the record is also safe as JavaScript.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
