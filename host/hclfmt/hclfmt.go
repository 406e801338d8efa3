package hclfmt

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/hubhq/hub/host/atomicfile"
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
			if err := atomicfile.WriteBytes(path, out, fi.Mode().Perm()); err != nil {
				return changed, diags, fmt.Errorf("format %s: %w", path, err)
			}
		}
		changed = append(changed, path)
	}
	return changed, diags, nil
}
