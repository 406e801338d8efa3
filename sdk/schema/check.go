package schema

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/hashicorp/go-version"

	"github.com/hubhq/hub/sdk/fault"
)

// namePattern is the form of every name an operator types in HCL: the
// connector, its triggers, actions, properties and fields. Lower snake case
// keeps names valid HCL identifiers and stable across languages.
var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// fullSemver insists on all three numbers and no "v": go-version alone
// accepts "v1" and "1.2", which would make "1.2" and "1.2.0" two spellings
// of one version in the plugin directory.
var fullSemver = regexp.MustCompile(`^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// ValidName reports whether s may name a connector, trigger, action or field.
func ValidName(s string) bool { return namePattern.MatchString(s) }

// The OAuth 2.0 grants a connector may declare.
var oauth2Grants = []string{"authorization_code", "client_credentials", "device_code", "refresh_token"}

// Check reports every structural problem with a declaration, each at a path
// such as "actions.create_order.input.lines": invalid or duplicate names, a
// version that is not semver, unknown types, kinds and modes, lists without
// items, enum values, defaults and examples that do not fit their shapes.
// A connector whose schema does not check is refused before it serves.
func (s *Schema) Check() []fault.Violation {
	var vs []fault.Violation
	if !ValidName(s.Name) {
		addf(&vs, "name", "%q is not a valid name (lower snake case: %s)", s.Name, namePattern)
	}
	if _, err := version.NewSemver(s.Version); err != nil || !fullSemver.MatchString(s.Version) {
		addf(&vs, "version", "%q is not a semantic version (e.g. 1.2.3)", s.Version)
	}

	seenAuth := map[AuthType]bool{}
	for i := range s.Auth {
		a := &s.Auth[i]
		at := "auth[" + strconv.Itoa(i) + "]"
		if a.Type != "" && slices.Contains(AuthTypes, a.Type) {
			at = "auth." + string(a.Type)
		}
		if seenAuth[a.Type] {
			addf(&vs, at, "auth type %q declared twice", a.Type)
		}
		seenAuth[a.Type] = true
		checkAuth(a, at, &vs)
	}

	checkFieldList(s.Properties, "properties", &vs)

	triggerAt := namedPaths("triggers", len(s.Triggers), func(i int) string { return s.Triggers[i].Name }, &vs)
	for i := range s.Triggers {
		checkTrigger(s, &s.Triggers[i], triggerAt[i], &vs)
	}
	actionAt := namedPaths("actions", len(s.Actions), func(i int) string { return s.Actions[i].Name }, &vs)
	for i := range s.Actions {
		checkAction(&s.Actions[i], actionAt[i], &vs)
	}
	return vs
}

// namedPaths returns the path of each element of a named list, reporting
// invalid and duplicate names on the way. An element with a usable name is
// addressed by it ("actions.echo"), any other by index ("actions[3]").
func namedPaths(list string, n int, name func(int) string, vs *[]fault.Violation) []string {
	paths := make([]string, n)
	seen := map[string]bool{}
	for i := range n {
		nm := name(i)
		paths[i] = list + "[" + strconv.Itoa(i) + "]"
		if !ValidName(nm) {
			addf(vs, paths[i], "%q is not a valid name (lower snake case: %s)", nm, namePattern)
			continue
		}
		if seen[nm] {
			addf(vs, paths[i], "name %q is used twice", nm)
			continue
		}
		seen[nm] = true
		paths[i] = list + "." + nm
	}
	return paths
}

func checkAuth(a *AuthScheme, at string, vs *[]fault.Violation) {
	if !slices.Contains(AuthTypes, a.Type) {
		addf(vs, at+".type", "unknown auth type %q (known: %v)", a.Type, AuthTypes)
	}
	checkFieldList(a.Fields, at+".fields", vs)
	switch a.Type {
	case AuthAPIKey:
		if a.APIKey == nil {
			addf(vs, at+".api_key", "an api_key scheme needs an api_key spec saying where the key goes")
			break
		}
		if a.APIKey.In != InHeader && a.APIKey.In != InQuery {
			addf(vs, at+".api_key.in", "must be %q or %q, got %q", InHeader, InQuery, a.APIKey.In)
		}
		if a.APIKey.Name == "" {
			addf(vs, at+".api_key.name", "the header or query parameter name is required")
		}
		if a.APIKey.In == InQuery && a.APIKey.Prefix != "" {
			addf(vs, at+".api_key.prefix", "a prefix only applies to a key sent in a header")
		}
	case AuthOAuth2:
		if a.OAuth2 == nil {
			addf(vs, at+".oauth2", "an oauth2 scheme needs an oauth2 spec with its endpoints")
			break
		}
		if a.OAuth2.TokenURL == "" {
			addf(vs, at+".oauth2.token_url", "required")
		}
		for _, g := range a.OAuth2.Grants {
			if !slices.Contains(oauth2Grants, g) {
				addf(vs, at+".oauth2.grants", "unknown grant %q (known: %v)", g, oauth2Grants)
			}
		}
		if slices.Contains(a.OAuth2.Grants, "authorization_code") && a.OAuth2.AuthorizationURL == "" {
			addf(vs, at+".oauth2.authorization_url", "required for the authorization_code grant")
		}
		if slices.Contains(a.OAuth2.Grants, "device_code") && a.OAuth2.DeviceAuthorizationURL == "" {
			addf(vs, at+".oauth2.device_authorization_url", "required for the device_code grant")
		}
	}
}

var knownModes = []Mode{ModeWebhook, ModePoll, ModeStream}

func checkTrigger(s *Schema, t *Trigger, at string, vs *[]fault.Violation) {
	if len(t.Modes) == 0 {
		addf(vs, at+".modes", "a trigger needs at least one mode (%v)", knownModes)
	}
	seen := map[Mode]bool{}
	for _, m := range t.Modes {
		if !slices.Contains(knownModes, m) {
			addf(vs, at+".modes", "unknown mode %q (known: %v)", m, knownModes)
		}
		if seen[m] {
			addf(vs, at+".modes", "mode %q listed twice", m)
		}
		seen[m] = true
	}
	if t.DefaultPollInterval < 0 {
		addf(vs, at+".default_poll_interval", "must not be negative")
	}
	if t.DefaultPollInterval > 0 && !t.HasMode(ModePoll) {
		addf(vs, at+".default_poll_interval", "only applies to a trigger offering poll")
	}
	checkFieldList(t.Config, at+".config", vs)
	if t.Output == nil {
		addf(vs, at+".output", "required: the shape of one event's payload")
	} else {
		checkField(t.Output, at+".output", vs)
		if len(t.Example) > 0 {
			validRawFor(t.Output, t.Example, at+".example", vs)
		}
	}
	if t.ReconcileWith != "" {
		if !t.HasMode(ModeStream) {
			addf(vs, at+".reconcile_with", "only applies to a trigger offering stream")
		}
		other, ok := s.Trigger(t.ReconcileWith)
		switch {
		case !ok:
			addf(vs, at+".reconcile_with", "no trigger named %q", t.ReconcileWith)
		case !other.HasMode(ModePoll):
			addf(vs, at+".reconcile_with", "trigger %q does not offer poll", t.ReconcileWith)
		}
	}
}

var knownKinds = []ActionKind{KindCreate, KindUpdate, KindSearch, KindRead, KindDelete}

func checkAction(a *Action, at string, vs *[]fault.Violation) {
	if !slices.Contains(knownKinds, a.Kind) {
		addf(vs, at+".kind", "unknown action kind %q (known: %v)", a.Kind, knownKinds)
	}
	for _, io := range []struct {
		name    string
		shape   *Field
		example []byte
	}{{"input", a.Input, a.ExampleInput}, {"output", a.Output, a.ExampleOutput}} {
		path := at + "." + io.name
		switch {
		case io.shape == nil:
			addf(vs, path, "required: an object describing the action's %s", io.name)
			continue
		case io.shape.Type != Object:
			addf(vs, path, "must be an object, not %q", io.shape.Type)
		}
		checkField(io.shape, path, vs)
		if len(io.example) > 0 {
			validRawFor(io.shape, io.example, at+".example_"+io.name, vs)
		}
	}
}

// checkFieldList checks named fields: properties, config, credentials.
func checkFieldList(fs []Field, at string, vs *[]fault.Violation) {
	paths := namedPaths(at, len(fs), func(i int) string { return fs[i].Name }, vs)
	for i := range fs {
		checkField(&fs[i], paths[i], vs)
	}
}

// checkField checks one field's own declaration and everything under it.
func checkField(f *Field, at string, vs *[]fault.Violation) {
	if !knownType(f.Type) {
		addf(vs, at+".type", "unknown type %q (known: string, integer, number, boolean, object, list, any)", f.Type)
		return
	}
	if f.Type == List {
		if f.Items == nil {
			addf(vs, at+".items", "a list needs items describing its elements")
		} else {
			if f.Items.Name != "" {
				addf(vs, at+".items.name", "list items are not named")
			}
			checkField(f.Items, at+"[]", vs)
		}
	} else if f.Items != nil {
		addf(vs, at+".items", "only a list has items")
	}
	if f.Type == Object {
		checkFieldList(f.Properties, at, vs)
	} else {
		if len(f.Properties) > 0 {
			addf(vs, at+".properties", "only an object has properties")
		}
		if f.AdditionalProperties {
			addf(vs, at+".additional_properties", "only applies to an object")
		}
	}
	if f.Format != "" {
		if f.Type != String {
			addf(vs, at+".format", "only a string has a format")
		} else if !slices.Contains(Formats, f.Format) {
			addf(vs, at+".format", "unknown format %q (known: %v)", f.Format, Formats)
		}
	}
	bare := withoutConstraints(f)
	for i, e := range f.Enum {
		validRawFor(bare, e, fmt.Sprintf("%s.enum[%d]", at, i), vs)
	}
	if len(f.Default) > 0 {
		// The enum stays: a default must be one of the allowed values.
		validRawFor(f, f.Default, at+".default", vs)
	}
	if len(f.Example) > 0 {
		validRawFor(f, f.Example, at+".example", vs)
	}
}
