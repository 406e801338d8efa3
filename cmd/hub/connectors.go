package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/go-hclog"
	goversion "github.com/hashicorp/go-version"

	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/host/supervisor"
	"github.com/hubhq/hub/sdk/schema"
	"github.com/hubhq/hub/sdk/wire"
)

const connectorsUsage = `Usage: hub connectors SUBCOMMAND [FLAGS]

Subcommands:
  list                          installed connectors: source, version, protocol, checksum, path
  install PATH                  install a connector binary into the plugin directory
  schema NAME[@CONSTRAINT]      a connector's triggers, actions and fields
  call NAME[@CONSTRAINT] ACTION [INPUT_JSON]
                                run one action, for trying a connector by hand

Every subcommand takes -plugin-dir (default $HUB_PLUGIN_DIR, else .hub/plugins).`

func runConnectors(e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(e.stdout, connectorsUsage)
		if len(args) == 0 {
			return usageErr("a subcommand is required")
		}
		return nil
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "list":
		return connectorsList(e, rest)
	case "install":
		return connectorsInstall(e, rest)
	case "schema":
		return connectorsSchema(e, rest)
	case "call":
		return connectorsCall(e, rest)
	}
	return usageErr("unknown subcommand %q (want list, install, schema or call)", sub)
}

// common holds the flags and values every connectors subcommand shares.
type common struct {
	pluginDir string
	asJSON    bool
	timeout   time.Duration
}

func (c *common) register(fs *flag.FlagSet, e *env) {
	def := e.getenv("HUB_PLUGIN_DIR")
	if def == "" {
		def = filepath.Join(".hub", "plugins")
	}
	fs.StringVar(&c.pluginDir, "plugin-dir", def, "plugin directory")
	fs.BoolVar(&c.asJSON, "json", false, "print as JSON")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "how long a call may take")
}

// parse parses flags that may come before or after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, usageErr("%v", err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func newFlags(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// logger writes hub's and the plugins' logs to stderr at HUB_LOG_LEVEL. A
// one-shot command logs nothing by default: the error it returns says what
// went wrong in one line, and log lines around it would only repeat it.
func logger(e *env) hclog.Logger {
	level := hclog.LevelFromString(e.getenv("HUB_LOG_LEVEL"))
	if level == hclog.NoLevel {
		level = hclog.Off
	}
	return hclog.New(&hclog.LoggerOptions{Name: "hub", Output: e.stderr, Level: level})
}

