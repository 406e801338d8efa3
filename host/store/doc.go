// Package store owns hub's embedded key-value store: a Badger database in
// one directory, opened with the options measured in MEASUREMENTS.md.
//
// Every key lives under a tenant, so an organisation's or an end user's
// data never shares a key with another's:
//
//	t/<tenant>/<kind>/<id>
//
// tenant names whose data it is (a single-tenant install uses
// DefaultTenant, "default"); kind names what the value is ("applied" for
// the applied desired state, later "event", "run", "job"); id names one
// value of that kind. tenant and kind are non-empty and contain no "/", so
// a key parses back unambiguously; id is any non-empty string.
//
// Several keys that must change together change in one Update call, which
// commits all of its writes or none: callers express an atomic step as one
// store operation, so a distributed backend can later make the same step
// atomic in its own way behind the same calls.
//
// The package stores bytes; it does not know what they mean, does not
// encrypt them (callers encrypt secrets before they get here) and does not
// decide retention. Badger holds a lock on its directory while open, so a
// one-shot command opens the store only for the moment it needs it.
package store
