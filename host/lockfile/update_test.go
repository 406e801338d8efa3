package lockfile

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/hubhq/hub/host/registry"
)

// plugins is a plugin directory for one test; any non-empty file will do as
// a binary, since the registry never runs it.
type plugins struct {
	t   *testing.T
	dir string
}

func newPlugins(t *testing.T) *plugins {
	t.Helper()
	return &plugins{t: t, dir: t.TempDir()}
}

// install installs a distinct binary for each "source@version".
func (p *plugins) install(specs ...string) {
	p.t.Helper()
	for _, spec := range specs {
		src, ver, _ := strings.Cut(spec, "@")
		p.installContent(src, ver, "binary "+spec)
	}
}

func (p *plugins) installContent(src, ver, content string) registry.Installed {
	p.t.Helper()
	bin := filepath.Join(p.t.TempDir(), "bin")
	if err := os.WriteFile(bin, []byte(content), 0o755); err != nil {
		p.t.Fatal(err)
	}
	inst, err := registry.Install(p.dir, bin, src, ver)
	if err != nil {
		p.t.Fatal(err)
	}
	return inst
}

func (p *plugins) remove(specs ...string) {
	p.t.Helper()
	for _, spec := range specs {
		src, ver, _ := strings.Cut(spec, "@")
		if err := os.RemoveAll(filepath.Join(p.dir, filepath.FromSlash(src), ver)); err != nil {
			p.t.Fatal(err)
		}
	}
}

func (p *plugins) discover() []registry.Installed {
	p.t.Helper()
	all, problems, err := registry.Discover(p.dir)
	if err != nil || len(problems) > 0 {
		p.t.Fatalf("discover: %v %v", err, problems)
	}
	return all
}

// req builds a requirement as host/config would, declared on line n of
// main.hcl so diagnostics can be checked to point at it.
func req(line int, name, source, constraint string) Requirement {
	return Requirement{Name: name, Source: source, Constraint: constraint, Range: hcl.Range{
		Filename: "main.hcl",
		Start:    hcl.Pos{Line: line, Column: 5, Byte: 0},
		End:      hcl.Pos{Line: line, Column: 9, Byte: 4},
	}}
}

func versions(l *Lock) map[string]string {
	out := map[string]string{}
	for name, e := range l.Connectors {
		out[name] = e.Source + " " + e.Version.String()
	}
	return out
}

func changeStrings(cs []Change) []string {
	var out []string
	for _, c := range cs {
		from, to := "-", "-"
		if c.From != nil {
			from = c.From.String()
		}
		if c.To != nil {
			to = c.To.String()
		}
		out = append(out, c.Name+" "+c.Source+" "+from+"->"+to)
	}
	return out
}

func mustUpdate(t *testing.T, old *Lock, reqs []Requirement, installed []registry.Installed, upgrade bool) (*Lock, []Change) {
	t.Helper()
	l, changes, diags := Update(old, reqs, installed, upgrade)
	if diags.HasErrors() {
		t.Fatalf("Update: %s", diags.Error())
	}
	return l, changes
}

