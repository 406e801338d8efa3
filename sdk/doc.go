// Package sdk is what a connector author imports. A connector is plain Go:
// the author declares its name, version, auth schemes, connection properties,
// triggers and actions as data (package schema) with a typed handler for
// each, and calls Serve from main. The SDK checks the declaration before
// serving, validates every input, config and connection against it (filling
// declared defaults) before a handler runs, and turns a handler's result
// into protocol v1 (package wire).
//
// Handlers report failures with the classified errors of this package
// (Retryable, RateLimited, AuthExpired, Permanent, Invalid, CursorExpired)
// so the host knows whether to retry, wait, refresh or dead-letter; the
// auth-aware HTTP client returned by Conn.HTTP classifies third-party
// responses the same way.
//
// The package must not import the host: connectors are built separately
// and speak to it only through package wire. Package sdktest runs a
// connector in-process through the real gRPC adapters for tests.
package sdk
