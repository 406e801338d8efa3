// Package config owns hub's workspace language: it parses a directory of
// HCL files, decodes its blocks (hub, variable, environment, connection,
// workflow) into plain structs that keep the hcl.Range of everything they
// were built from, resolves input variables, and statically validates the
// workspace against the connectors' schemas.
//
// Every problem is reported as an hcl.Diagnostic with a source range, and a
// run collects all of them rather than stopping at the first, so an
// operator fixes a workspace in one pass.
//
// The package never launches connectors, reads the store, resolves secrets
// or talks to the network: schemas come in as data (Validate's argument)
// and the process environment only through LoadOptions.Getenv. Secret
// values are therefore never known here; secret() yields a marked, unknown
// value that later stages resolve and redact.
package config
