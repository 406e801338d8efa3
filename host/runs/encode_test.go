package runs

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sameAsMarshal fails t unless AppendRun(r) decodes to what json.Marshal(r)
// decodes to, both as generic JSON and as a Run, or both refuse r.
func sameAsMarshal(t *testing.T, r *Run) {
	t.Helper()
	want, werr := json.Marshal(r)
	got, gerr := AppendRun([]byte("prefix"), r)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("json.Marshal error %v, AppendRun error %v", werr, gerr)
	}
	if werr != nil {
		if string(got) != "prefix" {
			t.Fatalf("AppendRun failed but changed dst: %q", got)
		}
		return
	}
	if !bytes.HasPrefix(got, []byte("prefix")) {
		t.Fatalf("AppendRun lost dst: %q", got)
	}
	got = got[len("prefix"):]
	if !json.Valid(got) {
		t.Fatalf("AppendRun wrote invalid JSON: %s", got)
	}
	var wantAny, gotAny any
	if err := json.Unmarshal(want, &wantAny); err != nil {
		t.Fatalf("decode json.Marshal output: %v", err)
	}
	if err := json.Unmarshal(got, &gotAny); err != nil {
		t.Fatalf("decode AppendRun output: %v\n%s", err, got)
	}
	if !reflect.DeepEqual(wantAny, gotAny) {
		t.Fatalf("generic values differ\njson.Marshal: %s\nAppendRun:    %s", want, got)
	}
	var wantRun, gotRun Run
	if err := json.Unmarshal(want, &wantRun); err != nil {
		t.Fatalf("decode json.Marshal output as Run: %v", err)
	}
	if err := json.Unmarshal(got, &gotRun); err != nil {
		t.Fatalf("decode AppendRun output as Run: %v", err)
	}
	// RawMessages keep their bytes; json.Marshal's are compacted and
	// HTML-escaped, AppendRun's compacted only. Compare them as values.
	rawsEqual(t, "event", wantRun.Event, gotRun.Event)
	wantRun.Event, gotRun.Event = nil, nil
	if len(wantRun.Steps) != len(gotRun.Steps) {
		t.Fatalf("steps: %d, want %d", len(gotRun.Steps), len(wantRun.Steps))
	}
	for i := range wantRun.Steps {
		ws, gs := wantRun.Steps[i], gotRun.Steps[i]
		if ws == nil || gs == nil {
			continue
		}
		rawsEqual(t, "input", ws.Input, gs.Input)
		rawsEqual(t, "output", ws.Output, gs.Output)
		ws.Input, gs.Input, ws.Output, gs.Output = nil, nil, nil, nil
	}
	if !reflect.DeepEqual(wantRun, gotRun) {
		t.Fatalf("decoded runs differ\njson.Marshal: %s\nAppendRun:    %s", want, got)
	}
}

func rawsEqual(t *testing.T, field string, want, got json.RawMessage) {
	t.Helper()
	if (want == nil) != (got == nil) {
		t.Fatalf("%s: %q, want %q", field, got, want)
	}
	if want == nil {
		return
	}
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s from json.Marshal: %v", field, err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s from AppendRun: %v", field, err)
	}
	if !reflect.DeepEqual(w, g) {
		t.Fatalf("%s: %s, want %s", field, got, want)
	}
}

func sampleRun() *Run {
	at := time.Date(2026, 11, 24, 1, 2, 3, 456789000, time.UTC)
	fin := at.Add(time.Second)
	retry := at.Add(2 * time.Second).In(time.FixedZone("x", -5*3600-30*60))
	return &Run{
		ID: "r-0000000001", Tenant: "default", Workflow: "orders", Trigger: "shop/order_created",
		EventSeq: 1 << 60, EventID: "ev-1",
		Event:  json.RawMessage(`{"id":1,"items":[{"sku":"a","qty":2}],"note":"<b>&amp;</b>"}`),
		Status: Succeeded, Step: 2,
		Steps: []*Step{
			{Name: "notify", Connection: "sink", Action: "post", Connector: "hub/http@1.0.0", Status: Succeeded,
				Input: json.RawMessage(`{"url":"http://x/"}`), Output: json.RawMessage(`{"status":200}`),
				IdempotencyKey: "0123abcd", SeriesStart: 1,
				Attempts: []*Attempt{
					{N: 1, StartedAt: at, DurationMS: 12.5, Error: "503 from sink", ErrorKind: "retryable", RetryAt: &retry},
					{N: 2, StartedAt: at.Add(time.Second), DurationMS: 0.001},
				}},
			{Name: "skip", Connection: "sink", Action: "post", Status: Skipped},
		},
		Error:      "",
		ReceivedAt: at, CreatedAt: at, UpdatedAt: fin, FinishedAt: &fin,
	}
}

