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

// Sealer seals and opens values kept at rest, with additional data that
// binds each to its record (host/secrets.Sealer).
type Sealer interface {
	Seal(plaintext, ad []byte) (string, error)
	Open(sealed string, ad []byte) ([]byte, error)
}

// storedSource is a Source as the store keeps it. The -var values and
// the var files are where an apply's secrets are (a sensitive variable
// is set there, or through HUB_VAR_*, which is never stored), so they are
// sealed together into SealedInputs; which variables are sensitive is
// known only once the workspace loads, and a var file may set any, so all
// are sealed. Vars and VarFiles are read from records stored before
// sealing, and written only without a Sealer.
type storedSource struct {
	Files        map[string]string `json:"files"`
	VarFiles     []NamedFile       `json:"var_files,omitempty"`
	Vars         map[string]string `json:"vars,omitempty"`
	Env          string            `json:"env,omitempty"`
	SealedInputs string            `json:"sealed_inputs,omitempty"`
}

// sourceInputs is what SealedInputs holds.
type sourceInputs struct {
	Vars     map[string]string `json:"vars,omitempty"`
	VarFiles []NamedFile       `json:"var_files,omitempty"`
}

// sourceAD binds a sealed source to its tenant.
func sourceAD(tenant string) []byte { return []byte("hub applied source v1\x00" + tenant) }

// SaveSource stores src as the applied source of tenant, its -var values
// and var files sealed with sealer. A nil sealer stores them in the
// clear, for tools and tests without a secret store.
func SaveSource(st Store, tenant string, src *Source, sealer Sealer) error {
	rec := storedSource{Files: src.Files, Env: src.Env}
	if sealer == nil {
		rec.Vars, rec.VarFiles = src.Vars, src.VarFiles
	} else if len(src.Vars) > 0 || len(src.VarFiles) > 0 {
		in, err := json.Marshal(sourceInputs{Vars: src.Vars, VarFiles: src.VarFiles})
		if err != nil {
			return fmt.Errorf("save applied source of tenant %q: %w", tenant, err)
		}
		if rec.SealedInputs, err = sealer.Seal(in, sourceAD(tenant)); err != nil {
			return fmt.Errorf("save applied source of tenant %q: seal its variables: %w", tenant, err)
		}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("save applied source of tenant %q: %w", tenant, err)
	}
	if err := st.Put(tenant, Kind, SourceID, b); err != nil {
		return fmt.Errorf("save applied source of tenant %q: %w", tenant, err)
	}
	return nil
}

// LoadSource returns tenant's applied source, opening its sealed
// variables with sealer; nil when nothing has been applied. A source
// stored before sealing is read as it is.
func LoadSource(st Store, tenant string, sealer Sealer) (*Source, error) {
	src, _, err := loadSource(st, tenant, sealer)
	return src, err
}

// ResealSource rewrites tenant's applied source with its variables
// sealed when it was stored with them in the clear, and reports whether
// it did. A host calls it at start, so an upgrade does not wait for the
// next apply to stop keeping -var values in the clear.
func ResealSource(st Store, tenant string, sealer Sealer) (bool, error) {
	if sealer == nil {
		return false, nil
	}
	src, inClear, err := loadSource(st, tenant, sealer)
	if err != nil || src == nil || !inClear {
		return false, err
	}
	if err := SaveSource(st, tenant, src, sealer); err != nil {
		return false, err
	}
	return true, nil
}

// loadSource reads the source; inClear says it holds variables stored in
// the clear.
func loadSource(st Store, tenant string, sealer Sealer) (src *Source, inClear bool, err error) {
	b, ok, err := st.Get(tenant, Kind, SourceID)
	if err != nil {
		return nil, false, fmt.Errorf("load applied source of tenant %q: %w", tenant, err)
	}
	if !ok {
		return nil, false, nil
	}
	var rec storedSource
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, false, fmt.Errorf("load applied source of tenant %q: %w", tenant, err)
	}
	src = &Source{Files: rec.Files, Vars: rec.Vars, VarFiles: rec.VarFiles, Env: rec.Env}
	inClear = len(rec.Vars) > 0 || len(rec.VarFiles) > 0
	if rec.SealedInputs == "" {
		return src, inClear, nil
	}
	if sealer == nil {
		return nil, false, fmt.Errorf("load applied source of tenant %q: its variables are sealed and no secret store was opened", tenant)
	}
	plain, err := sealer.Open(rec.SealedInputs, sourceAD(tenant))
	if err != nil {
		return nil, false, fmt.Errorf("load applied source of tenant %q: its variables: %w (is this the data directory's own secrets.json and master key?)", tenant, err)
	}
	var in sourceInputs
	if err := json.Unmarshal(plain, &in); err != nil {
		return nil, false, fmt.Errorf("load applied source of tenant %q: its sealed variables: %w", tenant, err)
	}
	src.Vars, src.VarFiles = in.Vars, in.VarFiles
	return src, inClear, nil
}
