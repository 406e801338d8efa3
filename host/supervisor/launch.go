package supervisor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/sdk/fault"
	"github.com/hubhq/hub/sdk/wire"
)

// instance is one launched, connected plugin process.
type instance struct {
	client    *plugin.Client
	cmd       *exec.Cmd
	conn      wire.Connector
	pid       int
	protocol  int
	started   time.Time // when the launch began, for uptime
	startedAt time.Time // when the process was connected
	// exited is closed once the process has exited and been reaped.
	exited <-chan struct{}
}

func (in *instance) alive() bool {
	select {
	case <-in.exited:
		return false
	default:
		return true
	}
}

// stop ends the process (gracefully first, if it is still up), waits until
// it is reaped and go-plugin's goroutines are done, and says how it ended.
func (in *instance) stop() string {
	in.client.Kill()
	if ps := in.cmd.ProcessState; ps != nil {
		return "exited unexpectedly (" + ps.String() + ")"
	}
	return "exited unexpectedly"
}

// exitSignal wraps the host side of the connector plugin to learn when the
// process exits: go-plugin passes GRPCClient a context that it cancels once
// the plugin process has exited, which saves polling Client.Exited.
type exitSignal struct {
	plugin.NetRPCUnsupportedPlugin
	inner plugin.GRPCPlugin

	mu   sync.Mutex
	done <-chan struct{}
}

func (e *exitSignal) GRPCServer(b *plugin.GRPCBroker, s *grpc.Server) error {
	return e.inner.GRPCServer(b, s)
}

func (e *exitSignal) GRPCClient(ctx context.Context, b *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	e.mu.Lock()
	e.done = ctx.Done()
	e.mu.Unlock()
	return e.inner.GRPCClient(ctx, b, c)
}

func (e *exitSignal) exited() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.done
}

// clientPlugins is wire.ClientPlugins with the connector plugin of every
// version wrapped in one exitSignal. A fresh set per launch, because
// go-plugin keeps and mutates the map it is given.
func clientPlugins() (map[int]plugin.PluginSet, *exitSignal) {
	sig := &exitSignal{}
	versions := wire.ClientPlugins()
	for _, set := range versions {
		if inner, ok := set[wire.PluginName].(plugin.GRPCPlugin); ok {
			sig.inner = inner
			set[wire.PluginName] = sig
		}
	}
	return versions, sig
}

// launch starts the plugin process, verifies and connects to it. On any
// failure the process is stopped and reaped before launch returns, and the
// error says in one line what went wrong and what to do.
func (p *proc) launch() (*instance, *fault.Error) {
	inst := p.inst
	if err := checkBinary(inst); err != nil {
		return nil, err
	}
	plugins, sig := clientPlugins()
	if sig.inner == nil {
		return nil, fault.Permanentf("launch %s: this hub has no gRPC connector plugin for protocol %d", inst, wire.ProtocolVersion)
	}
	cmd := exec.Command(inst.Path)
	setProcAttr(cmd)
	stderr := &tailWriter{}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: plugins,
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		// go-plugin hashes the file right before it starts it, so a
		// binary replaced after install never runs.
		SecureConfig:    &plugin.SecureConfig{Checksum: inst.SHA256, Hash: sha256.New()},
		AutoMTLS:        true,
		StartTimeout:    p.s.opts.StartTimeout,
		GRPCDialOptions: wire.GRPCDialOptions(),
		// go-plugin parses the plugin's JSON log lines from stderr and
		// re-logs them through a sub-logger of this one, so they carry
		// the connector and version tags.
		Logger: p.logger,
		Stderr: stderr,
		// What the plugin prints to os.Stdout/os.Stderr (rather than
		// through its logger) arrives over the stdio stream.
		SyncStdout: p.logger.Named("stdout").StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true}),
		SyncStderr: p.logger.Named("stderr").StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true}),
	})
	started := time.Now()
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, classifyStart(inst, p.s.opts.StartTimeout, err, cmd, stderr.lastLine())
	}
	stderr.stop()
	conn, err := wire.Dispense(rpc)
	if err != nil {
		client.Kill()
		return nil, fault.Permanentf("launch %s: %v", inst, err)
	}
	exited := sig.exited()
	if exited == nil {
		client.Kill()
		return nil, fault.Permanentf("launch %s: go-plugin gave no exit signal for the plugin process", inst)
	}
	if cmd.Process == nil {
		client.Kill()
		return nil, fault.Permanentf("launch %s: no process after the handshake", inst)
	}
	return &instance{
		client: client, cmd: cmd, conn: conn,
		pid: cmd.Process.Pid, protocol: client.NegotiatedVersion(),
		started: started, startedAt: time.Now(), exited: exited,
	}, nil
}

// checkBinary catches the common install problems before go-plugin does,
// to name them plainly.
func checkBinary(inst registry.Installed) *fault.Error {
	reinstall := "reinstall with: hub connectors install PATH --source " + inst.Source
	if inst.Path == "" {
		return fault.Permanentf("launch %s: no binary path; resolve the connector from the plugin directory", inst)
	}
	if len(inst.SHA256) == 0 {
		return fault.Permanentf("launch %s: no checksum for %s, so it cannot be verified; %s", inst, inst.Path, reinstall)
	}
	fi, err := os.Stat(inst.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fault.Permanentf("launch %s: %s does not exist; %s", inst, inst.Path, reinstall)
	case err != nil:
		return fault.Permanentf("launch %s: %v", inst, err)
	case !fi.Mode().IsRegular():
		return fault.Permanentf("launch %s: %s is not a regular file; %s", inst, inst.Path, reinstall)
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0:
		return fault.Permanentf("launch %s: %s is not executable; %s", inst, inst.Path, reinstall)
	}
	return nil
}

