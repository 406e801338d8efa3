package registry

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"

	"github.com/hashicorp/go-version"

	"github.com/hubhq/hub/host/atomicfile"
)

// DefaultNamespace is the namespace of a source given as a bare name.
const DefaultNamespace = "hub"

// SumsFile is the name of the checksum file beside each installed binary.
const SumsFile = "SHA256SUMS"

// BinaryPrefix starts the file name of every connector binary.
const BinaryPrefix = "hub-connector-"

// Installed is one connector binary in the plugin directory, for one
// platform.
type Installed struct {
	Source   string           // "hub/example"
	Name     string           // "example"
	Version  *version.Version // exact version, from its directory name
	Platform string           // "linux_amd64"
	Path     string           // absolute path of the binary
	SHA256   []byte           // expected checksum, from SHA256SUMS
}

// String is the connector's source and version, e.g. "hub/example 1.0.0",
// the way operators write them.
func (i Installed) String() string {
	if i.Version == nil {
		return i.Source
	}
	return i.Source + " " + i.Version.String()
}

// Problem is something in the plugin directory that is not a usable plugin.
// Discover reports it instead of failing, so one broken entry does not hide
// every other connector.
type Problem struct {
	Path    string
	Message string // what is wrong, then " — " and what to do about it
}

func (p Problem) Error() string { return p.Path + ": " + p.Message }

// Platform is the os_arch directory name for binaries this host can run.
func Platform() string { return runtime.GOOS + "_" + runtime.GOARCH }

// BinaryName is the file name of a connector's binary on this platform.
func BinaryName(name string) string {
	if runtime.GOOS == "windows" {
		return BinaryPrefix + name + ".exe"
	}
	return BinaryPrefix + name
}

// A source part is used as a directory name, so it is kept to characters
// that are safe and unambiguous on every file system.
var sourcePart = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// strictSemver accepts MAJOR.MINOR.PATCH with optional pre-release and build
// metadata, nothing looser: a version is a directory name, and "1.0",
// "v1.0.0" and "1.0.0" must not be three directories for one version.
var strictSemver = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// NormalizeSource returns the canonical "namespace/name" form of a
// connector source. A bare name is in the hub namespace; case is folded
// because the source becomes directory names.
func NormalizeSource(s string) (string, error) {
	src := strings.ToLower(strings.TrimSpace(s))
	if src == "" {
		return "", errors.New(`empty connector source: want NAMESPACE/NAME, e.g. "hub/example"`)
	}
	if !strings.Contains(src, "/") {
		src = DefaultNamespace + "/" + src
	}
	ns, name, _ := strings.Cut(src, "/")
	if strings.Contains(name, "/") {
		return "", fmt.Errorf(`invalid connector source %q: want NAMESPACE/NAME, e.g. "hub/example"`, s)
	}
	for _, part := range []string{ns, name} {
		if !sourcePart.MatchString(part) {
			return "", fmt.Errorf(`invalid connector source %q: %q must be 1-64 lowercase letters, digits, "-" or "_", starting with a letter or digit`, s, part)
		}
	}
	return ns + "/" + name, nil
}

// parseVersion parses a strict semver version.
func parseVersion(s string) (*version.Version, error) {
	if !strictSemver.MatchString(s) {
		return nil, fmt.Errorf("invalid version %q: want a semver version like 1.4.0 or 2.0.0-beta.1", s)
	}
	v, err := version.NewSemver(s)
	if err != nil {
		return nil, fmt.Errorf("invalid version %q: %w", s, err)
	}
	return v, nil
}

// reason is the cause of a file system error without the path, which the
// Problem already names.
func reason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func reinstallHint(source string) string {
	return "reinstall with: hub connectors install PATH --source " + source
}

// Discover lists the connectors installed under dir for this platform,
// sorted by source, then version. A missing dir holds nothing. Entries for
// other platforms are skipped without a word; anything else that is not a
// usable plugin comes back as a Problem. The error is only for a dir that
// exists but cannot be read.
func Discover(dir string) ([]Installed, []Problem, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("plugin directory %s: %w", dir, err)
	}
	namespaces, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read plugin directory %s: %w", root, err)
	}
	d := &discovery{platform: Platform()}
	for _, ns := range namespaces {
		nsPath := filepath.Join(root, ns.Name())
		if !d.dir(nsPath, ns, "a connector namespace directory") {
			continue
		}
		if !sourcePart.MatchString(ns.Name()) {
			d.problem(nsPath, "not a valid connector namespace (lowercase letters, digits, - and _) — remove or rename it")
			continue
		}
		for _, name := range d.readDir(nsPath) {
			namePath := filepath.Join(nsPath, name.Name())
			if !d.dir(namePath, name, "a connector directory") {
				continue
			}
			if !sourcePart.MatchString(name.Name()) {
				d.problem(namePath, "not a valid connector name (lowercase letters, digits, - and _) — remove or rename it")
				continue
			}
			d.versions(ns.Name()+"/"+name.Name(), name.Name(), namePath)
		}
	}
	sort.Slice(d.found, func(a, b int) bool {
		x, y := d.found[a], d.found[b]
		if x.Source != y.Source {
			return x.Source < y.Source
		}
		return x.Version.LessThan(y.Version)
	})
	return d.found, d.problems, nil
}

