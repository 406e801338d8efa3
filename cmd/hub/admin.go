package main

// The operator commands: status, webhooks, runs, dlq and logs talk to a
// running hub serve over its admin HTTP API (docs/api.md). They hold no
// state of their own and never open the store: the server owns it.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/hubhq/hub/host/runs"
)

// Files a running hub serve writes into its data directory so that the
// operator commands on the same machine find it without flags.
const (
	serveInfoFile = "serve.json"
	apiKeyFile    = "api-key"
)

// maxResponse bounds what the commands read of one API answer.
const maxResponse = 64 << 20

// serveInfo is <data dir>/serve.json.
type serveInfo struct {
	// Addr is the address hub serve listens on (host:port).
	Addr string `json:"addr"`
	// URL is the server's base URL.
	URL string `json:"url"`
	PID int    `json:"pid"`
}

// adminFlags are the flags of the commands that talk to hub serve.
type adminFlags struct {
	// loc holds only -dir and -data-dir, so that these commands find the
	// data directory exactly as plan and apply do.
	loc     planFlags
	addr    string
	apiKey  string
	tenant  string
	asJSON  bool
	timeout time.Duration
}

func (a *adminFlags) register(e *env, name string) *flag.FlagSet {
	fs := newFlags(e, name)
	fs.StringVar(&a.addr, "addr", e.getenv("HUB_ADDR"), "hub serve's address, host:port or URL (default $HUB_ADDR, else read from <data dir>/serve.json)")
	fs.StringVar(&a.apiKey, "api-key", e.getenv("HUB_API_KEY"), "the admin API key (default $HUB_API_KEY, else read from <data dir>/api-key)")
	fs.StringVar(&a.loc.dir, "dir", ".", "the workspace directory whose hub serve to talk to")
	fs.StringVar(&a.loc.dataDir, "data-dir", e.getenv("HUB_DATA_DIR"), "hub serve's data directory (default <workspace>/.hub/data, or $HUB_DATA_DIR)")
	fs.StringVar(&a.tenant, "tenant", "default", "the tenant")
	fs.BoolVar(&a.asJSON, "json", false, "print the API's JSON as is")
	fs.DurationVar(&a.timeout, "timeout", 30*time.Second, "how long a request may take")
	return fs
}

// adminClient calls one hub serve's admin API.
type adminClient struct {
	base    string // scheme://host[:port][/prefix], no trailing slash
	key     string
	tenant  string
	timeout time.Duration
	http    *http.Client
	// refused is the error for a connection refused, saying where the
	// address came from.
	refused string
	// keyHint says where the API key came from, for a 401.
	keyHint string
}

// client finds the server: -addr or $HUB_ADDR, else the serve.json a
// running hub serve wrote into the data directory; and the key: -api-key
// or $HUB_API_KEY, else the data directory's api-key file.
func (a *adminFlags) client() (*adminClient, error) {
	dataDir := a.loc.storeDir()
	c := &adminClient{key: a.apiKey, tenant: a.tenant, timeout: a.timeout, http: &http.Client{}}
	notFound := fmt.Sprintf("no running hub serve found for %s (start one with hub serve, or pass -addr)", dataDir)

	keyPath := filepath.Join(dataDir, apiKeyFile)
	switch {
	case c.key != "":
		c.keyHint = "check -api-key or $HUB_API_KEY"
	default:
		b, err := os.ReadFile(keyPath)
		switch {
		case err == nil:
			c.key = strings.TrimSpace(string(b))
			c.keyHint = fmt.Sprintf("the key in %s is not this server's; pass -api-key", keyPath)
		case errors.Is(err, os.ErrNotExist):
			c.keyHint = fmt.Sprintf("no API key was given: pass -api-key or $HUB_API_KEY (hub serve writes its key to %s)", keyPath)
		default:
			return nil, fmt.Errorf("read the API key: %w", err)
		}
	}

	if a.addr != "" {
		base, err := baseURL(a.addr)
		if err != nil {
			return nil, usageErr("-addr %q: %v", a.addr, err)
		}
		c.base = base
		c.refused = fmt.Sprintf("no running hub serve at %s: connection refused (start one with hub serve, or check -addr and $HUB_ADDR)", base)
		return c, nil
	}
	infoPath := filepath.Join(dataDir, serveInfoFile)
	b, err := os.ReadFile(infoPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New(notFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", infoPath, err)
	}
	var info serveInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("read %s: %w (delete it if no hub serve is running)", infoPath, err)
	}
	// URL is the address to dial on this machine; Addr, what the server
	// listens on, is the fallback.
	addr := info.URL
	if addr == "" {
		addr = info.Addr
	}
	if addr == "" {
		return nil, fmt.Errorf("read %s: it names no address (delete it if no hub serve is running)", infoPath)
	}
	base, err := baseURL(addr)
	if err != nil {
		return nil, fmt.Errorf("read %s: address %q: %w", infoPath, addr, err)
	}
	c.base = base
	// A serve.json left behind by a server that is gone.
	c.refused = fmt.Sprintf("no running hub serve found for %s (%s refuses connections; start one with hub serve, or pass -addr)", dataDir, base)
	return c, nil
}

