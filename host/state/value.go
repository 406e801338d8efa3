package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/hubhq/hub/host/config"
)

// Redacted stands for a sensitive value wherever one would be shown or
// stored.
const Redacted = "(sensitive)"

// Value is one attribute as written. An object constructor with constant
// keys is kept key by key (Object), so a plan can point at the one key
// that changed; anything else is a leaf: its canonical source text and,
// when known at load time and not sensitive, its JSON value. A sensitive
// leaf keeps only Redacted and a SHA-256 over its source text and the
// values it reads from the workspace (each itself hashed when sensitive).
type Value struct {
	Expr      string            `json:"expr,omitempty"`
	JSON      json.RawMessage   `json:"value,omitempty"`
	Sensitive bool              `json:"sensitive,omitempty"`
	SHA256    string            `json:"sha256,omitempty"`
	Object    map[string]*Value `json:"object,omitempty"`
	// Inputs are, for a leaf whose value is known only during a run, the
	// values it reads from the workspace by reference text (var.x,
	// values.y, hub.environment, env("NAME")): JSON, or Redacted and a
	// hash for a sensitive one. Its source text alone would not change
	// when a variable does.
	Inputs map[string]string `json:"inputs,omitempty"`
}

// value describes expr, whose load-time value is v.
func (b *builder) value(expr hcl.Expression, v cty.Value) *Value {
	oc, ok := expr.(*hclsyntax.ObjectConsExpr)
	if !ok || len(oc.Items) == 0 {
		return b.leaf(expr, v)
	}
	obj := map[string]*Value{}
	for _, item := range oc.Items {
		k, diags := item.KeyExpr.Value(nil)
		if diags.HasErrors() || !k.IsKnown() || k.IsNull() || k.Type() != cty.String {
			// A computed key: the object is compared as a whole.
			return b.leaf(expr, v)
		}
		obj[k.AsString()] = b.value(item.ValueExpr, element(v, k.AsString()))
	}
	return &Value{Object: obj}
}

// element returns v's element key, or an unknown value when v does not
// have it yet (an object that depends on an event).
func element(v cty.Value, key string) cty.Value {
	if !v.IsKnown() || v.IsNull() {
		return cty.DynamicVal.WithMarks(v.Marks())
	}
	uv, marks := v.Unmark()
	ty := uv.Type()
	switch {
	case ty.IsObjectType() && ty.HasAttribute(key):
		return uv.GetAttr(key).WithMarks(marks)
	case ty.IsMapType():
		if uv.HasIndex(cty.StringVal(key)).True() {
			return uv.Index(cty.StringVal(key)).WithMarks(marks)
		}
	}
	return cty.DynamicVal.WithMarks(marks)
}

func (b *builder) leaf(expr hcl.Expression, v cty.Value) *Value {
	src, _ := b.source(expr.Range())
	text := canonicalText(src)
	uv, _ := v.UnmarkDeep()
	if b.sensitive(expr, v, text) {
		// The source text and the inputs' hashes, so a changed variable
		// is a change, whether its value is known now (key =
		// var.wh_key) or only during a run.
		h := sha256.New()
		h.Write([]byte(text))
		in := b.inputs(expr)
		for _, k := range slices.Sorted(maps.Keys(in)) {
			h.Write([]byte("\x00" + k + "=" + in[k]))
		}
		return &Value{Expr: Redacted, Sensitive: true, SHA256: hex.EncodeToString(h.Sum(nil))}
	}
	out := &Value{Expr: text}
	if uv.IsWhollyKnown() {
		if uv.IsNull() {
			out.JSON = json.RawMessage("null")
		} else if j, err := ctyjson.Marshal(uv, uv.Type()); err == nil {
			out.JSON = j
		}
	} else if in := b.inputs(expr); len(in) > 0 {
		out.Inputs = in
	}
	return out
}

