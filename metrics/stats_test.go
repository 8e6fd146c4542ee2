package metrics_test

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
	"github.com/egovkit/egovkit/metrics"
)

// migrateOld gives db the schema before the rollups, as a database
// counted by an earlier version holds it.
func migrateOld(t *testing.T, db *sqltest.DB) {
	t.Helper()
	v1, err := os.ReadFile("migrations/0001_totals.sql")
	require.NoError(t, err)
	require.NoError(t, db.Migrate(t.Context(), "metrics", fstest.MapFS{"0001_totals.sql": {Data: v1}}))
}

var statsLabels = map[string][][]string{
	metrics.KindAuthentication: {{"gsis", "taxisnet", "digital"}, {"efka", "taxisnet", "digital"}, {"ypes", "gov.gr \"wallet\"", "kep"}, {metrics.OverflowLabel}},
	metrics.KindDeclaration:    {{"ypes", "digital"}, {"gsis", "digital"}, {"δήμος", "kep"}},
	metrics.KindAuthorization:  {{"ypes", "digital"}, {"efka", "kep"}},
	"undeclared":               {{"a", "x"}, {"b"}, {"a", "y"}},
}

func randomLabels(r *rand.Rand) (string, []string) {
	ks := []string{metrics.KindAuthentication, metrics.KindDeclaration, metrics.KindAuthorization, "undeclared"}
	k := ks[r.IntN(len(ks))]
	ls := statsLabels[k]
	return k, ls[r.IntN(len(ls))]
}

