package config

import (
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/hubhq/hub/sdk/schema"
)

var connectionSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "connector", Required: true},
		{Name: "properties"},
		{Name: "env"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "auth", LabelNames: []string{"type"}},
		{Type: "limits"},
	},
}

var limitsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "concurrency"},
		{Name: "rate"},
		{Name: "burst"},
	},
}

// Bounds of the limits block's attributes. They exist to catch typos (a
// rate of 2e9 is not a limit), not to second-guess a third party's quota.
const (
	maxLimitConcurrency = 10_000
	maxLimitRate        = 1_000_000
	maxLimitBurst       = 1_000_000
)

// authAttr is one attribute of an auth block.
type authAttr struct {
	name     string
	ty       cty.Type
	required bool
}

// authShapes are the attributes each auth type takes. They are hub's own
// shapes, the same for every connector; a session's credentials vary by
// connector and are checked by Validate against the scheme's fields.
var authShapes = map[schema.AuthType][]authAttr{
	schema.AuthNone:    nil,
	schema.AuthBasic:   {{"username", cty.String, true}, {"password", cty.String, true}},
	schema.AuthDigest:  {{"username", cty.String, true}, {"password", cty.String, true}},
	schema.AuthAPIKey:  {{"key", cty.String, true}},
	schema.AuthBearer:  {{"token", cty.String, true}},
	schema.AuthSession: {{"credentials", cty.DynamicPseudoType, true}},
	schema.AuthOAuth2: {
		{"client_id", cty.String, true},
		{"client_secret", cty.String, false},
		{"scopes", cty.List(cty.String), false},
		{"grant", cty.String, false},
		// Endpoints come from the connector's schema; these override
		// them (a self-hosted instance, a regional endpoint).
		{"authorization_url", cty.String, false},
		{"token_url", cty.String, false},
		{"device_authorization_url", cty.String, false},
		// redirect_uri defaults to the host's own callback URL; a native
		// app may list its custom scheme in allowed_redirects.
		{"redirect_uri", cty.String, false},
		{"allowed_redirects", cty.List(cty.String), false},
		// token_endpoint_auth_method says how a confidential client
		// authenticates (RFC 7591 names); unset, hub detects it.
		{"token_endpoint_auth_method", cty.String, false},
	},
}

// OAuth2Grants are the grants an oauth2 auth block may name.
var oauth2Grants = []string{"authorization_code", "client_credentials", "device_code"}

// oauth2AuthMethods are the token_endpoint_auth_method values an oauth2
// auth block may name: the RFC 7591 client authentication methods that
// use a client_secret.
var oauth2AuthMethods = []string{"client_secret_basic", "client_secret_post"}

func (l *loader) decodeConnection(b *hcl.Block, base *scope) {
	c := &Connection{Name: b.Labels[0], DeclRange: b.DefRange}
	l.ws.Connections = append(l.ws.Connections, c)
	content, diags := b.Body.Content(connectionSchema)
	l.add(diags)
	if a, ok := content.Attributes["connector"]; ok {
		c.ConnectorRange = a.Expr.Range()
		if name, ok := l.literalString(a.Expr, "connector"); ok {
			c.Connector = name
			if _, ok := l.ws.Requirement(name); !ok {
				l.errorf(&c.ConnectorRange, "Unknown connector", "No connector %q in hub.required_connectors (declared: %s).", name, l.requirementNames())
			}
		}
	}
	if a, ok := content.Attributes["properties"]; ok {
		v, diags := base.eval(a.Expr)
		l.add(diags)
		if !diags.HasErrors() && v.IsKnown() && !v.IsNull() && !v.Type().IsObjectType() && !v.Type().IsMapType() {
			l.errorf(a.Expr.Range().Ptr(), "Invalid properties", "properties must be an object, got %s.", v.Type().FriendlyName())
		}
		c.Properties = &Attribute{Name: a.Name, Expr: a.Expr, Value: v, Range: a.Range}
	}
	if a, ok := content.Attributes["env"]; ok {
		c.EnvRange = a.Range
		c.Env = l.decodeConnectionEnv(a, base)
	}
	for _, sb := range content.Blocks {
		switch sb.Type {
		case "auth":
			if c.Auth != nil {
				l.errorf(sb.DefRange.Ptr(), "Duplicate auth block", "Connection %q already has an auth block at %s; a connection authenticates one way.", c.Name, c.Auth.DeclRange)
				continue
			}
			c.Auth = l.decodeAuth(sb, base)
		case "limits":
			if c.Limits != nil {
				l.errorf(sb.DefRange.Ptr(), "Duplicate limits block", "Connection %q already has a limits block at %s.", c.Name, c.Limits.DeclRange)
				continue
			}
			c.Limits = l.decodeLimits(sb, base)
		}
	}
}