func TestUpdate_ChoosesAndKeepsVersions(t *testing.T) {
	tests := []struct {
		name        string
		first       []string      // installed before the first init; no first init when nil
		firstReqs   []Requirement // requirements at the first init
		then        []string      // installed between the inits
		remove      []string      // removed between the inits
		reqs        []Requirement // requirements at the second init
		upgrade     bool
		want        map[string]string
		wantChanges []string
	}{
		{
			name:        "first init chooses the newest matching version",
			then:        []string{"hub/shopify@1.3.9", "hub/shopify@1.4.0", "hub/shopify@1.4.2", "hub/shopify@2.0.0"},
			reqs:        []Requirement{req(3, "shop", "hub/shopify", "~> 1.4")},
			want:        map[string]string{"shop": "hub/shopify 1.4.2"},
			wantChanges: []string{"shop hub/shopify -->1.4.2"},
		},
		{
			name:      "second init reuses the lock even when a newer match is installed",
			first:     []string{"hub/shopify@1.4.0"},
			firstReqs: []Requirement{req(3, "shop", "shopify", "~> 1.4")},
			then:      []string{"hub/shopify@1.4.2"},
			reqs:      []Requirement{req(3, "shop", "shopify", "~> 1.4")},
			want:      map[string]string{"shop": "hub/shopify 1.4.0"},
		},
		{
			name:      "reformatting the constraint does not re-resolve",
			first:     []string{"hub/shopify@1.4.0"},
			firstReqs: []Requirement{req(3, "shop", "hub/shopify", "~> 1.4")},
			then:      []string{"hub/shopify@1.4.2"},
			reqs:      []Requirement{req(3, "shop", "hub/shopify", " ~>1.4 ")},
			want:      map[string]string{"shop": "hub/shopify 1.4.0"},
		},
		{
			name:        "upgrade moves to the newest version within the constraint",
			first:       []string{"hub/shopify@1.4.0"},
			firstReqs:   []Requirement{req(3, "shop", "hub/shopify", "~> 1.4")},
			then:        []string{"hub/shopify@1.5.1", "hub/shopify@2.0.0"},
			reqs:        []Requirement{req(3, "shop", "hub/shopify", "~> 1.4")},
			upgrade:     true,
			want:        map[string]string{"shop": "hub/shopify 1.5.1"},
			wantChanges: []string{"shop hub/shopify 1.4.0->1.5.1"},
		},
		{
			name:        "changed constraint is resolved again",
			first:       []string{"hub/shopify@1.4.0", "hub/shopify@2.1.0"},
			firstReqs:   []Requirement{req(3, "shop", "hub/shopify", "~> 1.4")},
			reqs:        []Requirement{req(3, "shop", "hub/shopify", ">= 2.0, < 3.0")},
			want:        map[string]string{"shop": "hub/shopify 2.1.0"},
			wantChanges: []string{"shop hub/shopify 1.4.0->2.1.0"},
		},
		{
			name:        "locked version no longer installed is resolved again",
			first:       []string{"hub/shopify@1.4.0"},
			firstReqs:   []Requirement{req(3, "shop", "hub/shopify", "~> 1.4")},
			then:        []string{"hub/shopify@1.4.3"},
			remove:      []string{"hub/shopify@1.4.0"},
			reqs:        []Requirement{req(3, "shop", "hub/shopify", "~> 1.4")},
			want:        map[string]string{"shop": "hub/shopify 1.4.3"},
			wantChanges: []string{"shop hub/shopify 1.4.0->1.4.3"},
		},
		{
			name:        "requirement no longer present is dropped",
			first:       []string{"hub/shopify@1.4.0", "hub/slack@0.3.0"},
			firstReqs:   []Requirement{req(3, "shop", "hub/shopify", ""), req(4, "chat", "hub/slack", "")},
			reqs:        []Requirement{req(3, "shop", "hub/shopify", "")},
			want:        map[string]string{"shop": "hub/shopify 1.4.0"},
			wantChanges: []string{"chat hub/slack 0.3.0->-"},
		},
		{
			name:        "changed source is a removal and an addition",
			first:       []string{"hub/shopify@1.4.0", "acme/shopify@1.0.0"},
			firstReqs:   []Requirement{req(3, "shop", "hub/shopify", "")},
			reqs:        []Requirement{req(3, "shop", "acme/shopify", "")},
			want:        map[string]string{"shop": "acme/shopify 1.0.0"},
			wantChanges: []string{"shop hub/shopify 1.4.0->-", "shop acme/shopify -->1.0.0"},
		},
		{
			name: "two local names use one source at two majors side by side",
			then: []string{"hub/shopify@1.4.2", "hub/shopify@2.0.1"},
			reqs: []Requirement{req(3, "shop_v1", "hub/shopify", "~> 1.0"), req(4, "shop_v2", "hub/shopify", "~> 2.0")},
			want: map[string]string{"shop_v1": "hub/shopify 1.4.2", "shop_v2": "hub/shopify 2.0.1"},
			wantChanges: []string{
				"shop_v1 hub/shopify -->1.4.2",
				"shop_v2 hub/shopify -->2.0.1",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPlugins(t)
			old := New()
			if tt.first != nil {
				p.install(tt.first...)
				old, _ = mustUpdate(t, nil, tt.firstReqs, p.discover(), false)
			}
			p.install(tt.then...)
			p.remove(tt.remove...)
			all := p.discover()
			got, changes := mustUpdate(t, old, tt.reqs, all, tt.upgrade)

			if g := versions(got); !equalMaps(g, tt.want) {
				t.Errorf("versions = %v, want %v", g, tt.want)
			}
			if g := changeStrings(changes); strings.Join(g, "\n") != strings.Join(tt.wantChanges, "\n") {
				t.Errorf("changes = %q, want %q", g, tt.wantChanges)
			}
			for name, e := range got.Connectors {
				inst, ok := find(all, e.Source, e.Version, registry.Platform())
				if !ok {
					t.Fatalf("%s: locked %s %s is not installed", name, e.Source, e.Version)
				}
				if want := "sha256:" + hex.EncodeToString(inst.SHA256); e.Hashes[registry.Platform()] != want {
					t.Errorf("%s: hash = %q, want %q", name, e.Hashes[registry.Platform()], want)
				}
			}
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func TestUpdate_SecondInitChangesNoBytes(t *testing.T) {
	p := newPlugins(t)
	p.install("hub/shopify@1.4.0", "hub/slack@0.3.0")
	reqs := []Requirement{req(3, "shop", "hub/shopify", "~> 1.4"), req(4, "chat", "slack", "")}
	path := filepath.Join(t.TempDir(), FileName)

	first, _ := mustUpdate(t, nil, reqs, p.discover(), false)
	if err := first.Save(path); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	p.install("hub/shopify@1.4.9")
	loaded, diags := Load(path)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	second, changes := mustUpdate(t, loaded, reqs, p.discover(), false)
	if len(changes) != 0 {
		t.Errorf("changes = %q, want none", changeStrings(changes))
	}
	if err := second.Save(path); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Errorf("lock file changed:\n%s\nwant:\n%s", after, before)
	}
}

func TestUpdate_KeepsOtherPlatformsHashesWhileVersionStays(t *testing.T) {
	p := newPlugins(t)
	p.install("hub/shopify@1.4.0")
	reqs := []Requirement{req(3, "shop", "hub/shopify", "~> 1.4")}
	old, _ := mustUpdate(t, nil, reqs, p.discover(), false)
	other := "sha256:" + strings.Repeat("ab", 32)
	old.Connectors["shop"].Hashes["plan9_mips"] = other

	kept, _ := mustUpdate(t, old, reqs, p.discover(), false)
	if kept.Connectors["shop"].Hashes["plan9_mips"] != other {
		t.Errorf("hashes = %v, want plan9_mips kept", kept.Connectors["shop"].Hashes)
	}

	p.install("hub/shopify@1.4.1")
	moved, _ := mustUpdate(t, old, reqs, p.discover(), true)
	if h := moved.Connectors["shop"].Hashes; len(h) != 1 || h[registry.Platform()] == "" {
		t.Errorf("hashes after upgrade = %v, want only %s", h, registry.Platform())
	}
}

func TestUpdate_RefusesBinaryChangedSinceInit(t *testing.T) {
	p := newPlugins(t)
	orig := p.installContent("hub/shopify", "1.4.0", "original")
	reqs := []Requirement{req(7, "shop", "hub/shopify", "~> 1.4")}
	old, _ := mustUpdate(t, nil, reqs, p.discover(), false)

	// A different binary installed as the same version, with a matching
	// SHA256SUMS: only the lock can tell.
	swapped := p.installContent("hub/shopify", "1.4.0", "swapped")
	_, _, diags := Update(old, reqs, p.discover(), false)
	want := "checksum of " + swapped.Path + " (sha256:" + hex.EncodeToString(swapped.SHA256) + ") does not match hub.lock.hcl (sha256:" +
		hex.EncodeToString(orig.SHA256) + ") for shop hub/shopify 1.4.0: the binary changed since hub init; reinstall the locked version or run hub init -upgrade"
	if len(diags) != 1 || diags[0].Detail != want {
		t.Fatalf("diags = %v\nwant detail %q", diags, want)
	}
	if s := diags[0].Subject; s == nil || s.Filename != "main.hcl" || s.Start.Line != 7 {
		t.Errorf("subject = %v, want the requirement's range main.hcl:7", s)
	}

	upgraded, changes := mustUpdate(t, old, reqs, p.discover(), true)
	if got := upgraded.Connectors["shop"].Hashes[registry.Platform()]; got != "sha256:"+hex.EncodeToString(swapped.SHA256) {
		t.Errorf("upgrade recorded %s, want the new binary's hash", got)
	}
	// The version stays, but accepting a rebuilt binary is a change the
	// operator must see.
	if len(changes) != 1 || !changes[0].Rehashed || changes[0].From.String() != "1.4.0" || changes[0].To.String() != "1.4.0" {
		t.Errorf("changes = %q, want one rehash of 1.4.0", changeStrings(changes))
	}
}

func TestUpdate_RefusesBinaryNotMatchingSHA256SUMS(t *testing.T) {
	p := newPlugins(t)
	inst := p.installContent("hub/shopify", "1.4.0", "original")
	if err := os.WriteFile(inst.Path, []byte("tampered"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, _, diags := Update(nil, []Requirement{req(3, "shop", "hub/shopify", "")}, p.discover(), false)
	if len(diags) != 1 || !strings.Contains(diags[0].Detail, "does not match SHA256SUMS") {
		t.Fatalf("diags = %v, want a SHA256SUMS mismatch", diags)
	}
}

func TestUpdate_ReportsEveryProblemAtItsRequirement(t *testing.T) {
	p := newPlugins(t)
	p.install("hub/shopify@1.4.0")
	reqs := []Requirement{
		req(3, "shop", "hub/shopify", "~> 2.0"),
		req(4, "chat", "hub/slack", ""),
		req(5, "bad", "Not A/Source/x", ""),
		req(6, "weird", "hub/shopify", "not a constraint"),
		req(7, "ok", "hub/shopify", ""),
	}
	l, changes, diags := Update(nil, reqs, p.discover(), false)
	if l != nil || changes != nil {
		t.Errorf("Update returned a lock with errors: %v %v", l, changes)
	}
	wantDetails := []string{
		`no installed version of hub/shopify matches "~> 2.0" (installed: 1.4.0)`,
		"hub/slack is not installed for " + registry.Platform(),
		`invalid connector source "Not A/Source/x"`,
		`invalid version constraint "not a constraint"`,
	}
	if len(diags) != len(wantDetails) {
		t.Fatalf("got %d diagnostics, want %d: %v", len(diags), len(wantDetails), diags)
	}
	for i, d := range diags {
		if !strings.Contains(d.Detail, wantDetails[i]) {
			t.Errorf("diag %d detail = %q, want it to contain %q", i, d.Detail, wantDetails[i])
		}
		if d.Subject == nil || d.Subject.Start.Line != 3+i {
			t.Errorf("diag %d subject = %v, want main.hcl:%d", i, d.Subject, 3+i)
		}
	}
}

func TestLockInstalled_HandsOverTheLocksChecksum(t *testing.T) {
	p := newPlugins(t)
	p.install("hub/shopify@1.4.0", "hub/shopify@2.0.0")
	reqs := []Requirement{req(3, "shop", "hub/shopify", "~> 1.0")}
	lock, _ := mustUpdate(t, nil, reqs, p.discover(), false)
	platform := registry.Platform()

	got, err := lock.Installed("shop", p.discover())
	if err != nil {
		t.Fatal(err)
	}
	if got.Version.String() != "1.4.0" || "sha256:"+hex.EncodeToString(got.SHA256) != lock.Connectors["shop"].Hashes[platform] {
		t.Errorf("Installed = %s sha256:%x, want 1.4.0 with the lock's hash", got, got.SHA256)
	}

	tests := []struct {
		name    string
		edit    func(l *Lock, p *plugins) []registry.Installed
		lookup  string
		wantErr string
	}{
		{
			name:    "name not in the lock",
			edit:    func(l *Lock, p *plugins) []registry.Installed { return p.discover() },
			lookup:  "chat",
			wantErr: `connector "chat" is not recorded in hub.lock.hcl; run hub init`,
		},
		{
			name: "locked version not installed",
			edit: func(l *Lock, p *plugins) []registry.Installed {
				return nil
			},
			lookup:  "shop",
			wantErr: "hub/shopify 1.4.0, locked in hub.lock.hcl for shop, is not installed for " + platform,
		},
		{
			name: "no hash for this platform",
			edit: func(l *Lock, p *plugins) []registry.Installed {
				delete(l.Connectors["shop"].Hashes, platform)
				return p.discover()
			},
			lookup:  "shop",
			wantErr: "hub.lock.hcl has no checksum of hub/shopify 1.4.0 for " + platform,
		},
		{
			name: "binary reinstalled since init",
			edit: func(l *Lock, p *plugins) []registry.Installed {
				p.installContent("hub/shopify", "1.4.0", "swapped")
				return p.discover()
			},
			lookup:  "shop",
			wantErr: "the binary changed since hub init; reinstall the locked version or run hub init -upgrade",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPlugins(t)
			p.install("hub/shopify@1.4.0")
			l, _ := mustUpdate(t, nil, reqs, p.discover(), false)
			all := tt.edit(l, p)
			_, err := l.Installed(tt.lookup, all)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
