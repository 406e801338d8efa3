package engine

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/sdk/wire"
)

// stuckSubscriber is the config-signed fake whose subscriptions, once
// stuck, hang until their context ends, as a third party that does not
// answer.
type stuckSubscriber struct {
	*configSigner
	mu      sync.Mutex
	stuck   bool
	entered chan struct{}
}

func (s *stuckSubscriber) SubscribeWebhook(ctx context.Context, req wire.SubscribeRequest) (wire.Subscription, error) {
	s.mu.Lock()
	stuck := s.stuck
	s.mu.Unlock()
	if !stuck {
		return s.configSigner.SubscribeWebhook(ctx, req)
	}
	close(s.entered)
	<-ctx.Done()
	return wire.Subscription{}, ctx.Err()
}

// A reload whose connector calls hang returns once its context is
// cancelled: a host that stops does not wait out their timeouts.
func TestReloadCredentials_CancelledReloadDoesNotWaitForConnectorCalls(t *testing.T) {
	sec := newFakeSecrets("hook_secret", "hook-secret-one")
	ss := &stuckSubscriber{configSigner: &configSigner{fakeConnector: &fakeConnector{}}, entered: make(chan struct{})}
	h := open(t, t.TempDir(), compileWith(t, configHookWorkspace, sec.get), ss.fakeConnector, func(o *Options) {
		o.Connector = func(registry.Installed) wire.Connector { return ss }
	})
	ss.mu.Lock()
	ss.stuck = true
	ss.mu.Unlock()
	// The changed config subscribes the webhook again.
	sec.set("hook_secret", "hook-secret-two")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan CredentialReload, 1)
	go func() { done <- h.e.ReloadCredentials(ctx) }()
	<-ss.entered
	cancel()
	var res CredentialReload
	waitFor(t, "the cancelled reload to return", func() bool {
		select {
		case res = <-done:
			return true
		default:
			return false
		}
	})
	if !reflect.DeepEqual(res.Triggers, []string{"orders"}) {
		t.Fatalf("triggers %v, want orders", res.Triggers)
	}
}

// Once the host is stopping, a reload changes nothing.
func TestReloadCredentials_NothingOnceStopping(t *testing.T) {
	sec := newFakeSecrets("api_key", "key-one")
	h := open(t, t.TempDir(), compileWith(t, apiKeyWorkspace, sec.get), &fakeConnector{}, nil)
	before := h.e.rt.Load()
	h.e.Stopping()
	sec.set("api_key", "key-two")
	if res := h.e.ReloadCredentials(context.Background()); len(res.Changed) != 0 || h.e.rt.Load() != before {
		t.Fatalf("a reload while stopping changed %v", res.Changed)
	}
}