// baseURL turns "host:port" or a URL into a base URL to dial. A listen
// address on all interfaces (":8080", "0.0.0.0:8080", "[::]:8080") is
// dialled on loopback.
func baseURL(addr string) (string, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return "", errors.New("no host")
	}
	host, port := u.Hostname(), u.Port()
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		loop := "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			loop = "::1"
		}
		u.Host = net.JoinHostPort(loop, port)
		if port == "" {
			u.Host = loop
			if loop == "::1" {
				u.Host = "[::1]"
			}
		}
	}
	u.RawQuery, u.Fragment = "", ""
	return strings.TrimSuffix(u.String(), "/"), nil
}

// apiError is an answer of the API other than 2xx.
type apiError struct {
	status  int
	code    string
	message string
	hint    string
}

func (e *apiError) Error() string {
	if e.hint != "" {
		return e.message + "; " + e.hint
	}
	return e.message
}

// Unwrap makes a 400 a usage error (exit 2): the request was built from
// the flags, and the server says which value it refuses.
func (e *apiError) Unwrap() error {
	if e.status == http.StatusBadRequest {
		return errUsage
	}
	return nil
}

// do sends one request and returns the response when it is a 2xx; any
// other answer becomes an *apiError with the server's message.
func (c *adminClient) do(ctx context.Context, method, path string, q url.Values, body any) (*http.Response, error) {
	if q == nil {
		q = url.Values{}
	}
	q.Set("tenant", c.tenant)
	u := c.base + path + "?" + q.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, errors.New(c.refused)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w", method, u, ctx.Err())
		}
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var doc struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	ae := &apiError{status: resp.StatusCode}
	if json.Unmarshal(raw, &doc) == nil && doc.Error.Message != "" {
		ae.code, ae.message = doc.Error.Code, doc.Error.Message
	} else {
		ae.message = fmt.Sprintf("hub serve at %s answered %s", c.base, resp.Status)
		if s := strings.TrimSpace(string(raw)); s != "" {
			ae.message += ": " + truncate(s, 200)
		}
	}
	if resp.StatusCode == http.StatusUnauthorized {
		ae.hint = c.keyHint
	}
	return nil, ae
}

// call sends one request within the -timeout and returns the answer's
// body, decoded into out when out is not nil.
func (c *adminClient) call(method, path string, q url.Values, body, out any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	resp, err := c.do(ctx, method, path, q, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("read the answer to %s %s: %w", method, path, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("decode the answer to %s %s: %w", method, path, err)
		}
	}
	return raw, nil
}

// printRaw prints an API answer as it came, for -json.
func printRaw(w io.Writer, raw []byte) error {
	if len(raw) == 0 || raw[len(raw)-1] != '\n' {
		raw = append(raw, '\n')
	}
	_, err := w.Write(raw)
	return err
}

// adminCommand parses the common flags and positional arguments and
// finds the server.
func adminCommand(e *env, name string, args []string, extra func(fs *flag.FlagSet)) (*adminFlags, *adminClient, []string, error) {
	var a adminFlags
	fs := a.register(e, name)
	if extra != nil {
		extra(fs)
	}
	pos, err := parse(fs, args)
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := a.client()
	if err != nil {
		return nil, nil, nil, err
	}
	return &a, c, pos, nil
}

func noArgs(pos []string) error {
	if len(pos) > 0 {
		return usageErr("unexpected argument %q", pos[0])
	}
	return nil
}

// ---- hub status

func runStatus(e *env, args []string) error {
	a, c, pos, err := adminCommand(e, "status", args, nil)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	var st runs.HostStatus
	raw, err := c.call(http.MethodGet, "/v1/status", nil, nil, &st)
	if err != nil {
		return err
	}
	if a.asJSON {
		return printRaw(e.stdout, raw)
	}
	return printStatus(e.stdout, &st, time.Now())
}

