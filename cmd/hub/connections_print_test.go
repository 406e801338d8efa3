package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hubhq/hub/host/runs"
)

func TestPrintConnections_ShowsTheReasonWhenThereIsNoLastError(t *testing.T) {
	now := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	err := printConnections(&out, []runs.Connection{
		{Name: "gh", Connector: "hub/github@1.0.0", AuthType: "oauth2", State: "needs_reauth", Breaker: "closed", Reason: "the client_id changed since the token was issued"},
		{Name: "wms", Connector: "hub/http@1.0.0", AuthType: "api_key", State: "failing", Breaker: "open", Reason: "secret wms_key is gone",
			LastError: "503 Service Unavailable", LastErrorAt: &now},
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !strings.Contains(got, "needs_reauth  closed   never         the client_id changed since the token was issued") {
		t.Errorf("the reason is not in gh's row:\n%s", got)
	}
	if !strings.Contains(got, "503 Service Unavailable (0s ago)") || strings.Contains(got, "wms_key") {
		t.Errorf("a last error must win over the reason in wms's row:\n%s", got)
	}
}
