package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
	"github.com/egovkit/egovkit/internal/web"
	"github.com/egovkit/egovkit/metrics"
)

var kinds = []metrics.Kind{
	{Name: metrics.KindAuthentication, Labels: []string{"agency", "service", "channel"}},
	{Name: metrics.KindDeclaration, Labels: []string{"agency", "channel"}, ReplacesVisit: true},
	{Name: metrics.KindAuthorization, Labels: []string{"agency", "channel"}, ReplacesVisit: true},
}

func open(t *testing.T, db *sqltest.DB, edit ...func(*metrics.Config)) *metrics.Metrics {
	t.Helper()
	cfg := metrics.Config{DB: db.DB.DB, Kinds: kinds, FlushEvery: time.Hour}
	for _, e := range edit {
		e(&cfg)
	}
	m, err := metrics.New(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

func period(t *testing.T, s string) metrics.Period {
	t.Helper()
	p, err := metrics.ParsePeriod(s)
	require.NoError(t, err)
	return p
}

func today() metrics.Period {
	d := time.Now().In(web.DefaultLocation()).Format("2006-01-02") // where days begin by default
	p, _ := metrics.ParsePeriod(d)
	return p
}

func TestConcurrentCountingAddsUp(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		m := open(t, db)
		agencies := []string{"gsis", "efka", "ypes", "dypa"}
		h := m.Handle(metrics.KindDeclaration, "ypes", metrics.ChannelDigital)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 5000 {
					m.Count(metrics.KindAuthentication, agencies[(g+i)%4], "taxisnet", metrics.ChannelDigital)
					h.Inc()
					if i%1000 == 0 {
						require.NoError(t, m.Flush(ctx)) // flushes while counting
					}
				}
			}()
		}
		wg.Wait()
		require.NoError(t, m.Flush(ctx))
		total, err := m.Total(ctx, metrics.KindAuthentication, today())
		require.NoError(t, err)
		assert.EqualValues(t, 40000, total)
		total, err = m.Total(ctx, metrics.KindAll, today())
		require.NoError(t, err)
		assert.EqualValues(t, 80000, total)
		top, err := m.Top(ctx, metrics.KindAuthentication, "agency", today(), 2)
		require.NoError(t, err)
		require.Len(t, top, 2)
		assert.EqualValues(t, 10000, top[0].Total)
		visits, err := m.VisitsAvoided(ctx, today())
		require.NoError(t, err)
		assert.EqualValues(t, 40000, visits, "declarations replace visits; authentications do not")
	})
}

func TestTwoInstancesAddUp(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		a := open(t, db, func(c *metrics.Config) { c.FlushEvery = 5 * time.Millisecond })
		other := db.OpenAnother(t)
		b, err := metrics.New(ctx, metrics.Config{DB: other, Kinds: kinds, FlushEvery: 7 * time.Millisecond})
		require.NoError(t, err)
		var wg sync.WaitGroup
		for i, m := range []*metrics.Metrics{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range 3000 {
					m.Count(metrics.KindDeclaration, fmt.Sprint("agency-", (i+j)%7), metrics.ChannelDigital)
					if j%500 == 0 {
						time.Sleep(2 * time.Millisecond) // let the background flushes run
					}
				}
			}()
		}
		wg.Wait()
		require.NoError(t, a.Close())
		require.NoError(t, b.Close())
		total, err := a.Total(ctx, metrics.KindDeclaration, today())
		require.NoError(t, err)
		assert.EqualValues(t, 12000, total)
	})
}

func TestRetriedFlushCountsOnce(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		m := open(t, db)
		for range 7 {
			m.Count(metrics.KindDeclaration, "ypes", metrics.ChannelDigital)
		}
		failed := false
		metrics.SetAfterCommit(func() error {
			if failed {
				return nil
			}
			failed = true
			return errors.New("connection lost after commit")
		})
		defer metrics.SetAfterCommit(nil)
		require.Error(t, m.Flush(ctx), "the commit happened but the answer was lost")
		m.Count(metrics.KindDeclaration, "ypes", metrics.ChannelDigital)
		require.NoError(t, m.Flush(ctx))
		total, err := m.Total(ctx, metrics.KindDeclaration, today())
		require.NoError(t, err)
		assert.EqualValues(t, 8, total, "the retried flush counted once, and the later count too")
	})
}

