// Package schema is the Go form of what a connector declares about itself:
// identity, auth schemes, connection properties, triggers and actions, and
// the shape of every input and output. It is plain data: the SDK builds it
// from an author's declaration, the host reads it to validate workspaces,
// and the wire package carries it across the plugin boundary.
package schema

import (
	"encoding/json"
	"time"
)

// Schema describes one version of a connector.
type Schema struct {
	Name        string       `json:"name"`
	Version     string       `json:"version"`
	DisplayName string       `json:"display_name,omitempty"`
	Description string       `json:"description,omitempty"`
	Homepage    string       `json:"homepage,omitempty"`
	Categories  []string     `json:"categories,omitempty"`
	Auth        []AuthScheme `json:"auth,omitempty"`
	// Properties are the custom properties of a connection.
	Properties  []Field      `json:"properties,omitempty"`
	Triggers    []Trigger    `json:"triggers,omitempty"`
	Actions     []Action     `json:"actions,omitempty"`
	Deprecation *Deprecation `json:"deprecation,omitempty"`
}

// Trigger returns the named trigger.
func (s *Schema) Trigger(name string) (*Trigger, bool) {
	for i := range s.Triggers {
		if s.Triggers[i].Name == name {
			return &s.Triggers[i], true
		}
	}
	return nil, false
}

// Action returns the named action.
func (s *Schema) Action(name string) (*Action, bool) {
	for i := range s.Actions {
		if s.Actions[i].Name == name {
			return &s.Actions[i], true
		}
	}
	return nil, false
}

// Deprecation marks a version, trigger, action or field as deprecated.
type Deprecation struct {
	Message string `json:"message"`
	// ReplacedBy names what to use instead.
	ReplacedBy string `json:"replaced_by,omitempty"`
}

// AuthType names an auth mechanism.
type AuthType string

// The auth mechanisms hub knows.
const (
	AuthNone    AuthType = "none"
	AuthBasic   AuthType = "basic"
	AuthDigest  AuthType = "digest"
	AuthAPIKey  AuthType = "api_key"
	AuthBearer  AuthType = "bearer"
	AuthSession AuthType = "session"
	AuthOAuth2  AuthType = "oauth2"
)

// AuthTypes lists every known auth type, in a stable order.
var AuthTypes = []AuthType{AuthNone, AuthBasic, AuthDigest, AuthAPIKey, AuthBearer, AuthSession, AuthOAuth2}

// AuthScheme is one way a connection may authenticate.
type AuthScheme struct {
	Type        AuthType `json:"type"`
	Description string   `json:"description,omitempty"`
	// Fields are the credentials an operator supplies for this scheme
	// (e.g. email and password for a session login).
	Fields []Field     `json:"fields,omitempty"`
	APIKey *APIKeySpec `json:"api_key,omitempty"`
	OAuth2 *OAuth2Spec `json:"oauth2,omitempty"`
}

// KeyLocation says where an API key travels.
type KeyLocation string

// API key locations.
const (
	InHeader KeyLocation = "header"
	InQuery  KeyLocation = "query"
)

// APIKeySpec says where an API key goes in a request.
type APIKeySpec struct {
	In KeyLocation `json:"in"`
	// Name is the header or query parameter name.
	Name string `json:"name"`
	// Prefix goes before the key in a header, e.g. "Bearer ".
	Prefix string `json:"prefix,omitempty"`
}

// OAuth2Spec describes a third party's OAuth 2.0 endpoints.
type OAuth2Spec struct {
	AuthorizationURL       string   `json:"authorization_url,omitempty"`
	TokenURL               string   `json:"token_url,omitempty"`
	DeviceAuthorizationURL string   `json:"device_authorization_url,omitempty"`
	DefaultScopes          []string `json:"default_scopes,omitempty"`
	// Grants: "authorization_code", "client_credentials", "device_code",
	// "refresh_token".
	Grants       []string `json:"grants,omitempty"`
	PKCERequired bool     `json:"pkce_required,omitempty"`
}

