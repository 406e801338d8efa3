package wire

import (
	"encoding/json"
	"net/http"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	connectorv1 "github.com/hubhq/hub/proto/connector/v1"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/schema"
)

// ---- errors

var kindToPB = map[fault.Kind]connectorv1.ErrorKind{
	fault.Permanent:     connectorv1.ErrorKind_ERROR_KIND_PERMANENT,
	fault.Retryable:     connectorv1.ErrorKind_ERROR_KIND_RETRYABLE,
	fault.RateLimited:   connectorv1.ErrorKind_ERROR_KIND_RATE_LIMITED,
	fault.AuthExpired:   connectorv1.ErrorKind_ERROR_KIND_AUTH_EXPIRED,
	fault.InvalidInput:  connectorv1.ErrorKind_ERROR_KIND_INVALID_INPUT,
	fault.CursorExpired: connectorv1.ErrorKind_ERROR_KIND_CURSOR_EXPIRED,
}

func errorToPB(err error) *connectorv1.Error {
	if err == nil {
		return nil
	}
	e := fault.As(err)
	pb := &connectorv1.Error{Kind: kindToPB[e.Kind], Message: e.Message, HttpStatus: int32(e.HTTPStatus)}
	if e.Cause != nil && e.Message == "" {
		pb.Message = e.Cause.Error()
	}
	if e.RetryAfter > 0 {
		pb.RetryAfter = durationpb.New(e.RetryAfter)
	}
	for _, v := range e.Violations {
		pb.Violations = append(pb.Violations, &connectorv1.Violation{Path: v.Path, Message: v.Message})
	}
	return pb
}

func errorFromPB(pb *connectorv1.Error) error {
	if pb == nil {
		return nil
	}
	e := &fault.Error{Kind: fault.Permanent, Message: pb.GetMessage(), HTTPStatus: int(pb.GetHttpStatus())}
	for k, v := range kindToPB {
		if v == pb.GetKind() {
			e.Kind = k
		}
	}
	if pb.GetRetryAfter() != nil {
		e.RetryAfter = pb.GetRetryAfter().AsDuration()
	}
	for _, v := range pb.GetViolations() {
		e.Violations = append(e.Violations, fault.Violation{Path: v.GetPath(), Message: v.GetMessage()})
	}
	return e
}

// ---- times

