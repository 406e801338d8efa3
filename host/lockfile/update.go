package lockfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"

	"github.com/hubhq/hub/host/registry"
)

// Requirement is one connector a workspace requires, from its
// hub { required_connectors } block.
type Requirement struct {
	Name       string    // local name
	Source     string    // as written; normalized by Update
	Constraint string    // go-version constraint; "" for the newest release
	Range      hcl.Range // where it is declared, for diagnostics
}

// Change is one difference between the old lock and the new one. From is
// nil when the name was added, To when it was removed. A name whose source
// changed is a removal of the old source and an addition of the new one.
type Change struct {
	Name, Source string
	From, To     *version.Version
	// Rehashed is set when the version stayed but its binary's checksum
	// changed (accepted by -upgrade: the connector was rebuilt).
	Rehashed bool
}

// Update chooses a version for each requirement among installed and
// returns the lock recording the choice, with what changed against old.
//
// A recorded choice stands while it still fits: an entry with the same
// source and an equivalent constraint whose version is installed is reused,
// so running "hub init" twice changes nothing even if a newer matching
// version was installed in between. With upgrade, every requirement is
// resolved again to the newest installed match. Anything else (a new name,
// a changed source or constraint, a locked version no longer installed) is
// resolved to the newest installed match. Names no longer required are
// dropped.
//
// When the chosen version is the locked one, the binary on disk must still
// have the locked checksum for this platform: a binary that changed since
// "hub init" is refused, never silently re-recorded. Only upgrade accepts
// the binary as it is now, since the operator asked to choose again.
// Checksums recorded for other platforms are kept while the version stays.
//
// Every problem is reported, pointing at its requirement; when there are
// errors the returned lock and changes are nil, so a caller cannot save a
// half-updated lock.
func Update(old *Lock, reqs []Requirement, installed []registry.Installed, upgrade bool) (*Lock, []Change, hcl.Diagnostics) {
	if old == nil {
		old = New()
	}
	platform := registry.Platform()
	next := New()
	var (
		diags   hcl.Diagnostics
		changes []Change
	)
	for _, req := range reqs {
		if _, dup := next.Connectors[req.Name]; dup {
			diags = append(diags, reqError(req, "Duplicate connector requirement",
				fmt.Sprintf("Connector %q is required more than once; each local name must be required once.", req.Name)))
			continue
		}
		src, err := registry.NormalizeSource(req.Source)
		if err != nil {
			diags = append(diags, reqError(req, "Invalid connector source", err.Error()+"."))
			continue
		}
		constraint := strings.TrimSpace(req.Constraint)
		prev := old.Connectors[req.Name]
		if prev != nil && prev.Source != src {
			// Another connector behind the same name: its lock entry,
			// hashes included, says nothing about the new one.
			changes = append(changes, Change{Name: req.Name, Source: prev.Source, From: prev.Version})
			prev = nil
		}

		var inst registry.Installed
		locked, isInstalled := registry.Installed{}, false
		if prev != nil {
			locked, isInstalled = find(installed, src, prev.Version, platform)
		}
		if prev != nil && !upgrade && isInstalled && sameConstraints(prev.Constraints, constraint) {
			inst = locked
		} else {
			inst, err = registry.Resolve(installed, src, constraint)
			if err != nil {
				diags = append(diags, reqError(req, "No installed version of connector "+req.Name, err.Error()+"."))
				continue
			}
		}

		sum, err := fileSHA256(inst.Path)
		if err != nil {
			diags = append(diags, reqError(req, "Cannot verify connector "+req.Name, fmt.Sprintf("checksum of %s: %v.", inst.Path, err)))
			continue
		}
		got := "sha256:" + hex.EncodeToString(sum)
		if len(inst.SHA256) > 0 && !bytes.Equal(sum, inst.SHA256) {
			diags = append(diags, reqError(req, "Connector binary does not match its checksum",
				fmt.Sprintf("checksum of %s (%s) does not match %s (sha256:%x): the binary changed after install; reinstall it with: hub connectors install PATH --source %s",
					inst.Path, got, registry.SumsFile, inst.SHA256, src)))
			continue
		}

		entry := &Entry{Name: req.Name, Source: src, Version: inst.Version, Constraints: constraint, Hashes: map[string]string{}}
		sameVersion := prev != nil && prev.Version.String() == inst.Version.String()
		if sameVersion {
			if want, ok := prev.Hashes[platform]; ok && want != got && !upgrade {
				diags = append(diags, reqError(req, "Connector binary changed since hub init",
					fmt.Sprintf("checksum of %s (%s) does not match %s (%s) for %s %s %s: the binary changed since hub init; reinstall the locked version or run hub init -upgrade",
						inst.Path, got, FileName, want, req.Name, src, inst.Version)))
				continue
			}
			for p, h := range prev.Hashes {
				entry.Hashes[p] = h
			}
		}
		rehashed := sameVersion && prev.Hashes[platform] != "" && prev.Hashes[platform] != got
		entry.Hashes[platform] = got
		next.Connectors[req.Name] = entry

		switch {
		case prev == nil:
			changes = append(changes, Change{Name: req.Name, Source: src, To: inst.Version})
		case !sameVersion:
			changes = append(changes, Change{Name: req.Name, Source: src, From: prev.Version, To: inst.Version})
		case rehashed:
			// Only -upgrade gets here: a rebuilt binary of the locked
			// version was accepted, which the operator must see.
			changes = append(changes, Change{Name: req.Name, Source: src, From: prev.Version, To: inst.Version, Rehashed: true})
		}
	}
	for _, name := range old.names() {
		if _, kept := next.Connectors[name]; kept || required(reqs, name) {
			continue
		}
		prev := old.Connectors[name]
		if prev == nil {
			continue
		}
		changes = append(changes, Change{Name: name, Source: prev.Source, From: prev.Version})
	}
	if diags.HasErrors() {
		return nil, nil, diags
	}
	// Removals sort before additions under one name, so a changed source
	// reads as "old out, new in".
	sort.SliceStable(changes, func(a, b int) bool { return changes[a].Name < changes[b].Name })
	return next, changes, diags
}