// Mode is how a trigger's events reach hub.
type Mode string

// Trigger modes.
const (
	ModeWebhook Mode = "webhook"
	ModePoll    Mode = "poll"
	ModeStream  Mode = "stream"
)

// Trigger is a source of events.
type Trigger struct {
	Name        string  `json:"name"`
	DisplayName string  `json:"display_name,omitempty"`
	Description string  `json:"description,omitempty"`
	Modes       []Mode  `json:"modes"`
	Config      []Field `json:"config,omitempty"`
	// Output is the shape of one event's payload.
	Output              *Field        `json:"output,omitempty"`
	DefaultPollInterval time.Duration `json:"default_poll_interval,omitempty"`
	// ReconcileWith names the poll trigger that fills a gap when a stream's
	// stored position has expired.
	ReconcileWith string          `json:"reconcile_with,omitempty"`
	Deprecation   *Deprecation    `json:"deprecation,omitempty"`
	Example       json.RawMessage `json:"example,omitempty"`
}

// HasMode reports whether the trigger offers mode m.
func (t *Trigger) HasMode(m Mode) bool {
	for _, x := range t.Modes {
		if x == m {
			return true
		}
	}
	return false
}

// ActionKind says what an action does to the third party.
type ActionKind string

// Action kinds.
const (
	KindCreate ActionKind = "create"
	KindUpdate ActionKind = "update"
	KindSearch ActionKind = "search"
	KindRead   ActionKind = "read"
	KindDelete ActionKind = "delete"
)

// Action is something a connector does in the third party.
type Action struct {
	Name        string     `json:"name"`
	DisplayName string     `json:"display_name,omitempty"`
	Description string     `json:"description,omitempty"`
	Kind        ActionKind `json:"kind"`
	// Input and Output are objects.
	Input  *Field `json:"input,omitempty"`
	Output *Field `json:"output,omitempty"`
	// Idempotent is true when repeating the call with the same input has no
	// further effect (or the connector deduplicates by idempotency key).
	Idempotent    bool            `json:"idempotent,omitempty"`
	Deprecation   *Deprecation    `json:"deprecation,omitempty"`
	ExampleInput  json.RawMessage `json:"example_input,omitempty"`
	ExampleOutput json.RawMessage `json:"example_output,omitempty"`
}

// Type is the JSON type of a field.
type Type string

// Field types.
const (
	String  Type = "string"
	Integer Type = "integer"
	Number  Type = "number"
	Boolean Type = "boolean"
	Object  Type = "object"
	List    Type = "list"
	// Any accepts any JSON value.
	Any Type = "any"
)

// Field describes one value: a property, a config field, an input or output
// attribute, or a whole object.
type Field struct {
	Name        string `json:"name,omitempty"`
	Type        Type   `json:"type"`
	Required    bool   `json:"required,omitempty"`
	Description string `json:"description,omitempty"`
	// Enum lists the allowed values, each a JSON value.
	Enum    []json.RawMessage `json:"enum,omitempty"`
	Default json.RawMessage   `json:"default,omitempty"`
	// Secret values are redacted in logs, plans and run history.
	Secret bool `json:"secret,omitempty"`
	// Properties are an object's fields.
	Properties []Field `json:"properties,omitempty"`
	// AdditionalProperties lets an object carry keys not in Properties.
	AdditionalProperties bool `json:"additional_properties,omitempty"`
	// Items is a list's element shape.
	Items *Field `json:"items,omitempty"`
	// Format hints at a string's form: "date-time", "date", "email", "uri".
	Format      string          `json:"format,omitempty"`
	Deprecation *Deprecation    `json:"deprecation,omitempty"`
	Example     json.RawMessage `json:"example,omitempty"`
}

// Property returns an object's named field.
func (f *Field) Property(name string) (*Field, bool) {
	for i := range f.Properties {
		if f.Properties[i].Name == name {
			return &f.Properties[i], true
		}
	}
	return nil, false
}