// discovery collects what one Discover run finds.
type discovery struct {
	platform string
	found    []Installed
	problems []Problem
}

func (d *discovery) problem(path, msg string) {
	d.problems = append(d.problems, Problem{Path: path, Message: msg})
}

// readDir lists a directory inside the plugin tree; a subdirectory that
// cannot be read is a problem with that entry, not a failure of Discover.
func (d *discovery) readDir(path string) []fs.DirEntry {
	entries, err := os.ReadDir(path)
	if err != nil {
		d.problem(path, fmt.Sprintf("cannot read it (%v) — check its permissions", reason(err)))
	}
	return entries
}

// dir reports whether an entry is a directory, following symlinks so an
// operator may link a plugin in from elsewhere; a file where a directory
// belongs is reported as stray.
func (d *discovery) dir(path string, e fs.DirEntry, want string) bool {
	isDir := e.IsDir()
	if e.Type()&fs.ModeSymlink != 0 {
		fi, err := os.Stat(path)
		if err != nil {
			d.problem(path, fmt.Sprintf("broken symlink (%v) — remove it", reason(err)))
			return false
		}
		isDir = fi.IsDir()
	}
	if !isDir {
		d.problem(path, "stray file where "+want+" belongs, not a plugin — remove it")
	}
	return isDir
}

func (d *discovery) versions(source, name, namePath string) {
	for _, ver := range d.readDir(namePath) {
		verPath := filepath.Join(namePath, ver.Name())
		if !d.dir(verPath, ver, "a version directory") {
			continue
		}
		v, err := parseVersion(ver.Name())
		if err != nil || v.String() != ver.Name() {
			d.problem(verPath, "version directory is not a semver version like 1.0.0 — remove it, or "+reinstallHint(source))
			continue
		}
		platforms := d.readDir(verPath)
		if len(platforms) == 0 {
			d.problem(verPath, "no platform directory (like "+d.platform+") — remove it, or "+reinstallHint(source))
			continue
		}
		for _, plat := range platforms {
			platPath := filepath.Join(verPath, plat.Name())
			if !d.dir(platPath, plat, "a platform directory") {
				continue
			}
			if goos, arch, ok := strings.Cut(plat.Name(), "_"); !ok || goos == "" || arch == "" {
				d.problem(platPath, "not an os_arch platform directory like "+d.platform+" — remove it")
				continue
			}
			if plat.Name() != d.platform {
				// Binaries for other platforms may share a plugin
				// directory (a shared volume, a vendored tree); they are
				// simply not ours to run.
				continue
			}
			d.plugin(source, name, v, platPath)
		}
	}
}

// plugin checks one platform directory: the binary, that it can run, and
// its checksum entry.
func (d *discovery) plugin(source, name string, v *version.Version, platPath string) {
	binName := BinaryName(name)
	binPath := filepath.Join(platPath, binName)
	sumsPath := filepath.Join(platPath, SumsFile)
	ok := true
	for _, e := range d.readDir(platPath) {
		if e.Name() != binName && e.Name() != SumsFile {
			d.problem(filepath.Join(platPath, e.Name()), "stray file, not part of the plugin — remove it")
		}
	}

	fi, err := os.Stat(binPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.problem(platPath, "no "+binName+" binary — "+reinstallHint(source))
		ok = false
	case err != nil:
		d.problem(binPath, fmt.Sprintf("cannot read it (%v) — check its permissions", reason(err)))
		ok = false
	case !fi.Mode().IsRegular():
		d.problem(binPath, "not a regular file — "+reinstallHint(source))
		ok = false
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0:
		d.problem(binPath, "not executable — "+reinstallHint(source))
		ok = false
	}

	sum, err := readSum(sumsPath, binName)
	if err != nil {
		d.problem(sumsPath, err.Error()+" — "+reinstallHint(source))
		ok = false
	}
	if !ok {
		return
	}
	d.found = append(d.found, Installed{
		Source: source, Name: name, Version: v, Platform: d.platform, Path: binPath, SHA256: sum,
	})
}

// readSum finds file's checksum in a sha256sum-format file.
func readSum(sumsPath, file string) ([]byte, error) {
	data, err := os.ReadFile(sumsPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errors.New("missing checksum file, so the binary cannot be verified")
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read checksum file (%v)", reason(err))
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// sha256sum marks binary mode with a leading '*' on the name.
		if len(fields) != 2 || strings.TrimPrefix(fields[1], "*") != file {
			continue
		}
		sum, err := hex.DecodeString(fields[0])
		if err != nil || len(sum) != sha256.Size {
			return nil, fmt.Errorf("checksum of %s is not a sha256 hex digest", file)
		}
		return sum, nil
	}
	return nil, fmt.Errorf("no checksum for %s", file)
}

