package config

import (
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/hubhq/hub/sdk/schema"
)

var workflowSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "description"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "trigger", LabelNames: []string{"connection", "name"}},
		{Type: "action", LabelNames: []string{"name"}},
	},
}

var triggerSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "mode"},
		{Name: "interval"},
		{Name: "config"},
		{Name: "when"},
	},
}

var actionSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "connection", Required: true},
		{Name: "action", Required: true},
		{Name: "input"},
		{Name: "when"},
		{Name: "on_error"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "retry"}},
}

var retrySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "attempts"},
		{Name: "backoff"},
		{Name: "initial"},
		{Name: "max"},
	},
}

// Retry defaults, used for whatever a retry block leaves out.
const (
	DefaultRetryAttempts = 3
	DefaultRetryInitial  = time.Second
	DefaultRetryMax      = time.Hour
)

func (l *loader) decodeWorkflow(b *hcl.Block, base *scope) {
	w := &Workflow{Name: b.Labels[0], DeclRange: b.DefRange}
	l.ws.Workflows = append(l.ws.Workflows, w)
	content, diags := b.Body.Content(workflowSchema)
	l.add(diags)
	if a, ok := content.Attributes["description"]; ok {
		w.Description, _ = l.literalString(a.Expr, "description")
	}
	var actions []*hcl.Block
	seen := map[string]hcl.Range{}
	for _, sb := range content.Blocks {
		switch sb.Type {
		case "trigger":
			if w.Trigger != nil {
				l.errorf(sb.DefRange.Ptr(), "Duplicate trigger", "Workflow %q already has a trigger at %s; a workflow starts from one trigger.", w.Name, w.Trigger.DeclRange)
				continue
			}
			w.Trigger = l.decodeTrigger(sb, base)
		case "action":
			if l.unique("action", sb, seen) {
				actions = append(actions, sb)
			}
		}
	}
	if w.Trigger == nil {
		l.errorf(w.DeclRange.Ptr(), "Missing trigger", "Workflow %q needs a trigger \"<connection>\" \"<trigger>\" block.", w.Name)
	}
	if len(actions) == 0 {
		l.errorf(w.DeclRange.Ptr(), "Missing action", "Workflow %q needs at least one action block.", w.Name)
	}
	all := make([]string, len(actions))
	for i, ab := range actions {
		all[i] = ab.Labels[0]
	}
	for i, ab := range actions {
		// A step sees the event and the outputs of the steps before it:
		// steps run in order, so a later output does not exist yet.
		s := *base
		s.event = true
		s.steps = all[:i:i]
		s.allSteps = all
		w.Steps = append(w.Steps, l.decodeStep(ab, &s))
	}
}

func (l *loader) decodeTrigger(b *hcl.Block, base *scope) *Trigger {
	t := &Trigger{
		Connection:      b.Labels[0],
		Name:            b.Labels[1],
		ConnectionRange: b.LabelRanges[0],
		NameRange:       b.LabelRanges[1],
		DeclRange:       b.DefRange,
	}
	l.checkConnection(t.Connection, &t.ConnectionRange)
	content, diags := b.Body.Content(triggerSchema)
	l.add(diags)
	if a, ok := content.Attributes["mode"]; ok {
		t.ModeRange = a.Expr.Range()
		if m, ok := l.literalString(a.Expr, "mode"); ok {
			switch schema.Mode(m) {
			case schema.ModeWebhook, schema.ModePoll, schema.ModeStream:
				t.Mode = schema.Mode(m)
			default:
				l.errorf(&t.ModeRange, "Invalid mode", "mode must be webhook, poll or stream; got %q.", m)
			}
		}
	}
	if a, ok := content.Attributes["interval"]; ok {
		if d, ok := l.duration(a, "interval"); ok {
			t.Interval = d
		}
		if t.Mode != schema.ModePoll {
			l.errorf(a.Range.Ptr(), "Interval without polling", "interval applies only to mode = \"poll\".")
		}
	}
	// The config is fixed for the subscription's life, so it cannot
	// depend on an event.
	if a, ok := content.Attributes["config"]; ok {
		v, diags := base.eval(a.Expr)
		l.add(diags)
		t.Config = &Attribute{Name: a.Name, Expr: a.Expr, Value: v, Range: a.Range}
	}
	if a, ok := content.Attributes["when"]; ok {
		s := *base
		s.event = true
		t.When = l.condition(a, &s)
	}
	return t
}

func (l *loader) checkConnection(name string, rng *hcl.Range) {
	if _, ok := l.ws.Connection(name); ok {
		return
	}
	names := make([]string, len(l.ws.Connections))
	for i, c := range l.ws.Connections {
		names[i] = c.Name
	}
	known := "none"
	if len(names) > 0 {
		known = strings.Join(names, ", ")
	}
	l.errorf(rng, "Unknown connection", "No connection %q is declared (declared: %s).", name, known)
}

