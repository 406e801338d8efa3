package schema

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func validSchema() *Schema {
	obj := func(fs ...Field) *Field { return &Field{Type: Object, Properties: fs} }
	return &Schema{
		Name: "shop", Version: "1.4.0",
		Auth: []AuthScheme{
			{Type: AuthNone},
			{Type: AuthAPIKey, APIKey: &APIKeySpec{In: InHeader, Name: "X-Key", Prefix: "Bearer "}},
			{Type: AuthOAuth2, OAuth2: &OAuth2Spec{AuthorizationURL: "https://a", TokenURL: "https://t", Grants: []string{"authorization_code", "refresh_token"}}},
		},
		Properties: []Field{{Name: "shop_domain", Type: String, Required: true, Example: json.RawMessage(`"acme"`)}},
		Triggers: []Trigger{
			{Name: "order_created", Modes: []Mode{ModePoll, ModeWebhook}, DefaultPollInterval: time.Minute,
				Config: []Field{{Name: "status", Type: String, Enum: []json.RawMessage{json.RawMessage(`"paid"`)}, Default: json.RawMessage(`"paid"`)}},
				Output: obj(Field{Name: "id", Type: Integer}), Example: json.RawMessage(`{"id":1}`)},
			{Name: "order_stream", Modes: []Mode{ModeStream}, ReconcileWith: "order_created", Output: obj()},
		},
		Actions: []Action{{Name: "create_order", Kind: KindCreate,
			Input:        obj(Field{Name: "lines", Type: List, Items: obj(Field{Name: "sku", Type: String, Required: true})}),
			Output:       obj(Field{Name: "id", Type: Integer}),
			ExampleInput: json.RawMessage(`{"lines":[{"sku":"A"}]}`), ExampleOutput: json.RawMessage(`{"id":7}`)}},
	}
}

func TestCheck_ValidSchemaHasNoViolations(t *testing.T) {
	if vs := validSchema().Check(); len(vs) != 0 {
		t.Fatalf("violations: %v", vs)
	}
}

func TestCheck_ReportsEachStructuralProblemAtItsPath(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(s *Schema)
		path   string
		frag   string
	}{
		{"bad connector name", func(s *Schema) { s.Name = "Shop" }, "name", "not a valid name"},
		{"version not semver", func(s *Schema) { s.Version = "v1" }, "version", "semantic version"},
		{"bad trigger name", func(s *Schema) { s.Triggers[0].Name = "order-created" }, "triggers[0]", "not a valid name"},
		{"duplicate action", func(s *Schema) { s.Actions = append(s.Actions, s.Actions[0]) }, "actions[1]", "used twice"},
		{"duplicate property", func(s *Schema) { s.Properties = append(s.Properties, s.Properties[0]) }, "properties[1]", "used twice"},
		{"duplicate field in object", func(s *Schema) {
			in := s.Actions[0].Input
			in.Properties = append(in.Properties, in.Properties[0])
		}, "actions.create_order.input[1]", "used twice"},
		{"unknown field type", func(s *Schema) { s.Properties[0].Type = "text" }, "properties.shop_domain.type", "unknown type"},
		{"unknown auth type", func(s *Schema) { s.Auth[0].Type = "kerberos" }, "auth[0].type", "unknown auth type"},
		{"duplicate auth type", func(s *Schema) { s.Auth = append(s.Auth, AuthScheme{Type: AuthNone}) }, "auth.none", "declared twice"},
		{"api key without spec", func(s *Schema) { s.Auth[1].APIKey = nil }, "auth.api_key.api_key", "api_key spec"},
		{"api key bad location", func(s *Schema) { s.Auth[1].APIKey.In = "cookie" }, "auth.api_key.api_key.in", "header"},
		{"unknown oauth grant", func(s *Schema) { s.Auth[2].OAuth2.Grants = []string{"password"} }, "auth.oauth2.oauth2.grants", "unknown grant"},
		{"unknown mode", func(s *Schema) { s.Triggers[0].Modes = []Mode{"push"} }, "triggers.order_created.modes", "unknown mode"},
		{"no modes", func(s *Schema) { s.Triggers[0].Modes = nil }, "triggers.order_created.modes", "at least one mode"},
		{"unknown action kind", func(s *Schema) { s.Actions[0].Kind = "upsert" }, "actions.create_order.kind", "unknown action kind"},
		{"list without items", func(s *Schema) { s.Actions[0].Input.Properties[0].Items = nil }, "actions.create_order.input.lines.items", "needs items"},
		{"input not an object", func(s *Schema) { s.Actions[0].Input = &Field{Type: List, Items: &Field{Type: String}} }, "actions.create_order.input", "must be an object"},
		{"missing output", func(s *Schema) { s.Actions[0].Output = nil }, "actions.create_order.output", "required"},
		{"reconcile with unknown trigger", func(s *Schema) { s.Triggers[1].ReconcileWith = "nope" }, "triggers.order_stream.reconcile_with", "no trigger"},
		{"reconcile with trigger without poll", func(s *Schema) {
			s.Triggers[0].Modes = []Mode{ModeWebhook}
			s.Triggers[0].DefaultPollInterval = 0
		}, "triggers.order_stream.reconcile_with", "does not offer poll"},
		{"enum value of wrong type", func(s *Schema) {
			s.Triggers[0].Config[0].Enum = append(s.Triggers[0].Config[0].Enum, json.RawMessage(`1`))
		}, "triggers.order_created.config.status.enum[1]", "expected string"},
		{"default outside enum", func(s *Schema) { s.Triggers[0].Config[0].Default = json.RawMessage(`"refunded"`) }, "triggers.order_created.config.status.default", "must be one of"},
		{"default of wrong type", func(s *Schema) { s.Properties[0].Default = json.RawMessage(`5`) }, "properties.shop_domain.default", "expected string"},
		{"field example invalid", func(s *Schema) { s.Properties[0].Example = json.RawMessage(`true`) }, "properties.shop_domain.example", "expected string"},
		{"trigger example invalid", func(s *Schema) { s.Triggers[0].Example = json.RawMessage(`{"id":"x"}`) }, "triggers.order_created.example.id", "expected integer"},
		{"action example input invalid", func(s *Schema) { s.Actions[0].ExampleInput = json.RawMessage(`{"lines":[{}]}`) }, "actions.create_order.example_input.lines[0].sku", "required"},
		{"action example output invalid", func(s *Schema) { s.Actions[0].ExampleOutput = json.RawMessage(`{"idd":7}`) }, "actions.create_order.example_output.idd", "unknown property"},
		{"unknown format", func(s *Schema) { s.Properties[0].Format = "phone" }, "properties.shop_domain.format", "unknown format"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := validSchema()
			c.break_(s)
			vs := s.Check()
			for _, v := range vs {
				if v.Path == c.path && strings.Contains(v.Message, c.frag) {
					return
				}
			}
			t.Fatalf("no violation at %q containing %q; got %v", c.path, c.frag, vs)
		})
	}
}
