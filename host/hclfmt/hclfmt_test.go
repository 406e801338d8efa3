package hclfmt

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestFormat_UnformattedBecomesCanonical(t *testing.T) {
	src, err := os.ReadFile("testdata/unformatted.hcl")
	if err != nil {
		t.Fatal(err)
	}
	got, diags := Format("unformatted.hcl", src)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if *update {
		if err := os.WriteFile("testdata/unformatted.golden", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/unformatted.golden")
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("formatted:\n%s\nwant:\n%s", got, want)
	}
}

func TestFormat_FormattedIsUnchanged(t *testing.T) {
	want, err := os.ReadFile("testdata/unformatted.golden")
	if err != nil {
		t.Fatal(err)
	}
	got, diags := Format("formatted.hcl", want)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("formatting is not idempotent:\n%s\nwant:\n%s", got, want)
	}
}

func TestFormat_BrokenSyntaxIsReportedNotFormatted(t *testing.T) {
	got, diags := Format("broken.hcl", []byte("hub {\n  x = \n"))
	if !diags.HasErrors() {
		t.Fatalf("no diagnostics; formatted to %q", got)
	}
	if got != nil {
		t.Errorf("returned %q for a broken file, want nil", got)
	}
	if s := diags[0].Subject; s == nil || s.Filename != "broken.hcl" {
		t.Errorf("subject = %v, want a place in broken.hcl", s)
	}
}

// workspace writes files into a fresh directory.
func workspace(t *testing.T, files map[string]string, mode os.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDir(t *testing.T) {
	ugly, err := os.ReadFile("testdata/unformatted.hcl")
	if err != nil {
		t.Fatal(err)
	}
	pretty, err := os.ReadFile("testdata/unformatted.golden")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"main.hcl":     string(ugly),
		"tidy.hcl":     string(pretty),
		"broken.hcl":   "hub {\n  x =\n",
		"notes.txt":    "a  =  1\n",
		"hub.lock.hcl": "connector \"a\" {\n source=\"hub/a\"\n}\n",
	}
	tests := []struct {
		name        string
		check       bool
		wantChanged []string
		wantAfter   map[string]string // file contents after Dir
	}{
		{
			name:        "check mode reports the files that would change and writes nothing",
			check:       true,
			wantChanged: []string{"hub.lock.hcl", "main.hcl"},
			wantAfter:   files,
		},
		{
			name:        "write mode rewrites those files and leaves broken and other files alone",
			wantChanged: []string{"hub.lock.hcl", "main.hcl"},
			wantAfter: map[string]string{
				"main.hcl":     string(pretty),
				"tidy.hcl":     string(pretty),
				"broken.hcl":   files["broken.hcl"],
				"notes.txt":    files["notes.txt"],
				"hub.lock.hcl": "connector \"a\" {\n  source = \"hub/a\"\n}\n",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := workspace(t, files, 0o600)
			old := time.Now().Add(-time.Hour)
			for name := range files {
				if err := os.Chtimes(filepath.Join(dir, name), old, old); err != nil {
					t.Fatal(err)
				}
			}
			sub := filepath.Join(dir, "modules")
			if err := os.Mkdir(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(sub, "nested.hcl"), ugly, 0o644); err != nil {
				t.Fatal(err)
			}

			changed, diags, err := Dir(dir, tt.check)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range changed {
				got = append(got, filepath.Base(p))
			}
			if strings.Join(got, ",") != strings.Join(tt.wantChanged, ",") {
				t.Errorf("changed = %v, want %v", got, tt.wantChanged)
			}
			if len(diags) == 0 || !diags.HasErrors() || diags[0].Subject.Filename != filepath.Join(dir, "broken.hcl") {
				t.Errorf("diags = %v, want the error in broken.hcl", diags)
			}
			for name, want := range tt.wantAfter {
				path := filepath.Join(dir, name)
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if string(data) != want {
					t.Errorf("%s after Dir:\n%s\nwant:\n%s", name, data, want)
				}
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s mode = %v, want 0600 kept", name, fi.Mode().Perm())
				}
				if want == files[name] && !fi.ModTime().Equal(old) {
					t.Errorf("%s was written although unchanged", name)
				}
			}
			if nested, _ := os.ReadFile(filepath.Join(sub, "nested.hcl")); !bytes.Equal(nested, ugly) {
				t.Errorf("Dir descended into %s", sub)
			}
			if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(leftovers) != 0 {
				t.Errorf("temporary files left behind: %v", leftovers)
			}
		})
	}
}

func TestDir_SecondRunChangesNothing(t *testing.T) {
	ugly, err := os.ReadFile("testdata/unformatted.hcl")
	if err != nil {
		t.Fatal(err)
	}
	dir := workspace(t, map[string]string{"main.hcl": string(ugly)}, 0o644)
	if changed, diags, err := Dir(dir, false); err != nil || diags.HasErrors() || len(changed) != 1 {
		t.Fatalf("first run: %v %v %v", changed, diags, err)
	}
	if changed, diags, err := Dir(dir, true); err != nil || diags.HasErrors() || len(changed) != 0 {
		t.Errorf("second run: changed %v, diags %v, err %v; want nothing", changed, diags, err)
	}
}

func TestDir_MissingDirIsAnError(t *testing.T) {
	if _, _, err := Dir(filepath.Join(t.TempDir(), "nope"), true); err == nil {
		t.Error("Dir of a missing directory returned no error")
	}
}