func printStatus(w io.Writer, st *runs.HostStatus, now time.Time) error {
	ready := "ready"
	if !st.Ready {
		ready = "NOT READY"
	}
	fmt.Fprintf(w, "hub %s, up %s, %s\n", st.Version, span(now.Sub(st.StartedAt)), ready)

	fmt.Fprintln(w, "\nConnections:")
	if len(st.Connections) == 0 {
		fmt.Fprintln(w, "  none")
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  NAME\tCONNECTOR\tBREAKER\tIN FLIGHT\tQUEUED\tLAST ERROR")
		for _, cn := range st.Connections {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%s\n", cn.Name, cn.Connector, cn.Breaker, cn.InFlight, cn.Queued, lastError(cn.LastError, cn.LastErrorAt, now))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "\nTriggers:")
	failing := 0
	if len(st.Triggers) == 0 {
		fmt.Fprintln(w, "  none")
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  WORKFLOW\tTRIGGER\tMODE\tEVENTS\tLAST SUCCESS\tLAG\tSTATE\tLAST ERROR")
		for _, t := range st.Triggers {
			state, lastErr := "ok", lastError(t.LastError, t.LastErrorAt, now)
			if t.FailingSince != nil {
				failing++
				state = "FAILING"
				lastErr = fmt.Sprintf("%s (failing for %s)", truncate(oneLineText(t.LastError), 60), span(now.Sub(*t.FailingSince)))
			}
			lag := "-"
			if t.LastSuccess != nil || t.LagSeconds > 0 {
				lag = span(time.Duration(t.LagSeconds * float64(time.Second)))
			}
			fmt.Fprintf(tw, "  %s\t%s/%s\t%s\t%d\t%s\t%s\t%s\t%s\n", t.Workflow, t.Connection, t.Trigger, t.Mode, t.Events, ago(t.LastSuccess, now), lag, state, lastErr)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if failing > 0 {
		fmt.Fprintf(w, "  %d of %d triggers FAILING\n", failing, len(st.Triggers))
	}
	if err := printStreams(w, st.Triggers, now); err != nil {
		return err
	}

	q := st.Queue
	fmt.Fprintf(w, "\nQueue: %d due, %d scheduled, %d dead letters\n", q.Due, q.Scheduled, q.DeadLetters)
	if q.DeadLetters > 0 {
		fmt.Fprintln(w, "See them with: hub dlq list")
	}
	return nil
}

// printStreams lists the stream triggers' connections: open or not and
// since when, how far behind the third party, how often they reconnected,
// and the last gap. Nothing when there is no stream trigger.
func printStreams(w io.Writer, triggers []*runs.TriggerStatus, now time.Time) error {
	var streams []*runs.TriggerStatus
	for _, t := range triggers {
		if t.Connected != nil {
			streams = append(streams, t)
		}
	}
	if len(streams) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nStreams:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  WORKFLOW\tSTREAM\tSINCE\tLAST EVENT\tBEHIND\tRECONNECTS\tLAST GAP")
	for _, t := range streams {
		state := "connected"
		if !*t.Connected {
			state = "DISCONNECTED"
		}
		behind := "-"
		if b := t.BehindSeconds; b != nil && *b < 1 {
			behind = fmt.Sprintf("%dms", int(*b*1000))
		} else if b != nil {
			behind = span(time.Duration(*b * float64(time.Second)))
		}
		gap := "-"
		if t.LastGap != "" {
			gap = truncate(oneLineText(t.LastGap), 120)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%d\t%s\n", t.Workflow, state, ago(t.ConnectedSince, now), ago(t.LastEventAt, now), behind, t.Reconnects, gap)
	}
	return tw.Flush()
}

func lastError(msg string, at *time.Time, now time.Time) string {
	if msg == "" {
		return "-"
	}
	s := truncate(oneLineText(msg), 60)
	if at != nil {
		s += " (" + ago(at, now) + ")"
	}
	return s
}

// ---- hub webhooks

func runWebhooks(e *env, args []string) error {
	var show bool
	a, c, pos, err := adminCommand(e, "webhooks", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&show, "show-secrets", false, "print the signing secrets")
	})
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	var doc struct {
		Webhooks []runs.Webhook `json:"webhooks"`
	}
	raw, err := c.call(http.MethodGet, "/v1/webhooks", nil, nil, &doc)
	if err != nil {
		return err
	}
	if a.asJSON {
		if !show {
			if raw, err = withoutSecrets(raw); err != nil {
				return err
			}
		}
		return printRaw(e.stdout, raw)
	}
	if len(doc.Webhooks) == 0 {
		fmt.Fprintln(e.stdout, "No webhook triggers.")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKFLOW\tTRIGGER\tURL\tSECRET")
	for _, h := range doc.Webhooks {
		secret := "(hidden; -show-secrets)"
		if show {
			secret = h.Secret
		}
		fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%s\n", h.Workflow, h.Connection, h.Trigger, h.URL, secret)
	}
	return tw.Flush()
}

// withoutSecrets drops each webhook's "secret" from the API's answer and
// keeps every other field as the server sent it.
func withoutSecrets(raw []byte) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("decode webhooks: %w", err)
	}
	var hooks []map[string]json.RawMessage
	if err := json.Unmarshal(doc["webhooks"], &hooks); err != nil {
		return nil, fmt.Errorf("decode webhooks: %w", err)
	}
	for _, h := range hooks {
		delete(h, "secret")
	}
	b, err := json.Marshal(hooks)
	if err != nil {
		return nil, err
	}
	doc["webhooks"] = b
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// ---- hub runs

const runsUsage = `Usage: hub runs SUBCOMMAND [FLAGS]

Subcommands:
  list [-workflow W] [-status S] [-limit N] [-before ID]
                 recent runs, newest first
  show ID        one run: each step with its attempts, input and output

Every subcommand takes -addr, -api-key, -dir, -data-dir, -tenant, -json
and -timeout; run 'hub runs SUBCOMMAND -h' for them.`

func runRuns(e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(e.stdout, runsUsage)
		if len(args) == 0 {
			return usageErr("a subcommand is required")
		}
		return nil
	}
	switch args[0] {
	case "list":
		return runsList(e, args[1:])
	case "show":
		return runsShow(e, args[1:])
	}
	return usageErr("unknown subcommand %q (want list or show)", args[0])
}

func runsList(e *env, args []string) error {
	var workflow, status, before string
	var limit int
	a, c, pos, err := adminCommand(e, "runs list", args, func(fs *flag.FlagSet) {
		fs.StringVar(&workflow, "workflow", "", "only runs of this workflow")
		fs.StringVar(&status, "status", "", "only runs with this status: running, succeeded, failed, dead or discarded")
		fs.StringVar(&before, "before", "", "only runs older than this run id (the next page)")
		fs.IntVar(&limit, "limit", 0, "at most this many runs (default: the server's)")
	})
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	q := url.Values{}
	setNonEmpty(q, "workflow", workflow)
	setNonEmpty(q, "status", status)
	setNonEmpty(q, "before", before)
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var doc struct {
		Runs []runs.Summary `json:"runs"`
		Next string         `json:"next"`
	}
	raw, err := c.call(http.MethodGet, "/v1/runs", q, nil, &doc)
	if err != nil {
		return err
	}
	if a.asJSON {
		return printRaw(e.stdout, raw)
	}
	if len(doc.Runs) == 0 {
		fmt.Fprintln(e.stdout, "No runs.")
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tWORKFLOW\tSTATUS\tSTEP\tATTEMPTS\tAGE\tERROR")
	for _, r := range doc.Runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Workflow, r.Status, dash(r.Step), r.Attempts, span(now.Sub(r.CreatedAt)), dash(truncate(oneLineText(r.Error), 60)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if doc.Next != "" {
		// The next page is the same listing: keep the filters.
		next := "hub runs list"
		for _, f := range []struct{ name, value string }{{"workflow", workflow}, {"status", status}, {"limit", q.Get("limit")}, {"before", doc.Next}} {
			if f.value != "" {
				next += " -" + f.name + " " + shellWord(f.value)
			}
		}
		fmt.Fprintf(e.stdout, "\nMore: %s\n", next)
	}
	return nil
}

// shellWord quotes s for a shell when it has anything but letters,
// digits and -_.:/@.
func shellWord(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:/@", r)) {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}

func runsShow(e *env, args []string) error {
	a, c, pos, err := adminCommand(e, "runs show", args, nil)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("want one run id: hub runs show ID")
	}
	var r runs.Run
	raw, err := c.call(http.MethodGet, "/v1/runs/"+url.PathEscape(pos[0]), nil, nil, &r)
	if err != nil {
		return err
	}
	if a.asJSON {
		return printRaw(e.stdout, raw)
	}
	return printRun(e.stdout, &r)
}

// printRun writes a run for people: its header, the event, then each
// step with its attempts, input and output.
func printRun(w io.Writer, r *runs.Run) error {
	fmt.Fprintf(w, "Run %s\n", r.ID)
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(w, "  %-10s %s\n", name+":", value)
		}
	}
	field("workflow", r.Workflow)
	field("status", string(r.Status))
	field("trigger", r.Trigger)
	field("event", fmt.Sprintf("%s (seq %d)", r.EventID, r.EventSeq))
	field("received", stamp(r.ReceivedAt))
	field("created", stamp(r.CreatedAt))
	field("updated", stamp(r.UpdatedAt))
	if r.FinishedAt != nil {
		field("finished", stamp(*r.FinishedAt))
	}
	field("error", r.Error)
	if len(r.Event) > 0 {
		fmt.Fprintln(w, "  event data:")
		writeIndentedJSON(w, r.Event, "    ")
	}
	for i, s := range r.Steps {
		fmt.Fprintf(w, "\nStep %d/%d %s [%s]", i+1, len(r.Steps), s.Name, s.Status)
		if s.Connection != "" || s.Action != "" {
			fmt.Fprintf(w, " %s.%s", s.Connection, s.Action)
		}
		if s.Connector != "" {
			fmt.Fprintf(w, " (%s)", s.Connector)
		}
		fmt.Fprintln(w)
		if s.IdempotencyKey != "" {
			fmt.Fprintf(w, "  idempotency key: %s\n", s.IdempotencyKey)
		}
		if len(s.Attempts) > 0 {
			fmt.Fprintln(w, "  attempts:")
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			for _, at := range s.Attempts {
				outcome := "ok"
				if at.Error != "" {
					outcome = dash(at.ErrorKind) + ": " + oneLineText(at.Error)
				}
				line := fmt.Sprintf("    #%d\t%s\t%s\t%s", at.N, stamp(at.StartedAt), msDuration(at.DurationMS), outcome)
				if at.RetryAt != nil {
					line += "\tretry at " + stamp(*at.RetryAt)
				}
				fmt.Fprintln(tw, line)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		if len(s.Input) > 0 {
			fmt.Fprintln(w, "  input:")
			writeIndentedJSON(w, s.Input, "    ")
		}
		if len(s.Output) > 0 {
			fmt.Fprintln(w, "  output:")
			writeIndentedJSON(w, s.Output, "    ")
		}
	}
	return nil
}

// writeIndentedJSON pretty-prints a JSON value, each line indented; a
// value that is not valid JSON is printed as it is.
func writeIndentedJSON(w io.Writer, raw json.RawMessage, indent string) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, indent, "  "); err != nil {
		buf.Reset()
		buf.Write(raw)
	}
	fmt.Fprintf(w, "%s%s\n", indent, strings.TrimRight(buf.String(), "\n"))
}

// ---- hub dlq

const dlqUsage = `Usage: hub dlq SUBCOMMAND [FLAGS]

Subcommands:
  list [-workflow W] [-connection C] [-error E]
                 the runs waiting in the dead-letter queue
  show ID        one dead letter and its run
  replay ID... | -all | [-workflow W] [-connection C] [-error E]
                 resume dead runs from their failed step
  discard ID... | -all | [-workflow W] [-connection C] [-error E] [-auto-approve]
                 drop dead runs for good (asks for 'yes' first)

Every subcommand takes -addr, -api-key, -dir, -data-dir, -tenant, -json
and -timeout; run 'hub dlq SUBCOMMAND -h' for them.`

func runDLQ(e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(e.stdout, dlqUsage)
		if len(args) == 0 {
			return usageErr("a subcommand is required")
		}
		return nil
	}
	switch args[0] {
	case "list":
		return dlqList(e, args[1:])
	case "show":
		return dlqShow(e, args[1:])
	case "replay":
		return dlqAct(e, "replay", args[1:])
	case "discard":
		return dlqAct(e, "discard", args[1:])
	}
	return usageErr("unknown subcommand %q (want list, show, replay or discard)", args[0])
}

// dlqFilter is the selection flags of dlq list, replay and discard, and
// the body of the bulk replay and discard requests.
type dlqFilter struct {
	Workflow   string `json:"workflow,omitempty"`
	Connection string `json:"connection,omitempty"`
	Error      string `json:"error,omitempty"`
	All        bool   `json:"all,omitempty"`
}

func (f *dlqFilter) register(fs *flag.FlagSet) {
	fs.StringVar(&f.Workflow, "workflow", "", "only dead letters of this workflow")
	fs.StringVar(&f.Connection, "connection", "", "only dead letters whose failed step used this connection")
	fs.StringVar(&f.Error, "error", "", "only dead letters whose error kind is this, or whose error message contains it")
}

func (f *dlqFilter) empty() bool { return f.Workflow == "" && f.Connection == "" && f.Error == "" }

func (f *dlqFilter) query(limit int) url.Values {
	q := url.Values{}
	setNonEmpty(q, "workflow", f.Workflow)
	setNonEmpty(q, "connection", f.Connection)
	setNonEmpty(q, "error", f.Error)
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return q
}

func listDead(c *adminClient, f *dlqFilter, limit int) ([]runs.DeadLetter, []byte, error) {
	var doc struct {
		DeadLetters []runs.DeadLetter `json:"dead_letters"`
	}
	raw, err := c.call(http.MethodGet, "/v1/dlq", f.query(limit), nil, &doc)
	return doc.DeadLetters, raw, err
}

func dlqList(e *env, args []string) error {
	var f dlqFilter
	var limit int
	a, c, pos, err := adminCommand(e, "dlq list", args, func(fs *flag.FlagSet) {
		f.register(fs)
		fs.IntVar(&limit, "limit", 0, "at most this many dead letters (default: the server's)")
	})
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	dead, raw, err := listDead(c, &f, limit)
	if err != nil {
		return err
	}
	if a.asJSON {
		return printRaw(e.stdout, raw)
	}
	if len(dead) == 0 {
		fmt.Fprintln(e.stdout, "No dead letters.")
		return nil
	}
	return printDead(e.stdout, dead, time.Now())
}

func printDead(w io.Writer, dead []runs.DeadLetter, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tWORKFLOW\tSTEP\tACTION\tKIND\tATTEMPTS\tAGE\tERROR")
	for _, d := range dead {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s.%s\t%s\t%d\t%s\t%s\n", d.Run, d.Workflow, d.Step, d.Connection, d.Action, dash(d.ErrorKind), d.Attempts, span(now.Sub(d.At)), dash(truncate(oneLineText(d.Error), 60)))
	}
	return tw.Flush()
}

// dlqShow shows a dead letter: the run in the queue, with the step that
// failed for good first. A dead letter is its run (status dead), so the
// run's document is the whole answer.
func dlqShow(e *env, args []string) error {
	a, c, pos, err := adminCommand(e, "dlq show", args, nil)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("want one run id: hub dlq show ID")
	}
	id := pos[0]
	var r runs.Run
	raw, err := c.call(http.MethodGet, "/v1/runs/"+url.PathEscape(id), nil, nil, &r)
	if err != nil {
		return err
	}
	if r.Status != runs.Dead {
		return fmt.Errorf("run %s is not in the dead-letter queue (it is %s); see it with hub runs show %s", id, r.Status, id)
	}
	if a.asJSON {
		return printRaw(e.stdout, raw)
	}
	fmt.Fprintf(e.stdout, "Dead letter %s\n", r.ID)
	if r.Step >= 0 && r.Step < len(r.Steps) {
		s := r.Steps[r.Step]
		fmt.Fprintf(e.stdout, "  %-10s %s (%s.%s)\n", "step:", s.Name, s.Connection, s.Action)
		if n := len(s.Attempts); n > 0 {
			last := s.Attempts[n-1]
			fmt.Fprintf(e.stdout, "  %-10s %s: %s\n", "error:", dash(last.ErrorKind), oneLineText(last.Error))
			fmt.Fprintf(e.stdout, "  %-10s %d\n", "attempts:", n)
		}
	}
	fmt.Fprintf(e.stdout, "  %-10s hub dlq replay %s\n", "replay:", r.ID)
	fmt.Fprintf(e.stdout, "  %-10s hub dlq discard %s\n\n", "discard:", r.ID)
	return printRun(e.stdout, &r)
}

