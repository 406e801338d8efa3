package hclfmt

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Ext is the extension of the files Dir formats.
const Ext = ".hcl"

// Format returns src formatted canonically, or the parse diagnostics if src
// does not parse: formatting a broken file could move its mistake somewhere
// harder to see.
func Format(filename string, src []byte) ([]byte, hcl.Diagnostics) {
	_, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	return hclwrite.Format(src), diags
}

// Dir formats every *.hcl file directly in dir, in name order. With check
// it writes nothing and returns the files that would change; otherwise it
// rewrites them and returns them. A file that does not parse is left as it
// is and reported in diags, and the others are still formatted; err is for
// a file or dir that cannot be read or written.
func Dir(dir string, check bool) (changed []string, diags hcl.Diagnostics, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("format %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), Ext) && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if err != nil {
			return changed, diags, fmt.Errorf("format %s: %w", path, err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return changed, diags, fmt.Errorf("format %s: %w", path, err)
		}
		out, fileDiags := Format(path, src)
		diags = append(diags, fileDiags...)
		if fileDiags.HasErrors() || bytes.Equal(out, src) {
			continue
		}
		if !check {
			if err := rewrite(path, out, fi.Mode().Perm()); err != nil {
				return changed, diags, fmt.Errorf("format %s: %w", path, err)
			}
		}
		changed = append(changed, path)
	}
	return changed, diags, nil
}

// rewrite replaces path's content through a temporary file renamed into
// place. A symlink is followed, so the link stays a link and its target is
// what gets formatted.
func rewrite(path string, data []byte, mode fs.FileMode) (err error) {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(target)
	f, err := os.CreateTemp(dir, "."+filepath.Base(target)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), target); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