// decodeLimits reads a connection's limits block. Values may come from
// variables and environment values (a sandbox often allows fewer calls
// than live) but not from secrets: plans show them. An attribute left out
// stays 0, which the host reads as its default.
func (l *loader) decodeLimits(b *hcl.Block, base *scope) *Limits {
	lim := &Limits{DeclRange: b.DefRange}
	content, diags := b.Body.Content(limitsSchema)
	l.add(diags)
	if a, ok := content.Attributes["concurrency"]; ok {
		if n, ok := l.limitNumber(a, base); ok {
			if i, isInt := wholeNumber(n); isInt && i >= 1 && i <= maxLimitConcurrency {
				lim.Concurrency = int(i)
			} else {
				l.errorf(a.Expr.Range().Ptr(), "Invalid concurrency", "concurrency is how many calls may be in flight at once: a whole number from 1 to %d.", maxLimitConcurrency)
			}
		}
	}
	_, rateSet := content.Attributes["rate"]
	if a, ok := content.Attributes["rate"]; ok {
		if n, ok := l.limitNumber(a, base); ok {
			f, _ := n.AsBigFloat().Float64()
			if f > 0 && f <= maxLimitRate {
				lim.Rate = f
			} else {
				l.errorf(a.Expr.Range().Ptr(), "Invalid rate", "rate is how many calls may start per second: a number above 0 and at most %d, such as 20 or 0.5; leave it out for no rate limit.", maxLimitRate)
			}
		}
	}
	if a, ok := content.Attributes["burst"]; ok {
		if n, ok := l.limitNumber(a, base); ok {
			if i, isInt := wholeNumber(n); isInt && i >= 1 && i <= maxLimitBurst {
				lim.Burst = int(i)
			} else {
				l.errorf(a.Expr.Range().Ptr(), "Invalid burst", "burst is how many calls may start at once after a quiet spell: a whole number from 1 to %d.", maxLimitBurst)
			}
		}
		if !rateSet {
			l.errorf(a.Range.Ptr(), "Burst without rate", "burst applies only with a rate; set rate, or leave burst out.")
		}
	}
	return lim
}

// limitNumber evaluates a limits attribute to a known number, reporting a
// value that is not one. Null is the same as leaving the attribute out (so
// rate = var.rate can default to no limit). A value unknown at load (an
// environment value with none selected) is only a warning: validation
// without an environment must pass, but nobody should think it applied.
func (l *loader) limitNumber(a *hcl.Attribute, base *scope) (cty.Value, bool) {
	v, diags := base.eval(a.Expr)
	l.add(diags)
	if diags.HasErrors() || v.IsNull() {
		return cty.NilVal, false
	}
	if IsSensitive(v) {
		l.errorf(a.Expr.Range().Ptr(), "Invalid "+a.Name, "%s must not be sensitive or a secret: plans show limits.", a.Name)
		return cty.NilVal, false
	}
	v, _ = v.UnmarkDeep()
	if !v.IsWhollyKnown() {
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Unknown " + a.Name,
			Detail:   fmt.Sprintf("%s is not known when the workspace loads (values.* and hub.environment need an environment selected with -env), so the host's default applies.", a.Name),
			Subject:  a.Expr.Range().Ptr(),
		})
		return cty.NilVal, false
	}
	n, err := convert.Convert(v, cty.Number)
	if err != nil {
		l.errorf(a.Expr.Range().Ptr(), "Invalid "+a.Name, "%s must be a number, got %s.", a.Name, v.Type().FriendlyName())
		return cty.NilVal, false
	}
	return n, true
}

// wholeNumber returns n as an int64 when it is a whole number that fits.
func wholeNumber(n cty.Value) (int64, bool) {
	bf := n.AsBigFloat()
	if !bf.IsInt() {
		return 0, false
	}
	i, acc := bf.Int64()
	return i, acc == big.Exact
}