func tsToPB(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func tsFromPB(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

func durToPB(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}

// ---- connection and auth

func connToPB(c Connection) *connectorv1.Connection {
	return &connectorv1.Connection{
		Name:           c.Name,
		Auth:           authToPB(c.Auth),
		PropertiesJson: c.Properties,
		Env:            c.Env,
		Environment:    c.Environment,
		Tenant:         c.Tenant,
	}
}

func connFromPB(pb *connectorv1.Connection) Connection {
	return Connection{
		Name:        pb.GetName(),
		Auth:        authFromPB(pb.GetAuth()),
		Properties:  rawJSON(pb.GetPropertiesJson()),
		Env:         pb.GetEnv(),
		Environment: pb.GetEnvironment(),
		Tenant:      pb.GetTenant(),
	}
}

var keyLocToPB = map[schema.KeyLocation]connectorv1.APIKeySpec_Location{
	schema.InHeader: connectorv1.APIKeySpec_LOCATION_HEADER,
	schema.InQuery:  connectorv1.APIKeySpec_LOCATION_QUERY,
}

func apiKeySpecToPB(s schema.APIKeySpec) *connectorv1.APIKeySpec {
	return &connectorv1.APIKeySpec{In: keyLocToPB[s.In], Name: s.Name, Prefix: s.Prefix}
}

func apiKeySpecFromPB(pb *connectorv1.APIKeySpec) schema.APIKeySpec {
	s := schema.APIKeySpec{Name: pb.GetName(), Prefix: pb.GetPrefix()}
	for k, v := range keyLocToPB {
		if v == pb.GetIn() {
			s.In = k
		}
	}
	return s
}

func authToPB(a Auth) *connectorv1.Auth {
	switch a.Type {
	case schema.AuthBasic:
		return &connectorv1.Auth{Scheme: &connectorv1.Auth_Basic{Basic: &connectorv1.BasicAuth{Username: a.Username, Password: a.Password}}}
	case schema.AuthDigest:
		return &connectorv1.Auth{Scheme: &connectorv1.Auth_Digest{Digest: &connectorv1.DigestAuth{Username: a.Username, Password: a.Password}}}
	case schema.AuthAPIKey:
		return &connectorv1.Auth{Scheme: &connectorv1.Auth_ApiKey{ApiKey: &connectorv1.APIKeyAuth{Key: a.APIKey, Spec: apiKeySpecToPB(a.APIKeySpec)}}}
	case schema.AuthBearer:
		return &connectorv1.Auth{Scheme: &connectorv1.Auth_Bearer{Bearer: &connectorv1.BearerAuth{Token: a.Token}}}
	case schema.AuthSession:
		return &connectorv1.Auth{Scheme: &connectorv1.Auth_Session{Session: &connectorv1.SessionAuth{
			Headers: a.Headers, Cookies: a.Cookies, Query: a.Query, ExpiresAt: tsToPB(a.Expiry),
		}}}
	case schema.AuthOAuth2:
		return &connectorv1.Auth{Scheme: &connectorv1.Auth_Oauth2{Oauth2: &connectorv1.OAuth2Token{
			AccessToken: a.Token, TokenType: a.TokenType, Expiry: tsToPB(a.Expiry), Scopes: a.Scopes,
		}}}
	}
	return nil
}

func authFromPB(pb *connectorv1.Auth) Auth {
	switch s := pb.GetScheme().(type) {
	case *connectorv1.Auth_Basic:
		return Auth{Type: schema.AuthBasic, Username: s.Basic.GetUsername(), Password: s.Basic.GetPassword()}
	case *connectorv1.Auth_Digest:
		return Auth{Type: schema.AuthDigest, Username: s.Digest.GetUsername(), Password: s.Digest.GetPassword()}
	case *connectorv1.Auth_ApiKey:
		return Auth{Type: schema.AuthAPIKey, APIKey: s.ApiKey.GetKey(), APIKeySpec: apiKeySpecFromPB(s.ApiKey.GetSpec())}
	case *connectorv1.Auth_Bearer:
		return Auth{Type: schema.AuthBearer, Token: s.Bearer.GetToken()}
	case *connectorv1.Auth_Session:
		return Auth{Type: schema.AuthSession, Headers: s.Session.GetHeaders(), Cookies: s.Session.GetCookies(),
			Query: s.Session.GetQuery(), Expiry: tsFromPB(s.Session.GetExpiresAt())}
	case *connectorv1.Auth_Oauth2:
		return Auth{Type: schema.AuthOAuth2, Token: s.Oauth2.GetAccessToken(), TokenType: s.Oauth2.GetTokenType(),
			Expiry: tsFromPB(s.Oauth2.GetExpiry()), Scopes: s.Oauth2.GetScopes()}
	}
	return Auth{}
}

// ---- events and HTTP

func eventsToPB(evs []Event) []*connectorv1.Event {
	out := make([]*connectorv1.Event, len(evs))
	for i, e := range evs {
		out[i] = &connectorv1.Event{Id: e.ID, Type: e.Type, PayloadJson: e.Payload, OccurredAt: tsToPB(e.OccurredAt)}
	}
	return out
}

func eventsFromPB(pbs []*connectorv1.Event) []Event {
	out := make([]Event, len(pbs))
	for i, e := range pbs {
		out[i] = Event{ID: e.GetId(), Type: e.GetType(), Payload: rawJSON(e.GetPayloadJson()), OccurredAt: tsFromPB(e.GetOccurredAt())}
	}
	return out
}

func headerToPB(h http.Header) []*connectorv1.HTTPHeader {
	out := make([]*connectorv1.HTTPHeader, 0, len(h))
	for name, values := range h {
		out = append(out, &connectorv1.HTTPHeader{Name: name, Values: values})
	}
	return out
}

func headerFromPB(pbs []*connectorv1.HTTPHeader) http.Header {
	h := make(http.Header, len(pbs))
	for _, x := range pbs {
		// Keys are kept as sent: they were canonical on the sending side.
		h[x.GetName()] = append(h[x.GetName()], x.GetValues()...)
	}
	return h
}

func responseToPB(r *HTTPResponse) *connectorv1.HTTPResponse {
	if r == nil {
		return nil
	}
	return &connectorv1.HTTPResponse{Status: int32(r.Status), Headers: headerToPB(r.Header), Body: r.Body}
}

func responseFromPB(pb *connectorv1.HTTPResponse) *HTTPResponse {
	if pb == nil {
		return nil
	}
	return &HTTPResponse{Status: int(pb.GetStatus()), Header: headerFromPB(pb.GetHeaders()), Body: pb.GetBody()}
}

// rawJSON keeps an empty payload nil rather than a zero-length slice, so
// callers can test len() == 0 or == nil alike.
func rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

// ---- schema

var modeToPB = map[schema.Mode]connectorv1.TriggerMode{
	schema.ModeWebhook: connectorv1.TriggerMode_TRIGGER_MODE_WEBHOOK,
	schema.ModePoll:    connectorv1.TriggerMode_TRIGGER_MODE_POLL,
	schema.ModeStream:  connectorv1.TriggerMode_TRIGGER_MODE_STREAM,
}

var actionKindToPB = map[schema.ActionKind]connectorv1.ActionKind{
	schema.KindCreate: connectorv1.ActionKind_ACTION_KIND_CREATE,
	schema.KindUpdate: connectorv1.ActionKind_ACTION_KIND_UPDATE,
	schema.KindSearch: connectorv1.ActionKind_ACTION_KIND_SEARCH,
	schema.KindRead:   connectorv1.ActionKind_ACTION_KIND_READ,
	schema.KindDelete: connectorv1.ActionKind_ACTION_KIND_DELETE,
}

var fieldTypeToPB = map[schema.Type]connectorv1.FieldType{
	schema.String:  connectorv1.FieldType_FIELD_TYPE_STRING,
	schema.Integer: connectorv1.FieldType_FIELD_TYPE_INTEGER,
	schema.Number:  connectorv1.FieldType_FIELD_TYPE_NUMBER,
	schema.Boolean: connectorv1.FieldType_FIELD_TYPE_BOOLEAN,
	schema.Object:  connectorv1.FieldType_FIELD_TYPE_OBJECT,
	schema.List:    connectorv1.FieldType_FIELD_TYPE_LIST,
	schema.Any:     connectorv1.FieldType_FIELD_TYPE_ANY,
}

var authTypeToPB = map[schema.AuthType]connectorv1.AuthType{
	schema.AuthNone:    connectorv1.AuthType_AUTH_TYPE_NONE,
	schema.AuthBasic:   connectorv1.AuthType_AUTH_TYPE_BASIC,
	schema.AuthDigest:  connectorv1.AuthType_AUTH_TYPE_DIGEST,
	schema.AuthAPIKey:  connectorv1.AuthType_AUTH_TYPE_API_KEY,
	schema.AuthBearer:  connectorv1.AuthType_AUTH_TYPE_BEARER,
	schema.AuthSession: connectorv1.AuthType_AUTH_TYPE_SESSION,
	schema.AuthOAuth2:  connectorv1.AuthType_AUTH_TYPE_OAUTH2,
}

// reverse finds the key for v in m; the zero key when v is unknown, so an
// unknown enum from a newer peer reads as "unspecified", never as a panic.
func reverse[K comparable, V comparable](m map[K]V, v V) K {
	for k, x := range m {
		if x == v {
			return k
		}
	}
	var zero K
	return zero
}

func deprecationToPB(d *schema.Deprecation) *connectorv1.Deprecation {
	if d == nil {
		return nil
	}
	return &connectorv1.Deprecation{Deprecated: true, Message: d.Message, ReplacedBy: d.ReplacedBy}
}

func deprecationFromPB(pb *connectorv1.Deprecation) *schema.Deprecation {
	if !pb.GetDeprecated() {
		return nil
	}
	return &schema.Deprecation{Message: pb.GetMessage(), ReplacedBy: pb.GetReplacedBy()}
}

// SchemaToPB converts a schema for the wire.
func SchemaToPB(s *schema.Schema) *connectorv1.Schema {
	pb := &connectorv1.Schema{
		Name: s.Name, Version: s.Version, DisplayName: s.DisplayName, Description: s.Description,
		Homepage: s.Homepage, Categories: s.Categories, Properties: fieldsToPB(s.Properties),
		Deprecation: deprecationToPB(s.Deprecation),
	}
	for _, a := range s.Auth {
		as := &connectorv1.AuthScheme{Type: authTypeToPB[a.Type], Description: a.Description, Fields: fieldsToPB(a.Fields)}
		if a.APIKey != nil {
			as.ApiKey = apiKeySpecToPB(*a.APIKey)
		}
		if o := a.OAuth2; o != nil {
			as.Oauth2 = &connectorv1.OAuth2Spec{AuthorizationUrl: o.AuthorizationURL, TokenUrl: o.TokenURL,
				DeviceAuthorizationUrl: o.DeviceAuthorizationURL, DefaultScopes: o.DefaultScopes, Grants: o.Grants, PkceRequired: o.PKCERequired}
		}
		pb.Auth = append(pb.Auth, as)
	}
	for _, t := range s.Triggers {
		pt := &connectorv1.Trigger{Name: t.Name, DisplayName: t.DisplayName, Description: t.Description,
			Config: fieldsToPB(t.Config), Output: fieldToPB(t.Output), DefaultPollInterval: durToPB(t.DefaultPollInterval),
			ReconcileWith: t.ReconcileWith, Deprecation: deprecationToPB(t.Deprecation), ExampleJson: t.Example}
		for _, m := range t.Modes {
			pt.Modes = append(pt.Modes, modeToPB[m])
		}
		pb.Triggers = append(pb.Triggers, pt)
	}
	for _, a := range s.Actions {
		pb.Actions = append(pb.Actions, &connectorv1.Action{Name: a.Name, DisplayName: a.DisplayName, Description: a.Description,
			Kind: actionKindToPB[a.Kind], Input: fieldToPB(a.Input), Output: fieldToPB(a.Output), Idempotent: a.Idempotent,
			Deprecation: deprecationToPB(a.Deprecation), ExampleInputJson: a.ExampleInput, ExampleOutputJson: a.ExampleOutput})
	}
	return pb
}

// SchemaFromPB converts a schema from the wire.
func SchemaFromPB(pb *connectorv1.Schema) *schema.Schema {
	s := &schema.Schema{
		Name: pb.GetName(), Version: pb.GetVersion(), DisplayName: pb.GetDisplayName(), Description: pb.GetDescription(),
		Homepage: pb.GetHomepage(), Categories: pb.GetCategories(), Properties: fieldsFromPB(pb.GetProperties()),
		Deprecation: deprecationFromPB(pb.GetDeprecation()),
	}
	for _, a := range pb.GetAuth() {
		as := schema.AuthScheme{Type: reverse(authTypeToPB, a.GetType()), Description: a.GetDescription(), Fields: fieldsFromPB(a.GetFields())}
		if a.GetApiKey() != nil {
			spec := apiKeySpecFromPB(a.GetApiKey())
			as.APIKey = &spec
		}
		if o := a.GetOauth2(); o != nil {
			as.OAuth2 = &schema.OAuth2Spec{AuthorizationURL: o.GetAuthorizationUrl(), TokenURL: o.GetTokenUrl(),
				DeviceAuthorizationURL: o.GetDeviceAuthorizationUrl(), DefaultScopes: o.GetDefaultScopes(), Grants: o.GetGrants(), PKCERequired: o.GetPkceRequired()}
		}
		s.Auth = append(s.Auth, as)
	}
	for _, t := range pb.GetTriggers() {
		st := schema.Trigger{Name: t.GetName(), DisplayName: t.GetDisplayName(), Description: t.GetDescription(),
			Config: fieldsFromPB(t.GetConfig()), Output: fieldFromPB(t.GetOutput()), DefaultPollInterval: t.GetDefaultPollInterval().AsDuration(),
			ReconcileWith: t.GetReconcileWith(), Deprecation: deprecationFromPB(t.GetDeprecation()), Example: rawJSON(t.GetExampleJson())}
		for _, m := range t.GetModes() {
			st.Modes = append(st.Modes, reverse(modeToPB, m))
		}
		s.Triggers = append(s.Triggers, st)
	}
	for _, a := range pb.GetActions() {
		s.Actions = append(s.Actions, schema.Action{Name: a.GetName(), DisplayName: a.GetDisplayName(), Description: a.GetDescription(),
			Kind: reverse(actionKindToPB, a.GetKind()), Input: fieldFromPB(a.GetInput()), Output: fieldFromPB(a.GetOutput()),
			Idempotent: a.GetIdempotent(), Deprecation: deprecationFromPB(a.GetDeprecation()),
			ExampleInput: rawJSON(a.GetExampleInputJson()), ExampleOutput: rawJSON(a.GetExampleOutputJson())})
	}
	return s
}

func fieldsToPB(fs []schema.Field) []*connectorv1.Field {
	var out []*connectorv1.Field
	for i := range fs {
		out = append(out, fieldToPB(&fs[i]))
	}
	return out
}

func fieldToPB(f *schema.Field) *connectorv1.Field {
	if f == nil {
		return nil
	}
	pb := &connectorv1.Field{Name: f.Name, Type: fieldTypeToPB[f.Type], Required: f.Required, Description: f.Description,
		DefaultJson: f.Default, Secret: f.Secret, Properties: fieldsToPB(f.Properties), AdditionalProperties: f.AdditionalProperties,
		Items: fieldToPB(f.Items), Format: f.Format, Deprecation: deprecationToPB(f.Deprecation), ExampleJson: f.Example}
	for _, e := range f.Enum {
		pb.EnumJson = append(pb.EnumJson, e)
	}
	return pb
}

func fieldsFromPB(pbs []*connectorv1.Field) []schema.Field {
	var out []schema.Field
	for _, pb := range pbs {
		out = append(out, *fieldFromPB(pb))
	}
	return out
}

func fieldFromPB(pb *connectorv1.Field) *schema.Field {
	if pb == nil {
		return nil
	}
	f := &schema.Field{Name: pb.GetName(), Type: reverse(fieldTypeToPB, pb.GetType()), Required: pb.GetRequired(),
		Description: pb.GetDescription(), Default: rawJSON(pb.GetDefaultJson()), Secret: pb.GetSecret(),
		Properties: fieldsFromPB(pb.GetProperties()), AdditionalProperties: pb.GetAdditionalProperties(),
		Items: fieldFromPB(pb.GetItems()), Format: pb.GetFormat(), Deprecation: deprecationFromPB(pb.GetDeprecation()),
		Example: rawJSON(pb.GetExampleJson())}
	for _, e := range pb.GetEnumJson() {
		f.Enum = append(f.Enum, rawJSON(e))
	}
	return f
}