// TestStatisticsMatchTheDailyRows compares every statistics answer with the
// straightforward sum over the daily rows, on random data: rows written
// before the rollups existed (built by the migration), flushes by two
// instances at once, flushes into days already rolled up, days not yet
// rolled up, and imports replaced by later ones.
func TestStatisticsMatchTheDailyRows(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
		r := rand.New(rand.NewPCG(seed, 7))

		// Rows counted by an earlier version: 2019-11-20 to 2021-03-10.
		migrateOld(t, db)
		start := time.Date(2019, 11, 20, 0, 0, 0, 0, time.UTC).Unix() / 86400
		end := time.Date(2021, 3, 10, 0, 0, 0, 0, time.UTC).Unix() / 86400
		for range 1500 {
			k, ls := randomLabels(r)
			raw, err := json.Marshal(ls)
			require.NoError(t, err)
			_, err = db.ExecContext(ctx, `INSERT INTO metrics_daily (kind, labels, day, total) VALUES ($1, $2, $3, $4)
				ON CONFLICT (kind, labels, day) DO UPDATE SET total = metrics_daily.total + excluded.total`,
				k, string(raw), start+r.Int64N(end-start+1), 1+r.Int64N(1000))
			require.NoError(t, err)
		}
		_, err := db.ExecContext(ctx, `INSERT INTO metrics_imported (kind, labels, first_day, last_day, total, source)
			VALUES ('declaration', '[]', $1, $2, 777, 'report'), ('all', '[]', $1, $2, 5000, 'report')`,
			time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC).Unix()/86400, time.Date(2019, 6, 30, 0, 0, 0, 0, time.UTC).Unix()/86400)
		require.NoError(t, err)

		// Two instances count on from a few days before the last old row
		// (so their first flushes land on days already rolled up) to
		// mid-May, flushing at once.
		clock := testclock.New()
		clock.Set(time.Date(2021, 3, 5, 10, 0, 0, 0, time.UTC))
		cfg := metrics.Config{Kinds: kinds, FlushEvery: time.Hour, Now: clock.Now}
		cfg.DB = db.DB.DB
		a, err := metrics.New(ctx, cfg)
		require.NoError(t, err)
		t.Cleanup(func() { a.Close() })
		cfg.DB = db.OpenAnother(t)
		b, err := metrics.New(ctx, cfg)
		require.NoError(t, err)
		t.Cleanup(func() { b.Close() })
		for range 60 {
			var wg sync.WaitGroup
			for _, m := range []*metrics.Metrics{a, b} {
				ops := make([][]string, 20)
				for i := range ops {
					k, ls := randomLabels(r)
					ops[i] = append([]string{k}, ls...)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for _, op := range ops {
						m.Count(op[0], op[1:]...)
					}
					assert.NoError(t, m.Flush(ctx))
				}()
			}
			wg.Wait()
			clock.Advance(time.Duration(r.IntN(3)) * 24 * time.Hour)
		}
		require.NoError(t, a.Import(ctx, "report", []metrics.Imported{
			{Kind: metrics.KindAuthentication, Labels: []string{"gsis"}, Period: "2019-Q1", Total: 100},
			{Kind: metrics.KindAuthentication, Labels: []string{"efka"}, Period: "2019-Q1", Total: 50},
			{Kind: metrics.KindAuthentication, Period: "2019-04", Total: 9},
		}))
		require.NoError(t, b.Import(ctx, "corrected report", []metrics.Imported{
			{Kind: metrics.KindAuthentication, Labels: []string{"gsis"}, Period: "2019-Q1", Total: 120},
			{Kind: metrics.KindAll, Period: "2019-04-01..2019-04-07", Total: 30},
		}))

		periods := []string{"2019", "2020", "2021", "2020-H1", "2021-Q1", "2021-Q2", "2020-02", "2021-03", "2021-05",
			"2020-W53", "2021-W10", "2021-03-05", "2019-01-01..2021-12-31", "1990-01-01..2030-12-31"}
		day := func(d int64) string { return time.Unix(d*86400, 0).UTC().Format("2006-01-02") }
		lo, hi := time.Date(2018, 12, 1, 0, 0, 0, 0, time.UTC).Unix()/86400, time.Date(2021, 6, 30, 0, 0, 0, 0, time.UTC).Unix()/86400
		for range 30 {
			x, y := lo+r.Int64N(hi-lo), lo+r.Int64N(hi-lo)
			periods = append(periods, day(min(x, y))+".."+day(max(x, y)))
		}
		ks := []string{metrics.KindAll, metrics.KindAuthentication, metrics.KindDeclaration, metrics.KindAuthorization, "undeclared", "never"}
		raw := db.DB.DB
		for _, ps := range periods {
			p := period(t, ps)
			for _, k := range ks {
				got, err := a.Total(ctx, k, p)
				require.NoError(t, err)
				want, err := naiveTotal(ctx, raw, k, p)
				require.NoError(t, err)
				assert.Equal(t, want, got, "total %s %s", k, ps)
				for _, g := range []metrics.Granularity{metrics.ByDay, metrics.ByMonth, metrics.ByYear} {
					got, err := b.Series(ctx, k, p, g)
					want, werr := naiveSeries(ctx, raw, k, p, g)
					if werr != nil {
						require.ErrorIs(t, werr, metrics.ErrBadPeriod) // too many steps
						require.ErrorIs(t, err, metrics.ErrBadPeriod)
						continue
					}
					require.NoError(t, err)
					assert.Equal(t, want, got, "series %s %s %s", k, ps, g)
				}
			}
			for k, names := range map[string][]string{
				metrics.KindAuthentication: kinds[0].Labels, metrics.KindDeclaration: kinds[1].Labels,
				metrics.KindAuthorization: kinds[2].Labels, "undeclared": {"label1", "label2"},
			} {
				for _, name := range names {
					n := r.IntN(4)
					got, err := a.Top(ctx, k, name, p, n)
					require.NoError(t, err)
					want, err := naiveTop(ctx, raw, a, k, name, p, n)
					require.NoError(t, err)
					assert.Equal(t, want, got, "top %s %s %s %d", k, name, ps, n)
				}
			}
			got, err := a.VisitsAvoided(ctx, p)
			require.NoError(t, err)
			want, err := naiveVisitsAvoided(ctx, raw, a, p)
			require.NoError(t, err)
			assert.Equal(t, want, got, "visits avoided %s", ps)
			base := period(t, periods[r.IntN(len(periods))])
			g, err := a.Growth(ctx, metrics.KindAll, p, base)
			require.NoError(t, err)
			wt, _ := naiveTotal(ctx, raw, metrics.KindAll, p)
			wb, _ := naiveTotal(ctx, raw, metrics.KindAll, base)
			assert.Equal(t, [2]int64{wt, wb}, [2]int64{g.Total, g.BaseTotal}, "growth %s %s", ps, base.Name)
		}
	})
}
