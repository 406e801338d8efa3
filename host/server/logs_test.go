package server

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/host/logbus"
)

func TestLogs_WithoutFollowIsTheMatchingBacklogAsNDJSON(t *testing.T) {
	f := newFixture(t, Options{})
	f.bus.Publish(logbus.Entry{Level: "info", Message: "host started"})
	f.bus.Publish(logbus.Entry{Level: "debug", Message: "orders debug", Tenant: "default", Workflow: "orders"})
	f.bus.Publish(logbus.Entry{Level: "warn", Message: "orders warn", Tenant: "default", Workflow: "orders", Run: "r1"})
	f.bus.Publish(logbus.Entry{Level: "warn", Message: "other tenant", Tenant: "acme", Workflow: "orders"})
	f.bus.Publish(logbus.Entry{Level: "error", Message: "parcels", Tenant: "default", Workflow: "parcels"})

	for _, tc := range []struct{ query, want string }{
		{"", "host started|orders debug|orders warn|parcels"},
		{"?backlog=2", "orders warn|parcels"},
		{"?workflow=orders", "orders debug|orders warn"},
		{"?run=r1", "orders warn"},
		{"?level=warn", "orders warn|parcels"},
		{"?tenant=acme", "host started|other tenant"},
		{"?backlog=0", ""},
	} {
		rec := f.get(t, "/v1/logs"+tc.query)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("%s: %d %v", tc.query, rec.Code, rec.Header())
		}
		var got []string
		sc := bufio.NewScanner(rec.Body)
		for sc.Scan() {
			var e logbus.Entry
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("%s: line %q: %v", tc.query, sc.Text(), err)
			}
			got = append(got, e.Message)
		}
		if g := strings.Join(got, "|"); g != tc.want {
			t.Errorf("%s: got %q, want %q", tc.query, g, tc.want)
		}
	}
	wantError(t, f.get(t, "/v1/logs?level=loud"), http.StatusBadRequest, CodeBadRequest)
	wantError(t, f.get(t, "/v1/logs?follow=maybe"), http.StatusBadRequest, CodeBadRequest)
	wantError(t, f.get(t, "/v1/logs?backlog=-1"), http.StatusBadRequest, CodeBadRequest)
}

func TestLogs_AnUnmarshallableFieldDoesNotEndTheStream(t *testing.T) {
	f := newFixture(t, Options{})
	f.bus.Publish(logbus.Entry{Level: "info", Message: "odd", Fields: map[string]any{"ch": make(chan int)}})
	f.bus.Publish(logbus.Entry{Level: "info", Message: "next"})
	lines := strings.Split(strings.TrimSpace(f.get(t, "/v1/logs").Body.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"fields_error"`) || !strings.Contains(lines[1], `"next"`) {
		t.Fatalf("lines = %q", lines)
	}
}

// follow opens a follow stream on a real server and returns a line reader.
func follow(t *testing.T, base, query string) (*bufio.Scanner, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/logs?follow=true"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /v1/logs: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/logs: %s", resp.Status)
	}
	return bufio.NewScanner(resp.Body), func() { cancel(); resp.Body.Close() }
}

func nextMessage(t *testing.T, sc *bufio.Scanner) string {
	t.Helper()
	if !sc.Scan() {
		t.Fatalf("stream ended: %v", sc.Err())
	}
	var e logbus.Entry
	if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
		t.Fatalf("line %q: %v", sc.Text(), err)
	}
	return e.Message
}

func TestLogs_FollowStreamsTheBacklogThenPublishedEntries(t *testing.T) {
	// A write timeout far shorter than the stream lives proves it is lifted.
	f := newFixture(t, Options{ReadTimeout: 50 * time.Millisecond, WriteTimeout: 50 * time.Millisecond})
	base, _ := startTCP(t, f)
	f.bus.Publish(logbus.Entry{Level: "info", Message: "before", Workflow: "orders"})

	sc, closeStream := follow(t, base, "&workflow=orders&backlog=5")
	defer closeStream()
	if got := nextMessage(t, sc); got != "before" {
		t.Fatalf("backlog = %q", got)
	}
	// The response headers arrived after the subscription was made, so
	// nothing published from here on can be missed.
	f.bus.Publish(logbus.Entry{Level: "info", Message: "elsewhere", Workflow: "parcels"})
	f.bus.Publish(logbus.Entry{Level: "info", Message: "live", Workflow: "orders"})
	if got := nextMessage(t, sc); got != "live" {
		t.Fatalf("live = %q", got)
	}
	// Outlive the server's timeouts, then still receive.
	time.Sleep(150 * time.Millisecond)
	f.bus.Publish(logbus.Entry{Level: "info", Message: "later", Workflow: "orders"})
	if got := nextMessage(t, sc); got != "later" {
		t.Fatalf("later = %q", got)
	}
}

func TestLogs_FollowEndsWhenTheServerShutsDown(t *testing.T) {
	f := newFixture(t, Options{})
	base, served := startTCP(t, f)
	sc, closeStream := follow(t, base, "")
	defer closeStream()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with an open stream: %v", err)
	}
	if sc.Scan() {
		t.Fatalf("stream went on after Shutdown: %q", sc.Text())
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve = %v", err)
	}
}

func TestLogs_WithoutABusIs404(t *testing.T) {
	f := newFixture(t, Options{})
	f.s.logs = nil
	wantError(t, f.get(t, "/v1/logs"), http.StatusNotFound, CodeNotFound)
}
