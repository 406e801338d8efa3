package engine

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// fakeOAuth hands out numbered tokens; Invalidate moves to the next one
// when the token refused is the current one.
type fakeOAuth struct {
	mu          sync.Mutex
	n           int
	invalidated []string
}

func (f *fakeOAuth) Token(context.Context, string) (Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Token{AccessToken: "tok-" + string(rune('0'+f.n)), TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
}

func (f *fakeOAuth) Status(context.Context, string) (string, string) { return "ok", "" }

func (f *fakeOAuth) Invalidate(_ context.Context, _ string, used string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invalidated = append(f.invalidated, used)
	if used == "tok-"+string(rune('0'+f.n)) {
		f.n++
	}
	return nil
}

const oauthWorkspace = `
connection "api" {
  connector = "fake"
  auth "oauth2" {
    client_id = "hub"
    grant     = "client_credentials"
  }
}
workflow "w" {
  trigger "api" "t" {
    mode = "webhook"
  }
  action "a" {
    connection = "api"
    action     = "a"
  }
}
`

// An oauth2 connection's calls carry the provider's token; a call refused
// as expired makes the provider refresh once, and the call is made again
// with the new token within the same attempt.
func TestEngine_OAuthTokenIsRefreshedOnceWhenACallFindsItExpired(t *testing.T) {
	oa := &fakeOAuth{}
	fc := &fakeConnector{action: func(_ context.Context, _ int, req wire.ActionRequest) (json.RawMessage, error) {
		if req.Conn.Auth.Token == "tok-0" {
			return nil, fault.AuthExpiredf("401: token expired")
		}
		return json.RawMessage(`{"token":"` + req.Conn.Auth.Token + `"}`), nil
	}}
	h := open(t, t.TempDir(), compile(t, oauthWorkspace, nil), fc, func(o *Options) { o.OAuth = oa })
	h.deliver("w", "e1", `{"id":"e1"}`)
	r := h.waitStatus(runID(1), runs.Succeeded)
	if got := string(r.Steps[0].Output); got != `{"token":"tok-1"}` {
		t.Fatalf("output %s, want the call made with the refreshed token", got)
	}
	if len(r.Steps[0].Attempts) != 1 {
		t.Fatalf("%d attempts, want 1 (the refresh happens within the attempt)", len(r.Steps[0].Attempts))
	}
	oa.mu.Lock()
	defer oa.mu.Unlock()
	if len(oa.invalidated) != 1 || oa.invalidated[0] != "tok-0" {
		t.Fatalf("invalidated %v, want [tok-0]", oa.invalidated)
	}
}

// Without a provider an oauth2 connection's steps fail as auth_expired
// and wait in the dead-letter queue; nothing crashes.
func TestEngine_OAuthWithoutAProviderDeadLetters(t *testing.T) {
	fc := &fakeConnector{}
	h := open(t, t.TempDir(), compile(t, oauthWorkspace, nil), fc, nil)
	h.deliver("w", "e1", `{"id":"e1"}`)
	r := h.waitStatus(runID(1), runs.Dead)
	if r.Steps[0].Attempts[0].ErrorKind != fault.AuthExpired.String() {
		t.Fatalf("error kind %q, want auth_expired", r.Steps[0].Attempts[0].ErrorKind)
	}
}

// A connection's env values and the workspace's environment reach the
// connector with every call.
func TestEngine_ConnectionEnvReachesEveryCall(t *testing.T) {
	fc := &fakeConnector{}
	ws := `
connection "api" {
  connector = "fake"
  env       = { REGION = "eu-west", LOG_LEVEL = "debug" }
}
workflow "w" {
  trigger "api" "t" {
    mode = "webhook"
  }
  action "a" {
    connection = "api"
    action     = "a"
  }
}
`
	h := open(t, t.TempDir(), compile(t, ws, nil), fc, nil)
	h.deliver("w", "e1", `{"id":"e1"}`)
	h.waitStatus(runID(1), runs.Succeeded)
	calls := fc.actionCalls()
	if len(calls) != 1 || calls[0].Conn.Env["REGION"] != "eu-west" || calls[0].Conn.Env["LOG_LEVEL"] != "debug" {
		t.Fatalf("env in the call: %+v", calls)
	}
}

// An input field the action's schema marks secret is redacted in the run
// history even when its value comes from the event, not from secret().
func TestEngine_SchemaSecretInputsAreRedactedInTheRecord(t *testing.T) {
	fc := &fakeConnector{schema: &schema.Schema{Name: "fake", Version: "1.0.0", Actions: []schema.Action{{
		Name: "a", Kind: schema.KindCreate,
		Input: schema.ObjectOf([]schema.Field{
			{Name: "user", Type: schema.String},
			{Name: "password", Type: schema.String, Secret: true},
			{Name: "cards", Type: schema.List, Items: schema.ObjectOf([]schema.Field{{Name: "pan", Type: schema.String, Secret: true}})},
		}),
	}}}}
	ws := `
connection "api" {
  connector = "fake"
}
workflow "w" {
  trigger "api" "t" {
    mode = "webhook"
  }
  action "a" {
    connection = "api"
    action     = "a"
    input      = { user = event.user, password = event.pw, cards = [{ pan = event.pan }] }
  }
}
`
	h := open(t, t.TempDir(), compile(t, ws, nil), fc, nil)
	h.deliver("w", "e1", `{"id":"e1","user":"ops","pw":"hunter2","pan":"4111111111111111"}`)
	r := h.waitStatus(runID(1), runs.Succeeded)
	in := string(r.Steps[0].Input)
	if strings.Contains(in, "hunter2") || strings.Contains(in, "4111111111111111") || !strings.Contains(in, `"user":"ops"`) {
		t.Fatalf("recorded input %s", in)
	}
	if calls := fc.actionCalls(); len(calls) != 1 || !strings.Contains(string(calls[0].Input), "hunter2") {
		t.Fatalf("the connector must still get the real value: %+v", calls)
	}
}
