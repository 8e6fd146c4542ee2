package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
	"github.com/egovkit/egovkit/metrics"
)

// The hot path, run on every core at once (b.RunParallel), beside the
// natural baseline: a client_golang counter in the same run.

func benchMetrics(b *testing.B) *metrics.Metrics {
	b.Helper()
	m, err := metrics.New(context.Background(), metrics.Config{DB: sqltest.SQLite(b).DB.DB, Kinds: kinds, FlushEvery: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

func BenchmarkPreboundIncrement(b *testing.B) {
	h := benchMetrics(b).Handle(metrics.KindAuthentication, "gsis", "taxisnet", metrics.ChannelDigital)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Inc()
		}
	})
}

func BenchmarkPreboundIncrementPrometheus(b *testing.B) {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "egovkit_bench_total", Help: "baseline"})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Inc()
		}
	})
}

func BenchmarkLabelledCount(b *testing.B) {
	m := benchMetrics(b)
	agencies := []string{"gsis", "efka", "ypes", "dypa"}
	for _, a := range agencies {
		m.Count(metrics.KindAuthentication, a, "taxisnet", metrics.ChannelDigital)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			m.Count(metrics.KindAuthentication, agencies[i&3], "taxisnet", metrics.ChannelDigital)
			i++
		}
	})
}

func BenchmarkLabelledCountPrometheus(b *testing.B) {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "egovkit_bench_vec_total", Help: "baseline"}, []string{"agency", "service", "channel"})
	agencies := []string{"gsis", "efka", "ypes", "dypa"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			v.WithLabelValues(agencies[i&3], "taxisnet", metrics.ChannelDigital).Inc()
			i++
		}
	})
}

// BenchmarkFlush10000 writes 10,000 label sets' deltas to SQLite in one
// flush (target: at most 50 ms).
func BenchmarkFlush10000(b *testing.B) {
	m, err := metrics.New(context.Background(), metrics.Config{DB: sqltest.SQLite(b).DB.DB, FlushEvery: time.Hour, MaxLabelSets: 20000})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	handles := make([]*metrics.Handle, 10000)
	for i := range handles {
		handles[i] = m.Handle("bench", fmt.Sprint("agency-", i%100), fmt.Sprint("service-", i))
	}
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for _, h := range handles {
			h.Inc()
		}
		b.StartTimer()
		if err := m.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFlush10000NewDay is the first flush of each day at 10,000 label
// sets: besides the daily rows it adds the day before to the label sets'
// running totals (in a transaction of its own), once a day.
func BenchmarkFlush10000NewDay(b *testing.B) {
	clock := testclock.New()
	m, err := metrics.New(context.Background(), metrics.Config{DB: sqltest.SQLite(b).DB.DB, FlushEvery: time.Hour, MaxLabelSets: 20000, Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	handles := make([]*metrics.Handle, 10000)
	for i := range handles {
		handles[i] = m.Handle("bench", fmt.Sprint("agency-", i%100), fmt.Sprint("service-", i))
	}
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for _, h := range handles {
			h.Inc()
		}
		clock.Advance(24 * time.Hour)
		b.StartTimer()
		if err := m.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
