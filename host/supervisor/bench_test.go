package supervisor_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/hubhq/hub/host/registry"
	"github.com/hubhq/hub/host/supervisor"
	connectorv1 "github.com/hubhq/hub/proto/connector/v1"
	"github.com/hubhq/hub/sdk/wire"
)

// The call benchmarks of docs/performance.md, one action call with a 1 KB
// payload each, in one run, all over AutoMTLS:
//
//   - Host: through everything hub puts on the path — supervisor handle,
//     wire adapters, and in the real example connector the SDK's input
//     validation, typed decoding and output encoding;
//   - HostWireEcho: the host's part alone — supervisor handle and wire
//     adapters to a plugin that echoes its input;
//   - BareEcho: go-plugin gRPC with the generated stub on both sides and
//     nothing of hub's.
//
//	make bench    (go test -run '^$' -bench . -benchmem -count 5 ./host/supervisor/)

// payload is a 1 KB JSON input for the example connector's echo action.
var payload = json.RawMessage(`{"message":"` + strings.Repeat("x", 1024-len(`{"message":""}`)) + `"}`)

func BenchmarkCall_Host_Sequential(b *testing.B) {
	benchCalls(b, hostCall(b, "example", "hub/example"), 1)
}

func BenchmarkCall_Host_64Concurrent(b *testing.B) {
	benchCalls(b, hostCall(b, "example", "hub/example"), 64)
}

func BenchmarkCall_HostWireEcho_Sequential(b *testing.B) {
	benchCalls(b, hostCall(b, "wireecho", "hub/wireecho"), 1)
}

func BenchmarkCall_HostWireEcho_64Concurrent(b *testing.B) {
	benchCalls(b, hostCall(b, "wireecho", "hub/wireecho"), 64)
}

func BenchmarkCall_BareEcho_Sequential(b *testing.B) { benchCalls(b, bareCall(b), 1) }

func BenchmarkCall_BareEcho_64Concurrent(b *testing.B) { benchCalls(b, bareCall(b), 64) }

type call func(ctx context.Context) error

// benchCalls runs b.N calls on `workers` goroutines and reports calls/s and
// the p50 and p99 latency of one call.
func benchCalls(b *testing.B, do call, workers int) {
	if len(payload) != 1024 {
		b.Fatalf("payload is %d bytes", len(payload))
	}
	ctx := context.Background()
	lat := make([][]time.Duration, workers)
	var next sync.Mutex
	remaining := b.N
	take := func() bool {
		next.Lock()
		defer next.Unlock()
		remaining--
		return remaining >= 0
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for take() {
				t0 := time.Now()
				if err := do(ctx); err != nil {
					b.Error(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	pct := func(p float64) float64 { return float64(all[int(float64(len(all)-1)*p)].Microseconds()) }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "calls/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
}

// hostCall is a plugin's echo action through a supervisor: the example
// connector (SDK) or wireecho (hub's adapters without the SDK).
func hostCall(b *testing.B, plugin, source string) call {
	b.Helper()
	inst, err := registry.Install(b.TempDir(), bins[plugin], source, "1.0.0")
	if err != nil {
		b.Fatal(err)
	}
	s := supervisor.New(supervisor.Options{Logger: hclog.NewNullLogger()})
	b.Cleanup(func() { s.Close() })
	c := s.Connector(inst)
	req := wire.ActionRequest{Action: "echo", Input: payload, IdempotencyKey: "run-1/step-1", Attempt: 1,
		Conn: wire.Connection{Name: "bench", Properties: json.RawMessage(`{}`), Tenant: "default"}}
	out, err := c.ExecuteAction(context.Background(), req)
	if err != nil || len(out) < 1024 {
		b.Fatalf("warm-up call: %d bytes, %v", len(out), err)
	}
	return func(ctx context.Context) error {
		_, err := c.ExecuteAction(ctx, req)
		return err
	}
}

// rawEcho dispenses the generated stub itself: no hub adapter in between.
type rawEcho struct {
	plugin.NetRPCUnsupportedPlugin
}

func (rawEcho) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }

func (rawEcho) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return connectorv1.NewConnectorClient(c), nil
}

// bareCall is the bareecho plugin through go-plugin alone.
func bareCall(b *testing.B) call {
	b.Helper()
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{wire.ProtocolVersion: {wire.PluginName: rawEcho{}}},
		Cmd:              exec.Command(bins["bareecho"]),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           hclog.NewNullLogger(),
	})
	b.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		b.Fatal(err)
	}
	raw, err := rpc.Dispense(wire.PluginName)
	if err != nil {
		b.Fatal(err)
	}
	stub := raw.(connectorv1.ConnectorClient)
	req := &connectorv1.ExecuteActionRequest{Action: "echo", InputJson: payload}
	return func(ctx context.Context) error {
		_, err := stub.ExecuteAction(ctx, req)
		return err
	}
}
