package metrics

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

var notMetricChar = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// Collector exposes what this instance has counted since it started, one
// counter family per kind (egovkit_<kind>_transactions_total) with the
// kind's label names. Register it with a prometheus.Registry; Prometheus
// sums instances and handles restarts as it does for any counter.
func (m *Metrics) Collector() prometheus.Collector { return collector{m} }

type collector struct{ m *Metrics }

// Describe sends nothing: the kinds are an open set, so the collector is
// unchecked.
func (collector) Describe(chan<- *prometheus.Desc) {}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	descs := map[string]*prometheus.Desc{}
	names := map[string][]string{}
	for _, s := range c.m.reg.snapshot() {
		d, ok := descs[s.kind]
		if !ok {
			names[s.kind] = c.m.labelNames(s.kind, len(s.labels))
			d = prometheus.NewDesc(
				"egovkit_"+strings.Trim(notMetricChar.ReplaceAllString(strings.ToLower(s.kind), "_"), "_")+"_transactions_total",
				"Transactions of kind "+s.kind+" counted by this instance since it started.",
				names[s.kind], nil)
			descs[s.kind] = d
		}
		values := make([]string, len(names[s.kind]))
		copy(values, s.labels)
		if len(s.labels) == 1 && s.labels[0] == OverflowLabel && len(values) > 0 {
			for i := range values {
				values[i] = OverflowLabel
			}
		}
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(s.total()), values...)
	}
}

// labelNames are the kind's declared label names, or label1…labelN.
func (m *Metrics) labelNames(kind string, n int) []string {
	if k, ok := m.kinds[kind]; ok {
		out := make([]string, len(k.Labels))
		for i, l := range k.Labels {
			out[i] = notMetricChar.ReplaceAllString(l, "_")
		}
		return out
	}
	out := make([]string, n)
	for i := range out {
		out[i] = "label" + strconv.Itoa(i+1)
	}
	return out
}
