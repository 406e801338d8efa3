package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/hubhq/hub/sdk/schema"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testSchemas are the connectors testdata workspaces require, by the local
// names they use: shop, warehouse, and carrier 1.x and 2.x side by side.
func testSchemas() map[string]*schema.Schema {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	line := schema.Field{Type: schema.Object, Properties: []schema.Field{
		{Name: "sku", Type: schema.String, Required: true},
		{Name: "qty", Type: schema.Integer, Required: true},
	}}
	shop := &schema.Schema{
		Name: "shopify", Version: "1.4.2",
		Auth: []schema.AuthScheme{{Type: schema.AuthOAuth2, OAuth2: &schema.OAuth2Spec{Grants: []string{"authorization_code"}}}, {Type: schema.AuthAPIKey}},
		Properties: []schema.Field{
			{Name: "shop", Type: schema.String, Required: true},
			{Name: "api_version", Type: schema.String, Deprecation: &schema.Deprecation{Message: "pinned by the connector"}},
		},
		Triggers: []schema.Trigger{
			{Name: "order_created", Modes: []schema.Mode{schema.ModeWebhook, schema.ModePoll}, Config: []schema.Field{
				{Name: "status", Type: schema.String, Enum: []json.RawMessage{raw(`"any"`), raw(`"open"`)}},
			}},
			{Name: "order_paid", Modes: []schema.Mode{schema.ModeWebhook}, Deprecation: &schema.Deprecation{Message: "use order_created with a when", ReplacedBy: "order_created"}},
		},
		Actions: []schema.Action{
			{Name: "update_order", Kind: schema.KindUpdate, Input: &schema.Field{Type: schema.Object, Properties: []schema.Field{
				{Name: "id", Type: schema.Integer, Required: true},
				{Name: "status", Type: schema.String, Required: true},
				{Name: "note", Type: schema.String},
				{Name: "tags", Type: schema.List, Items: &schema.Field{Type: schema.String}},
			}}},
			{Name: "set_inventory", Kind: schema.KindUpdate, Input: &schema.Field{Type: schema.Object, Properties: []schema.Field{
				{Name: "sku", Type: schema.String, Required: true},
				{Name: "available", Type: schema.Integer, Required: true},
			}}},
			{Name: "close_order", Kind: schema.KindUpdate, Deprecation: &schema.Deprecation{Message: "orders close themselves"}, Input: &schema.Field{Type: schema.Object, Properties: []schema.Field{
				{Name: "id", Type: schema.Integer, Required: true},
			}}},
		},
	}
	warehouse := &schema.Schema{
		Name: "http", Version: "1.0.0",
		Auth:       []schema.AuthScheme{{Type: schema.AuthBasic}, {Type: schema.AuthBearer}, {Type: schema.AuthSession, Fields: []schema.Field{{Name: "email", Type: schema.String, Required: true, Format: "email"}, {Name: "password", Type: schema.String, Required: true, Secret: true}}}},
		Properties: []schema.Field{{Name: "base_url", Type: schema.String, Required: true, Format: "uri"}},
		Triggers: []schema.Trigger{
			{Name: "shipment_packed", Modes: []schema.Mode{schema.ModePoll}},
			{Name: "stock_changed", Modes: []schema.Mode{schema.ModeStream}},
		},
		Actions: []schema.Action{
			{Name: "search_order", Kind: schema.KindSearch, Input: &schema.Field{Type: schema.Object, Properties: []schema.Field{{Name: "ref", Type: schema.String, Required: true}}}},
			{Name: "create_order", Kind: schema.KindCreate, Input: &schema.Field{Type: schema.Object, Properties: []schema.Field{
				{Name: "ref", Type: schema.String, Required: true},
				{Name: "lines", Type: schema.List, Required: true, Items: &line},
				{Name: "address", Type: schema.Object, Properties: []schema.Field{
					{Name: "city", Type: schema.String, Required: true},
					{Name: "zip", Type: schema.String},
				}},
			}}},
		},
	}
	carrier1 := &schema.Schema{
		Name: "shiprocket", Version: "1.9.0",
		Auth:        []schema.AuthScheme{{Type: schema.AuthBearer}},
		Deprecation: &schema.Deprecation{Message: "1.x reaches end of life in 2027", ReplacedBy: "shiprocket 2.x"},
		Triggers:    []schema.Trigger{{Name: "delivered", Modes: []schema.Mode{schema.ModeWebhook}}},
		Actions:     []schema.Action{{Name: "track", Kind: schema.KindRead, Input: &schema.Field{Type: schema.Object, Properties: []schema.Field{{Name: "awb", Type: schema.String, Required: true}}}}},
	}
	carrier2 := &schema.Schema{
		Name: "shiprocket", Version: "2.1.0",
		Auth:     []schema.AuthScheme{{Type: schema.AuthBearer}},
		Triggers: []schema.Trigger{{Name: "shipment_event", Modes: []schema.Mode{schema.ModeWebhook, schema.ModeStream}}},
		Actions:  []schema.Action{{Name: "track_shipment", Kind: schema.KindRead, Input: &schema.Field{Type: schema.Object, Properties: []schema.Field{{Name: "awb", Type: schema.String, Required: true}, {Name: "carrier", Type: schema.String}}}}},
	}
	return map[string]*schema.Schema{"shop": shop, "warehouse": warehouse, "carrier": carrier1, "carrier_v1": carrier1, "carrier_v2": carrier2}
}

// goldenOptions are the load options every testdata workspace gets.
func goldenOptions() LoadOptions {
	return LoadOptions{
		Getenv: func(name string) string {
			return map[string]string{"SHOP_CLIENT_ID": "client-123"}[name]
		},
	}
}

// render prints diagnostics the way the CLI does, without color or
// wrapping, so golden files hold file:line:col and the source line.
func render(t *testing.T, files map[string]*hcl.File, diags hcl.Diagnostics) string {
	t.Helper()
	var buf bytes.Buffer
	w := hcl.NewDiagnosticTextWriter(&buf, files, 0, false)
	if err := w.WriteDiagnostics(diags); err != nil {
		t.Fatalf("render diagnostics: %v", err)
	}
	return buf.String()
}

func loadAndValidate(dir string, opts LoadOptions, schemas map[string]*schema.Schema) (*Workspace, hcl.Diagnostics) {
	ws, diags := Load(dir, opts)
	if ws != nil {
		diags = append(diags, Validate(ws, schemas)...)
	}
	return ws, diags
}

// TestWorkspaces_DiagnosticsMatchGolden loads and validates every
// workspace under testdata/workspaces and compares the rendered
// diagnostics with its diagnostics.golden (empty for a valid workspace).
func TestWorkspaces_DiagnosticsMatchGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "workspaces", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no testdata workspaces")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			opts := goldenOptions()
			if vf, err := filepath.Glob(filepath.Join(dir, "*"+VarsFileSuffix)); err == nil {
				opts.VarFiles = vf
			}
			ws, diags := loadAndValidate(dir, opts, testSchemas())
			var files map[string]*hcl.File
			if ws != nil {
				files = ws.Files
			}
			got := render(t, files, diags)
			golden := filepath.Join(dir, "diagnostics.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run with -update to create it): %v", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics differ from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}
