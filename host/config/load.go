package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// LockFileName is the lock file hub init writes beside the workspace; it is
// not part of the workspace language.
const LockFileName = "hub.lock.hcl"

// VarsFileSuffix names vars files. They are read only when given in
// LoadOptions.VarFiles, so a workspace directory may keep several (one per
// deployment) without all of them applying.
const VarsFileSuffix = ".hubvars.hcl"

// VarEnvPrefix prefixes the environment variables that set input
// variables: HUB_VAR_shop sets var.shop.
const VarEnvPrefix = "HUB_VAR_"

// LoadOptions are the inputs of a load besides the files.
type LoadOptions struct {
	// Vars are -var name=value pairs, the highest precedence.
	Vars map[string]string
	// VarFiles are vars files, applied in order (later wins).
	VarFiles []string
	// Env selects an environment block; "" selects none.
	Env string
	// Getenv reads the process environment for env() and HUB_VAR_*; nil
	// reads nothing, so a test or a sandboxed caller sees no environment.
	Getenv func(string) string
}

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "hub"},
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "environment", LabelNames: []string{"name"}},
		{Type: "connection", LabelNames: []string{"name"}},
		{Type: "workflow", LabelNames: []string{"name"}},
	},
}

// Load reads the workspace in dir. It reports every problem that needs no
// connector schema (syntax, structure, types of hub's own attributes,
// variables, references between blocks and steps); Validate adds those
// that do. The returned Workspace is non-nil unless dir cannot be read, so
// a caller can run Validate after a failed Load and report everything in
// one pass.
func Load(dir string, opts LoadOptions) (*Workspace, hcl.Diagnostics) {
	names, err := workspaceFiles(dir)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read workspace",
			Detail:   err.Error(),
		}}
	}
	l := &loader{
		parser: hclparse.NewParser(),
		ws:     &Workspace{Dir: dir},
		opts:   opts,
	}
	if len(names) == 0 {
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No configuration files",
			Detail:   fmt.Sprintf("Directory %s holds no *.hcl files.", dir),
		})
	}
	var contents []*hcl.BodyContent
	for _, name := range names {
		f, diags := l.parser.ParseHCLFile(name)
		l.diags = append(l.diags, diags...)
		if f == nil {
			continue
		}
		content, diags := f.Body.Content(rootSchema)
		l.diags = append(l.diags, diags...)
		contents = append(contents, content)
	}
	l.load(contents)
	l.ws.Files = l.parser.Files()
	return l.ws, l.diags
}

// workspaceFiles lists dir's workspace files in name order.
func workspaceFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read workspace %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".hcl") || n == LockFileName || strings.HasSuffix(n, VarsFileSuffix) {
			continue
		}
		names = append(names, filepath.Join(dir, n))
	}
	sort.Strings(names)
	return names, nil
}

type loader struct {
	parser *hclparse.Parser
	ws     *Workspace
	opts   LoadOptions
	diags  hcl.Diagnostics
}

func (l *loader) errorf(rng *hcl.Range, summary, format string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  rng,
	})
}

func (l *loader) add(diags hcl.Diagnostics) {
	l.diags = append(l.diags, diags...)
}

// load decodes blocks in dependency order: variables feed environments,
// both feed connections, and connections are what workflows name.
func (l *loader) load(contents []*hcl.BodyContent) {
	byType := map[string][]*hcl.Block{}
	for _, c := range contents {
		for _, b := range c.Blocks {
			byType[b.Type] = append(byType[b.Type], b)
		}
	}
	for _, b := range byType["hub"] {
		l.decodeHub(b)
	}
	l.decodeVariables(byType["variable"])
	base := &scope{
		vars:      map[string]cty.Value{},
		getenv:    l.opts.Getenv,
		envName:   cty.UnknownVal(cty.String),
		functions: Functions(l.opts.Getenv),
	}
	for _, v := range l.ws.Variables {
		base.vars[v.Name] = v.Value
	}
	l.decodeEnvironments(byType["environment"], base)
	l.ws.base = base
	seen := map[string]hcl.Range{}
	for _, b := range byType["connection"] {
		if l.unique("connection", b, seen) {
			l.decodeConnection(b, base)
		}
	}
	seen = map[string]hcl.Range{}
	for _, b := range byType["workflow"] {
		if l.unique("workflow", b, seen) {
			l.decodeWorkflow(b, base)
		}
	}
}