func (l *loader) requirementNames() string {
	if len(l.ws.Requirements) == 0 {
		return "none"
	}
	names := make([]string, len(l.ws.Requirements))
	for i, r := range l.ws.Requirements {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}

// decodeConnectionEnv reads env = { NAME = "value" }: the environment the
// connector's process gets, so values must be strings with portable names.
func (l *loader) decodeConnectionEnv(a *hcl.Attribute, base *scope) map[string]cty.Value {
	v, diags := base.eval(a.Expr)
	l.add(diags)
	// A sensitive map (a sensitive variable, or built from secret()) is
	// marked as a whole; cty refuses to iterate a marked value, so iterate
	// the unmarked map and give every element the map's marks back.
	v, marks := v.Unmark()
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() {
		return nil
	}
	ty := v.Type()
	if !ty.IsObjectType() && !ty.IsMapType() {
		l.errorf(a.Expr.Range().Ptr(), "Invalid env", "env must be an object of strings, e.g. env = { LOG_LEVEL = \"debug\" }.")
		return nil
	}
	out := map[string]cty.Value{}
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		ev = ev.WithMarks(marks)
		k, keyMarks := k.Unmark()
		name := k.AsString()
		if !isEnvName(name) {
			if len(keyMarks) > 0 || len(marks) > 0 {
				l.errorf(a.Expr.Range().Ptr(), "Invalid env", "A sensitive key is not an environment variable name (the name is sensitive and not shown).")
				continue
			}
			l.errorf(a.Expr.Range().Ptr(), "Invalid env", "%q is not an environment variable name.", name)
			continue
		}
		s, err := convert.Convert(ev, cty.String)
		if err != nil || s.IsNull() {
			l.errorf(a.Expr.Range().Ptr(), "Invalid env", "The value of %s must be a string.", name)
			continue
		}
		out[name] = s
	}
	return out
}

func (l *loader) decodeAuth(b *hcl.Block, base *scope) *Auth {
	typ := schema.AuthType(b.Labels[0])
	au := &Auth{Type: typ, Attributes: map[string]*Attribute{}, TypeRange: b.LabelRanges[0], DeclRange: b.DefRange}
	shape, ok := authShapes[typ]
	if !ok {
		names := make([]string, len(schema.AuthTypes))
		for i, t := range schema.AuthTypes {
			names[i] = string(t)
		}
		l.errorf(&au.TypeRange, "Unknown auth type", "%q is not an auth type; use one of %s.", typ, strings.Join(names, ", "))
		return au
	}
	bs := &hcl.BodySchema{}
	for _, at := range shape {
		bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: at.name, Required: at.required})
	}
	content, diags := b.Body.Content(bs)
	l.add(diags)
	for _, at := range shape {
		a, ok := content.Attributes[at.name]
		if !ok {
			continue
		}
		v, diags := base.eval(a.Expr)
		l.add(diags)
		if !diags.HasErrors() {
			if at.ty != cty.DynamicPseudoType {
				conv, err := convert.Convert(v, at.ty)
				if err != nil {
					l.errorf(a.Expr.Range().Ptr(), "Invalid "+at.name, "%s must be %s: %s.", at.name, at.ty.FriendlyName(), err)
				} else {
					v = conv
				}
			} else if v.IsKnown() && !v.IsNull() && !v.Type().IsObjectType() && !v.Type().IsMapType() {
				l.errorf(a.Expr.Range().Ptr(), "Invalid "+at.name, "%s must be an object.", at.name)
			}
		}
		if at.name == "grant" && v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
			if g, _ := v.Unmark(); !slices.Contains(oauth2Grants, g.AsString()) {
				l.errorf(a.Expr.Range().Ptr(), "Invalid grant", "grant must be one of %s.", strings.Join(oauth2Grants, ", "))
			}
		}
		if at.name == "token_endpoint_auth_method" && v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
			if m, _ := v.Unmark(); !slices.Contains(oauth2AuthMethods, m.AsString()) {
				l.errorf(a.Expr.Range().Ptr(), "Invalid token_endpoint_auth_method", "token_endpoint_auth_method must be one of %s (unset, hub detects which the token endpoint accepts).", strings.Join(oauth2AuthMethods, ", "))
			} else if _, ok := content.Attributes["client_secret"]; !ok {
				l.errorf(a.Expr.Range().Ptr(), "token_endpoint_auth_method without client_secret", "%s authenticates with a client_secret, and this auth block sets none; a public client sends only its client_id.", m.AsString())
			}
		}
		au.Attributes[at.name] = &Attribute{Name: at.name, Expr: a.Expr, Value: v, Range: a.Range}
	}
	return au
}
