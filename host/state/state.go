package state

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/hubhq/hub/host/config"
	"github.com/hubhq/hub/host/lockfile"
	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/sdk/schema"
)

// FormatVersion is the version of the stored State's JSON shape.
const FormatVersion = 1

// State is the desired state of one workspace, in canonical form.
type State struct {
	Version     int           `json:"version"`
	Connections []*Connection `json:"connections"` // sorted by name
	Workflows   []*Workflow   `json:"workflows"`   // sorted by name
}

// Empty returns the state of a tenant that has applied nothing.
func Empty() *State {
	return &State{Version: FormatVersion, Connections: []*Connection{}, Workflows: []*Workflow{}}
}

// Connection is an authenticated use of a connector at a locked version.
type Connection struct {
	Name string `json:"name"`
	// Connector is the workspace's local name of the connector.
	Connector string `json:"connector"`
	Source    string `json:"source"`
	Version   string `json:"version"`
	// Checksum is the locked binary's checksum for this platform: a
	// rebuilt connector of the same version is a change to apply.
	Checksum   string            `json:"checksum,omitempty"`
	Auth       *Auth             `json:"auth,omitempty"`
	Properties *Value            `json:"properties,omitempty"`
	Env        map[string]*Value `json:"env,omitempty"`
	// Limits is nil when the connection has no limits block, or an empty
	// one.
	Limits *Limits `json:"limits,omitempty"`
}

// Limits is a connection's flow control as written; 0 is a field left
// out, which the host reads as its default. The host applies a change
// to a running connection without restarting it.
type Limits struct {
	Concurrency int     `json:"concurrency,omitempty"`
	Rate        float64 `json:"rate,omitempty"`
	Burst       int     `json:"burst,omitempty"`
}

// Auth is a connection's auth type and attributes.
type Auth struct {
	Type       string            `json:"type"`
	Attributes map[string]*Value `json:"attributes,omitempty"`
}

// Workflow is a trigger and its ordered steps.
type Workflow struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Trigger     *Trigger `json:"trigger"`
	Steps       []*Step  `json:"steps"`
}

// Trigger is what starts a workflow.
type Trigger struct {
	Connection string `json:"connection"`
	Name       string `json:"name"`
	// Mode is as written, or the trigger's only mode once ResolveModes
	// has run; "" when neither is known.
	Mode string `json:"mode,omitempty"`
	// Interval is a Go duration, "" for the connector's default.
	Interval string `json:"interval,omitempty"`
	Config   *Value `json:"config,omitempty"`
	When     *Value `json:"when,omitempty"`
}

// Step is one action call.
type Step struct {
	Name       string `json:"name"`
	Connection string `json:"connection"`
	Action     string `json:"action"`
	Input      *Value `json:"input,omitempty"`
	When       *Value `json:"when,omitempty"`
	Retry      *Retry `json:"retry,omitempty"`
	OnError    string `json:"on_error"`
}

// Retry is a step's retry policy; durations are Go durations.
type Retry struct {
	Attempts int    `json:"attempts"`
	Backoff  string `json:"backoff"`
	Initial  string `json:"initial"`
	Max      string `json:"max"`
}

