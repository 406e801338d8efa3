package state

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Action is what a plan does to one item.
type Action string

// Actions.
const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
)

// Plan is what applying a new state over an old one changes. Every list
// is in a fixed order, so the same two states always give the same plan.
type Plan struct {
	Summary     Summary  `json:"summary"`
	Connections []Change `json:"connections"` // by name
	Workflows   []Change `json:"workflows"`   // by name
	// Subscriptions are the webhook subscriptions to delete (first) and to
	// create with the third parties.
	Subscriptions []Subscription `json:"subscriptions"`
	// VersionMoves are connectors moving between versions, per local
	// name and per workflow.
	VersionMoves []VersionMove `json:"version_moves"`
}

// Summary counts the connections and workflows a plan adds, changes and
// removes.
type Summary struct {
	Add    int `json:"add"`
	Change int `json:"change"`
	Remove int `json:"remove"`
}

// Change is one connection or workflow to create, update or delete.
type Change struct {
	Action Action `json:"action"`
	Name   string `json:"name"`
	// Attributes lists, for an update, each attribute that differs; for a
	// create, every attribute.
	Attributes []AttrChange `json:"attributes,omitempty"`
}

// AttrChange is one attribute's value before and after, as shown to
// people: Redacted for a secret. Before is nil when the attribute is new,
// After when it goes away.
type AttrChange struct {
	Path   string  `json:"path"`
	Before *string `json:"before,omitempty"`
	After  *string `json:"after,omitempty"`
}

// Subscription is a webhook subscription of a workflow's trigger.
type Subscription struct {
	Action     Action `json:"action"` // Create or Delete
	Workflow   string `json:"workflow"`
	Connection string `json:"connection"`
	Trigger    string `json:"trigger"`
}

// VersionMove is a connector source moving from one version to another:
// a local connector name re-locked (Workflow is empty, From and To name
// the same local name), or a workflow switching to another side-by-side
// version of a connector it uses.
type VersionMove struct {
	Workflow string             `json:"workflow,omitempty"`
	Source   string             `json:"source"`
	From     []ConnectorVersion `json:"from"`
	To       []ConnectorVersion `json:"to"`
}

// ConnectorVersion is a local connector name at a locked version.
type ConnectorVersion struct {
	Connector string `json:"connector"`
	Version   string `json:"version"`
}

func (cv ConnectorVersion) String() string { return cv.Connector + " " + cv.Version }

// HasChanges reports whether applying the plan changes anything.
func (p *Plan) HasChanges() bool {
	return p.Summary != Summary{}
}

// Diff returns the plan that takes old to new. A nil state is empty.
func Diff(old, new *State) *Plan {
	if old == nil {
		old = Empty()
	}
	if new == nil {
		new = Empty()
	}
	p := &Plan{Connections: []Change{}, Workflows: []Change{}, Subscriptions: []Subscription{}, VersionMoves: []VersionMove{}}
	p.Connections = diffItems(names(old.Connections, connName), names(new.Connections, connName),
		func(n string) []attr { c, _ := old.connection(n); return connectionAttrs(c) },
		func(n string) []attr { c, _ := new.connection(n); return connectionAttrs(c) })
	p.Workflows = diffItems(names(old.Workflows, wfName), names(new.Workflows, wfName),
		func(n string) []attr { w, _ := old.workflow(n); return workflowAttrs(w) },
		func(n string) []attr { w, _ := new.workflow(n); return workflowAttrs(w) })
	for _, c := range append(slices.Clone(p.Connections), p.Workflows...) {
		switch c.Action {
		case Create:
			p.Summary.Add++
		case Update:
			p.Summary.Change++
		case Delete:
			p.Summary.Remove++
		}
	}
	p.Subscriptions = diffSubscriptions(old, new)
	p.VersionMoves = versionMoves(old, new)
	return p
}

func connName(c *Connection) string { return c.Name }
func wfName(w *Workflow) string     { return w.Name }

func names[T any](items []T, name func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = name(it)
	}
	return out
}

