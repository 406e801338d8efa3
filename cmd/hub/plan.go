package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hubhq/hub/host/config"
	"github.com/hubhq/hub/host/secrets"
	"github.com/hubhq/hub/host/server"
	"github.com/hubhq/hub/host/state"
	"github.com/hubhq/hub/host/store"
)

// errChanges is returned by hub plan -detailed-exitcode when there are
// changes to apply; it exits 2 without an error line.
var errChanges = errors.New("the plan has changes")

// planFlags are the flags of hub plan and hub apply.
type planFlags struct {
	wsFlags
	dataDir  string
	detailed bool
}

func (p *planFlags) register(e *env, name string) *flag.FlagSet {
	fs := p.wsFlags.register(e, name)
	fs.StringVar(&p.dataDir, "data-dir", e.getenv("HUB_DATA_DIR"), "the store's directory (default <workspace>/.hub/data, or $HUB_DATA_DIR)")
	return fs
}

// storeDir is the data directory: -data-dir, else $HUB_DATA_DIR, else
// inside the workspace, so each workspace has its own applied state.
func (p *planFlags) storeDir() string {
	if p.dataDir != "" {
		return p.dataDir
	}
	return filepath.Join(p.dir, ".hub", "data")
}

// planned is a plan and what it was made from.
type planned struct {
	desired *state.State
	// appliedJSON is the stored state the plan starts from, to notice
	// when another apply lands before this one.
	appliedJSON []byte
	plan        *state.Plan
	warnings    []jsonDiag
	// host is the running hub serve the plan was made against, nil when
	// none runs; appliedSHA is its applied state's hash.
	host       *adminClient
	appliedSHA string
}

// runningHost returns a client for the hub serve that holds p's data
// directory, or nil when none answers there.
func runningHost(e *env, p *planFlags) *adminClient {
	a := adminFlags{loc: *p, apiKey: e.getenv("HUB_API_KEY"), tenant: store.DefaultTenant, timeout: max(p.timeout, 30*time.Second)}
	c, err := a.client()
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := c.do(ctx, "GET", "/healthz", nil, nil)
	if err != nil {
		return nil
	}
	resp.Body.Close()
	return c
}

// makePlan loads and validates the workspace exactly as hub validate
// does, refusing one that is not valid, then compares it with the applied
// state in the store.
func makePlan(e *env, p *planFlags) (*planned, error) {
	ws, lock, schemas, diags := check(e, &p.wsFlags)
	if ws == nil {
		printDiags(e, p.asJSON, nil, diags)
		return nil, errReported{"the workspace cannot be read"}
	}
	// With -json, warnings travel inside the plan's JSON so stdout stays
	// one document.
	if diags.HasErrors() || !p.asJSON {
		if printDiags(e, p.asJSON, filesOf(ws), diags) {
			return nil, errReported{"the workspace is not valid; nothing was planned or applied (run hub validate for details)"}
		}
	}
	desired, err := state.Build(ws, lock)
	if err != nil {
		return nil, err
	}
	desired.ResolveModes(schemas)
	desired.RedactSecretFields(schemas)
	var applied *state.State
	host := runningHost(e, p)
	var appliedSHA string
	if host != nil {
		// A running host holds the store: its API says what is applied.
		var cur server.AppliedState
		if _, err := host.call("GET", "/v1/state", nil, nil, &cur); err != nil {
			return nil, fmt.Errorf("read the applied state from the running hub serve: %w", err)
		}
		applied = &state.State{}
		if err := json.Unmarshal(cur.State, applied); err != nil {
			return nil, fmt.Errorf("read the applied state from the running hub serve: %w", err)
		}
		appliedSHA = cur.SHA256
	} else {
		var err error
		if applied, err = loadApplied(e, p.storeDir()); err != nil {
			return nil, err
		}
	}
	appliedJSON, err := json.Marshal(applied)
	if err != nil {
		return nil, fmt.Errorf("encode applied state: %w", err)
	}
	out := &planned{desired: desired, appliedJSON: appliedJSON, plan: state.Diff(applied, desired), host: host, appliedSHA: appliedSHA}
	if p.asJSON {
		out.warnings = diagsJSON(diags)
	}
	return out, nil
}

// loadApplied reads the applied state, holding the store (and Badger's
// directory lock) only while it reads. A data directory that does not
// exist yet means nothing was applied; plan does not create it.
func loadApplied(e *env, dir string) (*state.State, error) {
	// A data directory that does not exist yet, or holds no store yet
	// (an empty directory made for it), means nothing was applied.
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); errors.Is(err, os.ErrNotExist) {
		return state.Empty(), nil
	}
	st, err := store.OpenReadOnly(dir, logger(e))
	if err != nil {
		return nil, fmt.Errorf("%w (is a hub process using this data directory? see -data-dir)", err)
	}
	applied, err := state.Load(st, store.DefaultTenant)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	return applied, err
}

// planJSON is hub plan's and hub apply's -json output.
type planJSON struct {
	*state.Plan
	Warnings []jsonDiag `json:"warnings"`
	Applied  *bool      `json:"applied,omitempty"`
}