// dlqAct replays or discards dead letters: the ones named, or every one
// matching the filter flags, or with -all every one.
func dlqAct(e *env, verb string, args []string) error {
	var f dlqFilter
	var auto bool
	a, c, ids, err := adminCommand(e, "dlq "+verb, args, func(fs *flag.FlagSet) {
		f.register(fs)
		fs.BoolVar(&f.All, "all", false, "every dead letter")
		if verb == "discard" {
			fs.BoolVar(&auto, "auto-approve", false, "discard without asking for confirmation")
		}
	})
	if err != nil {
		return err
	}
	switch {
	case len(ids) > 0 && (f.All || !f.empty()):
		return usageErr("give run ids or a selection (-all, -workflow, -connection, -error), not both")
	case f.All && !f.empty():
		return usageErr("-all selects every dead letter; it takes no -workflow, -connection or -error")
	case len(ids) == 0 && !f.All && f.empty():
		return usageErr("say which dead letters: run ids, -all, or -workflow, -connection, -error")
	}
	done := "replayed"
	if verb == "discard" {
		done = "discarded"
		if a.asJSON && !auto {
			return usageErr("-json needs -auto-approve: there is no one to ask for confirmation")
		}
		if !auto {
			ok, err := confirmDiscard(e, c, &f, ids)
			if err != nil || !ok {
				return err
			}
		}
	}

	var res *actResult
	if len(ids) == 0 {
		res, err = actMatching(c, verb, done, &f)
	} else {
		res, err = actByID(c, verb, done, ids)
	}
	if err != nil {
		return err
	}
	return res.print(e, a.asJSON, verb)
}

