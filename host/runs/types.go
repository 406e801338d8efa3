package runs

import (
	"encoding/json"
	"time"
)

// Status is where a run or a step stands.
type Status string

// Run and step statuses.
const (
	// Running: the run has a step waiting in the queue or executing.
	Running Status = "running"
	// Succeeded: every step that had to run succeeded (or was skipped).
	Succeeded Status = "succeeded"
	// Failed: a step failed for good with on_error = "fail"; the run
	// stopped and is not in the dead-letter queue.
	Failed Status = "failed"
	// Dead: a step failed for good and the run waits in the dead-letter
	// queue for an operator to replay or discard it.
	Dead Status = "dead"
	// Discarded: an operator discarded the dead run.
	Discarded Status = "discarded"
	// Skipped: a step's when was false (steps only).
	Skipped Status = "skipped"
	// Pending: a step not reached yet (steps only).
	Pending Status = "pending"
	// Gap: not a run but a record in the history that a stream trigger's
	// third party could no longer resume from the stored position: the
	// events in between were reconciled (Error says how) or are missing.
	Gap Status = "gap"
)

// Run is one workflow run: the event that started it and every step's
// attempts. Inputs and outputs are stored with secrets redacted.
type Run struct {
	ID       string `json:"id"`
	Tenant   string `json:"tenant"`
	Workflow string `json:"workflow"`
	// Trigger is "<connection>/<trigger>".
	Trigger  string          `json:"trigger"`
	EventSeq uint64          `json:"event_seq"`
	EventID  string          `json:"event_id"`
	Event    json.RawMessage `json:"event"`
	Status   Status          `json:"status"`
	// Step is the index of the step to run next (len(Steps) when done).
	Step       int        `json:"step"`
	Steps      []*Step    `json:"steps"`
	Error      string     `json:"error,omitempty"`
	ReceivedAt time.Time  `json:"received_at"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// Step is one step of a run.
type Step struct {
	Name       string `json:"name"`
	Connection string `json:"connection"`
	Action     string `json:"action"`
	// Connector is "<source>@<version>", the version the step ran on.
	Connector string          `json:"connector,omitempty"`
	Status    Status          `json:"status"`
	Input     json.RawMessage `json:"input,omitempty"`
	Output    json.RawMessage `json:"output,omitempty"`
	// IdempotencyKey is the same for every attempt of this step.
	IdempotencyKey string     `json:"idempotency_key,omitempty"`
	Attempts       []*Attempt `json:"attempts,omitempty"`
	// SeriesStart is how many of Attempts came before the current series:
	// a replay starts a fresh series with the step's full retry budget.
	SeriesStart int `json:"series_start,omitempty"`
}

// Attempt is one call of a step's action.
type Attempt struct {
	N          int       `json:"n"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS float64   `json:"duration_ms"`
	// Error is empty on success; ErrorKind is its class (retryable,
	// rate_limited, auth_expired, invalid_input, permanent).
	Error     string `json:"error,omitempty"`
	ErrorKind string `json:"error_kind,omitempty"`
	// RetryAt is when the next attempt is due, when one is.
	RetryAt *time.Time `json:"retry_at,omitempty"`
}

// Summary is a run as listed.
type Summary struct {
	ID       string `json:"id"`
	Workflow string `json:"workflow"`
	Status   Status `json:"status"`
	EventID  string `json:"event_id"`
	Step     string `json:"step,omitempty"` // the current or failed step, or the last
	// Attempts counts every action call of the run, retries included.
	Attempts   int        `json:"attempts"`
	Error      string     `json:"error,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// DeadLetter is a run waiting in the dead-letter queue.
type DeadLetter struct {
	Run        string    `json:"run"`
	Workflow   string    `json:"workflow"`
	Step       string    `json:"step"`
	Connection string    `json:"connection"`
	Action     string    `json:"action"`
	Error      string    `json:"error"`
	ErrorKind  string    `json:"error_kind"`
	Attempts   int       `json:"attempts"`
	At         time.Time `json:"at"`
}

// Filter selects runs or dead letters; empty fields match everything.
type Filter struct {
	Workflow   string
	Connection string
	Status     Status
	// Error matches dead letters whose error kind equals it or whose
	// message contains it.
	Error string
	// Before lists only runs with an id before it (paging, newest first).
	Before string
	Limit  int
}
