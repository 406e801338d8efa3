package lockfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/hubhq/hub/host/atomicfile"
	"github.com/hubhq/hub/host/registry"
)

// FileName is the lock file's name in a workspace directory.
const FileName = "hub.lock.hcl"

// header starts every lock file Save writes.
const header = "# This file is maintained by \"hub init\". Commit it.\n"

// Lock is the recorded choice of connector versions for one workspace.
type Lock struct {
	Connectors map[string]*Entry // by local name
}

// Entry is the recorded choice for one local connector name.
type Entry struct {
	Name        string           // local name in the workspace; equals its key in Lock.Connectors
	Source      string           // normalized "namespace/name"
	Version     *version.Version // exact version chosen
	Constraints string           // the requirement's constraint when it was chosen; "" for none
	Hashes      map[string]string
}

// New returns an empty lock.
func New() *Lock { return &Lock{Connectors: map[string]*Entry{}} }

// The formats below are strict because the file is written by machine:
// anything else was edited by hand or damaged, and is worth a diagnostic.
var (
	// strictSemver is the registry's notion of a version directory name, so
	// a locked version always names one directory.
	strictSemver = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	platformRe   = regexp.MustCompile(`^[a-z][a-z0-9]*_[a-z0-9]+$`)
	hashRe       = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "connector", LabelNames: []string{"name"}}},
}

var connectorSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "source", Required: true},
		{Name: "version", Required: true},
		{Name: "constraints"},
		{Name: "hashes"},
	},
}

// Load reads the lock file at path. A missing file is an empty lock: a
// workspace before its first "hub init". Every problem in the file is
// reported, each pointing at its place in the file.
func Load(path string) (*Lock, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(), nil
	}
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read lock file",
			Detail:   fmt.Sprintf("read %s: %v", path, err),
		}}
	}
	return parse(path, src)
}

func parse(filename string, src []byte) (*Lock, hcl.Diagnostics) {
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	content, moreDiags := file.Body.Content(rootSchema)
	diags = append(diags, moreDiags...)

	lock := New()
	declared := map[string]hcl.Range{}
	for _, block := range content.Blocks {
		entry, entryDiags := decodeEntry(block)
		diags = append(diags, entryDiags...)
		name := block.Labels[0]
		if prev, dup := declared[name]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate connector in lock file",
				Detail:   fmt.Sprintf("Connector %q was already recorded at %s; a lock file records one choice per local name. Delete %s and run hub init.", name, where(prev), FileName),
				Subject:  block.LabelRanges[0].Ptr(),
			})
			continue
		}
		declared[name] = block.DefRange
		if entry != nil {
			lock.Connectors[name] = entry
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return lock, diags
}

// decodeEntry decodes one connector block; it returns nil when the block is
// unusable, with the diagnostics saying why.
func decodeEntry(block *hcl.Block) (*Entry, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	name := block.Labels[0]
	if !hclsyntax.ValidIdentifier(name) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid connector name",
			Detail:   fmt.Sprintf("%q is not a valid local connector name: it must be an identifier (letters, digits, _ and -, starting with a letter).", name),
			Subject:  block.LabelRanges[0].Ptr(),
		})
	}
	// A missing or unknown argument does not stop the others from being
	// checked: one run reports everything wrong with the block.
	content, moreDiags := block.Body.Content(connectorSchema)
	diags = append(diags, moreDiags...)

	e := &Entry{Name: name, Hashes: map[string]string{}}
	if s, ok := stringAttr(content.Attributes["source"], &diags); ok {
		src, err := registry.NormalizeSource(s)
		if err != nil {
			diags = append(diags, attrError(content.Attributes["source"], "Invalid connector source", err.Error()))
		}
		e.Source = src
	}
	if s, ok := stringAttr(content.Attributes["version"], &diags); ok {
		v, err := parseVersion(s)
		if err != nil {
			diags = append(diags, attrError(content.Attributes["version"], "Invalid connector version", err.Error()))
		}
		e.Version = v
	}
	if attr := content.Attributes["constraints"]; attr != nil {
		if s, ok := stringAttr(attr, &diags); ok {
			e.Constraints = strings.TrimSpace(s)
			if e.Constraints != "" {
				cons, err := version.NewConstraint(e.Constraints)
				switch {
				case err != nil:
					diags = append(diags, attrError(attr, "Invalid version constraint", fmt.Sprintf("%q is not a version constraint: %v.", s, err)))
				case e.Version != nil && !cons.Check(e.Version):
					diags = append(diags, attrError(attr, "Locked version outside its constraint",
						fmt.Sprintf("Version %s does not satisfy %q; the lock file was edited by hand. Run hub init -upgrade to choose again.", e.Version, e.Constraints)))
				}
			}
		}
	}
	if attr := content.Attributes["hashes"]; attr != nil {
		diags = append(diags, decodeHashes(attr, e.Hashes)...)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return e, diags
}

func decodeHashes(attr *hcl.Attribute, into map[string]string) hcl.Diagnostics {
	pairs, diags := hcl.ExprMap(attr.Expr)
	if diags.HasErrors() {
		return diags
	}
	seen := map[string]hcl.Range{}
	for _, kv := range pairs {
		platform, ok := stringExpr(kv.Key, "hash platform", &diags)
		if !ok {
			continue
		}
		keyRange := kv.Key.Range()
		if !platformRe.MatchString(platform) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid platform",
				Detail:   fmt.Sprintf("%q is not an os_arch platform like %s.", platform, registry.Platform()),
				Subject:  &keyRange,
			})
			continue
		}
		if prev, dup := seen[platform]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate platform hash",
				Detail:   fmt.Sprintf("A hash for %s was already given at %s.", platform, where(prev)),
				Subject:  &keyRange,
			})
			continue
		}
		seen[platform] = keyRange
		hash, ok := stringExpr(kv.Value, "hash", &diags)
		if !ok {
			continue
		}
		if !hashRe.MatchString(hash) {
			valRange := kv.Value.Range()
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid hash",
				Detail:   fmt.Sprintf("%q is not a hash: want \"sha256:\" followed by 64 lowercase hex digits.", hash),
				Subject:  &valRange,
			})
			continue
		}
		into[platform] = hash
	}
	return diags
}

