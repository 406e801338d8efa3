// Package secrets is hub's encrypted secret store: the values that
// secret("name") resolves to in a workspace, and the tokens the host keeps
// for itself under names that start with "oauth/".
//
// The store is one JSON file, <data dir>/secrets.json, separate from the
// Badger store so that the hub CLI can change it while a hub serve holds
// Badger's directory lock. Each value is sealed with AES-256-GCM under a
// 32-byte master key, with a fresh nonce per write and the secret's name
// as additional data, so a value cannot be moved to another name. Every
// entry records the ID of the key that sealed it (the first 8 hex digits
// of the key's SHA-256), so a wrong key is named rather than reported as
// garbage.
//
// The master key comes from $HUB_MASTER_KEY (base64) when set, else from
// <data dir>/master.key, which Open creates on first use. Writers take an
// exclusive lock on <data dir>/secrets.lock for the whole
// read-modify-write and replace the file atomically; readers need no lock
// and notice another process's change by the file's identity, size and
// modification time, so a running hub serve sees hub secrets set without a
// restart. Watch reports such a change to whoever resolved secrets ahead
// of time (the engine's connection credentials), by the same test.
//
// The store also holds the data key (the entry DataKeyName), which
// Sealer uses to seal values hub keeps elsewhere at rest, in the Badger
// store: webhook signing secrets and the applied workspace's -var values.
// Sealing with the data key rather than the master key is what lets a
// master key rotation re-seal one entry instead of every record in Badger.
//
// The package never returns, logs or formats a secret's value except from
// Get, the Resolver and Sealer.Open; it never overwrites a store it could
// not read. It does not know about workspaces or HCL: cmd/hub wires it to
// secret("name").
package secrets
