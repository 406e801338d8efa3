package deploy

import (
	"context"
	"time"

	"github.com/hubhq/hub/host/engine"
)

// ReloadSecrets brings the running host up to date with the secret
// store: the engine resolves the connections and trigger configs that
// read secrets again (engine.Engine.ReloadCredentials), and the OAuth
// clients of the oauth2 connections whose settings changed (a new
// client_secret) are registered again, which keeps their tokens and
// logins in progress as long as the client_id and token_url stay. Every
// reload also tries again the clients still pending: one that could not
// be registered before (see registerOAuth) is not forgotten because the
// secret store has not changed since. It runs under the Deployer's lock,
// so it never interleaves with an apply; ctx bounds its connector calls.
func (d *Deployer) ReloadSecrets(ctx context.Context) engine.CredentialReload {
	d.mu.Lock()
	defer d.mu.Unlock()
	res := d.opts.Engine.ReloadCredentials(ctx)
	if res.Runtime == nil || d.opts.OAuth == nil || (len(res.OAuth) == 0 && len(d.pending) == 0) || ctx.Err() != nil {
		return res
	}
	if err := d.registerOAuth(ctx, res.Runtime); err == nil && len(res.OAuth) > 0 {
		d.opts.Logger.Info("oauth2 clients registered again with their new settings", "connections", res.OAuth)
	}
	return res
}

// RetryOAuth tries again to register the OAuth clients still pending,
// with the running runtime; it does nothing when none is.
func (d *Deployer) RetryOAuth(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	rt := d.opts.Engine.Runtime()
	if len(d.pending) == 0 || rt == nil || d.opts.OAuth == nil || ctx.Err() != nil {
		return
	}
	_ = d.registerOAuth(ctx, rt)
}

// hasPending reports whether an OAuth client waits to be registered.
func (d *Deployer) hasPending() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending) > 0
}

// WatchSecrets calls ReloadSecrets on each signal of changed (from
// secrets.Store.Watch) until ctx ends or changed is closed, and while an
// OAuth client is pending, RetryOAuth every Options.OAuthRetry.
func (d *Deployer) WatchSecrets(ctx context.Context, changed <-chan struct{}) {
	retry := time.NewTimer(d.opts.OAuthRetry)
	defer retry.Stop()
	for {
		// The timer runs only while a client is pending.
		var due <-chan time.Time
		if d.hasPending() {
			retry.Reset(d.opts.OAuthRetry)
			due = retry.C
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changed:
			if !ok {
				return
			}
			d.ReloadSecrets(ctx)
		case <-due:
			d.RetryOAuth(ctx)
		}
		retry.Stop()
	}
}