// Installed returns the installed connector the lock pins for name, with
// SHA256 set to the lock's checksum for this platform, so the supervisor
// verifies the binary against the lock when it launches it. The error says
// what to run when the lock and the plugin directory disagree.
func (l *Lock) Installed(name string, installed []registry.Installed) (registry.Installed, error) {
	var e *Entry
	if l != nil {
		e = l.Connectors[name]
	}
	if e == nil {
		return registry.Installed{}, fmt.Errorf("connector %q is not recorded in %s; run hub init", name, FileName)
	}
	platform := registry.Platform()
	inst, ok := find(installed, e.Source, e.Version, platform)
	if !ok {
		return registry.Installed{}, fmt.Errorf("%s %s, locked in %s for %s, is not installed for %s; install that version with: hub connectors install PATH --source %s, or run hub init -upgrade to choose an installed one",
			e.Source, e.Version, FileName, name, platform, e.Source)
	}
	want, ok := e.Hashes[platform]
	if !ok {
		return registry.Installed{}, fmt.Errorf("%s has no checksum of %s %s for %s (connector %s); run hub init to record it",
			FileName, e.Source, e.Version, platform, name)
	}
	sum, err := hex.DecodeString(strings.TrimPrefix(want, "sha256:"))
	if err != nil || len(sum) != sha256.Size {
		return registry.Installed{}, fmt.Errorf("%s: checksum of %s for %s is not sha256:<hex>; run hub init -upgrade", FileName, name, platform)
	}
	if len(inst.SHA256) > 0 && !bytes.Equal(sum, inst.SHA256) {
		return registry.Installed{}, fmt.Errorf("checksum of %s (sha256:%x, from %s) does not match %s (%s) for %s %s %s: the binary changed since hub init; reinstall the locked version or run hub init -upgrade",
			inst.Path, inst.SHA256, registry.SumsFile, FileName, want, name, e.Source, e.Version)
	}
	inst.SHA256 = sum
	return inst, nil
}

// find returns the installed binary of source at exactly v for platform.
func find(installed []registry.Installed, source string, v *version.Version, platform string) (registry.Installed, bool) {
	if v == nil {
		return registry.Installed{}, false
	}
	for _, inst := range installed {
		if inst.Source == source && inst.Platform == platform && inst.Version != nil && inst.Version.String() == v.String() {
			return inst, true
		}
	}
	return registry.Installed{}, false
}

// sameConstraints reports whether two constraint strings mean the same
// thing, so reformatting "~>1.4" as "~> 1.4" does not re-resolve.
func sameConstraints(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == b {
		return true
	}
	if a == "" || b == "" {
		return false
	}
	ca, errA := version.NewConstraint(a)
	cb, errB := version.NewConstraint(b)
	if errA != nil || errB != nil || len(ca) != len(cb) {
		return false
	}
	for i := range ca {
		if !ca[i].Equals(cb[i]) {
			return false
		}
	}
	return true
}

func required(reqs []Requirement, name string) bool {
	for _, r := range reqs {
		if r.Name == name {
			return true
		}
	}
	return false
}

func reqError(req Requirement, summary, detail string) *hcl.Diagnostic {
	rng := req.Range
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &rng}
}

// fileSHA256 hashes the binary itself rather than trusting SHA256SUMS: the
// lock records what was actually chosen.
func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}