// newSupervisor launches connectors for one command; a plugin that does not
// finish its handshake within the command's timeout is given up on.
func newSupervisor(e *env, c *common) *supervisor.Supervisor {
	return supervisor.New(supervisor.Options{Logger: logger(e), StartTimeout: min(c.timeout, supervisor.DefaultStartTimeout)})
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type listed struct {
	Source   string `json:"source"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Protocol int    `json:"protocol,omitempty"`
	SHA256   string `json:"sha256"`
	Path     string `json:"path"`
	Error    string `json:"error,omitempty"`
}

func connectorsList(e *env, args []string) error {
	var c common
	fs := newFlags(e, "connectors list")
	c.register(fs, e)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("list takes no arguments")
	}
	all, problems, err := registry.Discover(c.pluginDir)
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintf(e.stderr, "warning: %v\n", p)
	}
	// The protocol is negotiated at launch, so listing launches each
	// connector once; a connector that fails to launch is listed with why.
	sup := newSupervisor(e, &c)
	defer sup.Close()
	rows := make([]listed, 0, len(all))
	for _, inst := range all {
		row := listed{Source: inst.Source, Name: inst.Name, Version: inst.Version.String(), SHA256: hex.EncodeToString(inst.SHA256), Path: inst.Path}
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		if _, err := sup.Connector(inst).Schema(ctx); err != nil {
			row.Error = err.Error()
		}
		cancel()
		for _, st := range sup.Status() {
			if st.Installed.Path == inst.Path {
				row.Protocol = st.Protocol
			}
		}
		rows = append(rows, row)
	}
	if c.asJSON {
		return printJSON(e.stdout, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(e.stdout, "No connectors installed in %s.\nInstall one with: hub connectors install PATH\n", c.pluginDir)
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tVERSION\tPROTOCOL\tSHA256\tPATH")
	for _, r := range rows {
		proto := "-"
		if r.Protocol > 0 {
			proto = fmt.Sprint(r.Protocol)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Source, r.Version, proto, r.SHA256[:12], r.Path)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		if r.Error != "" {
			fmt.Fprintf(e.stderr, "error: %s %s: %s\n", r.Source, r.Version, r.Error)
		}
	}
	return nil
}

func connectorsInstall(e *env, args []string) error {
	var c common
	fs := newFlags(e, "connectors install")
	c.register(fs, e)
	source := fs.String("source", "", "source as namespace/name (default hub/NAME, NAME from the connector's schema)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("install takes one binary path: hub connectors install PATH")
	}
	path, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	if fi, err := os.Stat(path); err != nil {
		return fmt.Errorf("connector binary: %w", err)
	} else if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file: build the connector with go build, or chmod +x it", path)
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return err
	}
	// Ask the binary who it is: its schema names it and its version, so
	// the directory layout can never disagree with what the plugin says.
	sup := newSupervisor(e, &c)
	defer sup.Close()
	probe := registry.Installed{Source: "install/" + filepath.Base(path), Name: filepath.Base(path),
		Version: goversion.Must(goversion.NewVersion("0.0.0")), Platform: registry.Platform(), Path: path, SHA256: sum}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	sc, err := sup.Connector(probe).Schema(ctx)
	if err != nil {
		return fmt.Errorf("%s is not a working hub connector: %w", path, err)
	}
	src := *source
	if src == "" {
		src = "hub/" + sc.Name
	}
	inst, err := registry.Install(c.pluginDir, path, src, sc.Version)
	if err != nil {
		return err
	}
	if c.asJSON {
		return printJSON(e.stdout, listed{Source: inst.Source, Name: inst.Name, Version: inst.Version.String(),
			SHA256: hex.EncodeToString(inst.SHA256), Path: inst.Path})
	}
	fmt.Fprintf(e.stdout, "installed %s %s -> %s\n", inst.Source, inst.Version, inst.Path)
	return nil
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open connector binary: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return h.Sum(nil), nil
}

// resolve finds the installed connector for NAME[@CONSTRAINT].
func resolve(c *common, ref string) (registry.Installed, error) {
	source, constraint, _ := strings.Cut(ref, "@")
	all, _, err := registry.Discover(c.pluginDir)
	if err != nil {
		return registry.Installed{}, err
	}
	return registry.Resolve(all, source, constraint)
}

func connectorsSchema(e *env, args []string) error {
	var c common
	fs := newFlags(e, "connectors schema")
	c.register(fs, e)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("schema takes one connector: hub connectors schema NAME[@CONSTRAINT]")
	}
	inst, err := resolve(&c, pos[0])
	if err != nil {
		return err
	}
	sup := newSupervisor(e, &c)
	defer sup.Close()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	sc, err := sup.Connector(inst).Schema(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", inst, err)
	}
	if c.asJSON {
		return printJSON(e.stdout, sc)
	}
	describe(e.stdout, inst, sc)
	return nil
}

func connectorsCall(e *env, args []string) error {
	var c common
	fs := newFlags(e, "connectors call")
	c.register(fs, e)
	props := fs.String("properties", "{}", "the connection's properties, as a JSON object")
	key := fs.String("idempotency-key", "", "idempotency key (default: a fresh one)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 || len(pos) > 3 {
		return usageErr("hub connectors call NAME[@CONSTRAINT] ACTION [INPUT_JSON]")
	}
	input := "{}"
	if len(pos) == 3 {
		input = pos[2]
	}
	if !json.Valid([]byte(input)) {
		return usageErr("INPUT_JSON is not valid JSON: %s", input)
	}
	if !json.Valid([]byte(*props)) {
		return usageErr("-properties is not valid JSON: %s", *props)
	}
	inst, err := resolve(&c, pos[0])
	if err != nil {
		return err
	}
	if *key == "" {
		*key = fmt.Sprintf("cli-%d", time.Now().UnixNano())
	}
	sup := newSupervisor(e, &c)
	defer sup.Close()
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	out, err := sup.Connector(inst).ExecuteAction(ctx, wire.ActionRequest{
		Action: pos[1], Input: json.RawMessage(input), IdempotencyKey: *key, Attempt: 1,
		Conn: wire.Connection{Name: "cli", Properties: json.RawMessage(*props), Environment: "sandbox", Tenant: "default"},
	})
	if err != nil {
		// The error's text begins with its class.
		return fmt.Errorf("%s %s failed: %w", inst, pos[1], err)
	}
	var pretty any
	if err := json.Unmarshal(out, &pretty); err != nil {
		_, err = fmt.Fprintf(e.stdout, "%s\n", out)
		return err
	}
	return printJSON(e.stdout, pretty)
}

// describe prints a schema for people.
func describe(w io.Writer, inst registry.Installed, s *schema.Schema) {
	title := s.DisplayName
	if title == "" {
		title = s.Name
	}
	fmt.Fprintf(w, "%s %s — %s\n", inst.Source, s.Version, title)
	if s.Description != "" {
		fmt.Fprintf(w, "  %s\n", s.Description)
	}
	if s.Deprecation != nil {
		fmt.Fprintf(w, "  DEPRECATED: %s\n", s.Deprecation.Message)
	}
	var auth []string
	for _, a := range s.Auth {
		desc := string(a.Type)
		if a.APIKey != nil {
			desc += fmt.Sprintf(" (%s %s)", a.APIKey.In, a.APIKey.Name)
		}
		auth = append(auth, desc)
	}
	if len(auth) > 0 {
		fmt.Fprintf(w, "\nAuth: %s\n", strings.Join(auth, ", "))
	}
	if len(s.Properties) > 0 {
		fmt.Fprintln(w, "\nProperties:")
		describeFields(w, s.Properties, "  ")
	}
	if len(s.Triggers) > 0 {
		fmt.Fprintln(w, "\nTriggers:")
	}
	for _, t := range s.Triggers {
		modes := make([]string, len(t.Modes))
		for i, m := range t.Modes {
			modes[i] = string(m)
		}
		fmt.Fprintf(w, "  %s [%s]  %s\n", t.Name, strings.Join(modes, ", "), t.Description)
		deprecated(w, t.Deprecation, "    ")
		if len(t.Config) > 0 {
			fmt.Fprintln(w, "    config:")
			describeFields(w, t.Config, "      ")
		}
		if t.Output != nil && len(t.Output.Properties) > 0 {
			fmt.Fprintln(w, "    event:")
			describeFields(w, t.Output.Properties, "      ")
		}
	}
	if len(s.Actions) > 0 {
		fmt.Fprintln(w, "\nActions:")
	}
	for _, a := range s.Actions {
		kind := string(a.Kind)
		if a.Idempotent {
			kind += ", idempotent"
		}
		fmt.Fprintf(w, "  %s [%s]  %s\n", a.Name, kind, a.Description)
		deprecated(w, a.Deprecation, "    ")
		if a.Input != nil && len(a.Input.Properties) > 0 {
			fmt.Fprintln(w, "    input:")
			describeFields(w, a.Input.Properties, "      ")
		}
		if a.Output != nil && len(a.Output.Properties) > 0 {
			fmt.Fprintln(w, "    output:")
			describeFields(w, a.Output.Properties, "      ")
		}
	}
}

func deprecated(w io.Writer, d *schema.Deprecation, indent string) {
	if d == nil {
		return
	}
	fmt.Fprintf(w, "%sDEPRECATED: %s", indent, d.Message)
	if d.ReplacedBy != "" {
		fmt.Fprintf(w, " (use %s)", d.ReplacedBy)
	}
	fmt.Fprintln(w)
}

func describeFields(w io.Writer, fields []schema.Field, indent string) {
	for _, f := range fields {
		typ := string(f.Type)
		if f.Type == schema.List && f.Items != nil {
			typ = "list of " + string(f.Items.Type)
		}
		var notes []string
		if f.Required {
			notes = append(notes, "required")
		}
		if f.Secret {
			notes = append(notes, "secret")
		}
		if len(f.Default) > 0 {
			notes = append(notes, "default "+string(f.Default))
		}
		if len(f.Enum) > 0 {
			vals := make([]string, len(f.Enum))
			for i, v := range f.Enum {
				vals[i] = string(v)
			}
			notes = append(notes, "one of "+strings.Join(vals, ", "))
		}
		if f.Deprecation != nil {
			notes = append(notes, "deprecated")
		}
		note := ""
		if len(notes) > 0 {
			note = " (" + strings.Join(notes, "; ") + ")"
		}
		fmt.Fprintf(w, "%s%s %s%s  %s\n", indent, f.Name, typ, note, f.Description)
		switch {
		case f.Type == schema.Object:
			describeFields(w, f.Properties, indent+"  ")
		case f.Type == schema.List && f.Items != nil && f.Items.Type == schema.Object:
			describeFields(w, f.Items.Properties, indent+"  ")
		}
	}
}