// Build returns the canonical state of ws with the versions lock records.
// ws should have loaded without errors; every connector a connection uses
// must be locked.
func Build(ws *config.Workspace, lock *lockfile.Lock) (*State, error) {
	if ws == nil || lock == nil {
		return nil, fmt.Errorf("build state: workspace and lock are required")
	}
	b := &builder{ws: ws}
	s := Empty()
	for _, c := range ws.Connections {
		e, ok := lock.Connectors[c.Connector]
		if !ok || e.Version == nil {
			return nil, fmt.Errorf("build state: connection %q uses connector %q, which is not in %s; run hub init", c.Name, c.Connector, lockfile.FileName)
		}
		sc := &Connection{Name: c.Name, Connector: c.Connector, Source: e.Source, Version: e.Version.String(), Checksum: e.Hashes[registry.Platform()]}
		if c.Auth != nil {
			sc.Auth = &Auth{Type: string(c.Auth.Type)}
			for name, a := range c.Auth.Attributes {
				if sc.Auth.Attributes == nil {
					sc.Auth.Attributes = map[string]*Value{}
				}
				v := b.attr(a)
				if credentialAttrs[name] {
					v = redactAll(v)
				}
				sc.Auth.Attributes[name] = v
			}
		}
		sc.Properties = b.attr(c.Properties)
		if len(c.Env) > 0 {
			env, err := b.env(c)
			if err != nil {
				return nil, err
			}
			sc.Env = env
		}
		// An empty limits block means the defaults, as no block does.
		if l := c.Limits; l != nil && (l.Concurrency != 0 || l.Rate != 0 || l.Burst != 0) {
			sc.Limits = &Limits{Concurrency: l.Concurrency, Rate: l.Rate, Burst: l.Burst}
		}
		s.Connections = append(s.Connections, sc)
	}
	for _, w := range ws.Workflows {
		if w.Trigger == nil {
			return nil, fmt.Errorf("build state: workflow %q has no trigger", w.Name)
		}
		t := w.Trigger
		sw := &Workflow{Name: w.Name, Description: w.Description, Steps: []*Step{}, Trigger: &Trigger{
			Connection: t.Connection,
			Name:       t.Name,
			Mode:       string(t.Mode),
			Config:     b.attr(t.Config),
			When:       b.attr(t.When),
		}}
		if t.Interval > 0 {
			sw.Trigger.Interval = t.Interval.String()
		}
		for _, st := range w.Steps {
			ss := &Step{Name: st.Name, Connection: st.Connection, Action: st.Action, Input: b.attr(st.Input), When: b.attr(st.When), OnError: string(st.OnError)}
			if st.Retry != nil {
				ss.Retry = &Retry{Attempts: st.Retry.Attempts, Backoff: string(st.Retry.Backoff), Initial: st.Retry.Initial.String(), Max: st.Retry.Max.String()}
			}
			sw.Steps = append(sw.Steps, ss)
		}
		s.Workflows = append(s.Workflows, sw)
	}
	slices.SortFunc(s.Connections, func(a, b *Connection) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(s.Workflows, func(a, b *Workflow) int { return cmp.Compare(a.Name, b.Name) })
	return s, nil
}

// ResolveModes fills in the mode of each trigger written without one from
// the connectors' schemas (by local connector name), where the trigger
// offers exactly one mode; validation refuses the other cases. Plans need
// the mode to know which triggers hold webhook subscriptions.
func (s *State) ResolveModes(schemas map[string]*schema.Schema) {
	for _, w := range s.Workflows {
		if w.Trigger.Mode != "" {
			continue
		}
		c, ok := s.connection(w.Trigger.Connection)
		if !ok {
			continue
		}
		sc, ok := schemas[c.Connector]
		if !ok || sc == nil {
			continue
		}
		if tr, ok := sc.Trigger(w.Trigger.Name); ok && len(tr.Modes) == 1 {
			w.Trigger.Mode = string(tr.Modes[0])
		}
	}
}

func (s *State) connection(name string) (*Connection, bool) {
	for _, c := range s.Connections {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

func (s *State) workflow(name string) (*Workflow, bool) {
	for _, w := range s.Workflows {
		if w.Name == name {
			return w, true
		}
	}
	return nil, false
}

type builder struct {
	ws *config.Workspace
}

func (b *builder) attr(a *config.Attribute) *Value {
	if a == nil {
		return nil
	}
	return b.value(a.Expr, a.Value)
}

// env rebuilds the env attribute's expression from its source, because
// the workspace keeps only the evaluated map, so each variable's
// expression can be compared and redacted like any other attribute.
func (b *builder) env(c *config.Connection) (map[string]*Value, error) {
	vals := cty.ObjectVal(c.Env)
	out := map[string]*Value{}
	rng := c.EnvRange
	src, ok := b.source(rng)
	if !ok {
		return nil, fmt.Errorf("build state: connection %q: the source of env at %s is not available", c.Name, rng)
	}
	f, diags := hclsyntax.ParseConfig(src, rng.Filename, rng.Start)
	if diags.HasErrors() {
		return nil, fmt.Errorf("build state: connection %q: parse env at %s: %s", c.Name, rng, diags.Error())
	}
	attrs, diags := f.Body.JustAttributes()
	a, found := attrs["env"]
	if diags.HasErrors() || !found {
		return nil, fmt.Errorf("build state: connection %q: no env attribute at %s", c.Name, rng)
	}
	v := b.value(a.Expr, vals)
	if v.Object != nil {
		for name := range c.Env {
			if fv, ok := v.Object[name]; ok {
				out[name] = fv
			}
		}
		return out, nil
	}
	// env built by a single expression (a variable, a merge): one value
	// per name, each with that expression's text.
	for name, ev := range c.Env {
		out[name] = b.leaf(a.Expr, ev)
	}
	return out, nil
}

// source returns the bytes of rng in the workspace's parsed files. The
// ranges' byte offsets are absolute, also for expressions re-parsed from
// a fragment starting at its original position.
func (b *builder) source(rng hcl.Range) ([]byte, bool) {
	f, ok := b.ws.Files[rng.Filename]
	if !ok || f == nil || rng.Start.Byte < 0 || rng.End.Byte > len(f.Bytes) || rng.Start.Byte > rng.End.Byte {
		return nil, false
	}
	return f.Bytes[rng.Start.Byte:rng.End.Byte], true
}