// Resolve chooses the newest installed version of source for this platform
// that satisfies constraint (go-version syntax, e.g. "~> 1.4" or
// ">= 2.0, < 3.0"). An empty constraint chooses the newest release;
// pre-releases are only chosen by a constraint that names one, so that
// installing a beta does not move every workspace onto it.
func Resolve(all []Installed, source, constraint string) (Installed, error) {
	src, err := NormalizeSource(source)
	if err != nil {
		return Installed{}, err
	}
	var cons version.Constraints
	if strings.TrimSpace(constraint) != "" {
		cons, err = version.NewConstraint(constraint)
		if err != nil {
			return Installed{}, fmt.Errorf(`invalid version constraint %q for %s: write it like "~> 1.4", ">= 2.0" or ">= 1.2, < 2.0"`, constraint, src)
		}
	}
	platform := Platform()
	var (
		best     Installed
		found    bool
		versions []string
	)
	for _, inst := range all {
		if inst.Source != src || inst.Platform != platform || inst.Version == nil {
			continue
		}
		versions = append(versions, inst.Version.String())
		match := inst.Version.Prerelease() == ""
		if cons != nil {
			match = cons.Check(inst.Version)
		}
		if match && (!found || inst.Version.GreaterThan(best.Version)) {
			best, found = inst, true
		}
	}
	hint := "install one with: hub connectors install PATH --source " + src
	switch {
	case found:
		return best, nil
	case len(versions) == 0:
		return Installed{}, fmt.Errorf("%s is not installed for %s; install it with: hub connectors install PATH --source %s", src, platform, src)
	case cons == nil:
		return Installed{}, fmt.Errorf("no release version of %s is installed (installed: %s); name a pre-release in the version constraint, or %s",
			src, listVersions(versions), hint)
	default:
		return Installed{}, fmt.Errorf("no installed version of %s matches %q (installed: %s); %s", src, constraint, listVersions(versions), hint)
	}
}

// listVersions sorts and de-duplicates versions for an error message.
func listVersions(vs []string) string {
	parsed := make([]*version.Version, 0, len(vs))
	seen := map[string]bool{}
	for _, s := range vs {
		if seen[s] {
			continue
		}
		seen[s] = true
		if v, err := version.NewVersion(s); err == nil {
			parsed = append(parsed, v)
		}
	}
	sort.Sort(version.Collection(parsed))
	out := make([]string, len(parsed))
	for i, v := range parsed {
		out[i] = v.String()
	}
	return strings.Join(out, ", ")
}

// Install copies binary into dir as source at version, for this platform,
// and records its checksum in SHA256SUMS. Installing a version that is
// already there replaces it: each file is written beside its final name and
// renamed over it, so a reader sees the old file or the new one, never a
// partial one, and a running plugin keeps its old binary.
func Install(dir, binary, source, ver string) (Installed, error) {
	src, err := NormalizeSource(source)
	if err != nil {
		return Installed{}, fmt.Errorf("install %s: %w", binary, err)
	}
	v, err := parseVersion(ver)
	if err != nil {
		return Installed{}, fmt.Errorf("install %s as %s: %w", binary, src, err)
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return Installed{}, fmt.Errorf("install %s: plugin directory %s: %w", binary, dir, err)
	}
	in, err := os.Open(binary)
	if err != nil {
		return Installed{}, fmt.Errorf("install %s %s: %w", src, v, err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return Installed{}, fmt.Errorf("install %s %s: %w", src, v, err)
	}
	if !fi.Mode().IsRegular() || fi.Size() == 0 {
		return Installed{}, fmt.Errorf("install %s %s: %s is not a connector binary (not a non-empty regular file)", src, v, binary)
	}

	ns, name, _ := strings.Cut(src, "/")
	target := filepath.Join(root, ns, name, v.String(), Platform())
	if err := os.MkdirAll(target, 0o755); err != nil {
		return Installed{}, fmt.Errorf("install %s %s: %w", src, v, err)
	}
	binName := BinaryName(name)
	h := sha256.New()
	err = atomicfile.Write(filepath.Join(target, binName), 0o755, func(w io.Writer) error {
		_, err := io.Copy(io.MultiWriter(w, h), in)
		return err
	})
	if err != nil {
		return Installed{}, fmt.Errorf("install %s %s: copy %s: %w", src, v, binary, err)
	}
	sum := h.Sum(nil)
	// The binary goes in before its checksum. In between (or if the install
	// is interrupted) the old checksum does not match the new binary, and
	// the supervisor refuses to launch it: never an unverified binary.
	err = atomicfile.Write(filepath.Join(target, SumsFile), 0o644, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "%x  %s\n", sum, binName)
		return err
	})
	if err != nil {
		return Installed{}, fmt.Errorf("install %s %s: write %s: %w", src, v, SumsFile, err)
	}
	return Installed{
		Source: src, Name: name, Version: v, Platform: Platform(),
		Path: filepath.Join(target, binName), SHA256: sum,
	}, nil
}
