// Package scaffold writes a new connector project: the template behind
// `hub connector new NAME`. The project builds and passes its own tests as
// generated, so an author starts from green and changes one thing at a time.
//
// It only writes files; it never runs the go command or touches the
// network, so the CLI decides what to do next.
package scaffold

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/hubhq/hub/sdk/schema"
)

//go:embed templates/*.tmpl
var templates embed.FS

// DefaultHubModule is hub's Go module path.
const DefaultHubModule = "github.com/hubhq/hub"

// goVersion is the Go version the generated go.mod declares; hub's SDK
// needs it.
const goVersion = "1.26.0"

// Options describe the project to generate.
type Options struct {
	// Name is the connector's name, lower snake case (e.g. "warehouse").
	Name string
	// Module is the new project's Go module path; default
	// "example.com/hub-connector-NAME".
	Module string
	// HubModule is hub's module path; default DefaultHubModule.
	HubModule string
	// HubVersion is the hub release to require (e.g. "v0.3.0"). With
	// HubReplace it may be empty.
	HubVersion string
	// HubReplace is a local hub checkout to use through a replace
	// directive. Its go.mod and go.sum are copied into the project's
	// requirements so it builds offline without `go mod tidy`.
	HubReplace string
}

// files maps each template to the file it produces.
var files = []struct{ template, path string }{
	{"go.mod.tmpl", "go.mod"},
	{"main.go.tmpl", "main.go"},
	{"main_test.go.tmpl", "main_test.go"},
	{"README.md.tmpl", "README.md"},
	{"gitignore.tmpl", ".gitignore"},
}

// data is what the templates see.
type data struct {
	Options
	GoVersion string
	// Indirect are requirements copied from the local hub checkout.
	Indirect []string
}

// Generate writes a connector project into dir, creating it. It refuses an
// invalid name and a dir that exists and is not empty, so it never
// overwrites anyone's work. On a failure part way, what was written is
// removed again.
func Generate(dir string, opts Options) (err error) {
	d, err := prepare(opts)
	if err != nil {
		return err
	}
	if err := ensureEmpty(dir); err != nil {
		return err
	}
	rendered := map[string][]byte{}
	for _, f := range files {
		out, err := render(f.template, d)
		if err != nil {
			return err
		}
		rendered[f.path] = out
	}
	if d.HubReplace != "" {
		sum, err := os.ReadFile(filepath.Join(d.HubReplace, "go.sum"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("read hub checkout's go.sum: %w", err)
		}
		if len(sum) > 0 {
			rendered["go.sum"] = sum
		}
	}

	created, err := mkdir(dir)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil && created {
			os.RemoveAll(dir)
		}
	}()
	for path, content := range rendered {
		if err := os.WriteFile(filepath.Join(dir, path), content, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

func prepare(opts Options) (data, error) {
	if !schema.ValidName(opts.Name) {
		return data{}, fmt.Errorf("invalid connector name %q: use lower snake case, starting with a letter (e.g. %q)", opts.Name, "warehouse")
	}
	if opts.Module == "" {
		opts.Module = "example.com/hub-connector-" + strings.ReplaceAll(opts.Name, "_", "-")
	}
	if strings.ContainsAny(opts.Module, " \t\n\"'`") {
		return data{}, fmt.Errorf("invalid module path %q", opts.Module)
	}
	if opts.HubModule == "" {
		opts.HubModule = DefaultHubModule
	}
	d := data{GoVersion: goVersion}
	if opts.HubReplace != "" {
		abs, err := filepath.Abs(opts.HubReplace)
		if err != nil {
			return data{}, fmt.Errorf("hub checkout %s: %w", opts.HubReplace, err)
		}
		opts.HubReplace = abs
		reqs, err := hubRequirements(filepath.Join(abs, "go.mod"), opts.HubModule)
		if err != nil {
			return data{}, err
		}
		d.Indirect = reqs
		if opts.HubVersion == "" {
			// Any version does with a replace; this is the one the go
			// command itself writes for a replaced module.
			opts.HubVersion = "v0.0.0-00010101000000-000000000000"
		}
	}
	if opts.HubVersion == "" {
		return data{}, errors.New("hub version required: set HubVersion (e.g. v0.3.0) or HubReplace (a local hub checkout)")
	}
	if !strings.HasPrefix(opts.HubVersion, "v") {
		opts.HubVersion = "v" + opts.HubVersion
	}
	d.Options = opts
	return d, nil
}

// hubRequirements reads the requirements of the hub checkout's go.mod, so
// the new project lists every module hub's SDK needs and builds without
// consulting a proxy.
func hubRequirements(gomod, hubModule string) ([]string, error) {
	raw, err := os.ReadFile(gomod)
	if err != nil {
		return nil, fmt.Errorf("read hub checkout's go.mod (is HubReplace a hub checkout?): %w", err)
	}
	var reqs []string
	inBlock := false
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
			continue
		case inBlock && fields[0] == ")":
			inBlock = false
			continue
		case fields[0] == "module" && len(fields) == 2 && fields[1] != hubModule:
			return nil, fmt.Errorf("%s is module %s, not %s", gomod, fields[1], hubModule)
		case fields[0] == "require" && len(fields) == 2 && fields[1] == "(":
			inBlock = true
			continue
		case fields[0] == "require" && len(fields) == 3:
			fields = fields[1:]
		case !inBlock:
			continue
		}
		if len(fields) == 2 {
			reqs = append(reqs, fields[0]+" "+fields[1])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", gomod, err)
	}
	sort.Strings(reqs)
	return reqs, nil
}

func render(name string, d data) ([]byte, error) {
	t, err := template.ParseFS(templates, "templates/"+name)
	if err != nil {
		return nil, fmt.Errorf("parse template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	out := b.Bytes()
	if !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, '\n')
	}
	return out, nil
}

func ensureEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("target %s: %w", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("target %s is not empty; choose a new directory", dir)
	}
	return nil
}

// mkdir creates dir and reports whether it did (so a failure removes only
// what Generate made).
func mkdir(dir string) (bool, error) {
	if _, err := os.Stat(dir); err == nil {
		return false, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("create %s: %w", dir, err)
	}
	return true, nil
}