// actResult is what a replay or discard did: the runs acted on and those
// that could not be.
type actResult struct {
	done     string // "replayed" or "discarded", the answer's key
	ids      []string
	failed   []actFailure
	bulkJSON []byte // the server's answer to a bulk request, for -json
}

// actFailure is one dead letter not acted on, as the bulk routes report it.
type actFailure struct {
	ID    string `json:"id"`
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func actMatching(c *adminClient, verb, done string, f *dlqFilter) (*actResult, error) {
	var doc map[string]json.RawMessage
	raw, err := c.call(http.MethodPost, "/v1/dlq/"+verb, nil, f, &doc)
	if err != nil {
		return nil, err
	}
	res := &actResult{done: done, bulkJSON: raw}
	if err := unmarshalIfSet(doc[done], &res.ids); err != nil {
		return nil, fmt.Errorf("decode the answer to POST /v1/dlq/%s: %w", verb, err)
	}
	if err := unmarshalIfSet(doc["failed"], &res.failed); err != nil {
		return nil, fmt.Errorf("decode the answer to POST /v1/dlq/%s: %w", verb, err)
	}
	return res, nil
}

func actByID(c *adminClient, verb, done string, ids []string) (*actResult, error) {
	res := &actResult{done: done}
	for _, id := range ids {
		var doc map[string][]string
		_, err := c.call(http.MethodPost, "/v1/dlq/"+url.PathEscape(id)+"/"+verb, nil, nil, &doc)
		var ae *apiError
		if errors.As(err, &ae) && ae.status == http.StatusNotFound && len(ids) > 1 {
			// One id that is not (or no longer) dead must not stop the rest.
			fl := actFailure{ID: id}
			fl.Error.Code, fl.Error.Message = ae.code, ae.message
			res.failed = append(res.failed, fl)
			continue
		}
		if err != nil {
			return nil, err
		}
		res.ids = append(res.ids, doc[done]...)
	}
	return res, nil
}

func unmarshalIfSet(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, v)
}

