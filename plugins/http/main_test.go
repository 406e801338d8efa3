package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hubhq/hub/host/sandbox/warehouse"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/sdktest"
	"github.com/hubhq/hub/sdk/wire"
)

func TestConformance(t *testing.T) {
	sdktest.Conformance(t, newConnector(time.Now))
}

// fixedNow is the clock of tests that do not judge time.
func fixedNow() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

// harness serves the connector in-process with the given clock.
func harness(t *testing.T, now func() time.Time) *sdktest.Harness {
	t.Helper()
	return sdktest.New(t, newConnector(now))
}

// sandbox serves a fresh warehouse simulator on loopback.
func sandbox(t *testing.T) (*warehouse.Sim, string) {
	t.Helper()
	sim := warehouse.New(warehouse.Options{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

// warehouseConn is a bearer-token connection to the simulator at base.
func warehouseConn(base string, extra map[string]any) wire.Connection {
	props := map[string]any{"base_url": base}
	for k, v := range extra {
		props[k] = v
	}
	c := sdktest.Connection(props)
	c.Auth = wire.Auth{Type: schema.AuthBearer, Token: warehouse.DefaultToken}
	return c
}

// output decodes an action's output.
func output(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("output %s: %v", raw, err)
	}
	return out
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dig walks decoded JSON by keys.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// wantKind fails unless err is classified as k.
func wantKind(t *testing.T, err error, k fault.Kind) *fault.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", k)
	}
	e := fault.As(err)
	if e == nil || e.Kind != k {
		t.Fatalf("error %v is %v, want %v", err, fault.KindOf(err), k)
	}
	return e
}

// fixtures returns the shared fixtures directory or skips: a clean clone
// may not have it.
func fixtures(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("fixtures not found: no go.mod above the test")
		}
		dir = parent
	}
	fx := filepath.Join(dir, "..", "shared", "fixtures")
	if _, err := os.Stat(fx); err != nil {
		t.Skipf("fixtures not found at %s", fx)
	}
	return fx
}
