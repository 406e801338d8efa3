// Package wire is protocol v1 between the hub host and a connector plugin,
// in Go: the Connector interface both sides speak, the values that cross
// the boundary, the go-plugin handshake, and one small gRPC adapter for each
// side (GRPCServer wraps an implementation inside the plugin, the client
// wraps the generated stub inside the host).
//
// Connector authors use package sdk, which builds a Connector from their
// declaration; the host dispenses a Connector from a launched plugin. Neither
// touches the generated protobuf code. This package must not import the host.
package wire
