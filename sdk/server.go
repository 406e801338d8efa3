package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"

	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

// Option adjusts how Server runs a connector.
type Option func(*server)

// WithLogger sends the connector's logs to l (default: discarded).
func WithLogger(l hclog.Logger) Option { return func(s *server) { s.logger = l } }

// WithHTTPClient makes Conn.HTTP use base for transport, redirects and
// timeout; tests point it at a fake third party.
func WithHTTPClient(base *http.Client) Option { return func(s *server) { s.base = base } }

// DeclarationError lists everything wrong with a connector's declaration.
type DeclarationError struct {
	Connector  string
	Violations []fault.Violation
}

func (e *DeclarationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "connector %q: %d problem(s) in its declaration", e.Connector, len(e.Violations))
	for _, v := range e.Violations {
		b.WriteString("\n  ")
		b.WriteString(v.String())
	}
	return b.String()
}

// Schema returns the schema a connector declares, with trigger modes
// derived from its handlers where not given.
func (c *Connector) Schema() *schema.Schema {
	s := &schema.Schema{
		Name: c.Name, Version: c.Version, DisplayName: c.DisplayName, Description: c.Description,
		Homepage: c.Homepage, Categories: c.Categories, Auth: c.Auth, Properties: c.Properties,
		Deprecation: c.Deprecation,
	}
	for _, t := range c.Triggers {
		spec := t.Spec
		if len(spec.Modes) == 0 {
			spec.Modes = t.handlerModes()
		}
		s.Triggers = append(s.Triggers, spec)
	}
	for _, a := range c.Actions {
		s.Actions = append(s.Actions, a.Spec)
	}
	return s
}

func (t *Trigger) handlerModes() []schema.Mode {
	var modes []schema.Mode
	if t.Webhook != nil {
		modes = append(modes, schema.ModeWebhook)
	}
	if t.Poll != nil {
		modes = append(modes, schema.ModePoll)
	}
	if t.Stream != nil {
		modes = append(modes, schema.ModeStream)
	}
	return modes
}

