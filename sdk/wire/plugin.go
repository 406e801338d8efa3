package wire

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	connectorv1 "github.com/hubhq/hub/proto/connector/v1"
)

// ProtocolVersion is the plugin protocol this package speaks.
const ProtocolVersion = 1

// PluginName is the name of the connector plugin in a go-plugin plugin set.
const PluginName = "connector"

// MaxMessageBytes bounds one gRPC message in either direction; webhook
// bodies and action payloads must fit.
const MaxMessageBytes = 64 << 20

// Handshake is the go-plugin handshake shared by host and connectors. The
// magic cookie is not a secret: it only stops a connector binary from doing
// anything when run by hand, outside a host.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "HUB_CONNECTOR_PLUGIN",
	MagicCookieValue: "b3c5f2a4e1d84a9c9f6e0d7a2c4b8e13",
}

// GRPCPlugin adapts a Connector to go-plugin. Inside a plugin Impl is set;
// inside the host it is nil and GRPCClient returns the client adapter.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Connector
	// Logger receives what the plugin side logs itself (a handler's
	// panic with its stack); nil discards it.
	Logger hclog.Logger
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers the connector service on the plugin's gRPC server.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return fmt.Errorf("connector plugin has no implementation")
	}
	connectorv1.RegisterConnectorServer(s, NewGRPCServer(p.Impl, p.Logger))
	return nil
}

// GRPCClient returns the host-side Connector for a plugin connection.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return NewGRPCClient(connectorv1.NewConnectorClient(c)), nil
}

// ClientPlugins is the host's map of protocol versions it speaks.
func ClientPlugins() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{ProtocolVersion: {PluginName: &GRPCPlugin{}}}
}

// ServerPlugins is a plugin's map of protocol versions it speaks.
func ServerPlugins(impl Connector, logger hclog.Logger) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{ProtocolVersion: {PluginName: &GRPCPlugin{Impl: impl, Logger: logger}}}
}

// GRPCDialOptions are the host's dial options for a plugin connection.
func GRPCDialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(
		grpc.MaxCallRecvMsgSize(MaxMessageBytes),
		grpc.MaxCallSendMsgSize(MaxMessageBytes),
	)}
}

// Dispense returns the Connector served over an established plugin client.
func Dispense(rpc plugin.ClientProtocol) (Connector, error) {
	raw, err := rpc.Dispense(PluginName)
	if err != nil {
		return nil, fmt.Errorf("dispense %s plugin: %w", PluginName, err)
	}
	c, ok := raw.(Connector)
	if !ok {
		return nil, fmt.Errorf("plugin dispensed %T, not a connector", raw)
	}
	return c, nil
}

// Serve runs impl as a plugin process: it answers the host's handshake on
// stdout and serves gRPC until the host stops it. Logs written to logger go
// to stderr as JSON, where the host picks them up. If the host dies without
// stopping the plugin (SIGKILL), the plugin notices its parent is gone and
// exits, so no process is left behind.
func Serve(impl Connector, logger hclog.Logger) {
	if os.Getenv(Handshake.MagicCookieKey) != Handshake.MagicCookieValue {
		fmt.Fprintln(os.Stderr, "This binary is a hub connector plugin. It is launched by hub, not run by hand.\n"+
			"Install it with: hub connectors install PATH")
		os.Exit(1)
	}
	go exitWhenOrphaned(os.Getppid(), time.Second)
	tuneGC(os.Getenv)
	if path := os.Getenv(CPUProfileEnv); path != "" {
		stop, err := startCPUProfile(path)
		if err != nil {
			logger.Error("cannot profile the connector", "error", err)
		} else {
			defer stop()
		}
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: ServerPlugins(impl, logger),
		Logger:           logger,
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes))
			return grpc.NewServer(opts...)
		},
	})
}

// GC settings for a connector process unless the operator set GOGC or
// GOMEMLIMIT for it. A connector holds little live heap and allocates per
// call (JSON payloads), so at Go's default GOGC=100 it collects very often
// and takes CPU from the host on the same cores. It collects at 4x its live
// heap instead, with a soft limit so a connector whose heap does grow large
// still collects in time.
const (
	pluginGCPercent   = 400
	pluginMemoryLimit = 512 << 20
)

func tuneGC(getenv func(string) string) bool {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return false
	}
	debug.SetGCPercent(pluginGCPercent)
	debug.SetMemoryLimit(pluginMemoryLimit)
	return true
}

// CPUProfileEnv names an environment variable that makes a connector write
// a CPU profile of its whole run to that path (a host passes it on with the
// connector's environment), for finding what a connector spends its time
// on under real load: go tool pprof PATH.
const CPUProfileEnv = "HUB_CONNECTOR_CPUPROFILE"

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("start CPU profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func exitWhenOrphaned(parent int, every time.Duration) {
	for range time.Tick(every) {
		if os.Getppid() != parent {
			os.Exit(2)
		}
	}
}