func diffItems(oldNames, newNames []string, before, after func(string) []attr) []Change {
	all := slices.Concat(oldNames, newNames)
	slices.Sort(all)
	all = slices.Compact(all)
	out := []Change{}
	for _, n := range all {
		inOld, inNew := slices.Contains(oldNames, n), slices.Contains(newNames, n)
		switch {
		case inOld && !inNew:
			out = append(out, Change{Action: Delete, Name: n})
		case !inOld && inNew:
			c := Change{Action: Create, Name: n}
			for _, a := range after(n) {
				c.Attributes = append(c.Attributes, AttrChange{Path: a.path, After: &a.show})
			}
			out = append(out, c)
		default:
			if ch := diffAttrs(before(n), after(n)); len(ch) > 0 {
				out = append(out, Change{Action: Update, Name: n, Attributes: ch})
			}
		}
	}
	return out
}

// diffAttrs lists the attributes that differ: in the new state's order,
// then those only the old state had.
func diffAttrs(before, after []attr) []AttrChange {
	old := map[string]attr{}
	for _, a := range before {
		old[a.path] = a
	}
	var out []AttrChange
	seen := map[string]bool{}
	for _, a := range after {
		seen[a.path] = true
		o, ok := old[a.path]
		switch {
		case !ok:
			out = append(out, AttrChange{Path: a.path, After: &a.show})
		case o.key != a.key:
			out = append(out, AttrChange{Path: a.path, Before: &o.show, After: &a.show})
		}
	}
	for _, o := range before {
		if !seen[o.path] {
			out = append(out, AttrChange{Path: o.path, Before: &o.show})
		}
	}
	return out
}

// attr is one flattened attribute: show is what people see, key what is
// compared (a secret's hash, never its value).
type attr struct {
	path, show, key string
}

type attrs []attr

func (as *attrs) str(path, s string) {
	if s != "" {
		q := strconv.Quote(s)
		*as = append(*as, attr{path, q, q})
	}
}

// num adds a number that is set (non-zero): a limit left out is not an
// attribute, so adding or removing one shows as such.
func (as *attrs) num(path string, n float64) {
	if n != 0 {
		s := strconv.FormatFloat(n, 'f', -1, 64)
		*as = append(*as, attr{path, s, s})
	}
}

func (as *attrs) value(path string, v *Value) {
	switch {
	case v == nil:
	case v.Object != nil:
		for _, k := range slices.Sorted(maps.Keys(v.Object)) {
			as.value(path+"."+k, v.Object[k])
		}
	case v.Sensitive:
		*as = append(*as, attr{path, Redacted, "sha256:" + v.SHA256})
	case v.JSON != nil:
		*as = append(*as, attr{path, string(v.JSON), v.Expr + "\x00" + string(v.JSON)})
	case len(v.Inputs) > 0:
		show := v.Expr + " with " + joinInputs(v.Inputs, func(s string) string {
			if strings.HasPrefix(s, Redacted) {
				return Redacted
			}
			return s
		})
		*as = append(*as, attr{path, show, v.Expr + "\x00" + joinInputs(v.Inputs, func(s string) string { return s })})
	default:
		*as = append(*as, attr{path, v.Expr, v.Expr})
	}
}

// joinInputs lists a leaf's inputs by name, each value passed through
// show (which hides a sensitive input's hash from people).
func joinInputs(in map[string]string, show func(string) string) string {
	parts := make([]string, 0, len(in))
	for _, k := range slices.Sorted(maps.Keys(in)) {
		parts = append(parts, k+" = "+show(in[k]))
	}
	return strings.Join(parts, ", ")
}

func connectionAttrs(c *Connection) []attr {
	var as attrs
	as.str("connector", c.Connector)
	as.str("source", c.Source)
	as.str("version", c.Version)
	as.str("checksum", c.Checksum)
	if c.Auth != nil {
		as.str("auth.type", c.Auth.Type)
		for _, k := range slices.Sorted(maps.Keys(c.Auth.Attributes)) {
			as.value("auth."+k, c.Auth.Attributes[k])
		}
	}
	as.value("properties", c.Properties)
	for _, k := range slices.Sorted(maps.Keys(c.Env)) {
		as.value("env."+k, c.Env[k])
	}
	if l := c.Limits; l != nil {
		as.num("limits.concurrency", float64(l.Concurrency))
		as.num("limits.rate", l.Rate)
		as.num("limits.burst", float64(l.Burst))
	}
	return as
}

