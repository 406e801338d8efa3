// Package registry owns the plugin directory: where installed connector
// binaries live, how they are found, how one version is chosen for a
// constraint, and how a binary is installed with its checksum.
//
// The three concerns stay separate, in the spirit of Terraform's provider
// installer: Discover finds what is on disk (and says, one Problem per line,
// what is wrong with anything that is not a usable plugin), Resolve chooses
// among what Discover found, and Install records a new binary and its
// SHA256SUMS. A lock file, recording the choice for a workspace, belongs to
// the workspace code, not here.
//
// The layout is
//
//	<dir>/<namespace>/<name>/<version>/<os>_<arch>/hub-connector-<name>
//	<dir>/<namespace>/<name>/<version>/<os>_<arch>/SHA256SUMS
//
// This package must not launch or talk to plugins (that is the supervisor's
// job), must not reach the network, and must not keep state between calls:
// the directory is the only source of truth, so several hosts or CLI runs
// can share it.
package registry