// condition decodes a when expression: it must yield a bool once the
// event is known, and when its type is already known it must be bool.
func (l *loader) condition(a *hcl.Attribute, s *scope) *Attribute {
	v, diags := s.eval(a.Expr)
	l.add(diags)
	if !diags.HasErrors() && v.Type() != cty.DynamicPseudoType {
		if _, err := convert.Convert(v, cty.Bool); err != nil {
			l.errorf(a.Expr.Range().Ptr(), "Invalid condition", "when must be a bool, got %s.", v.Type().FriendlyName())
		}
	}
	return &Attribute{Name: a.Name, Expr: a.Expr, Value: v, Range: a.Range}
}

func (l *loader) decodeStep(b *hcl.Block, s *scope) *Step {
	st := &Step{Name: b.Labels[0], OnError: OnErrorDeadLetter, DeclRange: b.DefRange}
	content, diags := b.Body.Content(actionSchema)
	l.add(diags)
	if a, ok := content.Attributes["connection"]; ok {
		st.ConnectionRange = a.Expr.Range()
		if name, ok := l.literalString(a.Expr, "connection"); ok {
			st.Connection = name
			l.checkConnection(name, &st.ConnectionRange)
		}
	}
	if a, ok := content.Attributes["action"]; ok {
		st.ActionRange = a.Expr.Range()
		st.Action, _ = l.literalString(a.Expr, "action")
	}
	if a, ok := content.Attributes["input"]; ok {
		v, diags := s.eval(a.Expr)
		l.add(diags)
		st.Input = &Attribute{Name: a.Name, Expr: a.Expr, Value: v, Range: a.Range}
	}
	if a, ok := content.Attributes["when"]; ok {
		st.When = l.condition(a, s)
	}
	if a, ok := content.Attributes["on_error"]; ok {
		if v, ok := l.literalString(a.Expr, "on_error"); ok {
			switch OnError(v) {
			case OnErrorFail, OnErrorContinue, OnErrorDeadLetter:
				st.OnError = OnError(v)
			default:
				l.errorf(a.Expr.Range().Ptr(), "Invalid on_error", "on_error must be fail, continue or dead_letter; got %q.", v)
			}
		}
	}
	for _, rb := range content.Blocks {
		if st.Retry != nil {
			l.errorf(rb.DefRange.Ptr(), "Duplicate retry block", "Action %q already has a retry block at %s.", st.Name, st.Retry.DeclRange)
			continue
		}
		st.Retry = l.decodeRetry(rb)
	}
	return st
}

func (l *loader) decodeRetry(b *hcl.Block) *Retry {
	r := &Retry{
		Attempts:  DefaultRetryAttempts,
		Backoff:   BackoffExponential,
		Initial:   DefaultRetryInitial,
		Max:       DefaultRetryMax,
		DeclRange: b.DefRange,
	}
	content, diags := b.Body.Content(retrySchema)
	l.add(diags)
	if a, ok := content.Attributes["attempts"]; ok {
		v, diags := a.Expr.Value(nil)
		n, err := convert.Convert(v, cty.Number)
		switch {
		case diags.HasErrors() || err != nil || n.IsNull() || !n.IsKnown():
			l.errorf(a.Expr.Range().Ptr(), "Invalid attempts", "attempts must be a whole number.")
		default:
			i, acc := n.AsBigFloat().Int64()
			if acc != 0 || !n.AsBigFloat().IsInt() || i < 1 || i > 1000 {
				l.errorf(a.Expr.Range().Ptr(), "Invalid attempts", "attempts counts every try, the first included: a whole number from 1 to 1000.")
			} else {
				r.Attempts = int(i)
			}
		}
	}
	if a, ok := content.Attributes["backoff"]; ok {
		if v, ok := l.literalString(a.Expr, "backoff"); ok {
			switch Backoff(v) {
			case BackoffExponential, BackoffConstant:
				r.Backoff = Backoff(v)
			default:
				l.errorf(a.Expr.Range().Ptr(), "Invalid backoff", "backoff must be exponential or constant; got %q.", v)
			}
		}
	}
	initialOK, maxOK := true, true
	if a, ok := content.Attributes["initial"]; ok {
		r.Initial, initialOK = l.duration(a, "initial")
	}
	if a, ok := content.Attributes["max"]; ok {
		r.Max, maxOK = l.duration(a, "max")
	}
	if initialOK && maxOK && r.Max < r.Initial {
		rng := b.DefRange
		if a, ok := content.Attributes["max"]; ok {
			rng = a.Expr.Range()
		}
		l.errorf(&rng, "Invalid retry delays", "max (%s) is shorter than initial (%s).", r.Max, r.Initial)
	}
	return r
}

// duration reads a positive Go duration literal such as "5m" or "1h30m".
func (l *loader) duration(a *hcl.Attribute, what string) (time.Duration, bool) {
	s, ok := l.literalString(a.Expr, what)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		l.errorf(a.Expr.Range().Ptr(), "Invalid "+what, "%s must be a positive duration such as \"30s\", \"5m\" or \"1h\"; got %q.", what, s)
		return 0, false
	}
	return d, true
}

// keyName returns an object constructor key as a string: a bare word, or a
// constant string expression.
func keyName(expr hcl.Expression) (string, bool) {
	if name := hcl.ExprAsKeyword(expr); name != "" {
		return name, true
	}
	if k, ok := expr.(*hclsyntax.ObjectConsKeyExpr); ok {
		expr = k.Wrapped
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}