func TestAppendRun_DecodesAsMarshal(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	big := `{"blob":"` + strings.Repeat("x\\n\\u00e9é", 20000) + `","n":[` + strings.Repeat("1.5e-7,", 999) + `0]}`
	tests := []struct {
		name string
		edit func(r *Run)
	}{
		{"sample", func(*Run) {}},
		{"zero run", func(r *Run) { *r = Run{} }},
		{"nil steps", func(r *Run) { r.Steps = nil }},
		{"empty steps", func(r *Run) { r.Steps = []*Step{} }},
		{"nil step", func(r *Run) { r.Steps = append(r.Steps, nil) }},
		{"nil attempt", func(r *Run) { r.Steps[0].Attempts = append(r.Steps[0].Attempts, nil) }},
		{"empty attempts", func(r *Run) { r.Steps[0].Attempts = []*Attempt{} }},
		{"nil event", func(r *Run) { r.Event = nil }},
		{"empty event", func(r *Run) { r.Event = json.RawMessage{} }},
		{"null event", func(r *Run) { r.Event = json.RawMessage(`null`) }},
		{"event with whitespace", func(r *Run) { r.Event = json.RawMessage(" {\n\t\"a\" : [ 1 , \"b c\" ] ,\r\n \"d\":{ } }\n") }},
		{"event not JSON", func(r *Run) { r.Event = json.RawMessage(`{"a":`) }},
		{"event two values", func(r *Run) { r.Event = json.RawMessage(`{} {}`) }},
		{"input not JSON", func(r *Run) { r.Steps[0].Input = json.RawMessage(`{'a':1}`) }},
		{"output not JSON", func(r *Run) { r.Steps[0].Output = json.RawMessage(`tru`) }},
		{"empty input and output", func(r *Run) { r.Steps[0].Input, r.Steps[0].Output = json.RawMessage{}, json.RawMessage{} }},
		{"scalar raws", func(r *Run) {
			r.Event, r.Steps[0].Input, r.Steps[0].Output = json.RawMessage(`-0.5E+10`), json.RawMessage(`"s"`), json.RawMessage(`false`)
		}},
		{"deep event", func(r *Run) { r.Event = json.RawMessage(strings.Repeat("[", 200) + strings.Repeat("]", 200)) }},
		{"big raws", func(r *Run) { r.Event, r.Steps[0].Output = json.RawMessage(big), json.RawMessage(big) }},
		{"unicode and control characters", func(r *Run) {
			r.ID = "é\u2028\u2029😀\x00\x01\x1f\x7f\"\\/<>&\n\r\t\b\f"
			r.Error = "bad utf-8 \xff\xfe and half \xe2\x82"
			r.Steps[0].Name = "\xed\xa0\x80 surrogate"
			r.Steps[0].Attempts[0].Error = strings.Repeat("ü", 300)
		}},
		{"not finished", func(r *Run) { r.FinishedAt = nil; r.Status = Running; r.Steps[0].Attempts[0].RetryAt = nil }},
		{"zone offset", func(r *Run) { r.CreatedAt = at.In(time.FixedZone("", 14*3600)) }},
		{"year past 9999", func(r *Run) { r.UpdatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"negative year", func(r *Run) { r.UpdatedAt = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"zone hour 24", func(r *Run) { r.UpdatedAt = at.In(time.FixedZone("", 24*3600)) }},
		{"zone offset seconds", func(r *Run) { r.UpdatedAt = at.In(time.FixedZone("", 3600+30)) }},
		{"durations", func(r *Run) {
			r.Steps[0].Attempts[0].DurationMS = 1e21
			r.Steps[0].Attempts[1].DurationMS = -1e-7
		}},
		{"NaN duration", func(r *Run) { r.Steps[0].Attempts[0].DurationMS = nanValue() }},
		{"negative numbers", func(r *Run) { r.Step = -1; r.Steps[0].SeriesStart = -3; r.Steps[0].Attempts[0].N = -2 }},
	}
	for _, s := range []Status{Running, Succeeded, Failed, Dead, Discarded, Skipped, Pending, Gap, "", "odd \"status\""} {
		tests = append(tests, struct {
			name string
			edit func(r *Run)
		}{"status " + string(s), func(r *Run) { r.Status = s; r.Steps[0].Status = s }})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleRun()
			tt.edit(r)
			sameAsMarshal(t, r)
		})
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

func TestAppendRun_NilRunIsNull(t *testing.T) {
	got, err := AppendRun(nil, nil)
	if err != nil || string(got) != "null" {
		t.Fatalf("AppendRun(nil) = %q, %v; want null", got, err)
	}
}

func TestAppendRun_CompactRawsAreCopiedAsTheyAre(t *testing.T) {
	r := sampleRun()
	got, err := AppendRun(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte(`"event":`+string(r.Event)+`,`)) {
		t.Fatalf("event not copied verbatim: %s", got)
	}
}

func TestAppendRaw_AgreesWithValid(t *testing.T) {
	for _, s := range rawSeeds {
		checkRaw(t, []byte(s))
	}
}

var rawSeeds = []string{
	``, ` `, `0`, `-`, `-0`, `01`, `1.`, `1.0`, `1e`, `1e+`, `1E-2`, `-1.5e10`, `2.`, `.5`,
	`true`, `tru`, `truex`, `null`, `nul`, `false`, `"`, `""`, `"\"`, `"\u12"`, `"\u12ab"`, `"\uZZZZ"`, `"\x"`, `"\/\b\f\n\r\t"`,
	"\"\x01\"", "\"\xff\"", `{}`, `{ }`, `[]`, `[ ]`, `{"a":1}`, `{"a" 1}`, `{"a":}`, `{,}`, `[,]`, `[1,]`, `{"a":1,}`,
	`[1 2]`, `{"a":1 "b":2}`, `[}`, `{]`, `{"a":[1,{"b":null}]}`, `[[[]]]`, `[[[]]`, `]`, `}`, `{1:2}`, `"a" "b"`, ` [ 1 , 2 ] `,
	strings.Repeat("[", 64) + strings.Repeat("]", 64), strings.Repeat("[", 65) + strings.Repeat("]", 65),
	strings.Repeat(`{"a":`, 70) + `1` + strings.Repeat(`}`, 70),
}

// checkRaw: appendRaw accepts only what json.Valid accepts (it may refuse
// deep nesting), and what it writes decodes to what src decodes to.
func checkRaw(t *testing.T, src []byte) {
	t.Helper()
	got, ok := appendRaw([]byte("x"), src)
	valid := json.Valid(src)
	if ok && !valid {
		t.Fatalf("appendRaw accepted invalid %q", src)
	}
	if !ok {
		if valid && depthOf(src) <= maxRawDepth {
			t.Fatalf("appendRaw refused valid %q", src)
		}
		return
	}
	got = got[1:]
	var want bytes.Buffer
	if err := json.Compact(&want, src); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("appendRaw(%q) = %q, want %q", src, got, want.Bytes())
	}
}

// depthOf is how deeply src nests, counting brackets outside strings.
func depthOf(src []byte) int {
	depth, most, in, esc := 0, 0, false, false
	for _, c := range src {
		switch {
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case !in && (c == '[' || c == '{'):
			depth++
			most = max(most, depth)
		case !in && (c == ']' || c == '}'):
			depth--
		}
	}
	return most
}

func FuzzAppendRaw(f *testing.F) {
	for _, s := range rawSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) { checkRaw(t, src) })
}

