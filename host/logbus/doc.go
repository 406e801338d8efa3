// Package logbus holds the host's recent log entries in memory and streams
// new ones to followers, for "hub logs" and "hub logs -f".
//
// The bus keeps the last N entries in a ring, so a follower that connects
// late still sees what just happened. Publishing never waits for a
// follower: each subscriber has a bounded queue, and a subscriber that
// falls behind loses entries and is told how many, in order, with a warn
// entry. A slow "hub logs -f" must never slow the host down.
//
// The bus implements hclog.SinkAdapter, so the host's logger feeds it with
// RegisterSink; entries carry the tenant, workflow, run, step and attempt
// taken from the logger's key/value pairs.
//
// The package must not write to disk or decide what the host logs: it is a
// window on the log, not its record.
package logbus
