// Package supervisor owns connector plugin processes: it launches an
// installed connector binary with go-plugin (checksum verified, AutoMTLS,
// gRPC only), shares one process per installed source and version among
// every caller, relaunches a process that dies with exponential backoff and
// jitter, and stops them all on Close without leaving a process behind.
//
// Callers get a wire.Connector handle from Supervisor.Connector. A handle
// is cheap to call from many goroutines: the live process is published
// through an atomic pointer, so no lock is held across a call. Launch
// failures and crashes come back from the handle's calls as classified
// fault errors, so the engine decides about retrying with the same rules it
// uses for any connector error.
//
// This package must not choose versions or read the plugin directory (that
// is package registry), must not interpret what connectors return, retry
// calls (the engine owns retries and idempotency), or know about workflows,
// credentials or storage.
package supervisor
