package state

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hubhq/hub/host/config"
)

// SourceID is the store id of the applied workspace's source, under Kind.
const SourceID = "source"

// Source is what an apply ran from: the workspace's files, the lock file
// and the load inputs. A host runs the applied workflows from it, not
// from the workspace directory, whose files may have changed since.
type Source struct {
	// Files maps base names to contents: every workspace *.hcl file and
	// hub.lock.hcl.
	Files map[string]string `json:"files"`
	// VarFiles are the -var-file files, in order.
	VarFiles []NamedFile       `json:"var_files,omitempty"`
	Vars     map[string]string `json:"vars,omitempty"`
	Env      string            `json:"env,omitempty"`
}

// NamedFile is one file's base name and content.
type NamedFile struct {
	Name    string `json:"name"`
	Content string `json:"content"`
}

// ReadSource reads the source of the workspace in dir loaded with opts.
func ReadSource(dir string, opts config.LoadOptions) (*Source, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read workspace %s: %w", dir, err)
	}
	src := &Source{Files: map[string]string{}, Vars: opts.Vars, Env: opts.Env}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".hcl") || strings.HasSuffix(n, config.VarsFileSuffix) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("read workspace file: %w", err)
		}
		src.Files[n] = string(b)
	}
	for _, p := range opts.VarFiles {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read vars file: %w", err)
		}
		src.VarFiles = append(src.VarFiles, NamedFile{Name: filepath.Base(p), Content: string(b)})
	}
	return src, nil
}

// Materialize writes the source into dir (an empty directory) and returns
// the load options that reproduce the apply; getenv backs env() and
// HUB_VAR_* as in config.LoadOptions.
func (s *Source) Materialize(dir string, getenv func(string) string) (config.LoadOptions, error) {
	names := make([]string, 0, len(s.Files))
	for n := range s.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if n != filepath.Base(n) || strings.HasPrefix(n, ".") {
			return config.LoadOptions{}, fmt.Errorf("applied source: bad file name %q", n)
		}
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s.Files[n]), 0o600); err != nil {
			return config.LoadOptions{}, fmt.Errorf("write applied source: %w", err)
		}
	}
	opts := config.LoadOptions{Vars: s.Vars, Env: s.Env, Getenv: getenv}
	if len(s.VarFiles) > 0 {
		vdir := filepath.Join(dir, ".vars")
		if err := os.Mkdir(vdir, 0o700); err != nil {
			return opts, fmt.Errorf("write applied source: %w", err)
		}
		for i, f := range s.VarFiles {
			p := filepath.Join(vdir, fmt.Sprintf("%02d-%s", i, filepath.Base(f.Name)))
			if err := os.WriteFile(p, []byte(f.Content), 0o600); err != nil {
				return opts, fmt.Errorf("write applied source: %w", err)
			}
			opts.VarFiles = append(opts.VarFiles, p)
		}
	}
	return opts, nil
}

// SaveSource stores src as the applied source of tenant.
func SaveSource(st Store, tenant string, src *Source) error {
	b, err := json.Marshal(src)
	if err != nil {
		return fmt.Errorf("save applied source of tenant %q: %w", tenant, err)
	}
	if err := st.Put(tenant, Kind, SourceID, b); err != nil {
		return fmt.Errorf("save applied source of tenant %q: %w", tenant, err)
	}
	return nil
}

// LoadSource returns tenant's applied source; nil when nothing has been
// applied.
func LoadSource(st Store, tenant string) (*Source, error) {
	b, ok, err := st.Get(tenant, Kind, SourceID)
	if err != nil {
		return nil, fmt.Errorf("load applied source of tenant %q: %w", tenant, err)
	}
	if !ok {
		return nil, nil
	}
	src := &Source{}
	if err := json.Unmarshal(b, src); err != nil {
		return nil, fmt.Errorf("load applied source of tenant %q: %w", tenant, err)
	}
	return src, nil
}