// inputs returns the values expr reads from the workspace rather than
// from the event or step outputs, by their source text.
func (b *builder) inputs(expr hcl.Expression) map[string]string {
	out := map[string]string{}
	for _, tr := range expr.Variables() {
		switch tr.RootName() {
		case "var", "values", "hub":
		default:
			continue
		}
		src, ok := b.source(tr.SourceRange())
		if !ok {
			continue
		}
		if v, diags := b.ws.EvalRef(tr); !diags.HasErrors() {
			out[canonicalText(src)] = inputText(v)
		}
	}
	if n, ok := expr.(hclsyntax.Node); ok {
		_ = hclsyntax.VisitAll(n, func(n hclsyntax.Node) hcl.Diagnostics {
			fc, ok := n.(*hclsyntax.FunctionCallExpr)
			if !ok || fc.Name != "env" || len(fc.Variables()) > 0 {
				return nil
			}
			src, ok := b.source(fc.Range())
			if !ok {
				return nil
			}
			if v, diags := b.ws.EvalBase(fc); !diags.HasErrors() {
				out[canonicalText(src)] = inputText(v)
			}
			return nil
		})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// inputText is an input's value as stored and shown: JSON, or Redacted
// and a hash of the value for a sensitive one.
func inputText(v cty.Value) string {
	uv, _ := v.UnmarkDeep()
	var j []byte
	if uv.IsWhollyKnown() {
		if b, err := ctyjson.Marshal(uv, uv.Type()); err == nil {
			j = b
		}
	}
	if j == nil {
		j = []byte("(known after apply)")
	}
	if config.IsSensitive(v) {
		sum := sha256.Sum256(j)
		return Redacted + " sha256:" + hex.EncodeToString(sum[:])
	}
	return string(j)
}

// credentialAttrs are the auth attributes that carry credentials. They are
// redacted whatever their source: a literal key is as secret as one read
// through secret(), it is only stored less safely.
var credentialAttrs = map[string]bool{
	"password":      true,
	"key":           true,
	"token":         true,
	"client_secret": true,
	"credentials":   true, // a session's fields, every one of them
}

// redactAll returns v with every leaf redacted. A leaf's hash covers its
// source text and its load-time value, so a plan still sees a changed
// credential, also one read from a variable that is not sensitive.
func redactAll(v *Value) *Value {
	switch {
	case v == nil || v.Sensitive:
		return v
	case v.Object != nil:
		obj := make(map[string]*Value, len(v.Object))
		for k, fv := range v.Object {
			obj[k] = redactAll(fv)
		}
		return &Value{Object: obj}
	}
	sum := sha256.Sum256([]byte(v.Expr + "\x00" + string(v.JSON)))
	return &Value{Expr: Redacted, Sensitive: true, SHA256: hex.EncodeToString(sum[:])}
}

// sensitive reports whether an expression must be redacted: its value is
// marked, it calls secret(), or it reads a sensitive variable. The last
// two catch expressions whose value is unknown until a run.
func (b *builder) sensitive(expr hcl.Expression, v cty.Value, text string) bool {
	if config.IsSensitive(v) {
		return true
	}
	if n, ok := expr.(hclsyntax.Node); ok {
		calls := false
		_ = hclsyntax.VisitAll(n, func(n hclsyntax.Node) hcl.Diagnostics {
			if fc, ok := n.(*hclsyntax.FunctionCallExpr); ok && fc.Name == "secret" {
				calls = true
			}
			return nil
		})
		if calls {
			return true
		}
	} else if strings.Contains(text, "secret(") {
		return true
	}
	for _, tr := range expr.Variables() {
		if tr.RootName() != "var" || len(tr) < 2 {
			continue
		}
		if a, ok := tr[1].(hcl.TraverseAttr); ok {
			if vr, ok := b.ws.Variable(a.Name); ok && vr.Sensitive {
				return true
			}
		}
	}
	return false
}

// canonicalText formats an expression's source so that spacing, line
// breaks and comments do not count as changes: tokens are re-joined on one
// line (a line break between object items becomes a comma) and hclwrite
// sets the spacing. Heredocs keep their lines, which are their content.
func canonicalText(src []byte) string {
	toks, diags := hclsyntax.LexExpression(src, "", hcl.InitialPos)
	if diags.HasErrors() {
		return strings.TrimSpace(string(src))
	}
	var (
		out    bytes.Buffer
		stack  []hclsyntax.TokenType
		prev   hclsyntax.TokenType
		joined []byte
	)
	for _, t := range toks {
		if t.Type == hclsyntax.TokenOHeredoc {
			joined = src
			break
		}
	}
	if joined == nil {
		for i, t := range toks {
			typ := t.Type
			if typ == hclsyntax.TokenComment && bytes.HasSuffix(t.Bytes, []byte("\n")) {
				// A # or // comment token holds the line break that ends
				// it; that break still separates object items.
				typ = hclsyntax.TokenNewline
			}
			switch typ {
			case hclsyntax.TokenComment, hclsyntax.TokenEOF:
				continue
			case hclsyntax.TokenNewline:
				if len(stack) > 0 && stack[len(stack)-1] == hclsyntax.TokenOBrace &&
					prev != hclsyntax.TokenOBrace && prev != hclsyntax.TokenComma && prev != hclsyntax.TokenNewline &&
					!closesNext(toks[i+1:]) {
					out.WriteString(", ")
					prev = hclsyntax.TokenComma
				}
				continue
			case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen, hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
				stack = append(stack, t.Type)
			case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenTemplateSeqEnd:
				if len(stack) > 0 {
					stack = stack[:len(stack)-1]
				}
			}
			if wordy(prev) && wordy(t.Type) {
				out.WriteByte(' ')
			}
			out.Write(t.Bytes)
			prev = t.Type
		}
		joined = out.Bytes()
	}
	formatted := hclwrite.Format(append([]byte("x = "), joined...))
	return strings.TrimSpace(strings.TrimPrefix(string(formatted), "x ="))
}

// closesNext reports whether the next token that is not a line break or
// comment closes a brace.
func closesNext(toks hclsyntax.Tokens) bool {
	for _, t := range toks {
		switch t.Type {
		case hclsyntax.TokenNewline, hclsyntax.TokenComment:
			continue
		case hclsyntax.TokenCBrace:
			return true
		}
		return false
	}
	return false
}

func wordy(t hclsyntax.TokenType) bool {
	return t == hclsyntax.TokenIdent || t == hclsyntax.TokenNumberLit
}
