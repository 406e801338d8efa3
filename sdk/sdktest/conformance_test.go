package sdktest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hubhq/hub/sdk"
	"github.com/hubhq/hub/sdk/schema"
)

// recorder captures a check's failures instead of failing the real test.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, a ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, a...))
}
func (r *recorder) Failed() bool { return len(r.errors) > 0 }
func (r *recorder) Fatalf(format string, a ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, a...))
	r.TB.FailNow()
}

func good() *sdk.Connector {
	type in struct {
		Name string `json:"name"`
	}
	return &sdk.Connector{
		Name: "greeter", Version: "0.1.0", Description: "greets",
		Properties: []schema.Field{{Name: "lang", Type: schema.String, Description: "language"}},
		Actions: []sdk.Action{sdk.NewAction(schema.Action{
			Name: "greet", Kind: schema.KindRead, Description: "says hello",
			Input:         sdk.Object(schema.Field{Name: "name", Type: schema.String, Required: true, Description: "who"}),
			Output:        sdk.Object(schema.Field{Name: "text", Type: schema.String, Description: "greeting"}),
			ExampleInput:  sdk.JSON(map[string]any{"name": "Ada"}),
			ExampleOutput: sdk.JSON(map[string]any{"text": "hello Ada"}),
		}, func(_ context.Context, _ *sdk.Conn, v in, _ sdk.ActionCall) (map[string]string, error) {
			return map[string]string{"text": "hello " + v.Name}, nil
		})},
		Triggers: []sdk.Trigger{{
			Spec: schema.Trigger{Name: "greeted", Description: "someone was greeted",
				Output:  sdk.Object(schema.Field{Name: "name", Type: schema.String, Description: "who"}),
				Example: sdk.JSON(map[string]any{"name": "Ada"})},
			Poll: func(context.Context, *sdk.Conn, sdk.PollRequest) (sdk.PollResult, error) {
				return sdk.PollResult{}, nil
			},
		}},
	}
}

func TestConformance_WellDeclaredConnectorPasses(t *testing.T) {
	r := &recorder{TB: t}
	Conformance(r, good())
	if len(r.errors) != 0 {
		t.Fatalf("failures: %v", r.errors)
	}
}

func TestConformance_NamesEveryMissingDescriptionAndExample(t *testing.T) {
	c := good()
	c.Description = ""
	c.Properties[0].Description = ""
	c.Actions[0].Spec.Input.Properties[0].Description = ""
	c.Actions[0].Spec.ExampleOutput = nil
	c.Triggers[0].Spec.Example = nil
	r := &recorder{TB: t}
	Conformance(r, c)
	got := strings.Join(r.errors, "\n")
	for _, want := range []string{
		"description: no description", "properties.lang: no description", "actions.greet.input.name: no description",
		"actions.greet.example_output: no example output", "triggers.greeted.example: no example event",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

func TestConformance_ReportsInvalidDeclarationAtItsPath(t *testing.T) {
	c := good()
	c.Actions[0].Spec.ExampleInput = sdk.JSON(map[string]any{"name": 5})
	c.Actions = append(c.Actions, c.Actions[0])
	r := &recorder{TB: t}
	Conformance(r, c)
	got := strings.Join(r.errors, "\n")
	for _, want := range []string{"actions.greet.example_input.name: expected string", "actions[1]: name \"greet\" is used twice"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

func TestHarness_OutputNotMatchingTheDeclarationFailsTheTest(t *testing.T) {
	c := good()
	spec := c.Actions[0].Spec
	c.Actions[0] = sdk.NewAction(spec, func(context.Context, *sdk.Conn, map[string]any, sdk.ActionCall) (map[string]any, error) {
		return map[string]any{"txt": 1}, nil
	})
	r := &recorder{TB: t}
	h := New(r, c)
	if _, err := h.Execute("greet", Connection(nil), map[string]any{"name": "x"}); err != nil {
		t.Fatal(err)
	}
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "output txt: unknown property") {
		t.Fatalf("failures: %v", r.errors)
	}
}
