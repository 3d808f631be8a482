package ha

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the leadership series: recordctl_leader{provider} 0/1,
// elections won and lost, and writes refused by fencing. A nil *Metrics
// records nothing.
type Metrics struct {
	leader *prometheus.GaugeVec
	wins   *prometheus.CounterVec
	lost   *prometheus.CounterVec
	fenced prometheus.Counter
}

// NewMetrics registers the series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		leader: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "recordctl_leader",
			Help: "1 while this replica leads the Provider document (reconciles it), else 0."}, []string{"provider"}),
		wins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recordctl_elections_won_total",
			Help: "Elections this replica won, by Provider document."}, []string{"provider"}),
		lost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "recordctl_elections_lost_total",
			Help: "Leaderships this replica lost, by Provider document and reason (lease expired, election key deleted, handover, resigned)."}, []string{"provider", "reason"}),
		fenced: prometheus.NewCounter(prometheus.CounterOpts{Name: "recordctl_fenced_writes_total",
			Help: "State writes etcd refused because this replica no longer held the leadership they were conditioned on."}),
	}
	reg.MustRegister(m.leader, m.wins, m.lost, m.fenced)
	return m
}

func (m *Metrics) won(p string) {
	if m == nil {
		return
	}
	m.wins.WithLabelValues(p).Inc()
	m.leader.WithLabelValues(p).Set(1)
}

func (m *Metrics) ended(p, reason string) {
	if m == nil {
		return
	}
	m.lost.WithLabelValues(p, reason).Inc()
	m.leader.WithLabelValues(p).Set(0)
}

// Fenced counts one refused write (pass it as etcdstate.Options.OnFenced).
func (m *Metrics) Fenced() {
	if m == nil {
		return
	}
	m.fenced.Inc()
}

// Collectors are the series, to register on another registry as well.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.leader, m.wins, m.lost, m.fenced}
}
