package main

import (
	"math"
	"slices"
	"time"
)

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted, or 0 when it is empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// summary is the p50 and p99 of latencies, in milliseconds.
func summary(latencies []time.Duration) (p50, p99 float64) {
	s := slices.Clone(latencies)
	slices.Sort(s)
	return ms(percentile(s, 50)), ms(percentile(s, 99))
}

// ms is d in milliseconds, rounded to microseconds.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// perSecond is n over d, rounded to one decimal; 0 when d is not positive.
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return math.Round(float64(n)/d.Seconds()*10) / 10
}

// mb is a size in kilobytes as megabytes (MiB), rounded to one decimal.
func mb(kb int64) float64 {
	return math.Round(float64(kb)/1024*10) / 10
}

// seconds is d in seconds, rounded to two decimals.
func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*100) / 100
}