func workflowAttrs(w *Workflow) []attr {
	var as attrs
	as.str("description", w.Description)
	t := w.Trigger
	as.str("trigger.connection", t.Connection)
	as.str("trigger.name", t.Name)
	as.str("trigger.mode", t.Mode)
	as.str("trigger.interval", t.Interval)
	as.value("trigger.config", t.Config)
	as.value("trigger.when", t.When)
	order := make([]string, len(w.Steps))
	for i, s := range w.Steps {
		order[i] = strconv.Quote(s.Name)
	}
	steps := "[" + strings.Join(order, ", ") + "]"
	as = append(as, attr{"steps", steps, steps})
	for _, s := range w.Steps {
		p := "action." + s.Name + "."
		as.str(p+"connection", s.Connection)
		as.str(p+"action", s.Action)
		as.value(p+"input", s.Input)
		as.value(p+"when", s.When)
		if s.Retry != nil {
			n := strconv.Itoa(s.Retry.Attempts)
			as = append(as, attr{p + "retry.attempts", n, n})
			as.str(p+"retry.backoff", s.Retry.Backoff)
			as.str(p+"retry.initial", s.Retry.Initial)
			as.str(p+"retry.max", s.Retry.Max)
		}
		as.str(p+"on_error", s.OnError)
	}
	return as
}

// subscriptionKey identifies what a webhook subscription was made with:
// the trigger, its config (fixed for the subscription's life) and the
// third-party account the connection stands for (connector, version and
// properties). When any of it changes, the old subscription is deleted
// and a new one created. Credentials are not part of it: rotating a key
// keeps the subscription.
func subscriptionKey(s *State, w *Workflow) (string, bool) {
	t := w.Trigger
	if t.Mode != "webhook" {
		return "", false
	}
	var as attrs
	as.str("connection", t.Connection)
	as.str("name", t.Name)
	as.value("config", t.Config)
	if c, ok := s.connection(t.Connection); ok {
		as.str("source", c.Source)
		as.str("version", c.Version)
		as.value("properties", c.Properties)
	}
	var b strings.Builder
	for _, a := range as {
		b.WriteString(a.path + "=" + a.key + "\n")
	}
	return b.String(), true
}

func diffSubscriptions(old, new *State) []Subscription {
	var del, add []Subscription
	for _, w := range old.Workflows {
		ok, had := subscriptionKey(old, w)
		if !had {
			continue
		}
		nw, found := new.workflow(w.Name)
		if found {
			if nk, has := subscriptionKey(new, nw); has && nk == ok {
				continue
			}
		}
		del = append(del, Subscription{Action: Delete, Workflow: w.Name, Connection: w.Trigger.Connection, Trigger: w.Trigger.Name})
	}
	for _, w := range new.Workflows {
		nk, has := subscriptionKey(new, w)
		if !has {
			continue
		}
		if ow, found := old.workflow(w.Name); found {
			if ok, had := subscriptionKey(old, ow); had && ok == nk {
				continue
			}
		}
		add = append(add, Subscription{Action: Create, Workflow: w.Name, Connection: w.Trigger.Connection, Trigger: w.Trigger.Name})
	}
	return append(append([]Subscription{}, del...), add...)
}

// uses returns the connectors a workflow runs on, by source.
func uses(s *State, w *Workflow) map[string][]ConnectorVersion {
	out := map[string][]ConnectorVersion{}
	conns := []string{w.Trigger.Connection}
	for _, st := range w.Steps {
		conns = append(conns, st.Connection)
	}
	for _, name := range conns {
		c, ok := s.connection(name)
		if !ok {
			continue
		}
		cv := ConnectorVersion{c.Connector, c.Version}
		if !slices.Contains(out[c.Source], cv) {
			out[c.Source] = append(out[c.Source], cv)
		}
	}
	for _, cvs := range out {
		slices.SortFunc(cvs, func(a, b ConnectorVersion) int {
			return cmp.Or(cmp.Compare(a.Connector, b.Connector), cmp.Compare(a.Version, b.Version))
		})
	}
	return out
}

