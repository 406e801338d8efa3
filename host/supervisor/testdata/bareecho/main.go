// Command bareecho is the baseline for the call benchmarks: a go-plugin
// gRPC plugin whose ExecuteAction returns its input unchanged, with no hub
// code on either side of the wire (no SDK, no adapters, no supervisor).
package main

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	connectorv1 "github.com/hubhq/hub/proto/connector/v1"
	"github.com/hubhq/hub/sdk/wire"
)

type echo struct {
	connectorv1.UnimplementedConnectorServer
}

func (echo) ExecuteAction(_ context.Context, req *connectorv1.ExecuteActionRequest) (*connectorv1.ExecuteActionResponse, error) {
	return &connectorv1.ExecuteActionResponse{OutputJson: req.GetInputJson()}, nil
}

type rawPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (rawPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	connectorv1.RegisterConnectorServer(s, echo{})
	return nil
}

func (rawPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return connectorv1.NewConnectorClient(c), nil
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{wire.ProtocolVersion: {wire.PluginName: rawPlugin{}}},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}
