package runs

import "time"

// HostStatus is what "hub status" shows: the host, its connections and
// triggers, and the queue.
type HostStatus struct {
	Version     string              `json:"version"`
	StartedAt   time.Time           `json:"started_at"`
	Ready       bool                `json:"ready"`
	Connections []*ConnectionStatus `json:"connections"`
	Triggers    []*TriggerStatus    `json:"triggers"`
	Queue       QueueStatus         `json:"queue"`
}

// ConnectionStatus is one connection's health.
type ConnectionStatus struct {
	Name      string `json:"name"`
	Connector string `json:"connector"` // "<source>@<version>"
	// Breaker is "closed", "open" or "half_open".
	Breaker     string     `json:"breaker"`
	InFlight    int        `json:"in_flight"`
	Queued      int        `json:"queued"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
}

// TriggerStatus is one workflow trigger's health. A trigger that stops
// receiving or polling shows here: its last success, how far behind it
// is, and the error it keeps failing with.
type TriggerStatus struct {
	Workflow   string `json:"workflow"`
	Connection string `json:"connection"`
	Trigger    string `json:"trigger"`
	Mode       string `json:"mode"` // "webhook", "poll" or "stream"
	// URL is the webhook address, for webhook triggers.
	URL         string     `json:"url,omitempty"`
	Events      uint64     `json:"events"`
	LastEventAt *time.Time `json:"last_event_at,omitempty"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	// FailingSince is when the current run of failures began.
	FailingSince *time.Time `json:"failing_since,omitempty"`
	// LagSeconds is how long since the last success (poll: since the
	// last successful poll).
	LagSeconds float64 `json:"lag_seconds"`
	// Stream triggers: whether the stream is open and since when, how
	// often it reconnected, and the last gap (a resume position the
	// third party no longer had) and whether it was reconciled.
	Connected      *bool      `json:"connected,omitempty"`
	ConnectedSince *time.Time `json:"connected_since,omitempty"`
	Reconnects     int        `json:"reconnects,omitempty"`
	LastGap        string     `json:"last_gap,omitempty"`
	// BehindSeconds is, for a stream trigger, how far behind the third
	// party its latest stored events were: when they were stored less
	// when the newest of them happened there (as the connector reports
	// it). Absent while no event with a time has been stored.
	BehindSeconds *float64 `json:"behind_seconds,omitempty"`
}

// QueueStatus counts the jobs and dead letters.
type QueueStatus struct {
	Due         int `json:"due"`
	Scheduled   int `json:"scheduled"`
	DeadLetters int `json:"dead_letters"`
}

// Webhook is a webhook trigger's address and signing secret, for an
// operator to register with a third party that has no subscribe API.
type Webhook struct {
	Workflow   string `json:"workflow"`
	Connection string `json:"connection"`
	Trigger    string `json:"trigger"`
	URL        string `json:"url"`
	// Path is URL's path, to append to the host's public address.
	Path   string `json:"path"`
	Secret string `json:"secret"`
}

// Connection is a connection as listed by hub connections list.
type Connection struct {
	Name      string `json:"name"`
	Connector string `json:"connector"` // "<source>@<version>"
	AuthType  string `json:"auth_type"`
	// State is "ok", or what the connection needs: "needs_login" (no
	// credentials obtained yet), "needs_reauth" (the third party revoked
	// them, or the OAuth client changed), "failing" (calls fail); or, for
	// OAuth, "login_pending" (a login was started and has not ended) and
	// "login_failed" (the latest login failed, for 10 minutes after).
	State string `json:"state"`
	// Reason says why the state is needs_reauth or login_failed, or why
	// a connection is failing for want of credentials: a secret() that
	// is gone, an OAuth client that could not be registered again, a
	// stored token that cannot be read. Plain words without secrets;
	// empty otherwise.
	Reason      string     `json:"reason,omitempty"`
	Breaker     string     `json:"breaker"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
}

// ConnectionTest is the outcome of hub connections test.
type ConnectionTest struct {
	Connection string `json:"connection"`
	OK         bool   `json:"ok"`
	// Account is who the credentials belong to, in the connector's words.
	Account string `json:"account,omitempty"`
	// ErrorKind and Error say why the test failed; Hint says what to do,
	// in plain words.
	ErrorKind  string  `json:"error_kind,omitempty"`
	Error      string  `json:"error,omitempty"`
	Hint       string  `json:"hint,omitempty"`
	DurationMS float64 `json:"duration_ms"`
}

// ConnectStart is how hub connect proceeds for an oauth2 connection.
type ConnectStart struct {
	Connection string `json:"connection"`
	Grant      string `json:"grant"`
	// AuthURL is the page to open for the authorization code grant; the
	// provider redirects to the host's callback when the user consents.
	AuthURL string `json:"auth_url,omitempty"`
	// VerificationURI and UserCode are for the device grant: open the
	// URI on any device and enter the code.
	VerificationURI string `json:"verification_uri,omitempty"`
	UserCode        string `json:"user_code,omitempty"`
	// Connected is true when nothing more is needed (client credentials).
	Connected bool `json:"connected"`
}