// stringAttr evaluates a required-string attribute without variables or
// functions: a lock file is data, not configuration.
func stringAttr(attr *hcl.Attribute, diags *hcl.Diagnostics) (string, bool) {
	if attr == nil {
		return "", false
	}
	return stringExpr(attr.Expr, "\""+attr.Name+"\"", diags)
}

func stringExpr(expr hcl.Expression, what string, diags *hcl.Diagnostics) (string, bool) {
	val, valDiags := expr.Value(nil)
	*diags = append(*diags, valDiags...)
	if valDiags.HasErrors() {
		return "", false
	}
	if val.IsNull() || !val.IsKnown() || val.Type() != cty.String {
		rng := expr.Range()
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "String required",
			Detail:   fmt.Sprintf("The %s must be a quoted string.", what),
			Subject:  &rng,
		})
		return "", false
	}
	return val.AsString(), true
}

// where names a place as file:line:col, the way editors and compilers do.
func where(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

func attrError(attr *hcl.Attribute, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   detail,
		Subject:  attr.Expr.Range().Ptr(),
	}
}

func parseVersion(s string) (*version.Version, error) {
	if !strictSemver.MatchString(s) {
		return nil, fmt.Errorf("%q is not an exact version: want a semver version like 1.4.2 or 2.0.0-beta.1", s)
	}
	v, err := version.NewSemver(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an exact version: %w", s, err)
	}
	if v.String() != s {
		return nil, fmt.Errorf("%q is not an exact version in canonical form (%s)", s, v)
	}
	return v, nil
}

// check reports why e cannot be written, so Save never writes a file that
// Load would refuse.
func (e *Entry) check(name string) error {
	if !hclsyntax.ValidIdentifier(name) {
		return fmt.Errorf("connector name %q is not an identifier", name)
	}
	if e.Name != "" && e.Name != name {
		return fmt.Errorf("connector %q: entry is named %q", name, e.Name)
	}
	if src, err := registry.NormalizeSource(e.Source); err != nil {
		return fmt.Errorf("connector %q: %w", name, err)
	} else if src != e.Source {
		return fmt.Errorf("connector %q: source %q is not normalized (%s)", name, e.Source, src)
	}
	if e.Version == nil {
		return fmt.Errorf("connector %q: no version", name)
	}
	if _, err := parseVersion(e.Version.String()); err != nil {
		return fmt.Errorf("connector %q: %w", name, err)
	}
	if c := strings.TrimSpace(e.Constraints); c != "" {
		cons, err := version.NewConstraint(c)
		if err != nil {
			return fmt.Errorf("connector %q: invalid version constraint %q: %w", name, c, err)
		}
		if !cons.Check(e.Version) {
			return fmt.Errorf("connector %q: version %s does not satisfy %q", name, e.Version, c)
		}
	}
	for platform, hash := range e.Hashes {
		if !platformRe.MatchString(platform) {
			return fmt.Errorf("connector %q: %q is not an os_arch platform", name, platform)
		}
		if !hashRe.MatchString(hash) {
			return fmt.Errorf("connector %q: hash for %s is not sha256:<64 lowercase hex digits>", name, platform)
		}
	}
	return nil
}

// Bytes renders the lock file. The output depends only on the lock's
// content: entries sorted by name, hashes by platform, canonical formatting.
func (l *Lock) Bytes() ([]byte, error) {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	names := l.names()
	for _, name := range names {
		e := l.Connectors[name]
		if e == nil {
			return nil, fmt.Errorf("connector %q: no entry", name)
		}
		if err := e.check(name); err != nil {
			return nil, err
		}
		body.AppendNewline()
		b := body.AppendNewBlock("connector", []string{name}).Body()
		b.SetAttributeValue("source", cty.StringVal(e.Source))
		b.SetAttributeValue("version", cty.StringVal(e.Version.String()))
		if c := strings.TrimSpace(e.Constraints); c != "" {
			b.SetAttributeValue("constraints", cty.StringVal(c))
		}
		if len(e.Hashes) > 0 {
			hashes := make(map[string]cty.Value, len(e.Hashes))
			for platform, hash := range e.Hashes {
				hashes[platform] = cty.StringVal(hash)
			}
			// An object, not a map, so platforms are written as bare keys
			// (linux_amd64 = ...), in sorted order.
			b.SetAttributeValue("hashes", cty.ObjectVal(hashes))
		}
	}
	out := hclwrite.Format(f.Bytes())
	out = bytes.TrimLeft(out, "\n")
	return append([]byte(header), out...), nil
}

func (l *Lock) names() []string {
	if l == nil {
		return nil
	}
	names := make([]string, 0, len(l.Connectors))
	for name := range l.Connectors {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Save writes the lock file to path. It is written beside path and renamed
// into place, so a crash or a concurrent reader never sees half a lock file.
func (l *Lock) Save(path string) error {
	data, err := l.Bytes()
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	if err := atomicfile.WriteBytes(path, data, mode); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}
