package engine

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hubhq/hub/host/runs"
	"github.com/hubhq/hub/sdk/fault"
)

// metrics are the engine's Prometheus series. Per-trigger and
// per-connection health are gauges read at scrape time from status.
type metrics struct {
	eventsAccepted  *prometheus.CounterVec
	eventsDuplicate *prometheus.CounterVec
	eventsFiltered  *prometheus.CounterVec
	webhookRejected *prometheus.CounterVec
	pollErrors      *prometheus.CounterVec
	runsStarted     *prometheus.CounterVec
	runsFinished    *prometheus.CounterVec
	attempts        *prometheus.CounterVec
	attemptSeconds  *prometheus.HistogramVec
}

func newMetrics(e *Engine, reg prometheus.Registerer) *metrics {
	m := &metrics{
		eventsAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hub_events_accepted_total",
			Help: "Events stored durably, by workflow."}, []string{"workflow"}),
		eventsDuplicate: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hub_events_duplicate_total",
			Help: "Deliveries of events already stored, dropped by the dedup index."}, []string{"workflow"}),
		eventsFiltered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hub_events_filtered_total",
			Help: "Events whose trigger when was false (or failed), so no run started."}, []string{"workflow"}),
		webhookRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hub_webhook_rejected_total",
			Help: "Webhook deliveries the connector refused, by error kind."}, []string{"workflow", "kind"}),
		pollErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hub_poll_errors_total",
			Help: "Failed polls, by error kind."}, []string{"workflow", "kind"}),
		runsStarted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hub_runs_started_total",
			Help: "Runs started."}, []string{"workflow"}),
		runsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hub_runs_finished_total",
			Help: "Runs finished, by status (succeeded, failed, dead)."}, []string{"workflow", "status"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hub_step_attempts_total",
			Help: "Action attempts, by connection, action and result (ok or the error kind)."}, []string{"connection", "action", "result"}),
		attemptSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "hub_step_attempt_seconds",
			Help: "Duration of action attempts.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"connection"}),
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.eventsAccepted, m.eventsDuplicate, m.eventsFiltered, m.webhookRejected, m.pollErrors,
		m.runsStarted, m.runsFinished, m.attempts, m.attemptSeconds, &statusCollector{e: e})
	return m
}

func (m *metrics) attempt(conn, action string, err error, took time.Duration) {
	result := "ok"
	if err != nil {
		result = fault.KindOf(err).String()
	}
	m.attempts.WithLabelValues(conn, action, result).Inc()
	m.attemptSeconds.WithLabelValues(conn).Observe(took.Seconds())
}

func (m *metrics) runFinished(r *runs.Run) {
	m.runsFinished.WithLabelValues(r.Workflow, string(r.Status)).Inc()
}

// statusCollector exposes the status (queue, breakers, trigger health)
// as gauges computed at scrape time.
type statusCollector struct{ e *Engine }

var (
	descQueue  = prometheus.NewDesc("hub_queue_jobs", "Queued steps, by state (due now or scheduled later).", []string{"state"}, nil)
	descDead   = prometheus.NewDesc("hub_dead_letters", "Runs waiting in the dead-letter queue.", nil, nil)
	descInFl   = prometheus.NewDesc("hub_connection_in_flight", "Action calls in flight, by connection.", []string{"connection"}, nil)
	descBrk    = prometheus.NewDesc("hub_connection_breaker_open", "1 when the connection's circuit breaker is open or half-open.", []string{"connection", "state"}, nil)
	descLast   = prometheus.NewDesc("hub_trigger_last_success_timestamp_seconds", "When the trigger last received or polled successfully.", []string{"workflow", "mode"}, nil)
	descLag    = prometheus.NewDesc("hub_trigger_lag_seconds", "Seconds since the trigger's last success.", []string{"workflow", "mode"}, nil)
	descFail   = prometheus.NewDesc("hub_trigger_failing", "1 while the trigger's latest attempt failed.", []string{"workflow", "mode"}, nil)
	descFailS  = prometheus.NewDesc("hub_trigger_failing_seconds", "How long the trigger has been failing.", []string{"workflow", "mode"}, nil)
	descConn   = prometheus.NewDesc("hub_stream_connected", "1 while a stream trigger's stream is open.", []string{"workflow"}, nil)
	descRecon  = prometheus.NewDesc("hub_stream_reconnects_total", "Times a stream trigger's stream was opened again.", []string{"workflow"}, nil)
	descBehind = prometheus.NewDesc("hub_stream_behind_seconds", "How far behind the third party a stream trigger's latest stored events were.", []string{"workflow"}, nil)
)

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueue, descDead, descInFl, descBrk, descLast, descLag, descFail, descFailS, descConn, descRecon, descBehind} {
		ch <- d
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := c.e.Status(c.e.ctx, c.e.tenant)
	if err != nil {
		return
	}
	now := time.Now()
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(st.Queue.Due), "due")
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(st.Queue.Scheduled), "scheduled")
	ch <- prometheus.MustNewConstMetric(descDead, prometheus.GaugeValue, float64(st.Queue.DeadLetters))
	for _, cs := range st.Connections {
		ch <- prometheus.MustNewConstMetric(descInFl, prometheus.GaugeValue, float64(cs.InFlight), cs.Name)
		open := 0.0
		if cs.Breaker != "closed" {
			open = 1
		}
		ch <- prometheus.MustNewConstMetric(descBrk, prometheus.GaugeValue, open, cs.Name, cs.Breaker)
	}
	for _, t := range st.Triggers {
		if t.LastSuccess != nil {
			ch <- prometheus.MustNewConstMetric(descLast, prometheus.GaugeValue, float64(t.LastSuccess.UnixNano())/1e9, t.Workflow, t.Mode)
			ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, t.LagSeconds, t.Workflow, t.Mode)
		}
		failing, since := 0.0, 0.0
		if t.FailingSince != nil {
			failing, since = 1, now.Sub(*t.FailingSince).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(descFail, prometheus.GaugeValue, failing, t.Workflow, t.Mode)
		ch <- prometheus.MustNewConstMetric(descFailS, prometheus.GaugeValue, since, t.Workflow, t.Mode)
		if t.Connected != nil {
			up := 0.0
			if *t.Connected {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(descConn, prometheus.GaugeValue, up, t.Workflow)
			ch <- prometheus.MustNewConstMetric(descRecon, prometheus.CounterValue, float64(t.Reconnects), t.Workflow)
		}
		if t.BehindSeconds != nil {
			ch <- prometheus.MustNewConstMetric(descBehind, prometheus.GaugeValue, *t.BehindSeconds, t.Workflow)
		}
	}
}