// print writes the runs acted on to stdout, one "<done> ID" line each,
// or with -json the server's answer (for ids, one document of the bulk
// answer's shape); failures go to stderr and exit 1.
func (r *actResult) print(e *env, asJSON bool, verb string) error {
	var err error
	switch {
	case asJSON && r.bulkJSON != nil:
		err = printRaw(e.stdout, r.bulkJSON)
	case asJSON:
		doc := map[string]any{r.done: nonNilStrings(r.ids)}
		if len(r.failed) > 0 {
			doc["failed"] = r.failed
		}
		err = printJSON(e.stdout, doc)
	case len(r.ids) == 0 && len(r.failed) == 0:
		_, err = fmt.Fprintf(e.stdout, "No dead letters matched; none %s.\n", r.done)
	default:
		for _, id := range r.ids {
			if _, err = fmt.Fprintf(e.stdout, "%s %s\n", r.done, id); err != nil {
				break
			}
		}
	}
	if err != nil {
		return err
	}
	if len(r.failed) == 0 {
		return nil
	}
	for _, fl := range r.failed {
		fmt.Fprintf(e.stderr, "hub dlq %s: %s: %s\n", verb, fl.ID, fl.Error.Message)
	}
	return errReported{fmt.Sprintf("%d of %d dead letters were not %s", len(r.failed), len(r.failed)+len(r.ids), r.done)}
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// confirmDiscard shows what a discard would drop and asks for "yes". It
// answers false with a nil error when there is nothing to discard.
func confirmDiscard(e *env, c *adminClient, f *dlqFilter, ids []string) (bool, error) {
	if len(ids) > 0 {
		fmt.Fprintf(e.stdout, "hub will discard these dead letters for good: %s\n", strings.Join(ids, ", "))
	} else {
		const limit = 1000
		dead, _, err := listDead(c, f, limit)
		if err != nil {
			return false, err
		}
		if len(dead) == 0 {
			fmt.Fprintln(e.stdout, "No dead letters matched; none discarded.")
			return false, nil
		}
		more := ""
		if len(dead) == limit {
			more = "at least "
		}
		fmt.Fprintf(e.stdout, "hub will discard %s%d dead letters for good", more, len(dead))
		if !f.All {
			fmt.Fprintf(e.stdout, ", and any others matching the selection when the discard runs")
		}
		fmt.Fprintln(e.stdout, ":")
		if err := printDead(e.stdout, dead, time.Now()); err != nil {
			return false, err
		}
	}
	if !confirm(e, "Discard them? Only 'yes' is accepted: ") {
		return false, errReported{"Discard cancelled."}
	}
	return true, nil
}

// confirm asks on stdout and reads one line from stdin; only "yes"
// approves.
func confirm(e *env, question string) bool {
	fmt.Fprint(e.stdout, "\n"+question)
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	fmt.Fprintln(e.stdout)
	return strings.TrimSpace(line) == "yes"
}

// ---- hub logs

// logEntry is one line of GET /v1/logs.
type logEntry struct {
	Time     time.Time                  `json:"time"`
	Level    string                     `json:"level"`
	Message  string                     `json:"message"`
	Tenant   string                     `json:"tenant,omitempty"`
	Workflow string                     `json:"workflow,omitempty"`
	Run      string                     `json:"run,omitempty"`
	Step     string                     `json:"step,omitempty"`
	Attempt  int                        `json:"attempt,omitempty"`
	Fields   map[string]json.RawMessage `json:"fields,omitempty"`
}

// maxLogLine bounds one log entry of the stream.
const maxLogLine = 4 << 20

func runLogs(e *env, args []string) error {
	var follow bool
	var workflow, run, level string
	var backlog int
	a, c, pos, err := adminCommand(e, "logs", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&follow, "f", false, "keep printing new entries until interrupted")
		fs.StringVar(&workflow, "workflow", "", "only entries of this workflow")
		fs.StringVar(&run, "run", "", "only entries of this run")
		fs.StringVar(&level, "level", "", "only entries at this level or above: debug, info, warn or error")
		fs.IntVar(&backlog, "n", 100, "print this many recent entries first")
	})
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	if backlog < 0 {
		return usageErr("-n must not be negative")
	}
	q := url.Values{}
	if follow {
		q.Set("follow", "true")
	}
	setNonEmpty(q, "workflow", workflow)
	setNonEmpty(q, "run", run)
	setNonEmpty(q, "level", level)
	q.Set("backlog", strconv.Itoa(backlog))

	// An interrupt is how an operator stops following: it ends the
	// request and the command succeeds.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !follow {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/logs", q, nil)
	if err != nil {
		if ctx.Err() != nil && follow {
			return nil
		}
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), maxLogLine)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if a.asJSON {
			if _, err := fmt.Fprintf(e.stdout, "%s\n", line); err != nil {
				return err
			}
			continue
		}
		var ent logEntry
		if err := json.Unmarshal(line, &ent); err != nil {
			// Print what came rather than lose a line.
			fmt.Fprintf(e.stdout, "%s\n", line)
			continue
		}
		if _, err := fmt.Fprintln(e.stdout, formatLog(&ent)); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil && follow {
			return nil
		}
		return fmt.Errorf("read the log stream from %s: %w", c.base, err)
	}
	if follow && ctx.Err() == nil {
		fmt.Fprintf(e.stderr, "hub logs: hub serve at %s ended the log stream\n", c.base)
	}
	return nil
}

