// Package ingest owns the durable acceptance of events: an event handed to
// Accept is, when Accept returns without error, on disk (synced), stored
// exactly once per tenant, trigger and event id within the dedup window,
// and readable in the order it was accepted.
//
// Throughput comes from group commit. Badger does not combine concurrent
// small synced transactions (MEASUREMENTS.md, "Disk and Badger"), so one
// writer goroutine drains every pending Accept call, up to MaxBatch events,
// into one transaction, commits it with a single sync and only then
// releases every caller whose events it held. One Accept call's events are
// always committed in one transaction, so a delivery is stored whole or
// not at all.
//
// AcceptWith adds other values to that transaction, so a poll trigger's
// cursor or a stream's resume position is stored together with the
// events it produced, through the same group commit.
//
// Keys, under the event's tenant:
//
//	t/<tenant>/event/<seq>          the event; seq is 20 decimal digits
//	t/<tenant>/dedup/<trigger>/<id> the seq it was stored under, with a TTL
//
// seq increases strictly per tenant, across restarts too (the writer
// continues after the greatest stored seq), so Read returns events in
// acceptance order; seqs may have gaps where a commit failed.
//
// An event's value is a compact binary record: a format byte (1), the
// receive time as a signed varint of Unix nanoseconds, the trigger and the
// id each as a uvarint length and bytes, then the payload to the end. The
// tenant and seq are in the key.
//
// The package must not route events, evaluate workflows or know about
// HTTP: webhook handlers, poll loops and streams call Accept and answer
// their senders; the router reads with Read. It does not decide how long
// events are kept.
package ingest