func TestCloseLosesNothing(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		m, err := metrics.New(ctx, metrics.Config{DB: db.DB.DB, Kinds: kinds, FlushEvery: time.Hour})
		require.NoError(t, err)
		for i := range 1234 {
			m.Count(metrics.KindAuthorization, fmt.Sprint("agency-", i%3), metrics.ChannelInPerson)
		}
		require.NoError(t, m.Close())
		require.NoError(t, m.Close(), "a second Close is harmless")
		again := open(t, db)
		total, err := again.Total(ctx, metrics.KindAuthorization, today())
		require.NoError(t, err)
		assert.EqualValues(t, 1234, total)
	})
}

func TestDaysFollowTheTimeZone(t *testing.T) {
	db := sqltest.SQLite(t)
	athens, err := time.LoadLocation("Europe/Athens")
	require.NoError(t, err)
	clock := testclock.New()
	clock.Set(time.Date(2026, 1, 1, 22, 30, 0, 0, time.UTC)) // 00:30 on 2 January in Athens
	m := open(t, db, func(c *metrics.Config) { c.Location, c.Now = athens, clock.Now })
	m.Count(metrics.KindDeclaration, "ypes", metrics.ChannelDigital)
	require.NoError(t, m.Flush(t.Context()))
	jan2, err := m.Total(t.Context(), metrics.KindDeclaration, period(t, "2026-01-02"))
	require.NoError(t, err)
	assert.EqualValues(t, 1, jan2)
}

func TestCardinalityGuard(t *testing.T) {
	db := sqltest.SQLite(t)
	core, logs := observer.New(zap.WarnLevel)
	m := open(t, db, func(c *metrics.Config) { c.MaxLabelSets, c.Logger = 3, zap.New(core) })
	for i := range 10 {
		for range 2 {
			m.Count(metrics.KindDeclaration, fmt.Sprint("agency-", i), metrics.ChannelDigital)
		}
	}
	require.NoError(t, m.Flush(t.Context()))
	assert.Equal(t, 1, logs.FilterMessageSnippet("too many label sets").Len(), "warned once")
	top, err := m.Top(t.Context(), metrics.KindDeclaration, "agency", today(), 0)
	require.NoError(t, err)
	require.Len(t, top, 4, "three label sets and the overflow")
	assert.Equal(t, metrics.Entry{Value: metrics.OverflowLabel, Total: 14}, top[0])
	total, err := m.Total(t.Context(), metrics.KindDeclaration, today())
	require.NoError(t, err)
	assert.EqualValues(t, 20, total, "nothing is lost")
	_, err = m.Top(t.Context(), metrics.KindDeclaration, "colour", today(), 0)
	assert.Error(t, err)
}

func TestParsePeriod(t *testing.T) {
	for in, want := range map[string][2]string{
		"2020":                   {"2020-01-01", "2020-12-31"},
		"2021-H1":                {"2021-01-01", "2021-06-30"},
		"2021-H2":                {"2021-07-01", "2021-12-31"},
		"2020-Q3":                {"2020-07-01", "2020-09-30"},
		"2020-02":                {"2020-02-01", "2020-02-29"},
		"2020-W01":               {"2019-12-30", "2020-01-05"},
		"2020-W53":               {"2020-12-28", "2021-01-03"},
		"2020-05-17":             {"2020-05-17", "2020-05-17"},
		"2020-03-01..2020-06-30": {"2020-03-01", "2020-06-30"},
	} {
		p, err := metrics.ParsePeriod(in)
		require.NoError(t, err, in)
		assert.Equal(t, want[0], p.First.Format("2006-01-02"), in)
		assert.Equal(t, want[1], p.Last.Format("2006-01-02"), in)
	}
	assert.Equal(t, 181, period(t, "2021-H1").Days())
	for _, bad := range []string{"", "2021-H3", "2021-H0", "2020-13", "2020-00", "2020-Q5", "2021-W53", "2020-02-30",
		"2020-06-30..2020-03-01", "2020..2021", "20", "twenty", "2020-05-17..", strings.Repeat("2", 50)} {
		_, err := metrics.ParsePeriod(bad)
		assert.ErrorIs(t, err, metrics.ErrBadPeriod, bad)
		var pe *metrics.PeriodError
		if assert.ErrorAs(t, err, &pe, bad) {
			assert.NotEmpty(t, pe.Reason)
		}
	}
}

