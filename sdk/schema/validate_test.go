package schema

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/hubhq/hub/sdk/fault"
)

// order is a realistic nested shape: an order with lines.
func order() *Field {
	return &Field{Type: Object, Properties: []Field{
		{Name: "ref", Type: String, Required: true},
		{Name: "placed_at", Type: String, Format: FormatDateTime},
		{Name: "ship_on", Type: String, Format: FormatDate},
		{Name: "email", Type: String, Format: FormatEmail},
		{Name: "callback", Type: String, Format: FormatURI},
		{Name: "status", Type: String, Enum: []json.RawMessage{json.RawMessage(`"open"`), json.RawMessage(`"closed"`)}, Default: json.RawMessage(`"open"`)},
		{Name: "priority", Type: Integer, Default: json.RawMessage(`3`)},
		{Name: "gift", Type: Boolean},
		{Name: "meta", Type: Object, AdditionalProperties: true},
		{Name: "extra", Type: Any},
		{Name: "lines", Type: List, Required: true, Items: &Field{Type: Object, Properties: []Field{
			{Name: "sku", Type: String, Required: true},
			{Name: "qty", Type: Integer, Required: true},
			{Name: "price", Type: Number},
			{Name: "unit", Type: String, Default: json.RawMessage(`"each"`)},
		}}},
	}}
}

func paths(vs []fault.Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Path)
	}
	return out
}

func TestValidateJSON_ValidOrderHasNoViolations(t *testing.T) {
	raw := `{"ref":"A1","placed_at":"2026-11-23T10:00:00+01:00","ship_on":"2026-11-24","email":"ops@example.com",
		"callback":"https://example.com/cb","status":"closed","priority":3.0,"gift":false,
		"meta":{"anything":[1,2]},"extra":null,"lines":[{"sku":"X","qty":2,"price":9.5},{"sku":"Y","qty":820982911946154508}]}`
	if vs := ValidateJSON(order(), json.RawMessage(raw)); len(vs) != 0 {
		t.Fatalf("unexpected violations: %v", vs)
	}
}

func TestValidateJSON_ReportsEveryProblemAtItsPath(t *testing.T) {
	raw := `{"placed_at":"yesterday","ship_on":"24/11/2026","email":"Ops <ops@example.com>","callback":"/relative",
		"status":"pending","priority":2.5,"gift":"yes","surprise":1,
		"lines":[{"sku":"X","qty":1},{"sku":"Y","qty":"2"},{"qty":1,"colour":"red"}]}`
	vs := ValidateJSON(order(), json.RawMessage(raw))
	want := []string{"ref", "placed_at", "ship_on", "email", "callback", "status", "priority", "gift",
		"lines[1].qty", "lines[2].sku", "lines[2].colour", "surprise"}
	if got := paths(vs); !reflect.DeepEqual(got, want) {
		t.Fatalf("paths = %v\nwant     %v\nviolations: %v", got, want, vs)
	}
	byPath := map[string]string{}
	for _, v := range vs {
		byPath[v.Path] = v.Message
	}
	for path, fragment := range map[string]string{
		"ref":             "required",
		"priority":        "not a whole number",
		"gift":            "expected boolean, got string",
		"status":          `"open", "closed"`,
		"lines[1].qty":    "expected integer, got string",
		"lines[2].colour": "unknown property",
		"placed_at":       "RFC 3339",
	} {
		if !strings.Contains(byPath[path], fragment) {
			t.Errorf("%s: message %q lacks %q", path, byPath[path], fragment)
		}
	}
}

func TestValidateJSON_NullOptionalIsAbsentButNullRequiredIsMissing(t *testing.T) {
	vs := ValidateJSON(order(), json.RawMessage(`{"ref":null,"gift":null,"lines":[]}`))
	if got := paths(vs); !reflect.DeepEqual(got, []string{"ref"}) {
		t.Fatalf("paths = %v, want [ref]", got)
	}
}

func TestValidateJSON_NotJSONIsOneRootViolation(t *testing.T) {
	vs := ValidateJSON(order(), json.RawMessage(`{"ref":`))
	if len(vs) != 1 || vs[0].Path != "" {
		t.Fatalf("violations = %v", vs)
	}
	vs = ValidateJSON(order(), json.RawMessage(`{} {}`))
	if len(vs) != 1 {
		t.Fatalf("trailing data accepted: %v", vs)
	}
}

