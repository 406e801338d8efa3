package main

// hub secrets: the encrypted secret store that secret("name") reads
// (host/secrets). It works on the store's file directly, with or without
// a running hub serve, which sees the changes without a restart. Values
// are read from stdin or a file, never from the command line, and are
// never printed.

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hubhq/hub/host/secrets"
)

const secretsUsage = `Usage: hub secrets SUBCOMMAND [FLAGS]

Subcommands:
  set NAME [-value-file PATH]
                 store a secret; the value is read from stdin (one trailing
                 newline is dropped), or from PATH
  list [-json]   the secrets' names, when each was set and its key ID
  rm NAME        delete a secret
  rotate-key [-print-new-key]
                 re-encrypt every secret with a new master key

Every subcommand takes -dir and -data-dir; the store is
<data dir>/secrets.json and the master key $HUB_MASTER_KEY or
<data dir>/master.key. See docs/secrets.md.`

func runSecrets(e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(e.stdout, secretsUsage)
		if len(args) == 0 {
			return usageErr("a subcommand is required")
		}
		return nil
	}
	switch args[0] {
	case "set":
		return secretsSet(e, args[1:])
	case "list":
		return secretsList(e, args[1:])
	case "rm":
		return secretsRm(e, args[1:])
	case "rotate-key":
		return secretsRotateKey(e, args[1:])
	}
	return usageErr("unknown subcommand %q (want set, list, rm or rotate-key)", args[0])
}

// secretsCommand parses a subcommand's flags and opens the store of the
// data directory that plan, apply and serve use.
func secretsCommand(e *env, name string, args []string, extra func(fs *flag.FlagSet)) (*secrets.Store, []string, error) {
	var loc planFlags
	fs := newFlags(e, name)
	fs.StringVar(&loc.dir, "dir", ".", "the workspace directory")
	fs.StringVar(&loc.dataDir, "data-dir", e.getenv("HUB_DATA_DIR"), "the data directory (default <workspace>/.hub/data, or $HUB_DATA_DIR)")
	if extra != nil {
		extra(fs)
	}
	pos, err := parse(fs, args)
	if err != nil {
		return nil, nil, err
	}
	st, err := secrets.Open(loc.storeDir(), e.getenv)
	if err != nil {
		return nil, nil, err
	}
	return st, pos, nil
}

// oneName checks that the only argument is a valid secret's name. An
// extra argument is refused without echoing it: it may be a value typed
// where it would leak into shell history.
func oneName(pos []string) (string, error) {
	switch {
	case len(pos) == 0:
		return "", usageErr("the secret's name is required")
	case len(pos) > 1:
		return "", usageErr("only the secret's name is an argument; the value is read from stdin or -value-file, never from the command line, where shell history and ps would show it")
	}
	if err := secrets.ValidateName(pos[0]); err != nil {
		return "", usageErr("%v", err)
	}
	return pos[0], nil
}

// warnHostName says that names under oauth/ belong to the host.
func warnHostName(e *env, name string) {
	if strings.HasPrefix(name, secrets.HostPrefix) {
		fmt.Fprintf(e.stderr, "hub secrets: warning: names under %s are the host's own (the tokens of OAuth connections); changing one by hand can break its connection\n", secrets.HostPrefix)
	}
}

func secretsSet(e *env, args []string) error {
	var valueFile string
	st, pos, err := secretsCommand(e, "secrets set", args, func(fs *flag.FlagSet) {
		fs.StringVar(&valueFile, "value-file", "", "read the value from this file instead of stdin")
	})
	if err != nil {
		return err
	}
	name, err := oneName(pos)
	if err != nil {
		return err
	}
	var value []byte
	if valueFile != "" {
		f, err := os.Open(valueFile)
		if err != nil {
			return fmt.Errorf("read the value: %w", err)
		}
		value, err = readValue(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("read the value from %s: %w", valueFile, err)
		}
	} else {
		if f, ok := e.stdin.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				fmt.Fprintf(e.stderr, "Type the value of %s, then Enter and Ctrl-D (what you type is shown; pipe the value in to avoid that):\n", name)
			}
		}
		if value, err = readValue(e.stdin); err != nil {
			return fmt.Errorf("read the value from stdin: %w", err)
		}
	}
	if len(value) == 0 {
		return usageErr("the value is empty: pipe it to stdin (printf %%s \"$VALUE\" | hub secrets set %s) or use -value-file", name)
	}
	warnHostName(e, name)
	if err := st.Set(name, string(value)); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Set secret %s (key %s).\n", name, st.KeyID())
	return nil
}

