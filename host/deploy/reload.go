package deploy

import (
	"context"

	"github.com/hubhq/hub/host/engine"
)

// ReloadSecrets brings the running host up to date with the secret
// store: the engine resolves the connections that read secrets again
// (engine.Engine.ReloadCredentials), and the OAuth clients of the oauth2
// connections whose settings changed (a new client_secret) are registered
// again, which keeps their tokens and logins in progress as long as the
// client_id and token_url stay. A client that cannot be registered keeps
// the registration it had; the error is logged. It runs under the
// Deployer's lock, so it never interleaves with an apply.
func (d *Deployer) ReloadSecrets(ctx context.Context) engine.CredentialReload {
	d.mu.Lock()
	defer d.mu.Unlock()
	res := d.opts.Engine.ReloadCredentials(ctx)
	if len(res.OAuth) == 0 || res.Runtime == nil || d.opts.OAuth == nil {
		return res
	}
	if err := d.registerOAuth(ctx, res.Runtime); err != nil {
		d.opts.Logger.Error("the secret store changed, and the oauth2 clients cannot be registered again; they keep their settings as they were", "connections", res.OAuth, "error", err)
		return res
	}
	d.opts.Logger.Info("oauth2 clients registered again with their new settings", "connections", res.OAuth)
	return res
}

// WatchSecrets calls ReloadSecrets on each signal of changed (from
// secrets.Store.Watch) until ctx ends or changed is closed.
func (d *Deployer) WatchSecrets(ctx context.Context, changed <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changed:
			if !ok {
				return
			}
			d.ReloadSecrets(ctx)
		}
	}
}
