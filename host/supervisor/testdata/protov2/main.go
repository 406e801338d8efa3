// Command protov2 is a connector built against a future plugin protocol 2:
// it answers the handshake with version 2 only, which a v1 host must refuse.
package main

import (
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/hubhq/hub/host/supervisor/testdata/unsupported"
	"github.com/hubhq/hub/sdk/wire"
)

func main() {
	handshake := wire.Handshake
	handshake.ProtocolVersion = 2
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  handshake,
		VersionedPlugins: map[int]plugin.PluginSet{2: {wire.PluginName: &wire.GRPCPlugin{Impl: unsupported.Connector{}}}},
		GRPCServer:       plugin.DefaultGRPCServer,
		Logger:           hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, JSONFormat: true, Output: os.Stderr}),
	})
}
