package server

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's own series. Routes are mux patterns, never raw
// paths, so a scan of random URLs cannot grow the label set.
type metrics struct {
	requests        *prometheus.CounterVec
	webhookDuration *prometheus.HistogramVec
	tooLarge        *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hub",
			Subsystem: "http",
			Name:      "requests_total",
			Help:      "HTTP requests by route (the mux pattern, or \"unmatched\") and status code.",
		}, []string{"route", "code"}),
		webhookDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "hub",
			Subsystem: "webhook",
			Name:      "request_duration_seconds",
			Help:      "Time from a webhook request's arrival to its answer, storing the events included, by status code.",
			Buckets:   []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"code"}),
		tooLarge: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hub",
			Subsystem: "http",
			Name:      "request_body_too_large_total",
			Help:      "Requests refused with 413 because their body was over the limit, by route.",
		}, []string{"route"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.webhookDuration, m.tooLarge} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register server metrics: %w", err)
		}
	}
	return m, nil
}
