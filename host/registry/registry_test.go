package registry

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hashicorp/go-version"
)

// fakeBinary writes an executable file; Discover and Install never run
// binaries, so its content only has to be distinct.
func fakeBinary(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "connector")
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustInstall(t *testing.T, dir, source, ver string) Installed {
	t.Helper()
	inst, err := Install(dir, fakeBinary(t, source+" "+ver), source, ver)
	if err != nil {
		t.Fatalf("Install(%s %s): %v", source, ver, err)
	}
	return inst
}

// platformDir is where Install puts source@ver for this platform.
func platformDir(dir, source, ver string) string {
	ns, name, _ := strings.Cut(source, "/")
	return filepath.Join(dir, ns, name, ver, Platform())
}

func names(all []Installed) []string {
	out := make([]string, len(all))
	for i, inst := range all {
		out[i] = inst.String()
	}
	return out
}

func TestNormalizeSource(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "example", want: "hub/example"},
		{in: "hub/example", want: "hub/example"},
		{in: " Acme/Shop-Ify_2 ", want: "acme/shop-ify_2"},
		{in: "", err: "empty connector source"},
		{in: "a/b/c", err: "want NAMESPACE/NAME"},
		{in: "/example", err: `"" must be 1-64`},
		{in: "hub/", err: `"" must be 1-64`},
		{in: "hub/ex ample", err: `"ex ample" must be`},
		{in: "../etc", err: `".." must be`},
		{in: "hub/-x", err: `"-x" must be`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeSource(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("NormalizeSource(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeSource(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestInstalledString(t *testing.T) {
	inst := Installed{Source: "hub/example", Version: version.Must(version.NewSemver("1.0.0"))}
	if got := inst.String(); got != "hub/example 1.0.0" {
		t.Fatalf("String() = %q", got)
	}
}

func TestInstall_WritesLayoutBinaryAndChecksum(t *testing.T) {
	dir := t.TempDir()
	bin := fakeBinary(t, "binary one")
	inst, err := Install(dir, bin, "example", "1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	wantPath := filepath.Join(platformDir(dir, "hub/example", "1.2.3"), BinaryName("example"))
	if inst.Path != wantPath || inst.Source != "hub/example" || inst.Name != "example" ||
		inst.Version.String() != "1.2.3" || inst.Platform != Platform() {
		t.Fatalf("Install returned %+v", inst)
	}
	sum := sha256.Sum256([]byte("binary one"))
	if !bytes.Equal(inst.SHA256, sum[:]) {
		t.Fatalf("SHA256 = %x, want %x", inst.SHA256, sum)
	}
	fi, err := os.Stat(inst.Path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o755 {
		t.Fatalf("binary mode = %v, want 0755", fi.Mode().Perm())
	}
	sums, err := os.ReadFile(filepath.Join(filepath.Dir(inst.Path), SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%x  %s\n", sum, BinaryName("example")); string(sums) != want {
		t.Fatalf("SHA256SUMS = %q, want %q", sums, want)
	}

	found, problems, err := Discover(dir)
	if err != nil || len(problems) != 0 {
		t.Fatalf("Discover: %v, problems %v", err, problems)
	}
	if len(found) != 1 || found[0].Path != inst.Path || !bytes.Equal(found[0].SHA256, inst.SHA256) ||
		!found[0].Version.Equal(inst.Version) {
		t.Fatalf("Discover found %+v, want %+v", found, inst)
	}
}

func TestInstall_SameVersionAgainReplacesIt(t *testing.T) {
	dir := t.TempDir()
	first, err := Install(dir, fakeBinary(t, "old"), "hub/example", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	second, err := Install(dir, fakeBinary(t, "new and longer"), "hub/example", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first.SHA256, second.SHA256) {
		t.Fatal("checksum did not change on reinstall")
	}
	if got, _ := os.ReadFile(second.Path); string(got) != "new and longer" {
		t.Fatalf("binary = %q after reinstall", got)
	}
	entries, err := os.ReadDir(filepath.Dir(second.Path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("platform dir holds %d entries after reinstall (temporary files left?): %v", len(entries), entries)
	}
	found, problems, err := Discover(dir)
	if err != nil || len(problems) != 0 || len(found) != 1 || !bytes.Equal(found[0].SHA256, second.SHA256) {
		t.Fatalf("Discover after reinstall = %v, %v, %v", names(found), problems, err)
	}
}

func TestInstall_RefusesBadInput(t *testing.T) {
	bin := fakeBinary(t, "x")
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, binary, source, version, err string
	}{
		{"invalid source", bin, "a/b/c", "1.0.0", "invalid connector source"},
		{"empty source", bin, "", "1.0.0", "empty connector source"},
		{"two-part version", bin, "hub/x", "1.0", `invalid version "1.0"`},
		{"v prefix", bin, "hub/x", "v1.0.0", `invalid version "v1.0.0"`},
		{"not a version", bin, "hub/x", "latest", `invalid version "latest"`},
		{"leading zero", bin, "hub/x", "01.0.0", `invalid version "01.0.0"`},
		{"missing binary", filepath.Join(t.TempDir(), "nope"), "hub/x", "1.0.0", "no such file"},
		{"directory as binary", t.TempDir(), "hub/x", "1.0.0", "not a connector binary"},
		{"empty binary", empty, "hub/x", "1.0.0", "not a connector binary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := Install(dir, tt.binary, tt.source, tt.version)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Install error = %v, want one containing %q", err, tt.err)
			}
			found, problems, _ := Discover(dir)
			if len(found) != 0 || len(problems) != 0 {
				t.Fatalf("a refused install left %v, %v", names(found), problems)
			}
		})
	}
}

func TestInstall_PrereleaseAndBuildMetadataVersions(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"2.0.0-beta.1", "1.0.0+build.7"} {
		mustInstall(t, dir, "hub/x", v)
	}
	found, problems, err := Discover(dir)
	if err != nil || len(problems) != 0 {
		t.Fatalf("Discover: %v %v", err, problems)
	}
	if got := strings.Join(names(found), ", "); got != "hub/x 1.0.0+build.7, hub/x 2.0.0-beta.1" {
		t.Fatalf("found %s", got)
	}
}

func TestDiscover_MissingDirIsEmpty(t *testing.T) {
	found, problems, err := Discover(filepath.Join(t.TempDir(), "does-not-exist"))
	if err != nil || found != nil || problems != nil {
		t.Fatalf("Discover(missing) = %v, %v, %v; want nothing", found, problems, err)
	}
}

func TestDiscover_UnreadableDirIsAnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plugins")
	if err := os.WriteFile(file, []byte("not a dir"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := Discover(file)
	if err == nil || !strings.Contains(err.Error(), "read plugin directory") {
		t.Fatalf("Discover(file) error = %v", err)
	}
}

func TestDiscover_SortsBySourceThenVersion(t *testing.T) {
	dir := t.TempDir()
	for _, sv := range [][2]string{
		{"hub/zeta", "1.0.0"}, {"hub/example", "10.0.0"}, {"acme/shop", "1.0.0"},
		{"hub/example", "2.0.0"}, {"hub/example", "2.0.0-rc.1"}, {"hub/example", "1.0.0"},
	} {
		mustInstall(t, dir, sv[0], sv[1])
	}
	found, problems, err := Discover(dir)
	if err != nil || len(problems) != 0 {
		t.Fatalf("Discover: %v %v", err, problems)
	}
	want := "acme/shop 1.0.0, hub/example 1.0.0, hub/example 2.0.0-rc.1, hub/example 2.0.0, hub/example 10.0.0, hub/zeta 1.0.0"
	if got := strings.Join(names(found), ", "); got != want {
		t.Fatalf("Discover order:\n got %s\nwant %s", got, want)
	}
	for _, inst := range found {
		if !filepath.IsAbs(inst.Path) {
			t.Fatalf("%s: path %s is not absolute", inst, inst.Path)
		}
	}
}

func TestDiscover_SkipsOtherPlatformsSilently(t *testing.T) {
	dir := t.TempDir()
	mustInstall(t, dir, "hub/example", "1.0.0")
	other := "plan9_mips"
	if Platform() == other {
		other = "linux_s390x"
	}
	for _, ver := range []string{"1.0.0", "2.0.0"} {
		p := filepath.Join(dir, "hub", "example", ver, other)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, BinaryName("example")), []byte("x"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	found, problems, err := Discover(dir)
	if err != nil || len(problems) != 0 {
		t.Fatalf("Discover: %v, problems %v", err, problems)
	}
	if got := strings.Join(names(found), ", "); got != "hub/example 1.0.0" {
		t.Fatalf("found %s", got)
	}
}

func TestDiscover_ReportsEachBrokenEntryAsAProblem(t *testing.T) {
	bin := BinaryName("example")
	tests := []struct {
		name string
		// breakIt damages a tree holding a good hub/example 1.0.0 and
		// returns the path the problem must name.
		breakIt func(t *testing.T, dir string) string
		want    string
	}{
		{"stray file at namespace level", func(t *testing.T, dir string) string {
			return writeFile(t, filepath.Join(dir, "README.txt"), 0o644)
		}, "stray file where a connector namespace directory belongs"},
		{"stray file at name level", func(t *testing.T, dir string) string {
			return writeFile(t, filepath.Join(dir, "hub", "notes"), 0o644)
		}, "stray file where a connector directory belongs"},
		{"stray file at version level", func(t *testing.T, dir string) string {
			return writeFile(t, filepath.Join(dir, "hub", "example", "2.0.0"), 0o755)
		}, "stray file where a version directory belongs"},
		{"stray file at platform level", func(t *testing.T, dir string) string {
			return writeFile(t, filepath.Join(dir, "hub", "example", "1.0.0", bin), 0o755)
		}, "stray file where a platform directory belongs"},
		{"stray file beside the binary", func(t *testing.T, dir string) string {
			return writeFile(t, filepath.Join(platformDir(dir, "hub/example", "1.0.0"), ".tmp123"), 0o644)
		}, "stray file, not part of the plugin"},
		{"invalid namespace", func(t *testing.T, dir string) string {
			return mkdir(t, filepath.Join(dir, "Bad Space"))
		}, "not a valid connector namespace"},
		{"invalid name", func(t *testing.T, dir string) string {
			return mkdir(t, filepath.Join(dir, "hub", "Bad Name"))
		}, "not a valid connector name"},
		{"version dir not semver", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "hub", "example", "latest")
			mkdir(t, filepath.Join(p, Platform()))
			return p
		}, "not a semver version like 1.0.0"},
		{"version dir not canonical", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "hub", "example", "v2.0.0")
			mkdir(t, filepath.Join(p, Platform()))
			return p
		}, "not a semver version like 1.0.0"},
		{"version dir without platforms", func(t *testing.T, dir string) string {
			return mkdir(t, filepath.Join(dir, "hub", "example", "3.0.0"))
		}, "no platform directory"},
		{"platform dir not os_arch", func(t *testing.T, dir string) string {
			return mkdir(t, filepath.Join(dir, "hub", "example", "1.0.0", "universal"))
		}, "not an os_arch platform directory"},
		{"no binary", func(t *testing.T, dir string) string {
			p := platformDir(dir, "hub/example", "1.0.0")
			rm(t, filepath.Join(p, bin))
			return p
		}, "no " + bin + " binary — reinstall with: hub connectors install PATH --source hub/example"},
		{"binary is a directory", func(t *testing.T, dir string) string {
			p := filepath.Join(platformDir(dir, "hub/example", "1.0.0"), bin)
			rm(t, p)
			return mkdir(t, p)
		}, "not a regular file"},
		{"binary not executable", func(t *testing.T, dir string) string {
			p := filepath.Join(platformDir(dir, "hub/example", "1.0.0"), bin)
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, "not executable — reinstall with: hub connectors install PATH --source hub/example"},
		{"missing SHA256SUMS", func(t *testing.T, dir string) string {
			p := filepath.Join(platformDir(dir, "hub/example", "1.0.0"), SumsFile)
			rm(t, p)
			return p
		}, "missing checksum file, so the binary cannot be verified — reinstall with: hub connectors install PATH --source hub/example"},
		{"SHA256SUMS without the binary's entry", func(t *testing.T, dir string) string {
			p := filepath.Join(platformDir(dir, "hub/example", "1.0.0"), SumsFile)
			overwrite(t, p, fmt.Sprintf("%064x  hub-connector-other\n", 1))
			return p
		}, "no checksum for " + bin + " — reinstall"},
		{"SHA256SUMS entry not hex", func(t *testing.T, dir string) string {
			p := filepath.Join(platformDir(dir, "hub/example", "1.0.0"), SumsFile)
			overwrite(t, p, "zzzz  "+bin+"\n")
			return p
		}, "is not a sha256 hex digest — reinstall"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mustInstall(t, dir, "hub/example", "1.0.0")
			mustInstall(t, dir, "hub/other", "1.0.0")
			path := tt.breakIt(t, dir)

			found, problems, err := Discover(dir)
			if err != nil {
				t.Fatalf("Discover failed as a whole: %v", err)
			}
			if len(problems) != 1 {
				t.Fatalf("want exactly one problem, got %d: %v", len(problems), problems)
			}
			p := problems[0]
			if p.Path != path || !strings.Contains(p.Message, tt.want) {
				t.Fatalf("problem = %q\nwant path %s and message containing %q", p.Error(), path, tt.want)
			}
			if !strings.Contains(p.Message, " — ") || strings.Contains(p.Error(), "\n") {
				t.Fatalf("problem %q is not one line saying what to do", p.Error())
			}
			// One broken entry does not hide the others.
			var foundOther bool
			for _, inst := range found {
				foundOther = foundOther || inst.Source == "hub/other"
			}
			if !foundOther {
				t.Fatalf("hub/other went missing: %v", names(found))
			}
		})
	}
}

