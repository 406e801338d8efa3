// Package lockfile owns hub.lock.hcl, the recorded choice of connector
// versions for a workspace: reading and writing it, and choosing what it
// should say next given the workspace's requirements and what is installed.
//
// Finding, choosing and recording stay separate, as in Terraform's provider
// installer: the registry finds installed connectors and resolves a
// constraint to the newest match; this package decides whether the recorded
// choice stands (a second "hub init" changes nothing, even if a newer
// matching version was installed since) and records versions and checksums.
//
// The file is keyed by the workspace's local connector name, not by source,
// because two local names may use one source at different major versions
// side by side:
//
//	# This file is maintained by "hub init". Commit it.
//	connector "shop" {
//	  source      = "hub/shopify"
//	  version     = "1.4.2"
//	  constraints = "~> 1.4"
//	  hashes = {
//	    linux_amd64 = "sha256:<64 lowercase hex digits>"
//	  }
//	}
//
// Each connector block has one label, the local name (an HCL identifier).
// source is the normalized "namespace/name"; version an exact semver
// version; constraints the requirement's version constraint as the operator
// wrote it (omitted when there is none); hashes maps an os_arch platform to
// the sha256 of that platform's binary. Nothing else is allowed, so a typo
// is an error rather than a silently ignored setting. Save writes entries
// sorted by name, in canonical hclwrite formatting, so the bytes depend only
// on the content and diffs stay small.
//
// The hash recorded here is what the host trusts at launch: Lock.Installed
// hands the supervisor the lock's checksum, not the plugin directory's
// SHA256SUMS, so a binary replaced after "hub init" (together with its
// SHA256SUMS or not) is refused.
//
// This package must not install, download or launch connectors, must not
// parse the workspace's own configuration (host/config does; it hands over
// Requirements), and must not write anything but the lock file it is given.
package lockfile