func printPlan(e *env, p *planFlags, pl *planned, applied *bool) error {
	if p.asJSON {
		w := pl.warnings
		if w == nil {
			w = []jsonDiag{}
		}
		return printJSON(e.stdout, planJSON{Plan: pl.plan, Warnings: w, Applied: applied})
	}
	return pl.plan.Render(e.stdout)
}

func runPlan(e *env, args []string) error {
	var p planFlags
	fs := p.register(e, "plan")
	fs.BoolVar(&p.detailed, "detailed-exitcode", false, "exit 2 when there are changes to apply (0: none, 1: error)")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	pl, err := makePlan(e, &p)
	if err != nil {
		return err
	}
	if err := printPlan(e, &p, pl, nil); err != nil {
		return err
	}
	if p.detailed && pl.plan.HasChanges() {
		return errChanges
	}
	return nil
}

func runApply(e *env, args []string) error {
	var p planFlags
	fs := p.register(e, "apply")
	auto := fs.Bool("auto-approve", false, "apply without asking for confirmation")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	if p.asJSON && !*auto {
		return usageErr("-json needs -auto-approve: there is no one to ask for confirmation")
	}
	pl, err := makePlan(e, &p)
	if err != nil {
		return err
	}
	if !pl.plan.HasChanges() {
		if p.asJSON {
			applied := false
			return printPlan(e, &p, pl, &applied)
		}
		return printPlan(e, &p, pl, nil)
	}
	if !p.asJSON {
		if err := printPlan(e, &p, pl, nil); err != nil {
			return err
		}
	}
	if !*auto && !confirmed(e) {
		return errReported{"Apply cancelled."}
	}
	src, err := state.ReadSource(p.dir, config.LoadOptions{Vars: p.vars.m, VarFiles: p.varFiles, Env: p.env})
	if err != nil {
		return err
	}
	if pl.host != nil {
		err = applyRemote(pl, src)
	} else {
		err = commit(e, p.storeDir(), pl, src)
	}
	if err != nil {
		return err
	}
	if p.asJSON {
		applied := true
		return printPlan(e, &p, pl, &applied)
	}
	s := pl.plan.Summary
	fmt.Fprintf(e.stdout, "Apply complete: %d added, %d changed, %d removed.\n", s.Add, s.Change, s.Remove)
	return nil
}

// applyRemote hands the plan to the running hub serve, which checks it
// against what it has applied and builds, and takes it without a restart.
func applyRemote(pl *planned, src *state.Source) error {
	srcJSON, err := json.Marshal(src)
	if err != nil {
		return fmt.Errorf("encode the workspace source: %w", err)
	}
	desiredJSON, err := json.Marshal(pl.desired)
	if err != nil {
		return fmt.Errorf("encode the desired state: %w", err)
	}
	req := server.ApplyRequest{Source: srcJSON, State: desiredJSON, AppliedSHA256: pl.appliedSHA}
	var res server.ApplyResult
	if _, err := pl.host.call("POST", "/v1/apply", nil, req, &res); err != nil {
		return fmt.Errorf("the running hub serve refused the apply: %w", err)
	}
	return nil
}

// confirmed asks on stdout and reads one line from stdin; only "yes"
// approves.
func confirmed(e *env) bool {
	fmt.Fprint(e.stdout, "\nApply these changes? Only 'yes' is accepted: ")
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	fmt.Fprintln(e.stdout)
	return strings.TrimSpace(line) == "yes"
}

// commit records the desired state as applied, with the source it was
// built from (what hub serve runs), in one store transaction,
// and only if the applied state is still the one the plan was made
// against: another apply that landed in between (while the operator read
// the plan) must not be overwritten by a plan that never showed it.
func commit(e *env, dir string, pl *planned, src *state.Source) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	// The source's -var values are sealed with the secret store's data
	// key, as hub serve seals them. Only then is the store opened: on a
	// fresh data directory that would create master.key, which a hub
	// serve given $HUB_MASTER_KEY would then not match.
	var sealer state.Sealer
	if len(src.Vars) > 0 || len(src.VarFiles) > 0 {
		vault, err := secrets.Open(dir, e.getenv)
		if err != nil {
			return fmt.Errorf("open the secret store to seal the -var values: %w", err)
		}
		k, err := vault.Sealer()
		if err != nil {
			return fmt.Errorf("open the secret store to seal the -var values: %w", err)
		}
		sealer = k
	}
	st, err := store.Open(dir, logger(e))
	if err != nil {
		return fmt.Errorf("%w (is a hub process using this data directory? see -data-dir)", err)
	}
	err = st.Update(func(tx *store.Tx) error {
		cur, err := state.Load(tx, store.DefaultTenant)
		if err != nil {
			return err
		}
		curJSON, err := json.Marshal(cur)
		if err != nil {
			return fmt.Errorf("encode applied state: %w", err)
		}
		if !bytes.Equal(curJSON, pl.appliedJSON) {
			return errors.New("the applied state changed since this plan was made; nothing was applied: run hub apply again")
		}
		if err := pl.desired.Save(tx, store.DefaultTenant); err != nil {
			return err
		}
		return state.SaveSource(tx, store.DefaultTenant, src, sealer)
	})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	return err
}
