package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/hubhq/hub/host/engine"
	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/host/secrets"
	"github.com/hubhq/hub/host/server"
	"github.com/hubhq/hub/host/store"
)

func runConnections(e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprintln(e.stderr, "usage: hub connections list | test NAME\n\n  list   the running hub serve's connections: auth, state, breaker, last error\n  test   ask the connector to check a connection's credentials (through the\n         running hub serve, or directly when none runs)")
		if len(args) == 0 {
			return errUsage
		}
		return errHelp
	}
	switch args[0] {
	case "list":
		return connectionsList(e, args[1:])
	case "test":
		return connectionsTest(e, args[1:])
	}
	return usageErr("hub connections: unknown subcommand %q (list, test)", args[0])
}

func connectionsList(e *env, args []string) error {
	a, c, pos, err := adminCommand(e, "connections list", args, nil)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	var list server.ConnectionList
	raw, err := c.call(http.MethodGet, "/v1/connections", nil, nil, &list)
	if err != nil {
		return err
	}
	if a.asJSON {
		return printRaw(e.stdout, raw)
	}
	return printConnections(e.stdout, list.Connections, time.Now())
}

func printConnections(w io.Writer, list []runs.Connection, now time.Time) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "No connections applied.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCONNECTOR\tAUTH\tSTATE\tBREAKER\tLAST SUCCESS\tLAST ERROR")
	for _, c := range list {
		last := "never"
		if c.LastSuccess != nil {
			last = span(now.Sub(*c.LastSuccess)) + " ago"
		}
		why := lastError(c.LastError, c.LastErrorAt, now)
		if c.LastError == "" && c.Reason != "" {
			// Why the state is what it is: a revoked grant, a failed
			// login, a secret that is gone.
			why = truncate(oneLineText(c.Reason), 60)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Connector, c.AuthType, c.State, c.Breaker, last, why)
	}
	return tw.Flush()
}

func connectionsTest(e *env, args []string) error {
	var a adminFlags
	fs := a.register(e, "connections test")
	pluginDir := pluginDirFlag(e, fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("hub connections test: want one connection name")
	}
	name := pos[0]
	var res *runs.ConnectionTest
	if c, cerr := a.client(); cerr == nil && a.reachable(c) {
		res = &runs.ConnectionTest{}
		raw, err := c.call(http.MethodPost, "/v1/connections/"+url.PathEscape(name)+"/test", nil, struct{}{}, res)
		if err != nil {
			return err
		}
		if a.asJSON {
			if err := printRaw(e.stdout, raw); err != nil {
				return err
			}
			return testOutcome(res)
		}
	} else {
		if res, err = testOffline(e, &a, *pluginDir, name); err != nil {
			return err
		}
		if a.asJSON {
			if err := printJSON(e.stdout, res); err != nil {
				return err
			}
			return testOutcome(res)
		}
	}
	if res.OK {
		who := ""
		if res.Account != "" {
			who = " as " + res.Account
		}
		fmt.Fprintf(e.stdout, "Connection %s works%s (%.0f ms).\n", name, who, res.DurationMS)
		return nil
	}
	fmt.Fprintf(e.stdout, "Connection %s failed (%s): %s\n  %s\n", name, res.ErrorKind, res.Error, res.Hint)
	return testOutcome(res)
}

func testOutcome(res *runs.ConnectionTest) error {
	if res.OK {
		return nil
	}
	return errReported{fmt.Sprintf("connection %s does not work", res.Connection)}
}

// reachable reports whether the server c points at answers.
func (a *adminFlags) reachable(c *adminClient) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := c.do(ctx, http.MethodGet, "/healthz", nil, nil)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

func pluginDirFlag(e *env, fs *flag.FlagSet) *string {
	def := e.getenv("HUB_PLUGIN_DIR")
	if def == "" {
		def = filepath.Join(".hub", "plugins")
	}
	return fs.String("plugin-dir", def, "plugin directory (when no hub serve runs)")
}

// testOffline loads the workspace, launches the connector and checks the
// connection, as a running host would.
func testOffline(e *env, a *adminFlags, pluginDir, name string) (*runs.ConnectionTest, error) {
	w := wsFlags{dir: a.loc.dir}
	w.pluginDir, w.timeout = pluginDir, a.timeout
	ws, lock, _, diags := check(e, &w)
	if diags.HasErrors() {
		printDiags(e, false, filesOf(ws), diags)
		return nil, errReported{"the workspace is not valid; fix it before testing its connections"}
	}
	installed, _, err := registry.Discover(pluginDir)
	if err != nil {
		return nil, fmt.Errorf("read the plugin directory: %w", err)
	}
	vault, err := secrets.Open(a.loc.storeDir(), e.getenv)
	if err != nil {
		return nil, fmt.Errorf("open the secret store: %w", err)
	}
	rt, err := engine.CompileConnection(ws, lock, installed, vault.Resolver(envSecrets(e)), store.DefaultTenant, name)
	if err != nil {
		return nil, err
	}
	sup := newSupervisor(e, &w.common)
	defer sup.Close()
	ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
	defer cancel()
	res, err := engine.CheckConnection(ctx, rt, sup.Connector, name)
	if err != nil {
		return nil, err
	}
	return res, nil
}
