package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hubhq/hub/host/runs"
)

// The commerce example (examples/commerce) against the real connectors
// and the sandbox simulators, all as separate processes.

// commerceConnectors are the connectors examples/commerce requires.
var commerceConnectors = []string{"shopify", "http", "shiprocket"}

var (
	commerceBuild     sync.Once
	commerceBins      []string // built connector binaries
	commerceBuildErrs error
)

// buildCommerceConnectors builds the connectors the commerce example
// needs, once per test binary run, beside the hub binary TestMain built
// (and removes).
func buildCommerceConnectors(t *testing.T) []string {
	t.Helper()
	commerceBuild.Do(func() {
		root, err := filepath.Abs("../..")
		if err != nil {
			commerceBuildErrs = err
			return
		}
		dir := filepath.Join(filepath.Dir(hubBin), "commerce")
		var wg sync.WaitGroup
		errs := make([]error, len(commerceConnectors))
		bins := make([]string, len(commerceConnectors))
		for i, name := range commerceConnectors {
			bins[i] = filepath.Join(dir, "hub-connector-"+name)
			wg.Go(func() {
				cmd := exec.Command("go", "build", "-o", bins[i], "./plugins/"+name)
				cmd.Dir = root
				if out, err := cmd.CombinedOutput(); err != nil {
					errs[i] = fmt.Errorf("build plugins/%s: %v\n%s", name, err, out)
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				commerceBuildErrs = err
				return
			}
		}
		commerceBins = bins
	})
	if commerceBuildErrs != nil {
		t.Fatal(commerceBuildErrs)
	}
	return commerceBins
}

// commerceWorkspace copies examples/commerce into a temporary workspace,
// with every poll interval replaced by interval when it is not empty,
// installs the connectors into a private plugin directory and runs hub
// init.
func commerceWorkspace(t *testing.T, interval string) (dir, plugins string) {
	t.Helper()
	dir, plugins = t.TempDir(), t.TempDir()
	files, err := filepath.Glob("../../examples/commerce/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("examples/commerce: %v (%d files)", err, len(files))
	}
	polls := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".lock.hcl") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(src)
		if interval != "" {
			polls += strings.Count(s, `interval = "10s"`)
			s = strings.ReplaceAll(s, `interval = "10s"`, fmt.Sprintf("interval = %q", interval))
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if interval != "" && polls != 4 {
		t.Fatalf(`examples/commerce has %d poll triggers with interval = "10s", want 4 (the test shortens them)`, polls)
	}
	for _, bin := range buildCommerceConnectors(t) {
		mustHub(t, plugins, "connectors", "install", bin)
	}
	mustHub(t, plugins, "init", "-dir", dir)
	return dir, plugins
}

// The commerce example locks and validates against the real connectors'
// schemas, with no environment and with each of its environments.
func TestCLI_ExampleCommerceInitsAndValidates(t *testing.T) {
	dir, plugins := commerceWorkspace(t, "")
	for _, args := range [][]string{nil, {"-env", "sandbox"}, {"-env", "live"}} {
		r := mustHub(t, plugins, append([]string{"validate", "-dir", dir}, args...)...)
		if !strings.Contains(r.stdout, "valid (3 connections, 5 workflows)") || r.stderr != "" {
			t.Fatalf("validate %v: %+v", args, r)
		}
	}
}

// syncBuffer is a bytes.Buffer that a process's output may be written
// to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sandboxProc is a hub sandbox started by a test.
type sandboxProc struct {
	t    *testing.T
	apps map[string]sandboxApp
}

// startSandbox runs hub sandbox on a free loopback port and reads the
// applications it prints; the process is killed when the test ends.
func startSandbox(t *testing.T) *sandboxProc {
	t.Helper()
	cmd := exec.Command(hubBin, "sandbox", "-addr", "127.0.0.1:0", "-json")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	decoded := make(chan []sandboxApp, 1)
	go func() {
		var apps []sandboxApp
		if json.NewDecoder(stdout).Decode(&apps) == nil {
			decoded <- apps
		}
		close(decoded)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	sb := &sandboxProc{t: t, apps: map[string]sandboxApp{}}
	select {
	case apps, ok := <-decoded:
		if !ok {
			t.Fatalf("hub sandbox printed no applications:\n%s", stderr)
		}
		for _, a := range apps {
			sb.apps[a.Name] = a
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("hub sandbox did not start:\n%s", stderr)
	}
	for _, name := range []string{"shopify", "shiprocket", "warehouse"} {
		if _, ok := sb.apps[name]; !ok {
			t.Fatalf("hub sandbox has no %s: %+v", name, sb.apps)
		}
	}
	return sb
}

// base is the sandbox's address, what the workspace's sandbox_url takes.
func (sb *sandboxProc) base() string {
	return strings.TrimSuffix(sb.apps["shopify"].BaseURL, "/shopify")
}

// call sends method url with a JSON body and headers, and decodes a JSON
// answer into out (when not nil); any status but want fails the test.
func (sb *sandboxProc) call(method, url string, body any, headers map[string]string, want int, out any) {
	sb.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			sb.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		sb.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		sb.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		sb.t.Fatalf("%s %s: %s, want %d: %s", method, url, resp.Status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			sb.t.Fatalf("%s %s: %v: %s", method, url, err, b)
		}
	}
}

// shopState is what the shop simulator's control route shows.
type shopState struct {
	Orders []struct {
		ID          int64  `json:"id"`
		Name        string `json:"name"`
		OrderNumber int    `json:"order_number"`
		Tags        string `json:"tags"`
	} `json:"orders"`
	InventoryLevels []struct {
		InventoryItemID int64 `json:"inventory_item_id"`
		LocationID      int64 `json:"location_id"`
		Available       int   `json:"available"`
	} `json:"inventory_levels"`
	Webhooks []struct {
		Topic   string `json:"topic"`
		Address string `json:"address"`
	} `json:"webhooks"`
}

func (sb *sandboxProc) shop() shopState {
	sb.t.Helper()
	var st shopState
	sb.call("GET", sb.apps["shopify"].Control+"/state", nil, nil, 200, &st)
	return st
}

// warehouseOrder is an order of the warehouse simulator.
type warehouseOrder struct {
	ID     string `json:"id"`
	Ref    string `json:"ref"`
	Status string `json:"status"`
	Lines  []struct {
		SKU string `json:"sku"`
		Qty int    `json:"qty"`
	} `json:"lines"`
}

// warehouseOrders asks the warehouse's API for the orders with ref.
func (sb *sandboxProc) warehouseOrders(ref string) []warehouseOrder {
	sb.t.Helper()
	wh := sb.apps["warehouse"]
	var out struct {
		Data struct {
			Orders []warehouseOrder `json:"orders"`
		} `json:"data"`
	}
	sb.call("GET", wh.BaseURL+"/api/orders?ref="+strings.ReplaceAll(ref, "#", "%23"), nil,
		map[string]string{"Authorization": "Bearer " + wh.Credentials["token"]}, 200, &out)
	return out.Data.Orders
}

// shipWithCarrier creates the carrier's shipment for the merchant order
// ref through Shiprocket's API, as a shipping desk would, and returns its
// AWB.
func (sb *sandboxProc) shipWithCarrier(ref string) string {
	sb.t.Helper()
	sr := sb.apps["shiprocket"]
	var login struct {
		Token string `json:"token"`
	}
	sb.call("POST", sr.BaseURL+"/v1/external/auth/login",
		map[string]string{"email": sr.Credentials["email"], "password": sr.Credentials["password"]}, nil, 200, &login)
	auth := map[string]string{"Authorization": "Bearer " + login.Token}
	var created struct {
		ShipmentID json.Number `json:"shipment_id"`
	}
	sb.call("POST", sr.BaseURL+"/v1/external/orders/create/adhoc", map[string]any{
		"order_id": ref, "order_date": time.Now().Format("2006-01-02 15:04"), "pickup_location": "Primary",
		"billing_customer_name": "Ada", "billing_last_name": "Lovelace", "billing_address": "Chestnut Street 92",
		"billing_city": "Louisville", "billing_pincode": "40202", "billing_state": "Kentucky", "billing_country": "India",
		"billing_email": "ada@example.com", "billing_phone": "9876543210", "shipping_is_billing": true,
		"order_items":    []map[string]any{{"name": "IPod Nano - 8gb", "sku": "IPOD2008GREEN", "units": 2, "selling_price": 199}},
		"payment_method": "Prepaid", "sub_total": 398, "length": 10, "breadth": 10, "height": 5, "weight": 0.5,
	}, auth, 200, &created)
	var assigned struct {
		Response struct {
			Data struct {
				AWB string `json:"awb_code"`
			} `json:"data"`
		} `json:"response"`
	}
	sb.call("POST", sr.BaseURL+"/v1/external/courier/assign/awb", map[string]any{"shipment_id": created.ShipmentID}, auth, 200, &assigned)
	if assigned.Response.Data.AWB == "" {
		sb.t.Fatalf("no AWB assigned to the carrier's shipment of %s", ref)
	}
	return assigned.Response.Data.AWB
}

func hasTag(tags, want string) bool {
	for _, tag := range strings.Split(tags, ",") {
		if strings.EqualFold(strings.TrimSpace(tag), want) {
			return true
		}
	}
	return false
}

// The five workflows of examples/commerce run end to end with the real hub
// binary, the real connectors and the sandbox's simulators: an order
// placed in the shop reaches the warehouse, the warehouse's packing and
// the carrier's delivery come back to the shop as tags and to the
// warehouse as the order's status, and a stock change in the warehouse
// sets the shop's inventory.
func TestCommerce_FiveWorkflowsAgainstTheSandbox(t *testing.T) {
	const (
		sku      = "IPOD2008GREEN" // a variant of the shop's seeded catalogue
		itemID   = 39072856        // its inventory item
		newStock = 17
		wait     = 15 * time.Second
	)
	sb := startSandbox(t)
	dir, plugins := commerceWorkspace(t, "300ms")

	// The shop names orders in sequence: the order the test places is the
	// next one, and the carrier already has a shipment for it (the AWB the
	// carrier workflow watches is configuration).
	next := 0
	for _, o := range sb.shop().Orders {
		next = max(next, o.OrderNumber+1)
	}
	ref := fmt.Sprintf("#%d", next)
	awb := sb.shipWithCarrier(ref)

	shop, wh, sr := sb.apps["shopify"], sb.apps["warehouse"], sb.apps["shiprocket"]
	for name, value := range map[string]string{
		"shopify_token":         shop.Credentials["access_token"],
		"shopify_client_secret": shop.Credentials["client_secret"],
		"warehouse_token":       wh.Credentials["token"],
		"shiprocket_password":   sr.Credentials["password"],
	} {
		mustHubSecrets(t, value, nil, "secrets", "set", name, "-dir", dir)
	}
	mustHub(t, plugins, "apply", "-dir", dir, "-env", "sandbox", "-var", "sandbox_url="+sb.base(),
		"-var", fmt.Sprintf("carrier_awbs=[%q]", awb), "-auto-approve")
	h := appliedAt(dir, plugins).start(t, "")
	waitFor(t, wait, "hub to subscribe to the shop's orders/create", func() bool {
		for _, w := range sb.shop().Webhooks {
			if w.Topic == "orders/create" && strings.HasPrefix(w.Address, h.info.URL+"/webhooks/") {
				return true
			}
		}
		return false
	})

	// 1. A customer checks out: the shop delivers orders/create, signed.
	var placed struct {
		Order struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"order"`
	}
	sb.call("POST", shop.Control+"/orders", map[string]any{
		"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "financial_status": "paid",
		"line_items": []map[string]any{{"sku": sku, "quantity": 2}},
	}, nil, 201, &placed)
	if placed.Order.Name != ref {
		t.Fatalf("the shop named the order %q, want %q", placed.Order.Name, ref)
	}
	var order warehouseOrder
	waitFor(t, wait, "the warehouse to have order "+ref, func() bool {
		if found := sb.warehouseOrders(ref); len(found) == 1 {
			order = found[0]
			return true
		}
		return false
	})
	if len(order.Lines) != 1 || order.Lines[0].SKU != sku || order.Lines[0].Qty != 2 {
		t.Fatalf("warehouse order lines: %+v, want 2 × %s", order.Lines, sku)
	}
	shopTags := func() string {
		for _, o := range sb.shop().Orders {
			if o.ID == placed.Order.ID {
				return o.Tags
			}
		}
		t.Fatalf("the shop lost order %d", placed.Order.ID)
		return ""
	}

	// 2. The warehouse packs it: the shop order is ready to ship.
	sb.call("POST", wh.Control+"/advance", map[string]string{"order_id": order.ID, "status": "packed"}, nil, 204, nil)
	waitFor(t, wait, "the shop order to be tagged Ready to ship", func() bool { return hasTag(shopTags(), "Ready to ship") })
	sb.call("POST", wh.Control+"/advance", map[string]string{"order_id": order.ID, "status": "shipped"}, nil, 204, nil)

	// 3. The carrier delivers it: the warehouse order is delivered.
	sb.call("POST", sr.Control+"/status", map[string]any{"awb": awb, "status_code": 7}, nil, 200, nil)
	waitFor(t, wait, "the warehouse order to be delivered", func() bool {
		found := sb.warehouseOrders(ref)
		return len(found) == 1 && found[0].Status == "delivered"
	})

	// 4. The warehouse's delivered shipment: the shop order is delivered.
	waitFor(t, wait, "the shop order to be tagged Delivered", func() bool { return hasTag(shopTags(), "Delivered") })

	// 5. The warehouse counts new stock: the shop's available count follows.
	sb.call("POST", wh.Control+"/stock", map[string]any{"sku": sku, "qty": newStock}, nil, 204, nil)
	waitFor(t, wait, fmt.Sprintf("the shop to have %d of %s available", newStock, sku), func() bool {
		for _, l := range sb.shop().InventoryLevels {
			if l.InventoryItemID == itemID {
				return l.Available == newStock
			}
		}
		return false
	})

	// Every workflow ran, and no run failed on the way.
	var list struct{ Runs []runs.Summary }
	h.api("GET", "/v1/runs?limit=1000", &list)
	ran := map[string]bool{}
	for _, r := range list.Runs {
		if r.Status == runs.Failed || r.Status == runs.Dead {
			t.Errorf("run %s of %s is %s: %s", r.ID, r.Workflow, r.Status, r.Error)
		}
		ran[r.Workflow] = true
	}
	for _, w := range []string{"shop_order_to_warehouse", "packed_to_shop", "carrier_delivered_to_warehouse", "warehouse_delivered_to_shop", "stock_to_shop"} {
		if !ran[w] {
			t.Errorf("workflow %s never ran; runs: %+v", w, list.Runs)
		}
	}
	if !hasTag(shopTags(), "Ready to ship") {
		t.Errorf("the shop order lost its Ready to ship tag: %q", shopTags())
	}
}

// hub sandbox reset returns every simulator to its seeded state: an
// order placed in the shop and a stock change in the warehouse are gone.
func TestSandbox_ResetRestoresTheSeed(t *testing.T) {
	sb := startSandbox(t)
	seeded := len(sb.shop().Orders)
	sb.call("POST", sb.apps["shopify"].Control+"/orders", map[string]any{
		"email": "a@example.com", "first_name": "Ada", "last_name": "Lovelace",
		"line_items": []map[string]any{{"sku": "IPOD2008GREEN", "quantity": 1}},
	}, nil, http.StatusCreated, nil)
	if got := len(sb.shop().Orders); got != seeded+1 {
		t.Fatalf("%d orders after placing one, want %d", got, seeded+1)
	}
	r := mustHub(t, t.TempDir(), "sandbox", "reset", "-addr", strings.TrimPrefix(sb.base(), "http://"))
	if !strings.Contains(r.stdout, "Sandbox reset") {
		t.Fatalf("reset: %s", r.stdout)
	}
	if got := len(sb.shop().Orders); got != seeded {
		t.Fatalf("%d orders after reset, want the %d seeded", got, seeded)
	}
	if bad := hub(t, t.TempDir(), "sandbox", "reset", "-addr", "127.0.0.1:1"); bad.code != 1 || !strings.Contains(bad.stderr, "no hub sandbox") {
		t.Fatalf("reset with no sandbox: exit %d: %s", bad.code, bad.stderr)
	}
}