func TestValidateJSON_WrongTopLevelTypeIsReported(t *testing.T) {
	vs := ValidateJSON(order(), json.RawMessage(`[1]`))
	if len(vs) != 1 || vs[0].Message != "expected object, got list" {
		t.Fatalf("violations = %v", vs)
	}
	vs = ValidateJSON(&Field{Type: List, Items: &Field{Type: Integer}}, json.RawMessage(`[1, 2, "3"]`))
	if len(vs) != 1 || vs[0].Path != "[2]" {
		t.Fatalf("violations = %v", vs)
	}
}

func TestValidateJSON_EnumComparesNumbersByValue(t *testing.T) {
	f := &Field{Type: Number, Enum: []json.RawMessage{json.RawMessage(`1`), json.RawMessage(`2.5`)}}
	for _, ok := range []string{`1.0`, `1`, `25e-1`} {
		if vs := ValidateJSON(f, json.RawMessage(ok)); len(vs) != 0 {
			t.Errorf("%s rejected: %v", ok, vs)
		}
	}
	if vs := ValidateJSON(f, json.RawMessage(`3`)); len(vs) != 1 {
		t.Errorf("3 accepted")
	}
}

func TestValidate_AcceptsValuesDecodedAsFloat64(t *testing.T) {
	var v any
	if err := json.Unmarshal([]byte(`{"ref":"A","lines":[{"sku":"X","qty":2}]}`), &v); err != nil {
		t.Fatal(err)
	}
	if vs := Validate(order(), v); len(vs) != 0 {
		t.Fatalf("violations: %v", vs)
	}
}

func TestApplyDefaults_FillsAbsentPropertiesRecursively(t *testing.T) {
	out, err := ApplyDefaults(order(), json.RawMessage(`{"ref":"A","priority":1,"lines":[{"sku":"X","qty":1},{"sku":"Y","qty":2,"unit":"kg"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"ref": "A", "priority": 1.0, "status": "open", "lines": []any{
		map[string]any{"sku": "X", "qty": 1.0, "unit": "each"},
		map[string]any{"sku": "Y", "qty": 2.0, "unit": "kg"},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

func TestApplyDefaults_EmptyInputBecomesObjectWithDefaults(t *testing.T) {
	out, err := ApplyDefaults(order(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"priority":3,"status":"open"}` {
		t.Fatalf("got %s", out)
	}
}

func TestApplyDefaults_KeepsLargeIntegersExact(t *testing.T) {
	out, err := ApplyDefaults(order(), json.RawMessage(`{"ref":"A","lines":[{"sku":"X","qty":820982911946154508}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "820982911946154508") {
		t.Fatalf("precision lost: %s", out)
	}
}

func TestPrepare_ReturnsInputUntouchedWhenNoDefaultApplies(t *testing.T) {
	f := ObjectOf([]Field{{Name: "message", Type: String, Required: true}, {Name: "upper", Type: Boolean, Default: json.RawMessage(`false`)}})
	raw := json.RawMessage(`{"message": "hi",  "upper": true}`)
	out, vs, err := Prepare(f, raw)
	if err != nil || len(vs) != 0 || string(out) != string(raw) {
		t.Fatalf("Prepare = %s, %v, %v; want the input as it came", out, vs, err)
	}
}

func TestPrepare_FillsDefaultsAndReportsViolationsInOnePass(t *testing.T) {
	f := ObjectOf([]Field{{Name: "message", Type: String, Required: true}, {Name: "upper", Type: Boolean, Default: json.RawMessage(`false`)}})
	out, vs, err := Prepare(f, json.RawMessage(`{}`))
	if err != nil || string(out) != `{"upper":false}` {
		t.Fatalf("Prepare = %s, %v", out, err)
	}
	if len(vs) != 1 || vs[0].Path != "message" {
		t.Fatalf("violations = %v, want message required", vs)
	}
	if _, _, err := Prepare(f, json.RawMessage(`{`)); err == nil {
		t.Fatal("broken JSON accepted")
	}
}

func TestValidate_SecretValueNeverAppearsInAViolation(t *testing.T) {
	f := ObjectOf([]Field{
		{Name: "token", Type: String, Secret: true, Format: FormatURI},
		{Name: "pin", Type: Integer, Secret: true},
	})
	vs := ValidateJSON(f, json.RawMessage(`{"token":"hunter2-secret","pin":12.5}`))
	if len(vs) != 2 {
		t.Fatalf("violations = %v, want 2", vs)
	}
	for _, v := range vs {
		if strings.Contains(v.Message, "hunter2") || strings.Contains(v.Message, "12.5") {
			t.Fatalf("secret value in violation: %v", v)
		}
	}
}
