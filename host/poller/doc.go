// Package poller owns the schedule of poll triggers in `hub serve`: for
// each workflow whose trigger is polled it runs one goroutine that asks
// the connector for the events after the stored cursor, hands them to the
// ingester and waits for the next tick.
//
// Durability. A page's events and the cursor after them are written in one
// ingest.AcceptWith call, so they are committed in one synced transaction:
// after a crash or restart the poller resumes from a cursor that matches
// exactly the events stored, and neither skips nor repeats a record. The
// in-memory cursor advances only after that call succeeded; when it fails
// the page is fetched again from the old cursor, and the ingester's dedup
// (tenant, trigger, event id) drops whatever a failed sync may still have
// left on disk. The cursor of a workflow is stored at
//
//	t/<tenant>/cursor/<workflow>
//
// holding the connector's opaque bytes; a missing key is the nil cursor.
//
// Scheduling. A trigger's first poll runs as soon as it starts. While the
// connector says HasMore the next page is asked for at once, up to
// Options.MaxPagesPerTick pages, then the poller waits for the next tick:
// Interval × Backpressure() ± Jitter. Errors are handled by their
// fault.Kind:
//
//   - retryable (transport failures included) and a failed AcceptWith:
//     back off exponentially from one second up to the interval, jittered;
//   - rate_limited: wait the longer of the backoff and RetryAfter;
//   - auth_expired: call Options.Refresh once and retry at once with the
//     connection it returns; if that fails too, back off;
//   - cursor_expired: warn and start again from the nil cursor. The
//     connector's event ids and the ingester's dedup window keep the
//     replayed records from being stored twice, as long as they are
//     within the dedup TTL; older ones arrive again as new events;
//   - permanent and invalid_input: log and wait a full tick.
//
// Set replaces the running triggers as a whole, identified by tenant and
// workflow: a trigger whose definition changed is restarted, and the new
// goroutine starts only after the old one finished its in-flight poll, so
// one workflow's cursor is never written by two goroutines.
//
// The package must not route events, evaluate workflows or serve HTTP: it
// only fetches and stores. The engine decides which triggers run, with
// which connection and connector, and reads the events back from the
// ingester. No lock is held across a connector call.
package poller