// formatLog prints an entry on one line:
//
//	2026-11-23T22:01:02.123Z INFO  workflow/run step#attempt message k=v ...
//
// leaving out the workflow/run and step parts an entry does not have.
func formatLog(ent *logEntry) string {
	var b strings.Builder
	b.WriteString(ent.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	fmt.Fprintf(&b, " %-5s", strings.ToUpper(ent.Level))
	switch {
	case ent.Workflow != "" && ent.Run != "":
		b.WriteString(" " + ent.Workflow + "/" + ent.Run)
	case ent.Workflow != "":
		b.WriteString(" " + ent.Workflow)
	case ent.Run != "":
		b.WriteString(" " + ent.Run)
	}
	if ent.Step != "" {
		b.WriteString(" " + ent.Step)
		if ent.Attempt > 0 {
			fmt.Fprintf(&b, "#%d", ent.Attempt)
		}
	}
	b.WriteString(" " + oneLineText(ent.Message))
	keys := make([]string, 0, len(ent.Fields))
	for k := range ent.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(" " + k + "=" + fieldValue(ent.Fields[k]))
	}
	return b.String()
}

// fieldValue prints a string bare when it has no space, quote or '=',
// quoted otherwise, and any other JSON value as JSON.
func fieldValue(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"=") {
			return strconv.Quote(s)
		}
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return buf.String()
	}
	return string(raw)
}

