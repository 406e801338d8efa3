package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	goversion "github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"

	"github.com/hubhq/hub/host/config"
	"github.com/hubhq/hub/host/hclfmt"
	"github.com/hubhq/hub/host/lockfile"
	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/sdk/schema"
)

// wsFlags are the flags of the commands that read a workspace.
type wsFlags struct {
	common
	dir      string
	vars     varFlags
	varFiles listFlag
	env      string
}

func (w *wsFlags) register(e *env, name string) *flag.FlagSet {
	fs := newFlags(e, name)
	w.common.register(fs, e)
	fs.StringVar(&w.dir, "dir", ".", "the workspace directory")
	fs.Var(&w.vars, "var", "set a variable: -var name=value (repeatable)")
	fs.Var(&w.varFiles, "var-file", "read variables from a file (repeatable)")
	fs.StringVar(&w.env, "env", "", "the environment block to use (e.g. sandbox or live)")
	return fs
}

func (w *wsFlags) load(e *env) (*config.Workspace, hcl.Diagnostics) {
	return config.Load(w.dir, config.LoadOptions{Vars: w.vars.m, VarFiles: w.varFiles, Env: w.env, Getenv: e.getenv})
}

// varFlags collects -var name=value.
type varFlags struct{ m map[string]string }

func (v *varFlags) String() string { return "" }

func (v *varFlags) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want name=value, got %q", s)
	}
	if v.m == nil {
		v.m = map[string]string{}
	}
	v.m[name] = value
	return nil
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// printDiags writes diagnostics for people (file:line:col and the source
// line) or, with -json, for tools; it reports whether any is an error.
func printDiags(e *env, asJSON bool, files map[string]*hcl.File, diags hcl.Diagnostics) bool {
	if len(diags) == 0 {
		return false
	}
	if asJSON {
		_ = printJSON(e.stdout, diagsJSON(diags))
		return diags.HasErrors()
	}
	for _, d := range diags {
		writeDiag(e.stderr, files, d)
	}
	return diags.HasErrors()
}

// writeDiag prints one diagnostic compiler-style: file:line:col, the
// source line with the range underlined, then the detail.
func writeDiag(w io.Writer, files map[string]*hcl.File, d *hcl.Diagnostic) {
	sev := "error"
	if d.Severity == hcl.DiagWarning {
		sev = "warning"
	}
	r := d.Subject
	if r == nil {
		fmt.Fprintf(w, "%s: %s\n", sev, d.Summary)
	} else {
		fmt.Fprintf(w, "%s:%d:%d: %s: %s\n", displayPath(r.Filename), r.Start.Line, r.Start.Column, sev, d.Summary)
		if line, ok := sourceLine(files, r); ok {
			width := 1
			if r.End.Line == r.Start.Line && r.End.Column > r.Start.Column {
				width = r.End.Column - r.Start.Column
			}
			pad := strings.Map(func(c rune) rune {
				if c == '\t' {
					return c
				}
				return ' '
			}, string([]rune(line)[:min(r.Start.Column-1, len([]rune(line)))]))
			fmt.Fprintf(w, "  %4d | %s\n       | %s%s\n", r.Start.Line, line, pad, strings.Repeat("^", width))
		}
	}
	if d.Detail != "" {
		fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(d.Detail, "\n", "\n  "))
	}
	fmt.Fprintln(w)
}

// sourceLine returns the line a range starts on, from the parsed files or
// else from disk.
func sourceLine(files map[string]*hcl.File, r *hcl.Range) (string, bool) {
	var src []byte
	if f, ok := files[r.Filename]; ok && f != nil {
		src = f.Bytes
	} else if b, err := os.ReadFile(r.Filename); err == nil {
		src = b
	}
	lines := strings.Split(string(src), "\n")
	if r.Start.Line < 1 || r.Start.Line > len(lines) {
		return "", false
	}
	return strings.TrimRight(lines[r.Start.Line-1], "\r"), true
}

// displayPath shows a file relative to the working directory when it is
// below it, as people typed it.
func displayPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

type jsonPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

type jsonRange struct {
	Filename string  `json:"filename"`
	Start    jsonPos `json:"start"`
	End      jsonPos `json:"end"`
}

type jsonDiag struct {
	Severity string     `json:"severity"`
	Summary  string     `json:"summary"`
	Detail   string     `json:"detail,omitempty"`
	Range    *jsonRange `json:"range,omitempty"`
}

