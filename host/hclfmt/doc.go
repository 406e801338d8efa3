// Package hclfmt owns the canonical layout of hub's HCL files, for
// "hub fmt": one formatting (hclwrite's, the one Terraform users know), and
// the rule that a file which does not parse is reported, never rewritten.
//
// It must not interpret what the files say (that is host/config's job and,
// for hub.lock.hcl, host/lockfile's), must not walk into subdirectories,
// and must not leave a half-written file: every rewrite goes through a
// temporary file renamed into place, keeping the file's mode.
package hclfmt
