package state

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-version"

	"github.com/hubhq/hub/host/config"
	"github.com/hubhq/hub/host/lockfile"
	"github.com/hubhq/hub/host/registry"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

const base = `hub {
  required_connectors {
    shop      = { source = "hub/shopify", version = "~> 1.4" }
    warehouse = { source = "acme/warehouse", version = "~> 2.0" }
  }
}

variable "shop" {
  default = "acme"
}

variable "wh_key" {
  sensitive = true
}

connection "shop" {
  connector = "shop"
  auth "oauth2" {
    client_id     = "abc"
    client_secret = secret("shopify")
    scopes        = ["read_orders"]
  }
  properties = { shop = var.shop }
}

connection "warehouse" {
  connector = "warehouse"
  auth "api_key" {
    key = var.wh_key
  }
  env = { LOG_LEVEL = "info" }
  limits {
    concurrency = 8
    rate        = 20
  }
}

workflow "paid_orders" {
  trigger "shop" "order_created" {
    mode = "webhook"
    when = event.financial_status == "paid"
  }

  action "create" {
    connection = "warehouse"
    action     = "create_order"
    input = {
      ref   = tostring(event.id)
      lines = [for l in event.line_items : { sku = l.sku, qty = l.quantity }]
    }
    retry {
      attempts = 10
    }
  }
}

workflow "stock_sync" {
  trigger "warehouse" "stock_changed" {
    mode     = "poll"
    interval = "5m"
  }

  action "update" {
    connection = "shop"
    action     = "set_inventory"
    input      = { sku = event.sku, qty = event.qty }
  }
}
`

// sideBySide runs two major versions of one carrier connector at once.
const sideBySide = `hub {
  required_connectors {
    carrier_v1 = { source = "hub/carrier", version = "~> 1.4" }
    carrier_v2 = { source = "hub/carrier", version = "~> 2.0" }
  }
}

connection "ship_v1" {
  connector  = "carrier_v1"
  properties = { account = "acme" }
}

connection "ship_v2" {
  connector  = "carrier_v2"
  properties = { account = "acme" }
}

workflow "track_parcels" {
  trigger "ship_v1" "parcel_delivered" {
    mode = "poll"
  }
  action "mark" {
    connection = "ship_v1"
    action     = "add_note"
    input      = { id = event.awb, note = "delivered" }
  }
}

workflow "returns" {
  trigger "ship_v1" "return_created" {
    mode = "poll"
  }
  action "note" {
    connection = "ship_v1"
    action     = "add_note"
    input      = { id = event.awb, note = "returned" }
  }
}
`

func lockOf(t *testing.T, versions map[string]string) *lockfile.Lock {
	t.Helper()
	sources := map[string]string{"shop": "hub/shopify", "warehouse": "acme/warehouse", "carrier_v1": "hub/carrier", "carrier_v2": "hub/carrier"}
	l := lockfile.New()
	for name, v := range versions {
		l.Connectors[name] = &lockfile.Entry{Name: name, Source: sources[name], Version: version.Must(version.NewVersion(v)),
			Hashes: map[string]string{registry.Platform(): "sha256:" + strings.Repeat("0", 64)}}
	}
	return l
}

var (
	baseLock  = map[string]string{"shop": "1.4.2", "warehouse": "2.1.0"}
	carrierLk = map[string]string{"carrier_v1": "1.4.2", "carrier_v2": "2.0.1"}
	baseVars  = map[string]string{"wh_key": "hunter2"}
)

