package ingest_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubhq/hub/host/ingest"
)

// BenchmarkAccept_64Concurrent is the durable webhook ack path: 64
// callers, each accepting one event of 1 KB at a time and waiting for its
// commit, as 64 concurrent HTTP requests do.
func BenchmarkAccept_64Concurrent(b *testing.B) { benchAccept(b, 64) }

// BenchmarkAccept_Sequential is one caller at a time: every Accept pays a
// whole sync, the floor group commit improves on.
func BenchmarkAccept_Sequential(b *testing.B) { benchAccept(b, 1) }

func benchAccept(b *testing.B, callers int) {
	in := start(b, ingest.Options{})
	// Random alphanumerics, as in MEASUREMENTS.md's ack measurements.
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	payload := make([]byte, 1024)
	for i := range payload {
		payload[i] = alnum[rand.IntN(len(alnum))]
	}
	latencies := make([][]time.Duration, callers)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for c := range callers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				ev := ingest.Event{Tenant: tenant, Trigger: "orders/created", ID: strconv.FormatInt(i, 10), Payload: payload}
				began := time.Now()
				if _, err := in.Accept(context.Background(), []ingest.Event{ev}); err != nil {
					b.Error(err)
					return
				}
				latencies[c] = append(latencies[c], time.Since(began))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	all := slices.Concat(latencies...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[int(p*float64(len(all)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(float64(len(all))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