// unique reports whether b's name is new among blocks of its kind, and
// reports a duplicate otherwise. It also rejects names that expressions
// could not refer to.
func (l *loader) unique(kind string, b *hcl.Block, seen map[string]hcl.Range) bool {
	name := b.Labels[0]
	if !hclsyntax.ValidIdentifier(name) {
		l.errorf(&b.LabelRanges[0], "Invalid name", "A %s name must start with a letter or underscore and contain only letters, digits, underscores and dashes.", kind)
		return false
	}
	if prev, ok := seen[name]; ok {
		l.errorf(&b.LabelRanges[0], "Duplicate "+kind, "%s%s %q was already declared at %s.", strings.ToUpper(kind[:1]), kind[1:], name, prev)
		return false
	}
	seen[name] = b.DefRange
	return true
}

var hubSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "required_connectors"}}}

func (l *loader) decodeHub(b *hcl.Block) {
	content, diags := b.Body.Content(hubSchema)
	l.add(diags)
	for _, rc := range content.Blocks {
		attrs, diags := rc.Body.JustAttributes()
		l.add(diags)
		for _, a := range sortedAttrs(attrs) {
			l.decodeRequirement(a)
		}
	}
}

func (l *loader) decodeRequirement(a *hcl.Attribute) {
	if !hclsyntax.ValidIdentifier(a.Name) {
		l.errorf(&a.NameRange, "Invalid connector local name", "A local name must start with a letter or underscore and contain only letters, digits, underscores and dashes.")
		return
	}
	if prev, ok := l.ws.Requirement(a.Name); ok {
		l.errorf(&a.NameRange, "Duplicate required connector", "Local name %q was already declared at %s.", a.Name, prev.Range)
		return
	}
	req := Requirement{Name: a.Name, Range: a.Range}
	pairs, diags := hcl.ExprMap(a.Expr)
	if diags.HasErrors() {
		l.errorf(a.Expr.Range().Ptr(), "Invalid required connector", `Give an object: %s = { source = "hub/name", version = "~> 1.0" }.`, a.Name)
		return
	}
	sawSource := false
	for _, p := range pairs {
		key := hcl.ExprAsKeyword(p.Key)
		if key == "" {
			kv, diags := p.Key.Value(nil)
			if diags.HasErrors() || kv.Type() != cty.String || !kv.IsKnown() {
				l.errorf(p.Key.Range().Ptr(), "Invalid key", "Keys of a required connector are source and version.")
				continue
			}
			key = kv.AsString()
		}
		if key == "source" {
			sawSource = true
		}
		str, ok := l.literalString(p.Value, key)
		if !ok {
			continue
		}
		switch key {
		case "source":
			sawSource = true
			if !validSource(str) {
				l.errorf(p.Value.Range().Ptr(), "Invalid connector source", "A source is namespace/name, e.g. \"hub/shopify\"; got %q.", str)
				continue
			}
			req.Source = str
		case "version":
			if _, err := version.NewConstraint(str); err != nil {
				l.errorf(p.Value.Range().Ptr(), "Invalid version constraint", "%q: %s.", str, err)
				continue
			}
			req.Constraint = str
		default:
			l.errorf(p.Key.Range().Ptr(), "Unsupported argument", "A required connector has source and version, not %q.", key)
		}
	}
	if !sawSource {
		l.errorf(a.Expr.Range().Ptr(), "Missing connector source", "Required connector %q needs a source, e.g. source = \"hub/%s\".", a.Name, a.Name)
	}
	l.ws.Requirements = append(l.ws.Requirements, req)
}

// validSource reports whether s is namespace/name in lower case.
func validSource(s string) bool {
	ns, name, ok := strings.Cut(s, "/")
	return ok && validSourcePart(ns) && validSourcePart(name)
}

func validSourcePart(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9' && i > 0, (r == '-' || r == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// literalString evaluates expr, which must be a constant string (hub's own
// names and settings, never computed, so a plan can read them statically).
func (l *loader) literalString(expr hcl.Expression, what string) (string, bool) {
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		l.errorf(expr.Range().Ptr(), "Invalid "+what, "%s must be a literal string.", what)
		return "", false
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		l.errorf(expr.Range().Ptr(), "Invalid "+what, "%s must be a string.", what)
		return "", false
	}
	return v.AsString(), true
}

// sortedAttrs orders attributes by source position: JustAttributes returns
// a map, and diagnostics and slices must not depend on map order.
func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *hcl.Attribute) int {
		if c := strings.Compare(a.Range.Filename, b.Range.Filename); c != 0 {
			return c
		}
		return a.Range.Start.Byte - b.Range.Start.Byte
	})
	return out
}
