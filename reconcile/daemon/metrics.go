package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/recordctl/recordctl/providers"
)

// metrics are the daemon's Prometheus series, on their own registry.
type metrics struct {
	reconcileDur prometheus.Histogram
	reconciles   *prometheus.CounterVec   // trigger, result
	actions      *prometheus.CounterVec   // kind, provider, result
	requests     *prometheus.CounterVec   // provider, op, code
	requestDur   *prometheus.HistogramVec // provider, op
	tasks        *prometheus.GaugeVec     // status
	specErrors   prometheus.Gauge
	specStale    prometheus.Gauge
	reloads      *prometheus.CounterVec // result
	held         *prometheus.GaugeVec   // reason
	lag          *prometheus.HistogramVec
	missed       *prometheus.CounterVec // provider, reason
	lastSuccess  prometheus.Gauge
	ready        prometheus.Gauge
	watch        *prometheus.CounterVec // kind
	throttles    *prometheus.CounterVec // provider, op
	recorded     *prometheus.CounterVec // provider
}

// BuildInfo says what binary is running (recordctl_build_info).
type BuildInfo struct {
	Version, Revision, GoVersion string
}

// NewRegistry returns a registry with the Go runtime and process
// collectors and recordctl_build_info{version,revision,goversion} = 1, for
// Config.Registry.
func NewRegistry(b BuildInfo) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	registerRuntime(reg)
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "recordctl_build_info",
		Help: "Always 1; the labels say which recordctl build is running."}, []string{"version", "revision", "goversion"})
	g.WithLabelValues(b.Version, b.Revision, b.GoVersion).Set(1)
	reg.MustRegister(g)
	return reg
}

// newMetrics registers every series on reg; nextEdge feeds the gauge of
// seconds until the next window edge at scrape time.
func newMetrics(reg prometheus.Registerer, nextEdge func() float64) *metrics {
	m := &metrics{
		reconcileDur: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "recordctl_reconcile_duration_seconds",
			Help: "Time one reconcile takes: observe, plan, apply, re-assert.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}),
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recordctl_reconciles_total",
			Help: "Reconciles by what woke the daemon (start, change, edge, resync, reload, signal) and result (ok, error)."}, []string{"trigger", "result"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recordctl_actions_total",
			Help: "Plan actions carried out, by kind (create, stop, delete, adopt, reassert), Provider document and result."}, []string{"kind", "provider", "result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recordctl_provider_requests_total",
			Help: "Requests sent to providers, by Provider document, operation and the provider's code (OK on success); lists answered without a request are not counted."}, []string{"provider", "op", "code"}),
		requestDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "recordctl_provider_request_duration_seconds",
			Help: "Provider call latency by Provider document and operation.", Buckets: prometheus.DefBuckets}, []string{"provider", "op"}),
		tasks: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "recordctl_managed_tasks",
			Help: "Live managed tasks by status: the provider's (scheduled, recording, ...) where it reports one, else recordctl's phase (active, pending, waiting)."}, []string{"status"}),
		specErrors: prometheus.NewGauge(prometheus.GaugeOpts{Name: "recordctl_spec_errors",
			Help: "Problems in the spec directory now in force (see /readyz for each file:line:col)."}),
		specStale: prometheus.NewGauge(prometheus.GaugeOpts{Name: "recordctl_spec_stale_files",
			Help: "Files whose last valid version is in force because the current one has errors."}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recordctl_spec_reloads_total",
			Help: "Reloads of the spec directory, by whether the documents in force changed."}, []string{"result"}),
		held: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "recordctl_held_actions",
			Help: "Stops and deletes held back at the last reconcile, by reason (spec-errors, mass-stop)."}, []string{"reason"}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "recordctl_window_start_lag_seconds",
			Help:    "From a window's start to the first call that creates its task (0 when created ahead); windows found already open at startup included.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}}, []string{"provider"}),
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recordctl_windows_missed_total",
			Help: "Windows that got no accepted start: by Provider document and reason (down: opened and closed while recordctl was not reconciling the provider; late: a start could no longer succeed before the window closed)."}, []string{"provider", "reason"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recordctl_provider_throttles_total",
			Help: "Requests a provider refused as over its rate limit, by Provider document and operation."}, []string{"provider", "op"}),
		recorded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recordctl_windows_recorded_total",
			Help: "Window pieces whose task was created or adopted, by Provider document."}, []string{"provider"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "recordctl_last_reconcile_success_timestamp_seconds",
			Help: "Unix time of the last reconcile without errors."}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{Name: "recordctl_ready",
			Help: "1 when /readyz answers 200."}),
		watch: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recordctl_watch_events_total",
			Help: "File watch events by kind (event, overflow, error)."}, []string{"kind"}),
	}
	reg.MustRegister(m.reconcileDur, m.reconciles, m.actions, m.requests, m.requestDur, m.tasks, m.specErrors,
		m.specStale, m.reloads, m.held, m.lag, m.missed, m.lastSuccess, m.ready, m.watch, m.throttles, m.recorded,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "recordctl_next_window_edge_seconds",
			Help: "Seconds until the next window edge the daemon will wake for; -1 when none is due before the next resync."}, nextEdge))
	return m
}

// registerRuntime adds the Go runtime and process collectors.
func registerRuntime(reg prometheus.Registerer) {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// observeCall records one provider call.
func (m *metrics) observeCall(provider, op string, err error, took time.Duration) {
	m.requests.WithLabelValues(provider, op, errCode(err)).Inc()
	m.requestDur.WithLabelValues(provider, op).Observe(took.Seconds())
	if providers.ClassOf(err) == providers.Throttled {
		m.throttles.WithLabelValues(provider, op).Inc()
	}
}

// errCode is the provider's own code for err, "OK" for nil, or the error's
// class when the provider gave no code (transport errors, timeouts).
func errCode(err error) string {
	if err == nil {
		return "OK"
	}
	var pe *providers.Error
	if errors.As(err, &pe) && pe.Code != "" {
		return pe.Code
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "canceled"
	}
	return providers.ClassOf(err).String()
}