func FuzzAppendRun(f *testing.F) {
	f.Add("r-1", "orders", "\x00<é>\xff", []byte(`{"a":[1,2]}`), []byte(` {"b" : "c"} `), []byte(`null`), int64(1700000000123456789), 3.25, uint8(0))
	f.Add("", "", "", []byte(``), []byte(``), []byte(``), int64(0), 0.0, uint8(0xff))
	f.Add("id", "wf", "err", []byte(`{"a":`), []byte(`1`), []byte(`"x"`), int64(-62135596800000000), 1e-9, uint8(0x55))
	f.Fuzz(func(t *testing.T, id, wf, msg string, event, input, output []byte, nanos int64, ms float64, flags uint8) {
		at := time.Unix(0, nanos).UTC()
		r := &Run{ID: id, Tenant: msg, Workflow: wf, Trigger: id + "/" + wf, EventSeq: uint64(nanos), EventID: msg,
			Event: event, Status: Status(wf), Step: int(flags), Error: msg, ReceivedAt: at, CreatedAt: at, UpdatedAt: at}
		if flags&1 != 0 {
			r.Event = nil
		}
		if flags&2 != 0 {
			r.FinishedAt = &at
		}
		if flags&4 != 0 {
			s := &Step{Name: wf, Connection: id, Action: msg, Connector: msg, Status: Status(id), Input: input, Output: output,
				IdempotencyKey: id, SeriesStart: int(flags >> 4)}
			if flags&8 != 0 {
				s.Attempts = []*Attempt{{N: 1, StartedAt: at, DurationMS: ms, Error: msg, ErrorKind: wf, RetryAt: r.FinishedAt}, nil}
			}
			r.Steps = []*Step{s, nil}
		} else if flags&16 != 0 {
			r.Steps = []*Step{}
		}
		sameAsMarshal(t, r)
	})
}

func benchRun() *Run {
	r := sampleRun()
	r.Event = json.RawMessage(`{"id":"` + strings.Repeat("0123456789abcdef", 60) + `","total":"12.50","items":[{"sku":"a","qty":1}]}`)
	return r
}

func BenchmarkAppendRun(b *testing.B) {
	r := benchRun()
	b.ReportAllocs()
	for b.Loop() {
		buf := make([]byte, 0, SizeHint(r))
		if _, err := AppendRun(buf, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONMarshalRun(b *testing.B) {
	r := benchRun()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(r); err != nil {
			b.Fatal(err)
		}
	}
}
