// Package state owns the applied desired state: the canonical model of a
// workspace that "hub apply" records, and the plan that compares two of
// them.
//
// Build turns a loaded config.Workspace and its lockfile.Lock into a State
// whose bytes depend only on meaning: connections and workflows sorted by
// name, steps in run order, every expression kept as its canonical source
// text (formatted with hclwrite, comments and line breaks dropped) and,
// when it is already known at load time, its JSON value. Mappings that
// read event or action outputs are unknown until a run, so their source
// text is compared together with the var, values, hub and env() inputs
// they read.
//
// Secrets never enter a State: an expression whose value is sensitive,
// that calls secret(), or that reads a sensitive variable is recorded as
// "(sensitive)" with the SHA-256 of its source text. Credential auth
// attributes (password, key, token, client_secret, a session's
// credentials) are redacted whatever their source, literals included. Plans can then say a
// secret setting changed without showing it, and the stored state is safe
// to read.
//
// Diff compares two States into a Plan (connections and workflows to add,
// change or remove, attribute by attribute; webhook subscriptions to
// create or delete; connector version moves). Load and Save keep the
// applied State under a tenant in a Store in one write. SaveSource keeps
// the Source it was built from, with the -var values and var files
// sealed by a Sealer (the secret store's data key): they are where an
// apply's secrets are.
//
// The package must not launch connectors, call third parties or resolve
// secrets: it describes what should run, and the host acts on it.
package state