func diagsJSON(diags hcl.Diagnostics) []jsonDiag {
	out := make([]jsonDiag, 0, len(diags))
	for _, d := range diags {
		j := jsonDiag{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			j.Severity = "warning"
		}
		if r := d.Subject; r != nil {
			j.Range = &jsonRange{Filename: r.Filename,
				Start: jsonPos{r.Start.Line, r.Start.Column, r.Start.Byte}, End: jsonPos{r.End.Line, r.End.Column, r.End.Byte}}
		}
		out = append(out, j)
	}
	return out
}

// errReported means the problems were already printed as diagnostics.
type errReported struct{ what string }

func (e errReported) Error() string { return e.what }

func runInit(e *env, args []string) error {
	var w wsFlags
	fs := w.register(e, "init")
	upgrade := fs.Bool("upgrade", false, "move each connector to the newest installed version its constraint allows")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	ws, diags := w.load(e)
	if ws == nil || diags.HasErrors() {
		printDiags(e, w.asJSON, filesOf(ws), diags)
		return errReported{"the workspace has errors; fix them and run hub init again"}
	}
	lockPath := filepath.Join(w.dir, lockfile.FileName)
	old, ldiags := lockfile.Load(lockPath)
	diags = append(diags, ldiags...)
	if ldiags.HasErrors() {
		printDiags(e, w.asJSON, filesOf(ws), diags)
		return errReported{fmt.Sprintf("%s is malformed; fix it or delete it and run hub init", lockPath)}
	}
	installed, problems, err := registry.Discover(w.pluginDir)
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintf(e.stderr, "warning: %v\n", p)
	}
	reqs := make([]lockfile.Requirement, len(ws.Requirements))
	for i, r := range ws.Requirements {
		reqs[i] = lockfile.Requirement{Name: r.Name, Source: r.Source, Constraint: r.Constraint, Range: r.Range}
	}
	lock, changes, udiags := lockfile.Update(old, reqs, installed, *upgrade)
	diags = append(diags, udiags...)
	if printDiags(e, w.asJSON, filesOf(ws), diags) {
		return errReported{"hub init failed; " + lockPath + " was not changed"}
	}
	if err := lock.Save(lockPath); err != nil {
		return err
	}
	if w.asJSON {
		return printJSON(e.stdout, changesJSON(lock, changes))
	}
	names := make([]string, 0, len(lock.Connectors))
	for n := range lock.Connectors {
		names = append(names, n)
	}
	sort.Strings(names)
	moved := map[string]lockfile.Change{}
	for _, c := range changes {
		moved[c.Name] = c
	}
	for _, n := range names {
		en := lock.Connectors[n]
		note := "locked"
		if c, ok := moved[n]; ok {
			switch {
			case c.From == nil:
				note = "new"
			case c.Rehashed:
				note = "rebuilt: new checksum accepted"
			default:
				note = "from " + c.From.String()
			}
		}
		fmt.Fprintf(e.stdout, "- %s: %s %s (%s)\n", n, en.Source, en.Version, note)
	}
	for _, c := range changes {
		if c.To == nil {
			fmt.Fprintf(e.stdout, "- %s: %s removed from the lock\n", c.Name, c.Source)
		}
	}
	fmt.Fprintf(e.stdout, "hub init: %s written. Commit it.\n", lockPath)
	return nil
}

type changeJSON struct {
	Name     string `json:"name"`
	Source   string `json:"source"`
	Version  string `json:"version,omitempty"`
	From     string `json:"from,omitempty"`
	Rehashed bool   `json:"rehashed,omitempty"`
}

func changesJSON(lock *lockfile.Lock, changes []lockfile.Change) map[string]any {
	cs := []changeJSON{}
	for _, c := range changes {
		j := changeJSON{Name: c.Name, Source: c.Source, Rehashed: c.Rehashed}
		if c.To != nil {
			j.Version = c.To.String()
		}
		if c.From != nil {
			j.From = c.From.String()
		}
		cs = append(cs, j)
	}
	locked := map[string]string{}
	for n, en := range lock.Connectors {
		locked[n] = en.Source + " " + en.Version.String()
	}
	return map[string]any{"locked": locked, "changes": cs}
}

func filesOf(ws *config.Workspace) map[string]*hcl.File {
	if ws == nil {
		return nil
	}
	return ws.Files
}

func runValidate(e *env, args []string) error {
	var w wsFlags
	fs := w.register(e, "validate")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	ws, _, _, diags := check(e, &w)
	if ws == nil {
		printDiags(e, w.asJSON, nil, diags)
		return errReported{"the workspace cannot be read"}
	}
	if printDiags(e, w.asJSON, filesOf(ws), diags) {
		return errReported{"the workspace is not valid"}
	}
	if w.asJSON {
		return printJSON(e.stdout, map[string]any{"valid": true, "warnings": len(diags)})
	}
	fmt.Fprintf(e.stdout, "The workspace is valid (%d connections, %d workflows).\n", len(ws.Connections), len(ws.Workflows))
	return nil
}