func versionMoves(old, new *State) []VersionMove {
	out := []VersionMove{}
	// Local names re-locked at another version of the same source.
	locked := func(s *State) map[string]*Connection {
		m := map[string]*Connection{}
		for _, c := range s.Connections {
			m[c.Connector] = c
		}
		return m
	}
	ol, nl := locked(old), locked(new)
	for _, name := range slices.Sorted(maps.Keys(nl)) {
		o, ok := ol[name]
		n := nl[name]
		if ok && o.Source == n.Source && o.Version != n.Version {
			out = append(out, VersionMove{Source: n.Source,
				From: []ConnectorVersion{{name, o.Version}}, To: []ConnectorVersion{{name, n.Version}}})
		}
	}
	// Workflows switching between side-by-side versions.
	for _, w := range new.Workflows {
		ow, ok := old.workflow(w.Name)
		if !ok {
			continue
		}
		before, after := uses(old, ow), uses(new, w)
		for _, src := range slices.Sorted(maps.Keys(after)) {
			b, ok := before[src]
			if !ok || slices.Equal(b, after[src]) || sameLocalNames(b, after[src]) {
				continue
			}
			out = append(out, VersionMove{Workflow: w.Name, Source: src, From: b, To: after[src]})
		}
	}
	return out
}

// sameLocalNames reports whether a and b use the same local names: a
// version change of those is reported once, for the local name.
func sameLocalNames(a, b []ConnectorVersion) bool {
	return slices.EqualFunc(a, b, func(x, y ConnectorVersion) bool { return x.Connector == y.Connector })
}

// Render writes the plan for people.
func (p *Plan) Render(w io.Writer) error {
	var b strings.Builder
	if !p.HasChanges() {
		b.WriteString("No changes: the applied state matches the workspace.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("hub will make these changes:\n\n")
	for _, group := range []struct {
		kind    string
		changes []Change
	}{{"connection", p.Connections}, {"workflow", p.Workflows}} {
		for _, c := range group.changes {
			fmt.Fprintf(&b, "  %s %s %q\n", sign(c.Action), group.kind, c.Name)
			for _, a := range c.Attributes {
				switch {
				case a.Before == nil:
					fmt.Fprintf(&b, "      + %s: %s\n", a.Path, *a.After)
				case a.After == nil:
					fmt.Fprintf(&b, "      - %s: %s\n", a.Path, *a.Before)
				default:
					fmt.Fprintf(&b, "      ~ %s: %s -> %s\n", a.Path, *a.Before, *a.After)
				}
			}
			b.WriteString("\n")
		}
	}
	if len(p.Subscriptions) > 0 {
		b.WriteString("Webhook subscriptions:\n")
		for _, s := range p.Subscriptions {
			fmt.Fprintf(&b, "  %s %s subscription of workflow %q to %s.%s\n", sign(s.Action), s.Action, s.Workflow, s.Connection, s.Trigger)
		}
		b.WriteString("\n")
	}
	if len(p.VersionMoves) > 0 {
		b.WriteString("Connector versions:\n")
		for _, m := range p.VersionMoves {
			if m.Workflow == "" {
				fmt.Fprintf(&b, "  ~ connector %q (%s): %s -> %s\n", m.From[0].Connector, m.Source, m.From[0].Version, m.To[0].Version)
				continue
			}
			fmt.Fprintf(&b, "  ~ workflow %q (%s): %s -> %s\n", m.Workflow, m.Source, joinCV(m.From), joinCV(m.To))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Plan: %d to add, %d to change, %d to remove.\n", p.Summary.Add, p.Summary.Change, p.Summary.Remove)
	_, err := io.WriteString(w, b.String())
	return err
}

func joinCV(cvs []ConnectorVersion) string {
	s := make([]string, len(cvs))
	for i, cv := range cvs {
		s[i] = cv.String()
	}
	return strings.Join(s, ", ")
}

func sign(a Action) string {
	switch a {
	case Create:
		return "+"
	case Delete:
		return "-"
	}
	return "~"
}