// build loads src as a workspace and builds its state.
func build(t *testing.T, src string, vars map[string]string, lock map[string]string) *State {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, diags := config.Load(dir, config.LoadOptions{Vars: vars})
	if diags.HasErrors() {
		t.Fatalf("load: %s", diags.Error())
	}
	s, err := Build(ws, lockOf(t, lock))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// memStore is a Store in memory.
type memStore map[string][]byte

func (m memStore) Get(tenant, kind, id string) ([]byte, bool, error) {
	v, ok := m[tenant+"/"+kind+"/"+id]
	return v, ok, nil
}

func (m memStore) Put(tenant, kind, id string, value []byte) error {
	m[tenant+"/"+kind+"/"+id] = value
	return nil
}

// applied stores s and loads it back, as the applied state arrives at a
// later plan.
func applied(t *testing.T, s *State) *State {
	t.Helper()
	st := memStore{}
	if err := s.Save(st, "default"); err != nil {
		t.Fatal(err)
	}
	got, err := Load(st, "default")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestPlan_Golden(t *testing.T) {
	reformatted := strings.NewReplacer(
		`input      = { sku = event.sku, qty = event.qty }`, "input = {\n      sku = event.sku # the SKU\n      qty   =   event.qty\n    }",
		`when = event.financial_status == "paid"`, `when = event.financial_status=="paid"`,
	).Replace(base)
	cases := []struct {
		name           string
		before, after  *State
		mustNotContain []string
	}{
		{name: "first_apply", after: build(t, base, baseVars, baseLock), mustNotContain: []string{"hunter2"}},
		{name: "no_changes", before: build(t, base, baseVars, baseLock), after: build(t, reformatted, baseVars, baseLock)},
		{
			name:   "attribute_change",
			before: build(t, base, baseVars, baseLock),
			after: build(t, strings.Replace(base, `mode     = "poll"`, `mode     = "poll"
    config   = { batch = 50 }`, 1),
				map[string]string{"wh_key": "hunter2", "shop": "globex"}, baseLock),
		},
		{
			name:   "secret_change",
			before: build(t, base, baseVars, baseLock),
			after: build(t, strings.NewReplacer(`secret("shopify")`, `secret("shopify_rotated")`, `key = var.wh_key`, `key = "${var.wh_key}-2"`).Replace(base),
				map[string]string{"wh_key": "swordfish"}, baseLock),
			mustNotContain: []string{"hunter2", "swordfish", "shopify_rotated", "wh_key"},
		},
		{
			name:   "removal",
			before: build(t, base, baseVars, baseLock),
			after:  build(t, base[:strings.Index(base, `workflow "stock_sync"`)], baseVars, baseLock),
		},
		{
			name:   "webhook_trigger_move",
			before: build(t, base, baseVars, baseLock),
			after: build(t, strings.Replace(base, `trigger "shop" "order_created"`, `trigger "shop_eu" "order_created"`, 1)+`
connection "shop_eu" {
  connector  = "shop"
  properties = { shop = "acme-eu" }
}
`, baseVars, baseLock),
		},
		{
			name:   "limits_change",
			before: build(t, base, baseVars, baseLock),
			after: build(t, strings.Replace(base, `    concurrency = 8
    rate        = 20`, `    rate  = 0.5
    burst = 40`, 1), baseVars, baseLock),
		},
		{
			name:   "connector_upgrade",
			before: build(t, base, baseVars, baseLock),
			after:  build(t, base, baseVars, map[string]string{"shop": "1.5.0", "warehouse": "2.1.0"}),
		},
		{
			name:   "side_by_side_version_move",
			before: build(t, sideBySide, nil, carrierLk),
			after: build(t, strings.Replace(strings.Replace(sideBySide, `trigger "ship_v1" "parcel_delivered"`, `trigger "ship_v2" "parcel_delivered"`, 1),
				"connection = \"ship_v1\"\n    action     = \"add_note\"\n    input      = { id = event.awb, note = \"delivered\" }",
				"connection = \"ship_v2\"\n    action     = \"add_note\"\n    input      = { id = event.awb, note = \"delivered\" }", 1), nil, carrierLk),
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before *State
			if c.before != nil {
				before = applied(t, c.before)
			}
			p := Diff(before, c.after)
			var got bytes.Buffer
			if err := p.Render(&got); err != nil {
				t.Fatal(err)
			}
			got.WriteString("---- json ----\n")
			j, err := json.MarshalIndent(p, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got.Write(j)
			got.WriteString("\n")
			for _, s := range c.mustNotContain {
				if strings.Contains(got.String(), s) {
					t.Errorf("the plan shows %q:\n%s", s, got.String())
				}
			}
			if again := Diff(before, c.after); !jsonEqual(t, p, again) {
				t.Error("two diffs of the same states differ")
			}
			golden := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got.String() != string(want) {
				t.Errorf("plan differs from %s (run go test -update if the change is intended):\n%s", golden, got.String())
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return bytes.Equal(x, y)
}

func TestPlan_NoChangesWhenOnlyFormattingAndCommentsDiffer(t *testing.T) {
	a := build(t, base, baseVars, baseLock)
	// A comment and line breaks inside a nested object of a leaf (the for
	// expression is compared as source text): a # or // comment holds its
	// line break, which must still separate the object's items.
	nested := strings.Replace(base, `lines = [for l in event.line_items : { sku = l.sku, qty = l.quantity }]`,
		"lines = [for l in event.line_items : {\n        sku = l.sku # the SKU\n        // the quantity\n        qty = l.quantity\n      }]", 1)
	if nested == base {
		t.Fatal("the test's replacement did not apply")
	}
	for name, src := range map[string]string{
		"reindented":      strings.ReplaceAll(base, "  ", "    ") + "# a trailing comment\n",
		"nested_comments": nested,
	} {
		t.Run(name, func(t *testing.T) {
			b := build(t, src, baseVars, baseLock)
			if p := Diff(applied(t, a), b); p.HasChanges() {
				var out bytes.Buffer
				_ = p.Render(&out)
				t.Fatalf("reformatting produced a plan:\n%s", out.String())
			}
		})
	}
}

func TestCanonicalText_CommentsInNestedObjectsKeepItemsSeparate(t *testing.T) {
	got := canonicalText([]byte("[for l in xs : {\n  a = l.a # note\n  b = l.b // note\n  c = 1\n}]"))
	want := canonicalText([]byte("[for l in xs : { a = l.a, b = l.b, c = 1 }]"))
	if got != want {
		t.Fatalf("canonical text with comments = %q, want %q", got, want)
	}
}

func TestSave_StoresNoSecretValue(t *testing.T) {
	s := build(t, base, map[string]string{"wh_key": "hunter2"}, baseLock)
	st := memStore{}
	if err := s.Save(st, "default"); err != nil {
		t.Fatal(err)
	}
	data := st["default/applied/workspace"]
	if len(data) == 0 {
		t.Fatal("nothing stored under default/applied/workspace")
	}
	if bytes.Contains(data, []byte("hunter2")) || bytes.Contains(data, []byte(`secret(`)) {
		t.Fatalf("the stored state holds a secret:\n%s", data)
	}
	if !bytes.Contains(data, []byte(Redacted)) {
		t.Fatalf("the stored state does not mark secrets redacted:\n%s", data)
	}
}

func TestLoad_NothingAppliedIsEmptyAndTenantsAreSeparate(t *testing.T) {
	st := memStore{}
	if err := build(t, base, baseVars, baseLock).Save(st, "acme"); err != nil {
		t.Fatal(err)
	}
	s, err := Load(st, "globex")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Connections) != 0 || len(s.Workflows) != 0 {
		t.Fatalf("another tenant sees acme's state: %+v", s)
	}
	if s, err := Load(st, "acme"); err != nil || len(s.Workflows) != 2 {
		t.Fatalf("acme's state: %+v, %v", s, err)
	}
}

func TestLoad_RefusesAnUnknownFormatVersion(t *testing.T) {
	st := memStore{"default/applied/workspace": []byte(`{"version": 99}`)}
	if _, err := Load(st, "default"); err == nil || !strings.Contains(err.Error(), "format version 99") {
		t.Fatalf("got %v", err)
	}
}

func TestBuild_RefusesAConnectorMissingFromTheLock(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, diags := config.Load(dir, config.LoadOptions{Vars: baseVars})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	_, err := Build(ws, lockOf(t, map[string]string{"shop": "1.4.2"}))
	if err == nil || !strings.Contains(err.Error(), `"warehouse"`) || !strings.Contains(err.Error(), "hub init") {
		t.Fatalf("got %v", err)
	}
}

func TestPlanAndStore_LiteralCredentialsAreRedacted(t *testing.T) {
	src := strings.NewReplacer(
		`key = var.wh_key`, `key = "literal-api-key"`,
		`client_secret = secret("shopify")`, `client_secret = "literal-client-secret"`,
	).Replace(base) + `
connection "wms" {
  connector = "warehouse"
  auth "session" {
    credentials = { email = "ops@example.com", password = "literal-password" }
  }
}

connection "legacy" {
  connector = "warehouse"
  auth "basic" {
    username = "ops"
    password = "literal-basic-password"
  }
}

connection "bearer" {
  connector = "warehouse"
  auth "bearer" {
    token = "literal-token"
  }
}
`
	s := build(t, src, baseVars, baseLock)
	st := memStore{}
	if err := s.Save(st, "default"); err != nil {
		t.Fatal(err)
	}
	p := Diff(nil, s)
	var text bytes.Buffer
	if err := p.Render(&text); err != nil {
		t.Fatal(err)
	}
	plan, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for what, out := range map[string][]byte{"plan text": text.Bytes(), "plan JSON": plan, "stored state": st["default/applied/workspace"]} {
		for _, lit := range []string{"literal-api-key", "literal-client-secret", "literal-password", "literal-basic-password", "literal-token", "ops@example.com"} {
			if bytes.Contains(out, []byte(lit)) {
				t.Errorf("the %s shows %q:\n%s", what, lit, out)
			}
		}
	}
	// A rotated literal is still a change.
	rotated := build(t, strings.Replace(src, "literal-token", "literal-token-2", 1), baseVars, baseLock)
	if p := Diff(applied(t, s), rotated); !p.HasChanges() {
		t.Error("changing a literal token planned no change")
	}
}

func TestPlan_VariableReadByAnEventMappingIsAChange(t *testing.T) {
	src := strings.Replace(base, `input      = { sku = event.sku, qty = event.qty }`,
		`input      = { sku = "${var.shop}-${event.sku}", qty = event.qty }`, 1)
	before := build(t, src, baseVars, baseLock)
	after := build(t, src, map[string]string{"wh_key": "hunter2", "shop": "globex"}, baseLock)
	p := Diff(applied(t, before), after)
	var out bytes.Buffer
	if err := p.Render(&out); err != nil {
		t.Fatal(err)
	}
	want := `~ action.update.input.sku: "${var.shop}-${event.sku}" with var.shop = "acme" -> "${var.shop}-${event.sku}" with var.shop = "globex"`
	if !strings.Contains(out.String(), want) {
		t.Fatalf("the plan does not show the changed input; want a line\n%s\ngot:\n%s", want, out.String())
	}
	// A sensitive input changes the plan without being shown.
	secretSrc := strings.Replace(base, `input      = { sku = event.sku, qty = event.qty }`,
		`input      = { sku = "${var.wh_key}-${event.sku}", qty = event.qty }`, 1)
	p = Diff(applied(t, build(t, secretSrc, baseVars, baseLock)), build(t, secretSrc, map[string]string{"wh_key": "swordfish"}, baseLock))
	out.Reset()
	_ = p.Render(&out)
	if !strings.Contains(out.String(), "action.update.input.sku") || strings.Contains(out.String(), "swordfish") || strings.Contains(out.String(), "hunter2") {
		t.Fatalf("a changed sensitive input must show as a redacted change:\n%s", out.String())
	}
}

func TestPlan_ChangedValueOfASensitiveVariableIsAChange(t *testing.T) {
	// key = var.wh_key: the source text stays, the value does not. The
	// plan must still see it, or apply would keep the old key.
	before := build(t, base, map[string]string{"wh_key": "hunter2"}, baseLock)
	after := build(t, base, map[string]string{"wh_key": "swordfish"}, baseLock)
	p := Diff(applied(t, before), after)
	var out bytes.Buffer
	if err := p.Render(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "auth.key: (sensitive) -> (sensitive)") {
		t.Fatalf("changing a sensitive variable's value planned no change of auth.key:\n%s", out.String())
	}
	for _, lit := range []string{"hunter2", "swordfish"} {
		if strings.Contains(out.String(), lit) {
			t.Errorf("the plan shows %q:\n%s", lit, out.String())
		}
	}
	if p := Diff(applied(t, before), build(t, base, map[string]string{"wh_key": "hunter2"}, baseLock)); p.HasChanges() {
		t.Error("the same value planned a change")
	}
}

func TestSave_RecordsLimitsAndLoadReadsThemBack(t *testing.T) {
	s := build(t, base, baseVars, baseLock)
	st := memStore{}
	if err := s.Save(st, "default"); err != nil {
		t.Fatal(err)
	}
	if data := st["default/applied/workspace"]; !bytes.Contains(data, []byte(`"limits":{"concurrency":8,"rate":20}`)) {
		t.Fatalf("the stored state does not record the warehouse's limits as written:\n%s", data)
	}
	got, err := Load(st, "default")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := got.connection("warehouse")
	if c.Limits == nil || *c.Limits != (Limits{Concurrency: 8, Rate: 20}) {
		t.Fatalf("loaded limits = %+v, want concurrency 8, rate 20", c.Limits)
	}
	if shop, _ := got.connection("shop"); shop.Limits != nil {
		t.Fatalf("a connection without a limits block loaded limits %+v", *shop.Limits)
	}
}

func TestBuild_AnEmptyLimitsBlockIsTheSameAsNone(t *testing.T) {
	without := build(t, strings.Replace(base, "  limits {\n    concurrency = 8\n    rate        = 20\n  }\n", "", 1), baseVars, baseLock)
	empty := build(t, strings.Replace(base, "  limits {\n    concurrency = 8\n    rate        = 20\n  }\n", "  limits {}\n", 1), baseVars, baseLock)
	if c, _ := without.connection("warehouse"); c.Limits != nil {
		t.Fatal("the test's replacement did not apply")
	}
	if !jsonEqual(t, without, empty) {
		t.Fatal("an empty limits block changed the state")
	}
}

func TestPlan_RemovingALimitsBlockIsAConnectionChange(t *testing.T) {
	before := build(t, base, baseVars, baseLock)
	after := build(t, strings.Replace(base, "  limits {\n    concurrency = 8\n    rate        = 20\n  }\n", "", 1), baseVars, baseLock)
	p := Diff(applied(t, before), after)
	if p.Summary != (Summary{Change: 1}) || len(p.Connections) != 1 || p.Connections[0].Name != "warehouse" || len(p.Subscriptions) != 0 {
		t.Fatalf("plan = %+v, want one connection change and no subscription change", p)
	}
	var paths []string
	for _, a := range p.Connections[0].Attributes {
		if a.After != nil {
			t.Errorf("%s has a new value %s", a.Path, *a.After)
		}
		paths = append(paths, a.Path)
	}
	if strings.Join(paths, ",") != "limits.concurrency,limits.rate" {
		t.Fatalf("changed attributes = %v, want limits.concurrency and limits.rate removed", paths)
	}
}