// check is what hub validate, plan and apply start with: load the
// workspace and its lock, launch the locked connectors for their schemas,
// and validate. Load and Validate find different problems (without and
// with the schemas); both run so every problem shows in one run. ws is nil
// only when the workspace cannot be read.
func check(e *env, w *wsFlags) (*config.Workspace, *lockfile.Lock, map[string]*schema.Schema, hcl.Diagnostics) {
	ws, diags := w.load(e)
	if ws == nil {
		return nil, nil, nil, diags
	}
	lock, ldiags := lockfile.Load(filepath.Join(w.dir, lockfile.FileName))
	diags = append(diags, ldiags...)
	if ldiags.HasErrors() {
		return ws, nil, nil, diags
	}
	schemas, sdiags := lockedSchemas(e, w, ws, lock)
	diags = append(diags, sdiags...)
	if !sdiags.HasErrors() {
		diags = append(diags, config.Validate(ws, schemas)...)
	}
	return ws, lock, schemas, diags
}

// lockedSchemas launches each locked connector (verified against the
// lock's checksum) and returns its schema by local name.
func lockedSchemas(e *env, w *wsFlags, ws *config.Workspace, lock *lockfile.Lock) (map[string]*schema.Schema, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	installed, _, err := registry.Discover(w.pluginDir)
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read the plugin directory", Detail: err.Error()})
	}
	sup := newSupervisor(e, &w.common)
	defer sup.Close()
	schemas := map[string]*schema.Schema{}
	for _, r := range ws.Requirements {
		rng := r.Range
		entry, ok := lock.Connectors[r.Name]
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Connector not locked",
				Detail: fmt.Sprintf("%q (%s) is not in %s: run hub init.", r.Name, r.Source, lockfile.FileName), Subject: &rng})
			continue
		}
		if why := lockMismatch(r, entry); why != "" {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Lock does not match the workspace",
				Detail: fmt.Sprintf("%s; run hub init to lock what the workspace requires.", why), Subject: &rng})
			continue
		}
		inst, err := lock.Installed(r.Name, installed)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Locked connector unavailable", Detail: err.Error(), Subject: &rng})
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
		sc, err := sup.Connector(inst).Schema(ctx)
		cancel()
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Connector cannot be loaded",
				Detail: fmt.Sprintf("%s: %v", inst, err), Subject: &rng})
			continue
		}
		schemas[r.Name] = sc
	}
	return schemas, diags
}

func runFmt(e *env, args []string) error {
	fs := newFlags(e, "fmt")
	check := fs.Bool("check", false, "write nothing; list the files that are not formatted and exit 1 if any")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	dir := "."
	switch len(pos) {
	case 0:
	case 1:
		dir = pos[0]
	default:
		return usageErr("fmt takes at most one directory")
	}
	changed, diags, err := hclfmt.Dir(dir, *check)
	if err != nil {
		return err
	}
	if printDiags(e, false, nil, diags) {
		return errReported{"some files do not parse; nothing was written to them"}
	}
	for _, f := range changed {
		fmt.Fprintln(e.stdout, f)
	}
	if *check && len(changed) > 0 {
		return errReported{fmt.Sprintf("%d file(s) not formatted; run hub fmt", len(changed))}
	}
	return nil
}

// parseNone parses flags for a command that takes no arguments.
func parseNone(fs *flag.FlagSet, args []string) error {
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("unexpected argument %q", pos[0])
	}
	return nil
}

// lockMismatch says why a lock entry no longer fits its requirement (the
// workspace was edited after hub init), or "" when it fits.
func lockMismatch(r config.Requirement, e *lockfile.Entry) string {
	src, err := registry.NormalizeSource(r.Source)
	if err != nil {
		return err.Error()
	}
	if src != e.Source {
		return fmt.Sprintf("%q requires %s but %s locks %s", r.Name, src, lockfile.FileName, e.Source)
	}
	if r.Constraint == "" {
		return ""
	}
	c, err := goversion.NewConstraint(r.Constraint)
	if err != nil {
		return fmt.Sprintf("%q has an invalid version constraint %q: %v", r.Name, r.Constraint, err)
	}
	if !c.Check(e.Version) {
		return fmt.Sprintf("%q requires %s %s but %s locks %s", r.Name, src, r.Constraint, lockfile.FileName, e.Version)
	}
	return ""
}
