package lockfile

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestLoad_MissingFileIsAnEmptyLock(t *testing.T) {
	l, diags := Load(filepath.Join(t.TempDir(), FileName))
	if len(diags) != 0 {
		t.Fatalf("diags = %v", diags)
	}
	if l == nil || l.Connectors == nil || len(l.Connectors) != 0 {
		t.Errorf("lock = %+v, want empty", l)
	}
}

func TestLoad_ReadsEveryField(t *testing.T) {
	l, diags := Load("testdata/valid.hcl")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	want := map[string]*Entry{
		"shop": {Name: "shop", Source: "hub/shopify", Version: version.Must(version.NewVersion("1.4.2")), Constraints: "~> 1.4", Hashes: map[string]string{
			"darwin_arm64": "sha256:" + strings.Repeat("1", 64),
			"linux_amd64":  "sha256:" + strings.Repeat("2", 64),
		}},
		"shop_v2": {Name: "shop_v2", Source: "hub/shopify", Version: version.Must(version.NewVersion("2.0.0-beta.1")), Hashes: map[string]string{
			"linux_amd64": "sha256:" + strings.Repeat("3", 64),
		}},
	}
	if !sameLock(l, &Lock{Connectors: want}) {
		t.Errorf("lock = %s, want %s", dump(l), dump(&Lock{Connectors: want}))
	}
}

// TestLoad_MalformedFilesPointAtTheProblem checks the diagnostics for each
// file in testdata/malformed against its .golden file; run with -update to
// rewrite them.
func TestLoad_MalformedFilesPointAtTheProblem(t *testing.T) {
	paths, err := filepath.Glob("testdata/malformed/*.hcl")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			l, diags := Load(path)
			if !diags.HasErrors() {
				t.Fatalf("Load accepted %s: %s", path, dump(l))
			}
			if l != nil {
				t.Errorf("Load returned a lock with errors: %s", dump(l))
			}
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			file, _ := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
			// Each diagnostic's file:line:col first, then the text an
			// operator sees.
			var got bytes.Buffer
			for _, d := range diags {
				if d.Subject != nil {
					fmt.Fprintf(&got, "%s: %s\n", where(*d.Subject), d.Summary)
				}
			}
			got.WriteString("\n")
			w := hcl.NewDiagnosticTextWriter(&got, map[string]*hcl.File{path: file}, 78, false)
			if err := w.WriteDiagnostics(diags); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(path, ".hcl") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got.String() != string(want) {
				t.Errorf("diagnostics:\n%s\nwant (%s):\n%s", got.String(), golden, want)
			}
		})
	}
}

func TestSave_WritesTheDocumentedFormat(t *testing.T) {
	l, diags := Load("testdata/valid.hcl")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	path := filepath.Join(t.TempDir(), FileName)
	if err := l.Save(path); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want, _ := os.ReadFile("testdata/valid.hcl")
	if string(got) != string(want) {
		t.Errorf("saved:\n%s\nwant:\n%s", got, want)
	}
	if !bytes.HasSuffix(got, []byte("}\n")) {
		t.Errorf("saved file does not end in a newline")
	}
}

func TestSave_IsDeterministicAndRoundTrips(t *testing.T) {
	entries := map[string]*Entry{}
	for _, name := range []string{"zeta", "alpha", "mid", "beta", "omega"} {
		entries[name] = &Entry{
			Name: name, Source: "acme/" + name, Version: version.Must(version.NewVersion("1.0.0")),
			Constraints: ">= 1.0, < 2.0",
			Hashes: map[string]string{
				"windows_amd64": "sha256:" + strings.Repeat("a", 64),
				"linux_arm64":   "sha256:" + strings.Repeat("b", 64),
				"darwin_amd64":  "sha256:" + strings.Repeat("c", 64),
			},
		}
	}
	dir := t.TempDir()
	var first []byte
	for i := 0; i < 20; i++ {
		path := filepath.Join(dir, FileName)
		if err := (&Lock{Connectors: entries}).Save(path); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if first == nil {
			first = got
		} else if !bytes.Equal(got, first) {
			t.Fatalf("save %d differs:\n%s\nfirst:\n%s", i, got, first)
		}
	}
	loaded, diags := Load(filepath.Join(dir, FileName))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if !sameLock(loaded, &Lock{Connectors: entries}) {
		t.Errorf("round trip = %s, want %s", dump(loaded), dump(&Lock{Connectors: entries}))
	}
	if names := strings.Count(string(first), `connector "`); names != 5 || strings.Index(string(first), `"alpha"`) > strings.Index(string(first), `"beta"`) {
		t.Errorf("entries not sorted by name:\n%s", first)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestSave_EmptyLockIsJustTheHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if err := New().Save(path); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != header {
		t.Errorf("saved %q, want %q", got, header)
	}
}

func TestSave_RefusesAnEntryLoadWouldReject(t *testing.T) {
	v := version.Must(version.NewVersion("1.0.0"))
	tests := map[string]*Entry{
		"no version":          {Source: "hub/x"},
		"unnormalized source": {Source: "X", Version: v},
		"bad hash":            {Source: "hub/x", Version: v, Hashes: map[string]string{"linux_amd64": "abc"}},
		"bad platform":        {Source: "hub/x", Version: v, Hashes: map[string]string{"linux": "sha256:" + strings.Repeat("a", 64)}},
		"outside constraint":  {Source: "hub/x", Version: v, Constraints: "~> 2.0"},
	}
	for name, e := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			if err := (&Lock{Connectors: map[string]*Entry{"x": e}}).Save(path); err == nil {
				t.Errorf("Save accepted %+v", e)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("Save wrote %s despite the error", path)
			}
		})
	}
}

// FuzzLoad checks that no input makes Load panic, and that whatever Load
// accepts is saved as bytes that load back to the same lock and save again
// to the same bytes.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.hcl")
	more, _ := filepath.Glob("testdata/malformed/*.hcl")
	for _, path := range append(seeds, more...) {
		if src, err := os.ReadFile(path); err == nil {
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		l, diags := parse(FileName, src)
		if diags.HasErrors() {
			return
		}
		first, err := l.Bytes()
		if err != nil {
			t.Fatalf("Load accepted a lock that Save refuses: %v\n%s", err, src)
		}
		again, diags := parse(FileName, first)
		if diags.HasErrors() {
			t.Fatalf("Load refuses what Save wrote: %s\n%s", diags.Error(), first)
		}
		if !sameLock(l, again) {
			t.Fatalf("round trip changed the lock: %s, then %s", dump(l), dump(again))
		}
		second, err := again.Bytes()
		if err != nil || !bytes.Equal(first, second) {
			t.Fatalf("second save differs (%v):\n%s\nfirst:\n%s", err, second, first)
		}
	})
}

// sameLock compares locks by content: versions by their text, since a
// *version.Version holds parse details that are not content.
func sameLock(a, b *Lock) bool {
	return dump(a) == dump(b)
}

func dump(l *Lock) string {
	if l == nil {
		return "<nil>"
	}
	var b strings.Builder
	for _, name := range l.names() {
		e := l.Connectors[name]
		b.WriteString(name + "{" + e.Name + " " + e.Source + " ")
		if e.Version != nil {
			b.WriteString(e.Version.Original() + "=" + e.Version.String())
		}
		b.WriteString(" [" + e.Constraints + "] ")
		for _, p := range sortedKeys(e.Hashes) {
			b.WriteString(p + "=" + e.Hashes[p] + " ")
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
