// Command hub is the hub CLI and daemon. It only wires the host packages
// together and prints for people (or, with -json, for tools); the work is
// done under host/ and sdk/.
//
// Exit codes: 0 success, 1 an error (printed to stderr with what to do
// next), 2 a usage error; hub plan -detailed-exitcode also exits 2 when
// there are changes to apply.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// errUsage marks an error in how hub was called; it exits 2.
var errUsage = errors.New("usage")

// errHelp means -h was asked for and the flags' usage printed: exit 0.
var errHelp = errors.New("help requested")

type command struct {
	summary string
	run     func(env *env, args []string) error
}

// env is what every command gets: where to print, and the process
// environment it reads settings from, passed in rather than read globally
// so commands are testable.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	getenv         func(string) string
}

func commands() map[string]command {
	return map[string]command{
		"version":     {"print hub's version and the plugin protocols it speaks", runVersion},
		"connectors":  {"list, install, inspect and call installed connectors", runConnectors},
		"connector":   {"author a connector: connector new NAME", runConnector},
		"init":        {"resolve the workspace's connectors and write hub.lock.hcl", runInit},
		"validate":    {"check the workspace against the locked connectors' schemas", runValidate},
		"fmt":         {"rewrite the workspace's HCL files in canonical format", runFmt},
		"plan":        {"show what apply would change in the applied state", runPlan},
		"apply":       {"record the workspace as the applied state, after showing the plan", runApply},
		"connect":     {"authorize an oauth2 connection of the running hub serve (browser login or device code)", runConnect},
		"connections": {"list a running hub serve's connections, or test one's credentials", runConnections},
		"sandbox":     {"serve simulators of the shop, cart, carrier and warehouse apps for trying workflows (sandbox reset restores them)", runSandbox},
		"serve":       {"run the applied workflows: webhooks, polling, the queue and the admin API", runServe},
		"status":      {"a running hub serve's connections, triggers and queue", runStatus},
		"webhooks":    {"the webhook triggers' URLs and signing secrets", runWebhooks},
		"runs":        {"list workflow runs and show one with its steps", runRuns},
		"dlq":         {"list, show, replay and discard dead-lettered runs", runDLQ},
		"logs":        {"print (and with -f follow) a running hub serve's logs", runLogs},
		"secrets":     {"set, list, remove and re-key the encrypted secrets secret() reads", runSecrets},
	}
}

func main() {
	e := &env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin, getenv: os.Getenv}
	os.Exit(run(e, os.Args[1:]))
}

func run(e *env, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(e.stdout, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "hub: unknown command %q\n\n", args[0])
		usage(e.stderr, cmds)
		return 2
	}
	if err := cmd.run(e, args[1:]); err != nil {
		if errors.Is(err, errHelp) {
			return 0
		}
		if errors.Is(err, errChanges) {
			return 2
		}
		if errors.Is(err, errUsage) {
			fmt.Fprintf(e.stderr, "hub %s: %v\n", args[0], strings.TrimPrefix(err.Error(), "usage: "))
			return 2
		}
		fmt.Fprintf(e.stderr, "hub %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "Usage: hub COMMAND [ARGS]\n\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'hub COMMAND -h' for a command's flags. Docs: docs/ in the hub repository.")
}

// usageErr returns an error that exits 2 and prints msg.
func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}
