// Package streamer owns the stream triggers of `hub serve`: for each
// workflow whose trigger is a stream it runs one goroutine that opens the
// connector's event stream (wire.Connector.OpenStream) from the stored
// resume position, stores every batch it delivers with the position after
// it, and opens the stream again whenever it ends.
//
// Durability. Each commit writes events and the position after the last
// of them in one ingest.AcceptWith call, so they are committed in one
// synced transaction, through the ingester's group commit: after a crash
// or restart the stream resumes from a position that matches exactly the
// events stored, and neither skips nor repeats one. The in-memory position
// advances only after that call succeeded; when it fails the stream ends
// with the error and is opened again from the old position, and the
// ingester's dedup (tenant, trigger, event id) drops whatever the third
// party delivers again or a failed sync left on disk. The connector stays
// stateless: the host owns the position, stored at
//
//	t/<tenant>/position/<workflow>
//
// holding the connector's opaque bytes; a missing key is the nil position.
// A batch without a position leaves it unchanged. An event without an id
// cannot be deduplicated, so it is never stored: it is logged as an error
// and counted in Result.Skipped, and the rest of its batch is stored.
//
// Throughput. A stream's sink takes batches from the connector while its
// writer stores the ones before: the batches that arrive while one commit
// is being synced are stored together, in order, in the next, so a busy
// stream costs one fsync per commit rather than per batch, and the commit
// size follows the rate. At most Options.MaxPending events, and
// Options.MaxPendingBytes of their payloads, wait for the next commit (so a stream holds about twice that with the commit being
// written); what it holds when the stream ends is stored before the
// stream is opened again, except after a failed store, or when the
// trigger is stopped while the queue is deep (it is asked for again from
// the stored position).
//
// Reconnecting. Any end of a stream — a clean end, a classified error, a
// plugin crash or transport failure, a heartbeat timeout — is followed by
// opening it again after a backoff: Options.MinBackoff, doubling with each
// stream in a row that stored nothing, up to Options.MaxBackoff, jittered;
// a stream that stored a batch resets it. By fault.Kind:
//
//   - retryable (transport failures and a failed store included): back off;
//   - rate_limited: wait the longer of the backoff and RetryAfter;
//   - auth_expired: call Options.Refresh once and reconnect at once with
//     the connection it returns; if that fails, or the refreshed stream
//     ends with auth_expired again, back off;
//   - permanent and invalid_input: back off too (the third party or the
//     configuration may be fixed meanwhile), logged as errors and
//     reported in Result.Err so the stream shows as failing;
//   - cursor_expired: a gap, below.
//
// Heartbeat. A connection can go silent without closing (a dropped TCP
// connection, a stuck proxy). When a stream sends neither a batch nor a
// keepalive within Trigger.Heartbeat it is cancelled, reported with an
// error wrapping ErrHeartbeat and opened again. The heartbeat is paused
// while the sink holds batches not yet stored or waits for the queue:
// that silence is hub's own.
//
// Backpressure. The writer does not store while Options.Backpressure
// reports a deep queue; the sink fills up to Options.MaxPending and then
// does not return, so the connector's sends block on gRPC flow control
// and the third party's on TCP, and the stream slows down instead of
// hub's memory growing.
//
// Gaps. When the connector reports cursor_expired, the third party can no
// longer resume from the stored position (its retention passed). If the
// trigger has a Reconcile function (the declared poll trigger) it is run
// once from that position, and dedup keeps what it finds and what the
// stream delivers again free of duplicates; without one, or when it fails,
// the gap is reported in Result.Err (wrapping ErrGap) and logged as an
// error, never silently skipped. Either way Result.Gap and GapFrom record
// it, and the stream is opened again at once from the nil position. The
// stored position stays until the next batch replaces it, so a restart in
// between reconciles again.
//
// Set replaces the running triggers as a whole, identified by tenant and
// workflow: a trigger whose definition changed is restarted, and the new
// goroutine starts only after the old one returned, so one workflow's
// position is never written by two goroutines.
//
// The package must not route events, evaluate workflows or serve HTTP: it
// only receives and stores. The engine decides which triggers run, with
// which connection and connector, reads the events back from the ingester
// and records what Options.Health reports. No lock of the streamer is held
// across a connector call.
package streamer