// go-plugin reports most start failures only as text; these match the
// messages of go-plugin v1.8 (client.go), and anything unmatched still
// comes back, as a retryable launch failure with go-plugin's own words.
var (
	reOtherProtocol  = regexp.MustCompile(`incompatible API version with plugin\. Plugin version: (\d+)`)
	reUnrecognized   = regexp.MustCompile(`Unrecognized remote plugin message: ([^\n]*)`)
	errStartTimedOut = "timeout while waiting for plugin to start"
	errExitedAtStart = "plugin exited before we could connect"
)

// classifyStart turns a go-plugin start failure into a one-line fault. A
// bad binary is permanent: launching it again cannot help. A process that
// died or hung at start is retryable: that can be the machine, not the
// binary. cmd has been reaped by client.Kill, so its ProcessState is final.
func classifyStart(inst registry.Installed, timeout time.Duration, err error, cmd *exec.Cmd, lastStderr string) *fault.Error {
	msg := err.Error()
	var pathErr *fs.PathError
	exited := func() string {
		s := "the plugin exited at start"
		if ps := cmd.ProcessState; ps != nil {
			s += " (" + ps.String() + ")"
		}
		s += " before the plugin handshake"
		if lastStderr != "" {
			s += "; its last output: " + strconv.Quote(lastStderr)
		}
		return s
	}
	switch {
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		return fault.Permanentf("launch %s: checksum of %s does not match SHA256SUMS: the binary changed after install; reinstall it with: hub connectors install PATH --source %s",
			inst, inst.Path, inst.Source)
	case errors.As(err, &pathErr):
		// exec itself failed: permissions, a binary for another
		// platform, a missing interpreter.
		if errors.Is(err, fs.ErrPermission) {
			return fault.Permanentf("launch %s: %s is not executable (%v); reinstall it with: hub connectors install PATH --source %s",
				inst, inst.Path, pathErr.Err, inst.Source)
		}
		if errors.Is(err, syscall.ENOEXEC) {
			return fault.Permanentf("launch %s: %s is not a program for %s; install a build for this platform", inst, inst.Path, registry.Platform())
		}
		return fault.Permanentf("launch %s: cannot run %s: %v", inst, inst.Path, pathErr.Err)
	case reOtherProtocol.MatchString(msg):
		theirs := reOtherProtocol.FindStringSubmatch(msg)[1]
		return fault.Permanentf("%s speaks plugin protocol %s but this hub speaks %d; install a version built with the v%d SDK",
			inst, theirs, wire.ProtocolVersion, wire.ProtocolVersion)
	case strings.Contains(msg, "incompatible core API version"):
		return fault.Permanentf("launch %s: %s was built with an incompatible go-plugin; rebuild it with the hub SDK", inst, inst.Path)
	case strings.Contains(msg, "unsupported plugin protocol"):
		return fault.Permanentf("launch %s: %s does not serve gRPC (%s); rebuild it with the hub SDK", inst, inst.Path, msg)
	case strings.Contains(msg, errStartTimedOut):
		return fault.Retryablef("launch %s: no plugin handshake within %s, so it was stopped; check that %s is a hub connector built with the hub SDK and look for its log lines",
			inst, timeout, inst.Path)
	case strings.Contains(msg, errExitedAtStart):
		return fault.Retryablef("launch %s: %s", inst, exited())
	case reUnrecognized.MatchString(msg):
		printed := strings.TrimSpace(reUnrecognized.FindStringSubmatch(msg)[1])
		if printed == "" {
			// Nothing on stdout before the pipe closed: it died.
			return fault.Retryablef("launch %s: %s", inst, exited())
		}
		return fault.Permanentf("launch %s: %s is not a hub connector: it printed %q instead of the plugin handshake", inst, inst.Path, printed)
	}
	return fault.Retryablef("launch %s: %s", inst, firstLine(msg))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// tailWriter keeps the end of a plugin's stderr during its start, so a
// plugin that dies before the handshake can be reported with its last
// words; after the handshake go-plugin's log forwarding is enough.
type tailWriter struct {
	mu      sync.Mutex
	buf     []byte
	stopped bool
}

const tailBytes = 4 << 10

func (w *tailWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return len(b), nil
	}
	w.buf = append(w.buf, b...)
	if len(w.buf) > tailBytes {
		w.buf = append([]byte(nil), w.buf[len(w.buf)-tailBytes:]...)
	}
	return len(b), nil
}

func (w *tailWriter) stop() {
	w.mu.Lock()
	w.stopped, w.buf = true, nil
	w.mu.Unlock()
}

// lastLine is the last non-empty line written, cut to a readable length.
func (w *tailWriter) lastLine() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := bytes.Split(bytes.TrimSpace(w.buf), []byte("\n"))
	line := string(bytes.TrimSpace(lines[len(lines)-1]))
	if len(line) > 300 {
		line = line[:300] + "…"
	}
	return line
}
