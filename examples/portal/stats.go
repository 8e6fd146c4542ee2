package main

import (
	"context"
	"net/http"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Athens wherever the portal runs

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/examples/agency/agency"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/metrics"
)

// transactionKinds are the kinds the portal counts, with their labels:
// those auth, declaration, consent and the demo's agency report to the
// *metrics.Metrics they are given as their Counter, named as those
// packages name them.
var transactionKinds = []metrics.Kind{
	{Name: auth.CountSignIn, Labels: auth.CountLabels()},
	{Name: interop.KindCall, Labels: interopCountLabels},
	{Name: declaration.CountDeclaration, Labels: declaration.CountLabels(), ReplacesVisit: true},
	{Name: declaration.CountAuthorization, Labels: declaration.CountLabels(), ReplacesVisit: true},
	{Name: metrics.KindCertificate, Labels: []string{"agency", "channel"}, ReplacesVisit: true},
	{Name: consent.CountKind, Labels: consent.CountLabels()},
	{Name: agency.CountApplication, Labels: agency.CountLabels(), ReplacesVisit: true},
}

// interopCountLabels are the labels the gateway counts its calls with,
// in its order: the consumer's and the service's X-Road identifiers and
// the outcome. The published history has none, so it adds to every
// consumer, service and outcome alike.
var interopCountLabels = []string{"consumer", "service", "outcome"}

// callLatency gives the gateway's call durations to the Prometheus
// histogram of /metrics, by the labels the calls are counted with.
type callLatency struct{ h *prometheus.HistogramVec }

func (c callLatency) Observe(kind string, seconds float64, labels ...string) {
	if kind != interop.KindCallSeconds || len(labels) != len(interopCountLabels) {
		return
	}
	c.h.WithLabelValues(labels...).Observe(seconds)
}

// publishedHistory is what Greece published of its digital transactions
// before this portal counted any: gov.gr announcements of 2019 to 2021.
const publishedHistory = `kind,labels,period,total
all,,2018,8780889
all,,2019,34688318
all,,2020,94000000
all,,2021-H1,150000000
authentication,,2020,54000000
authentication,,2021-H1,86000000
interop_call,,2020,37000000
interop_call,,2021-H1,64000000
declaration,,2020,2140284
authorization,,2020,845027
`

// mountStats starts counting, seeds the published history (importing it
// again changes nothing) and mounts the statistics API at /stats/api/,
// the page at /stats and the Prometheus exposition at /metrics.
func (a *app) mountStats(ctx context.Context, mux *http.ServeMux, cfg appConfig) error {
	athens, err := time.LoadLocation("Europe/Athens")
	if err != nil {
		return err
	}
	m, err := metrics.New(ctx, metrics.Config{DB: cfg.DB, Location: athens, Kinds: transactionKinds, Logger: a.log})
	if err != nil {
		return err
	}
	a.metrics = m
	a.closers = append(a.closers, m.Close)
	if err := m.ImportCSV(ctx, "gov.gr announcements, 2019 to 2021", strings.NewReader(publishedHistory)); err != nil {
		return err
	}
	page, err := m.PageHandler(metrics.PageConfig{APIPrefix: "/stats/api/", StaticPrefix: sharedStatic, Comparisons: []metrics.Comparison{
		{Period: "2021-H1", Base: "2020"}, {Period: "2020", Base: "2019"}, {Period: "2019", Base: "2018"},
	}})
	if err != nil {
		return err
	}
	mux.Handle("/stats/api/", http.StripPrefix("/stats/api", m.APIHandler()))
	mux.Handle("GET /stats", page)
	reg := prometheus.NewRegistry()
	a.callSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "egovkit_" + interop.KindCallSeconds,
		Help:    "Duration of the calls through the exchange gateway, from the request to the end of the answer.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, interopCountLabels)
	reg.MustRegister(m.Collector(), a.callSeconds, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	for i := range a.services {
		if a.services[i].Key == "metrics" {
			a.services[i].Href = "/stats"
		}
	}
	return nil
}