// ---- formatting helpers

func setNonEmpty(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLineText keeps a message on one table row, without control
// characters.
func oneLineText(s string) string {
	return strings.Join(strings.Fields(terminalText(s)), " ")
}

// terminalText is text the host relays from elsewhere (a connection's
// Reason or LastError, which may carry a provider's words) made safe to
// print: control characters, terminal escapes' ESC among them, and
// bidirectional overrides become spaces, so the text cannot move the
// cursor, retitle the terminal or read backwards.
func terminalText(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return ' '
		}
		return r
	}, s)
}

// truncate shortens s to at most n runes, marking the cut with "...".
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}

// span prints a duration in at most two units: 45s, 5m12s, 3h12m, 2d3h.
func span(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return twoUnits(s/60, "m", s%60, "s")
	case s < 86400:
		return twoUnits(s/3600, "h", s%3600/60, "m")
	}
	return twoUnits(s/86400, "d", s%86400/3600, "h")
}

func twoUnits(a int64, au string, b int64, bu string) string {
	if b == 0 {
		return fmt.Sprintf("%d%s", a, au)
	}
	return fmt.Sprintf("%d%s%d%s", a, au, b, bu)
}

// ago prints a past moment relative to now ("3s ago"), or "never".
func ago(t *time.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	return span(now.Sub(*t)) + " ago"
}

// stamp prints a moment in UTC, to the millisecond.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

func msDuration(ms float64) string {
	d := time.Duration(ms * float64(time.Millisecond))
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}