// readValue reads a value of at most secrets.MaxValueSize bytes and drops
// one trailing newline, which echo and editors add.
func readValue(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, secrets.MaxValueSize+3))
	if err != nil {
		return nil, err
	}
	if bytes.HasSuffix(b, []byte("\r\n")) {
		b = b[:len(b)-2]
	} else if bytes.HasSuffix(b, []byte("\n")) {
		b = b[:len(b)-1]
	}
	if len(b) > secrets.MaxValueSize {
		return nil, fmt.Errorf("the value is longer than %d bytes", secrets.MaxValueSize)
	}
	return b, nil
}

func secretsList(e *env, args []string) error {
	var asJSON bool
	st, pos, err := secretsCommand(e, "secrets list", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print as JSON: [{name, updated_at, key_id}]")
	})
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("hub secrets list takes no arguments")
	}
	infos, err := st.List()
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(infos)
	}
	if len(infos) == 0 {
		fmt.Fprintf(e.stdout, "No secrets in %s.\n", st.Path())
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tUPDATED\tKEY")
	for _, in := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", in.Name, in.UpdatedAt.Local().Format(time.DateTime), in.KeyID)
	}
	return tw.Flush()
}

func secretsRm(e *env, args []string) error {
	st, pos, err := secretsCommand(e, "secrets rm", args, nil)
	if err != nil {
		return err
	}
	name, err := oneName(pos)
	if err != nil {
		return err
	}
	warnHostName(e, name)
	existed, err := st.Delete(name)
	if err != nil {
		return err
	}
	if !existed {
		return fmt.Errorf("secret %s is not set; nothing was removed (hub secrets list shows the names)", name)
	}
	fmt.Fprintf(e.stdout, "Removed secret %s.\n", name)
	return nil
}

func secretsRotateKey(e *env, args []string) error {
	var printKey bool
	st, pos, err := secretsCommand(e, "secrets rotate-key", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&printKey, "print-new-key", false, "print the new master key (base64) on stdout; needed when the key comes from $HUB_MASTER_KEY")
	})
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("hub secrets rotate-key takes no arguments")
	}
	fromEnv := st.KeyFromEnv()
	if fromEnv && !printKey {
		return fmt.Errorf("the master key comes from %s, which hub cannot change: run hub secrets rotate-key -print-new-key to re-encrypt the store with a new key printed on stdout, then set %s to it wherever hub runs and restart hub serve", secrets.EnvMasterKey, secrets.EnvMasterKey)
	}
	oldID := st.KeyID()
	key, err := secrets.NewKey()
	if err != nil {
		return err
	}
	newID := secrets.KeyID(key)
	if printKey {
		// The key is printed before it is used: if stdout fails, nothing
		// is lost, and if the rotation fails, the printed key is unused.
		if _, err := fmt.Fprintln(e.stdout, secrets.EncodeKey(key)); err != nil {
			return fmt.Errorf("print the new key: %w; the store still uses key %s", err, oldID)
		}
	}
	if err := st.Rotate(key); err != nil {
		if printKey {
			return rotateFailed(err, st, newID, fromEnv)
		}
		return err
	}
	if printKey {
		fmt.Fprintf(e.stderr, "hub secrets: warning: the line printed on stdout is master key %s: anyone who has it and the data directory can read every secret. Keep it out of logs and shell history.\n", newID)
	}
	if fromEnv {
		fmt.Fprintf(e.stderr, "hub secrets: warning: the store is now encrypted with key %s and the old key %s no longer opens it. Set %s to the printed key wherever hub runs and restart hub serve; no copy of it was written.\n", newID, oldID, secrets.EnvMasterKey)
	}
	fmt.Fprintf(e.stdout, "Rotated the master key: %s -> %s.\n", oldID, newID)
	if !fromEnv {
		fmt.Fprintf(e.stdout, "The new key is in %s: back it up, apart from the data directory. A running hub serve picks it up by itself.\n", filepath.Join(filepath.Dir(st.Path()), "master.key"))
	}
	return nil
}

// rotateFailed says what a failed rotate-key -print-new-key left: the
// rotation can fail after the re-sealed store replaced the old one, and
// then the printed key is the one in use, and must be kept.
func rotateFailed(err error, st *secrets.Store, newID string, fromEnv bool) error {
	id, rerr := st.SealedWith()
	switch {
	case rerr != nil:
		return fmt.Errorf("%w; whether the printed key %s is in use cannot be told (%v): keep it until hub secrets list works with one of the keys", err, newID, rerr)
	case id != newID:
		return fmt.Errorf("%w; the printed key was not applied", err)
	case fromEnv:
		return fmt.Errorf("%w; but the store is now encrypted with the printed key %s: set %s to it wherever hub runs and restart hub serve", err, newID, secrets.EnvMasterKey)
	default:
		return fmt.Errorf("%w; but the store is now encrypted with the printed key %s, which the next hub command finishes installing in master.key", err, newID)
	}
}