func TestDiscover_FollowsSymlinkedPlugins(t *testing.T) {
	store := t.TempDir()
	inst := mustInstall(t, store, "hub/example", "1.0.0")
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(store, "hub"), filepath.Join(dir, "hub")); err != nil {
		t.Skip("symlinks not supported:", err)
	}
	found, problems, err := Discover(dir)
	if err != nil || len(problems) != 0 || len(found) != 1 || !bytes.Equal(found[0].SHA256, inst.SHA256) {
		t.Fatalf("Discover through symlink = %v, %v, %v", names(found), problems, err)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	for _, sv := range [][2]string{
		{"hub/example", "1.0.0"}, {"hub/example", "1.4.2"}, {"hub/example", "2.0.0"},
		{"hub/example", "3.0.0-beta.1"}, {"acme/example", "9.0.0"}, {"hub/beta", "0.1.0-alpha"},
	} {
		mustInstall(t, dir, sv[0], sv[1])
	}
	all, problems, err := Discover(dir)
	if err != nil || len(problems) != 0 {
		t.Fatalf("Discover: %v %v", err, problems)
	}
	tests := []struct {
		source, constraint, want, err string
	}{
		{source: "hub/example", want: "2.0.0"},
		{source: "example", want: "2.0.0"},
		{source: "hub/example", constraint: "~> 1.0", want: "1.4.2"},
		{source: "hub/example", constraint: "~> 1.0.0", want: "1.0.0"},
		{source: "hub/example", constraint: ">= 2.0", want: "2.0.0"},
		{source: "hub/example", constraint: ">= 1.0, < 2.0", want: "1.4.2"},
		{source: "hub/example", constraint: "= 1.0.0", want: "1.0.0"},
		{source: "hub/example", constraint: ">= 3.0.0-beta.1", want: "3.0.0-beta.1"},
		{source: "acme/example", constraint: "~> 9", want: "9.0.0"},
		{source: "hub/example", constraint: "~> 3.0",
			err: `no installed version of hub/example matches "~> 3.0" (installed: 1.0.0, 1.4.2, 2.0.0, 3.0.0-beta.1); install one with: hub connectors install PATH --source hub/example`},
		{source: "hub/beta",
			err: "no release version of hub/beta is installed (installed: 0.1.0-alpha)"},
		{source: "hub/missing", constraint: "~> 1.0",
			err: "hub/missing is not installed for " + Platform() + "; install it with: hub connectors install PATH --source hub/missing"},
		{source: "hub/example", constraint: "~>",
			err: `invalid version constraint "~>" for hub/example`},
		{source: "hub/example", constraint: "one point oh",
			err: `invalid version constraint "one point oh" for hub/example`},
		{source: "a/b/c", err: "invalid connector source"},
	}
	for _, tt := range tests {
		t.Run(tt.source+" "+tt.constraint, func(t *testing.T) {
			got, err := Resolve(all, tt.source, tt.constraint)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Resolve = %v, %v\nwant error containing %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got.Version.String() != tt.want {
				t.Fatalf("Resolve = %v, %v; want version %s", got, err, tt.want)
			}
		})
	}
}

func TestResolve_IgnoresOtherPlatforms(t *testing.T) {
	v := version.Must(version.NewSemver("5.0.0"))
	all := []Installed{{Source: "hub/example", Name: "example", Version: v, Platform: "plan9_mips"}}
	_, err := Resolve(all, "hub/example", "")
	if err == nil || !strings.Contains(err.Error(), "is not installed") {
		t.Fatalf("Resolve chose a binary for another platform: %v", err)
	}
}

func writeFile(t *testing.T, p string, mode os.FileMode) string {
	t.Helper()
	if err := os.WriteFile(p, []byte("x"), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func overwrite(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, p string) string {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func rm(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}
