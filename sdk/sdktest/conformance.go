package sdktest

import (
	"testing"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

// Conformance checks what every connector must satisfy to be published,
// reporting each failure with t.Errorf at its path:
//
//   - the declaration is valid (schema.Schema.Check, and a handler for every
//     action and declared trigger mode), which also means unique names and
//     enum values, defaults and examples that fit their shapes;
//   - the schema survives the trip to the host unchanged in its names;
//   - the connector, every auth scheme, trigger, action, property, config
//     field, credential field and input/output field has a description,
//     because operators read them in `hub connectors schema` and in plans;
//   - every action has an example input and output and every trigger an
//     example event, so documentation and schema listings have something to
//     show.
func Conformance(t testing.TB, c *sdk.Connector) {
	t.Helper()
	for _, v := range c.Validate() {
		t.Errorf("conformance: declaration: %s", v)
	}
	if t.Failed() {
		// Serving would fail the test with the same problems again.
		return
	}
	h := New(t, c)
	got := h.Schema()
	if got.Name != c.Name || got.Version != c.Version {
		t.Errorf("conformance: schema over the wire is %s %s, declared %s %s", got.Name, got.Version, c.Name, c.Version)
	}
	for _, a := range c.Actions {
		if _, ok := got.Action(a.Spec.Name); !ok {
			t.Errorf("conformance: actions.%s: missing from the schema the host receives", a.Spec.Name)
		}
	}
	for _, tr := range c.Triggers {
		if _, ok := got.Trigger(tr.Spec.Name); !ok {
			t.Errorf("conformance: triggers.%s: missing from the schema the host receives", tr.Spec.Name)
		}
	}

	s := c.Schema()
	missing := func(path string) { t.Errorf("conformance: %s: no description", path) }
	if s.Description == "" {
		missing("description")
	}
	for _, a := range s.Auth {
		if a.Type != schema.AuthNone && a.Description == "" {
			missing("auth." + string(a.Type))
		}
		describedFields(a.Fields, "auth."+string(a.Type)+".fields", missing)
	}
	describedFields(s.Properties, "properties", missing)
	for _, tr := range s.Triggers {
		at := "triggers." + tr.Name
		if tr.Description == "" {
			missing(at)
		}
		describedFields(tr.Config, at+".config", missing)
		if tr.Output != nil {
			describedFields(tr.Output.Properties, at+".output", missing)
		}
		if len(tr.Example) == 0 {
			t.Errorf("conformance: %s.example: no example event", at)
		}
	}
	for _, a := range s.Actions {
		at := "actions." + a.Name
		if a.Description == "" {
			missing(at)
		}
		if a.Input != nil {
			describedFields(a.Input.Properties, at+".input", missing)
		}
		if a.Output != nil {
			describedFields(a.Output.Properties, at+".output", missing)
		}
		if len(a.ExampleInput) == 0 {
			t.Errorf("conformance: %s.example_input: no example input", at)
		}
		if len(a.ExampleOutput) == 0 {
			t.Errorf("conformance: %s.example_output: no example output", at)
		}
	}
}

// describedFields reports every named field without a description, into
// nested objects and lists of objects.
func describedFields(fs []schema.Field, at string, missing func(string)) {
	for _, f := range fs {
		path := at + "." + f.Name
		if f.Description == "" {
			missing(path)
		}
		describedField(&f, path, missing)
	}
}

func describedField(f *schema.Field, path string, missing func(string)) {
	switch f.Type {
	case schema.Object:
		describedFields(f.Properties, path, missing)
	case schema.List:
		if f.Items != nil {
			describedField(f.Items, path+"[]", missing)
		}
	}
}