// Validate reports every problem with the declaration: the schema's own
// (Schema.Check) and the SDK's (handlers missing for declared modes or
// actions, a session scheme without Login).
func (c *Connector) Validate() []fault.Violation {
	vs := c.Schema().Check()
	add := func(path, format string, args ...any) {
		vs = append(vs, fault.Violation{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	for i, t := range c.Triggers {
		at := fmt.Sprintf("triggers[%d]", i)
		if schema.ValidName(t.Spec.Name) {
			at = "triggers." + t.Spec.Name
		}
		have := t.handlerModes()
		for _, m := range t.Spec.Modes {
			if !slices.Contains(have, m) {
				add(at+".modes", "declares mode %q but has no %s handler", m, m)
			}
		}
		if len(t.Spec.Modes) > 0 {
			for _, m := range have {
				if !slices.Contains(t.Spec.Modes, m) {
					add(at+".modes", "has a %s handler but does not declare mode %q", m, m)
				}
			}
		}
		if t.Webhook != nil && t.Webhook.Handle == nil {
			add(at+".webhook", "a webhook needs a Handle function")
		}
		if t.Webhook != nil && t.Webhook.Subscribe == nil && t.Webhook.Unsubscribe != nil {
			add(at+".webhook", "has Unsubscribe without Subscribe")
		}
	}
	for i, a := range c.Actions {
		if a.run == nil {
			at := fmt.Sprintf("actions[%d]", i)
			if schema.ValidName(a.Spec.Name) {
				at = "actions." + a.Spec.Name
			}
			add(at, "has no handler; build the action with sdk.NewAction")
		}
	}
	for _, a := range c.Auth {
		if a.Type == schema.AuthSession && c.Login == nil {
			add("auth.session", "a session scheme needs Connector.Login")
		}
	}
	return vs
}

// server is a Connector declaration served as a wire.Connector.
type server struct {
	c        *Connector
	schema   *schema.Schema
	props    *schema.Field
	actions  map[string]*Action
	triggers map[string]*Trigger
	logger   hclog.Logger
	base     *http.Client
	// digests is the Digest state of every connection's calls: keyed by
	// credentials and origin, so connections with other credentials never
	// share a session.
	digests *digestCache

	propsCache   propsCache
	outputChecks map[string]*atomic.Uint64
}

// propsCache remembers prepared connection properties by their raw bytes:
// the host sends the same properties with every call of a connection, so
// they are decoded, defaulted and validated once, not on every call.
type propsCache struct {
	mu sync.RWMutex
	m  map[string]preparedProps
}

type preparedProps struct {
	raw json.RawMessage
	vs  []fault.Violation
}

// propsCacheSize bounds the cache; past it the cache starts over, which
// costs one preparation per connection.
const propsCacheSize = 256

func (pc *propsCache) prepare(shape *schema.Field, raw json.RawMessage) (json.RawMessage, []fault.Violation, error) {
	key := string(raw)
	pc.mu.RLock()
	p, ok := pc.m[key]
	pc.mu.RUnlock()
	if ok {
		return p.raw, p.vs, nil
	}
	out, vs, err := schema.Prepare(shape, raw)
	if err != nil {
		return nil, nil, err
	}
	pc.mu.Lock()
	if pc.m == nil || len(pc.m) >= propsCacheSize {
		pc.m = make(map[string]preparedProps)
	}
	pc.m[key] = preparedProps{raw: out, vs: vs}
	pc.mu.Unlock()
	return out, vs, nil
}

// sampleOutput says whether to check this call's output against the
// action's declaration: the first calls of each action, then one in 100.
func (s *server) sampleOutput(action string) bool {
	n := s.outputChecks[action].Add(1)
	return n <= 10 || n%100 == 0
}

// Server checks c's declaration and returns it as the wire.Connector the
// plugin serves. A declaration with problems is refused with a
// *DeclarationError listing all of them.
func Server(c *Connector, opts ...Option) (wire.Connector, error) {
	if vs := c.Validate(); len(vs) > 0 {
		return nil, &DeclarationError{Connector: c.Name, Violations: vs}
	}
	s := &server{
		c: c, schema: c.Schema(), props: schema.ObjectOf(c.Properties),
		actions: map[string]*Action{}, triggers: map[string]*Trigger{}, outputChecks: map[string]*atomic.Uint64{},
		logger: hclog.NewNullLogger(),
	}
	for _, o := range opts {
		o(s)
	}
	if s.base == nil {
		s.base = defaultHTTPClient()
	}
	s.digests = newDigestCache(maxDigestKeys, maxDigestSessionsPerKey)
	for i := range c.Actions {
		s.actions[c.Actions[i].Spec.Name] = &c.Actions[i]
		s.outputChecks[c.Actions[i].Spec.Name] = new(atomic.Uint64)
	}
	for i := range c.Triggers {
		s.triggers[c.Triggers[i].Spec.Name] = &c.Triggers[i]
	}
	return s, nil
}

// Serve runs c as a hub connector plugin: it checks the declaration, then
// answers the host over gRPC until the host stops it, logging as JSON to
// stderr where the host collects it. A declaration with problems is printed
// to stderr, every problem on its own line, and the process exits 1, so an
// author sees all of them at the first launch.
func Serve(c *Connector) {
	logger := hclog.New(&hclog.LoggerOptions{
		Name: c.Name, Output: os.Stderr, JSONFormat: true, Level: hclog.Debug,
	})
	impl, err := Server(c, WithLogger(logger))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wire.Serve(impl, logger)
}

func (s *server) Schema(context.Context) (*schema.Schema, error) { return s.schema, nil }

// conn validates a connection's properties (filling defaults) and builds
// the call's Conn.
func (s *server) conn(wc wire.Connection) (*Conn, error) {
	props, vs, err := s.propsCache.prepare(s.props, wc.Properties)
	if err != nil {
		return nil, fault.Invalid("connection properties are not JSON", fault.Violation{Path: "properties", Message: err.Error()})
	}
	if len(vs) > 0 {
		// vs is shared through the cache: prefix a copy.
		vs = slices.Clone(vs)
		for i := range vs {
			vs[i].Path = prefixed("properties", vs[i].Path)
		}
		return nil, fault.Invalid(fmt.Sprintf("connection %q has invalid properties", wc.Name), vs...)
	}
	return newConn(wc, s.completeAuth(wc.Auth), props, s.logger, s.base, s.digests), nil
}

// completeAuth fills an API key's placement from the declaration when the
// host sent only the key.
func (s *server) completeAuth(a wire.Auth) wire.Auth {
	if a.Type != schema.AuthAPIKey || a.APIKeySpec.Name != "" {
		return a
	}
	for _, sc := range s.schema.Auth {
		if sc.Type == schema.AuthAPIKey && sc.APIKey != nil {
			a.APIKeySpec = *sc.APIKey
		}
	}
	return a
}

func prefixed(at, p string) string {
	switch {
	case p == "":
		return at
	case strings.HasPrefix(p, "["):
		return at + p
	}
	return at + "." + p
}

// prepare fills defaults into raw and validates it against shape, returning
// an invalid-input error that says what was being checked.
func prepare(shape *schema.Field, raw json.RawMessage, what string) (json.RawMessage, error) {
	withDefaults, vs, err := schema.Prepare(shape, raw)
	if err != nil {
		return nil, fault.Invalid(what+" is not JSON", fault.Violation{Message: err.Error()})
	}
	if len(vs) > 0 {
		return nil, fault.Invalid("invalid "+what, vs...)
	}
	return withDefaults, nil
}

func (s *server) CheckConnection(ctx context.Context, wc wire.Connection) (string, error) {
	c, err := s.conn(wc)
	if err != nil {
		return "", err
	}
	if s.c.Check == nil {
		return "", nil
	}
	return s.c.Check(ctx, c)
}

func (s *server) ExecuteAction(ctx context.Context, req wire.ActionRequest) (json.RawMessage, error) {
	a, ok := s.actions[req.Action]
	if !ok {
		return nil, fault.Invalid(fmt.Sprintf("connector %s %s has no action %q", s.c.Name, s.c.Version, req.Action),
			fault.Violation{Path: "action", Message: "known actions: " + strings.Join(s.actionNames(), ", ")})
	}
	c, err := s.conn(req.Conn)
	if err != nil {
		return nil, err
	}
	input, err := prepare(a.Spec.Input, req.Input, "input for action "+req.Action)
	if err != nil {
		return nil, err
	}
	out, err := a.run(ctx, c, input, ActionCall{Action: req.Action, IdempotencyKey: req.IdempotencyKey, Attempt: req.Attempt})
	if err != nil {
		return nil, err
	}
	// The action has already happened at the third party: an output that
	// strays from the declaration is logged, not turned into a failure
	// that would make the host repeat it. sdktest holds authors to it on
	// every call; here a sample is checked, as a diagnostic that costs a
	// decode of the output.
	if s.sampleOutput(req.Action) {
		if vs := schema.ValidateJSON(a.Spec.Output, out); len(vs) > 0 {
			c.Logger().Warn("action output does not match its declared shape", "action", req.Action, "problems", violationStrings(vs))
		}
	}
	return out, nil
}

func violationStrings(vs []fault.Violation) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

func (s *server) actionNames() []string {
	names := make([]string, 0, len(s.c.Actions))
	for _, a := range s.c.Actions {
		names = append(names, a.Spec.Name)
	}
	return names
}

// trigger finds a trigger offering mode and prepares the call's Conn and
// config.
func (s *server) trigger(name string, mode schema.Mode, wc wire.Connection, config json.RawMessage) (*Trigger, *Conn, Config, error) {
	t, ok := s.triggers[name]
	if !ok {
		names := make([]string, 0, len(s.c.Triggers))
		for _, t := range s.c.Triggers {
			names = append(names, t.Spec.Name)
		}
		return nil, nil, nil, fault.Invalid(fmt.Sprintf("connector %s %s has no trigger %q", s.c.Name, s.c.Version, name),
			fault.Violation{Path: "trigger", Message: "known triggers: " + strings.Join(names, ", ")})
	}
	if !slices.Contains(t.handlerModes(), mode) {
		return nil, nil, nil, fault.Permanentf("trigger %s does not offer %s (it offers %v)", name, mode, t.handlerModes())
	}
	c, err := s.conn(wc)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, err := prepare(schema.ObjectOf(t.Spec.Config), config, "config for trigger "+name)
	if err != nil {
		return nil, nil, nil, err
	}
	return t, c, Config(cfg), nil
}

// warnPayloads logs events whose payload strays from the trigger's output.
func warnPayloads(c *Conn, t *Trigger, events []Event) {
	if t.Spec.Output == nil {
		return
	}
	for _, e := range events {
		if vs := schema.ValidateJSON(t.Spec.Output, e.Payload); len(vs) > 0 {
			c.Logger().Warn("event payload does not match the trigger's declared output",
				"trigger", t.Spec.Name, "event", e.ID, "problems", violationStrings(vs))
		}
	}
}

func (s *server) PollTrigger(ctx context.Context, req wire.PollRequest) (wire.PollResult, error) {
	t, c, cfg, err := s.trigger(req.Trigger, schema.ModePoll, req.Conn, req.Config)
	if err != nil {
		return wire.PollResult{}, err
	}
	res, err := t.Poll(ctx, c, PollRequest{Trigger: req.Trigger, Config: cfg, Cursor: req.Cursor, Limit: req.Limit})
	if err != nil {
		return wire.PollResult{}, err
	}
	if err := checkEvents(req.Trigger, res.Events); err != nil {
		return wire.PollResult{}, err
	}
	warnPayloads(c, t, res.Events)
	return res, nil
}

func (s *server) SubscribeWebhook(ctx context.Context, req wire.SubscribeRequest) (wire.Subscription, error) {
	t, c, cfg, err := s.trigger(req.Trigger, schema.ModeWebhook, req.Conn, req.Config)
	if err != nil {
		return wire.Subscription{}, err
	}
	if t.Webhook.Subscribe == nil {
		return wire.Subscription{}, nil
	}
	return t.Webhook.Subscribe(ctx, c, SubscribeRequest{Trigger: req.Trigger, Config: cfg, URL: req.URL, Secret: req.Secret})
}

func (s *server) UnsubscribeWebhook(ctx context.Context, req wire.UnsubscribeRequest) error {
	t, c, cfg, err := s.trigger(req.Trigger, schema.ModeWebhook, req.Conn, req.Config)
	if err != nil {
		return err
	}
	if t.Webhook.Unsubscribe == nil {
		return nil
	}
	return t.Webhook.Unsubscribe(ctx, c, UnsubscribeRequest{Trigger: req.Trigger, Config: cfg, Subscription: req.Subscription})
}

func (s *server) HandleWebhook(ctx context.Context, req wire.WebhookRequest) (wire.WebhookResult, error) {
	t, c, cfg, err := s.trigger(req.Trigger, schema.ModeWebhook, req.Conn, req.Config)
	if err != nil {
		return wire.WebhookResult{}, err
	}
	res, err := t.Webhook.Handle(ctx, c, WebhookRequest{Trigger: req.Trigger, Config: cfg, HTTP: req.HTTP,
		Secret: req.Secret, SubscriptionState: req.SubscriptionState})
	if err != nil {
		// The response (e.g. 401 for a bad signature) still reaches the
		// sender; the events do not count.
		return wire.WebhookResult{Response: res.Response}, err
	}
	if err := checkEvents(req.Trigger, res.Events); err != nil {
		return wire.WebhookResult{}, err
	}
	warnPayloads(c, t, res.Events)
	return res, nil
}

func (s *server) AuthStep(ctx context.Context, req wire.AuthStepRequest) (wire.AuthStepResult, error) {
	c, err := s.conn(req.Conn)
	if err != nil {
		return wire.AuthStepResult{}, err
	}
	switch req.Step {
	case wire.StepLogin:
		if s.c.Login == nil {
			return wire.AuthStepResult{}, fault.Permanentf("connector %s has no login step", s.c.Name)
		}
		if err := s.checkCredentials(req.Credentials); err != nil {
			return wire.AuthStepResult{}, err
		}
		return s.c.Login(ctx, c, req.Credentials)
	case wire.StepRefresh:
		if s.c.Refresh == nil {
			return wire.AuthStepResult{}, fault.Permanentf("connector %s has no refresh step", s.c.Name)
		}
		return s.c.Refresh(ctx, c, req.Credentials["refresh_token"])
	case wire.StepLogout:
		if s.c.Logout == nil {
			return wire.AuthStepResult{}, nil
		}
		return wire.AuthStepResult{}, s.c.Logout(ctx, c)
	}
	return wire.AuthStepResult{}, fault.Invalid(fmt.Sprintf("unknown auth step %q", req.Step),
		fault.Violation{Path: "step", Message: "known steps: login, refresh, logout"})
}

// checkCredentials makes sure a login has the session scheme's required
// credential fields, so Login never sees half a form.
func (s *server) checkCredentials(creds map[string]string) error {
	var vs []fault.Violation
	for _, sc := range s.schema.Auth {
		if sc.Type != schema.AuthSession {
			continue
		}
		for _, f := range sc.Fields {
			if f.Required && creds[f.Name] == "" {
				vs = append(vs, fault.Violation{Path: "credentials." + f.Name, Message: "required"})
			}
		}
	}
	if len(vs) > 0 {
		return fault.Invalid("login credentials are incomplete", vs...)
	}
	return nil
}

func (s *server) OpenStream(ctx context.Context, req wire.StreamRequest, sink wire.StreamSink) error {
	t, c, cfg, err := s.trigger(req.Trigger, schema.ModeStream, req.Conn, req.Config)
	if err != nil {
		return err
	}
	emit := &Emitter{trigger: req.Trigger, sink: sink, onBatch: func(events []Event) { warnPayloads(c, t, events) }}
	err = t.Stream(ctx, c, StreamRequest{Trigger: req.Trigger, Config: cfg, Position: req.Position}, emit)
	if ctx.Err() != nil {
		// The host ended the stream; whatever the handler returned on
		// the way out is not a failure.
		return nil
	}
	return err
}

func (s *server) MigrateCursor(ctx context.Context, req wire.MigrateCursorRequest) ([]byte, error) {
	if _, ok := s.triggers[req.Trigger]; !ok {
		return nil, fault.Invalid(fmt.Sprintf("connector %s has no trigger %q", s.c.Name, req.Trigger),
			fault.Violation{Path: "trigger", Message: "unknown trigger"})
	}
	if s.c.MigrateCursor == nil {
		return req.Cursor, nil
	}
	return s.c.MigrateCursor(ctx, req.Trigger, req.FromVersion, req.Cursor)
}
