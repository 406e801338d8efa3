package config

import (
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/hubhq/hub/sdk/schema"
)

// Workspace is a decoded workspace. Slices keep declaration order (files
// in name order, blocks in source order) so output is stable.
type Workspace struct {
	Dir string
	// Files holds every parsed file (workspace and vars files) by the name
	// diagnostics use, for printing source lines.
	Files map[string]*hcl.File
	// Environment is the selected environment's name, "" when none.
	Environment  string
	Requirements []Requirement
	Variables    []*Variable
	Environments []*Environment
	Connections  []*Connection
	Workflows    []*Workflow

	// base is the scope connection-level expressions were evaluated in;
	// Validate re-evaluates mappings in it.
	base *scope
}

// Requirement is one entry of hub.required_connectors: a local name bound
// to a connector source and a version constraint.
type Requirement struct {
	Name       string
	Source     string
	Constraint string
	Range      hcl.Range
}

// Variable is a declared input variable with its resolved value.
type Variable struct {
	Name        string
	Description string
	// Type is cty.DynamicPseudoType when the declaration has no type.
	Type      cty.Type
	Default   cty.Value // cty.NilVal when the variable is required
	Sensitive bool
	// Value is the resolved value (marked Sensitive when Sensitive), or
	// cty.DynamicVal when it could not be resolved.
	Value     cty.Value
	DeclRange hcl.Range
}

// Environment is a named set of values, e.g. sandbox or live.
type Environment struct {
	Name      string
	Values    map[string]cty.Value
	Ranges    map[string]hcl.Range
	DeclRange hcl.Range
}

// Attribute is an attribute as written and as evaluated at load time.
type Attribute struct {
	Name  string
	Expr  hcl.Expression
	Value cty.Value
	Range hcl.Range
}

// Connection is an authenticated use of a connector.
type Connection struct {
	Name string
	// Connector is a local name from hub.required_connectors.
	Connector      string
	ConnectorRange hcl.Range
	Auth           *Auth
	// Properties is nil when the connection sets none.
	Properties *Attribute
	// Env is passed to the connector's process.
	Env      map[string]cty.Value
	EnvRange hcl.Range
	// Limits is nil when the connection has no limits block: the host's
	// defaults apply.
	Limits    *Limits
	DeclRange hcl.Range
}

// Limits is a connection's flow control, as written: a field left out of
// the block (or null) is 0, which the host reads as its default (32 calls
// in flight, no rate limit, a burst of the rate rounded up).
type Limits struct {
	// Concurrency is how many calls may be in flight at once.
	Concurrency int
	// Rate is how many calls may start per second.
	Rate float64
	// Burst is how many calls may start at once after a quiet spell.
	Burst     int
	DeclRange hcl.Range
}

// Auth is a connection's credentials for one auth type.
type Auth struct {
	Type       schema.AuthType
	Attributes map[string]*Attribute
	TypeRange  hcl.Range
	DeclRange  hcl.Range
}

// Workflow is a trigger followed by ordered steps.
type Workflow struct {
	Name        string
	Description string
	Trigger     *Trigger
	Steps       []*Step
	DeclRange   hcl.Range
}

// Step returns the named step.
func (w *Workflow) Step(name string) (*Step, bool) {
	for _, s := range w.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}

// Trigger is what starts a workflow.
type Trigger struct {
	Connection      string
	Name            string
	ConnectionRange hcl.Range
	NameRange       hcl.Range
	// Mode is "" when not set; Validate then requires the trigger to offer
	// exactly one mode.
	Mode      schema.Mode
	ModeRange hcl.Range
	// Interval is the poll interval, 0 for the connector's default.
	Interval time.Duration
	// Config and When are nil when absent.
	Config    *Attribute
	When      *Attribute
	DeclRange hcl.Range
}

// OnError says what happens when a step fails for good (a permanent
// error, or its retries ran out).
type OnError string

// OnError values.
const (
	// OnErrorDeadLetter, the default: the run stops and waits in the
	// dead-letter queue, from which an operator replays or discards it.
	OnErrorDeadLetter OnError = "dead_letter"
	// OnErrorFail: the run stops and is marked failed; it is not queued
	// for replay (for steps whose failure is expected and final).
	OnErrorFail OnError = "fail"
	// OnErrorContinue: the step is marked failed and the run goes on.
	OnErrorContinue OnError = "continue"
)

// Step is one action call in a workflow.
type Step struct {
	Name            string
	Connection      string
	ConnectionRange hcl.Range
	Action          string
	ActionRange     hcl.Range
	// Input and When are nil when absent.
	Input     *Attribute
	When      *Attribute
	Retry     *Retry // nil: the engine's default policy
	OnError   OnError
	DeclRange hcl.Range
}

// Backoff is how the delay between retries grows.
type Backoff string

// Backoff values.
const (
	BackoffExponential Backoff = "exponential"
	BackoffConstant    Backoff = "constant"
)

// Retry is a step's retry policy.
type Retry struct {
	// Attempts counts every try, the first included.
	Attempts  int
	Backoff   Backoff
	Initial   time.Duration
	Max       time.Duration
	DeclRange hcl.Range
}

// Requirement returns the required connector with local name name.
func (ws *Workspace) Requirement(name string) (Requirement, bool) {
	for _, r := range ws.Requirements {
		if r.Name == name {
			return r, true
		}
	}
	return Requirement{}, false
}

// Connection returns the named connection.
func (ws *Workspace) Connection(name string) (*Connection, bool) {
	for _, c := range ws.Connections {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

// Workflow returns the named workflow.
func (ws *Workspace) Workflow(name string) (*Workflow, bool) {
	for _, w := range ws.Workflows {
		if w.Name == name {
			return w, true
		}
	}
	return nil, false
}

// Variable returns the named variable.
func (ws *Workspace) Variable(name string) (*Variable, bool) {
	for _, v := range ws.Variables {
		if v.Name == name {
			return v, true
		}
	}
	return nil, false
}