// greekFigures are the published totals of Greece's public digital
// services (gov.gr announcements, 2018 to the first half of 2021).
const greekFigures = `kind,labels,period,total
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

func TestImportAndGrowth(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		m := open(t, db)
		require.NoError(t, m.ImportCSV(ctx, "gov.gr announcements", strings.NewReader(greekFigures)))
		require.NoError(t, m.ImportCSV(ctx, "gov.gr announcements", strings.NewReader(greekFigures)), "importing again replaces")

		g, err := m.Growth(ctx, metrics.KindAll, period(t, "2021-H1"), period(t, "2020"))
		require.NoError(t, err)
		assert.EqualValues(t, 150000000, g.Total)
		assert.EqualValues(t, 94000000, g.BaseTotal)
		assert.InDelta(t, 59.57, *g.ChangePct, 0.001)
		// 150M in 181 days against 94M in 366 days.
		assert.InDelta(t, 222.68, *g.RateChangePct, 0.001)

		total, err := m.Total(ctx, metrics.KindAll, period(t, "2021"))
		require.NoError(t, err)
		assert.EqualValues(t, 150000000, total, "a year contains its half")
		total, err = m.Total(ctx, metrics.KindAll, period(t, "2021-Q1"))
		require.NoError(t, err)
		assert.Zero(t, total, "a quarter does not contain the half-year")

		s, err := m.Series(ctx, metrics.KindAll, period(t, "2018-01-01..2021-12-31"), metrics.ByYear)
		require.NoError(t, err)
		require.Len(t, s, 4)
		assert.Equal(t, []int64{8780889, 34688318, 94000000, 150000000}, []int64{s[0].Total, s[1].Total, s[2].Total, s[3].Total})
		visits, err := m.VisitsAvoided(ctx, period(t, "2020"))
		require.NoError(t, err)
		assert.EqualValues(t, 2140284+845027, visits)

		zero, err := m.Growth(ctx, metrics.KindDeclaration, period(t, "2020"), period(t, "2019"))
		require.NoError(t, err)
		assert.Nil(t, zero.ChangePct, "no base, no percentage")

		err = m.ImportCSV(ctx, "x", strings.NewReader("kind,labels,period,total\nall,,2021-H3,5\n"))
		var ie *metrics.ImportError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, 1, ie.Record)
		err = m.ImportJSON(ctx, "x", strings.NewReader(`[{"kind":"all","period":"2017","total":1},{"kind":"","period":"2016","total":1}]`))
		require.ErrorAs(t, err, &ie)
		total, err = m.Total(ctx, metrics.KindAll, period(t, "2017"))
		require.NoError(t, err)
		assert.Zero(t, total, "one bad record imports nothing")
		require.NoError(t, m.ImportJSON(ctx, "x", strings.NewReader(`[{"kind":"all","period":"2017","total":1000}]`)))
		total, _ = m.Total(ctx, metrics.KindAll, period(t, "2017"))
		assert.EqualValues(t, 1000, total)
	})
}

func TestSeriesByMonthAndDay(t *testing.T) {
	db := sqltest.SQLite(t)
	clock := testclock.New()
	m := open(t, db, func(c *metrics.Config) { c.Now = clock.Now })
	ctx := context.Background()
	clock.Set(time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC))
	m.Count(metrics.KindDeclaration, "ypes", "digital")
	require.NoError(t, m.Flush(ctx))
	clock.Set(time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC))
	m.Count(metrics.KindDeclaration, "ypes", "digital")
	m.Count(metrics.KindDeclaration, "efka", "digital")
	require.NoError(t, m.Flush(ctx))
	s, err := m.Series(ctx, metrics.KindDeclaration, period(t, "2026-Q1"), metrics.ByMonth)
	require.NoError(t, err)
	require.Len(t, s, 3)
	assert.Equal(t, "2026-02", s[1].Period)
	assert.Equal(t, []int64{1, 2, 0}, []int64{s[0].Total, s[1].Total, s[2].Total})
	d, err := m.Series(ctx, metrics.KindDeclaration, period(t, "2026-01-30..2026-02-01"), metrics.ByDay)
	require.NoError(t, err)
	assert.Equal(t, []int64{0, 1, 2}, []int64{d[0].Total, d[1].Total, d[2].Total})
	_, err = m.Series(ctx, metrics.KindDeclaration, period(t, "2026"), "week")
	assert.Error(t, err)
}
