package metrics_test

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/sqldb"

	"github.com/egovkit/egovkit/metrics"
)

// The straightforward answers, summed over the daily rows (and the
// imported totals) at every question, as the statistics were computed
// before the rollups: the baseline of the benchmarks and the reference of
// the differential tests.

func dayNumber(p metrics.Period) (first, last int64) {
	return p.First.Unix() / 86400, p.Last.Unix() / 86400
}

func naiveTotal(ctx context.Context, db *sql.DB, kind string, p metrics.Period) (int64, error) {
	first, last := dayNumber(p)
	q, args := `SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) FROM metrics_daily WHERE day >= $1 AND day <= $2`, []any{first, last}
	if kind != metrics.KindAll {
		q, args = q+` AND kind = $3`, append(args, kind)
	}
	var counted, imported int64
	if err := db.QueryRowContext(ctx, q, args...).Scan(&counted); err != nil {
		return 0, err
	}
	err := db.QueryRowContext(ctx,
		`SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) FROM metrics_imported WHERE first_day >= $1 AND last_day <= $2 AND kind = $3`,
		first, last, kind).Scan(&imported)
	return counted + imported, err
}

func naiveSeries(ctx context.Context, db *sql.DB, kind string, p metrics.Period, g metrics.Granularity) ([]metrics.Point, error) {
	ps, err := metrics.Steps(p, g)
	if err != nil {
		return nil, err
	}
	first, last := dayNumber(p)
	q, args := `SELECT day, CAST(SUM(total) AS BIGINT) FROM metrics_daily WHERE day >= $1 AND day <= $2`, []any{first, last}
	if kind != metrics.KindAll {
		q, args = q+` AND kind = $3`, append(args, kind)
	}
	byDay := map[int64]int64{}
	rows, err := db.QueryContext(ctx, q+` GROUP BY day`, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var day, total int64
		if err := rows.Scan(&day, &total); err != nil {
			rows.Close()
			return nil, err
		}
		byDay[day] = total
	}
	rows.Close()
	type imp struct{ first, last, total int64 }
	var imports []imp
	rows, err = db.QueryContext(ctx,
		`SELECT first_day, last_day, total FROM metrics_imported WHERE first_day >= $1 AND last_day <= $2 AND kind = $3`, first, last, kind)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var i imp
		if err := rows.Scan(&i.first, &i.last, &i.total); err != nil {
			rows.Close()
			return nil, err
		}
		imports = append(imports, i)
	}
	rows.Close()
	out := make([]metrics.Point, len(ps))
	for i, s := range ps {
		out[i] = metrics.Point{Period: s.Name, First: s.First}
		sf, sl := dayNumber(s)
		for d := sf; d <= sl; d++ {
			out[i].Total += byDay[d]
		}
		for _, im := range imports {
			if im.first >= sf && im.last <= sl {
				out[i].Total += im.total
			}
		}
	}
	return out, rows.Err()
}

func naiveTop(ctx context.Context, db *sql.DB, m *metrics.Metrics, kind, label string, p metrics.Period, n int) ([]metrics.Entry, error) {
	idx, err := m.LabelIndex(kind, label)
	if err != nil {
		return nil, err
	}
	first, last := dayNumber(p)
	rows, err := db.QueryContext(ctx,
		`SELECT labels, CAST(SUM(total) AS BIGINT) FROM metrics_daily WHERE day >= $1 AND day <= $2 AND kind = $3 GROUP BY labels`,
		first, last, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sums := map[string]int64{}
	for rows.Next() {
		var raw string
		var total int64
		if err := rows.Scan(&raw, &total); err != nil {
			return nil, err
		}
		var labels []string
		if err := json.Unmarshal([]byte(raw), &labels); err != nil {
			return nil, err
		}
		v := metrics.OverflowLabel
		if idx < len(labels) && !(len(labels) == 1 && labels[0] == metrics.OverflowLabel) {
			v = labels[idx]
		}
		sums[v] += total
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]metrics.Entry, 0, len(sums))
	for v, t := range sums {
		out = append(out, metrics.Entry{Value: v, Total: t})
	}
	slices.SortFunc(out, func(a, b metrics.Entry) int {
		return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Value, b.Value))
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}

func naiveVisitsAvoided(ctx context.Context, db *sql.DB, m *metrics.Metrics, p metrics.Period) (int64, error) {
	var sum int64
	for _, k := range m.Kinds() {
		if !k.ReplacesVisit {
			continue
		}
		t, err := naiveTotal(ctx, db, k.Name, p)
		if err != nil {
			return 0, err
		}
		sum += t
	}
	return sum, nil
}

// Statistics answers, each beside the straightforward sum over the daily
// rows (the baseline above) in the same run, at 10 and 1,000 label sets
// counted every day of 2021. The answers must take under 10 ms at any
// size. PostgreSQL runs when EGOVKIT_TEST_POSTGRES_DSN is set.

// statsFixture fills db with labelSets label sets of one kind counted on
// every day of 2021, plus one label set of another kind, as an earlier
// version stored them, and opens Metrics on it (the migration builds the
// rollups).
func statsFixture(b *testing.B, db *sqltest.DB, labelSets int) *metrics.Metrics {
	b.Helper()
	ctx := context.Background()
	firstSchema(b, db.DB)
	first := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400
	_, err := db.DB.DB.ExecContext(ctx, `WITH RECURSIVE d(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM d WHERE x < 364),
		l(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM l WHERE i < $1 - 1)
		INSERT INTO metrics_daily (kind, labels, day, total)
		SELECT 'authentication', '["agency-' || (i % 20) || '","service-' || i || '","digital"]', $2 + x, 1 + (x * 7 + i * 13) % 100 FROM d, l`,
		labelSets, first)
	if err != nil {
		b.Fatal(err)
	}
	_, err = db.DB.DB.ExecContext(ctx, `WITH RECURSIVE d(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM d WHERE x < 364)
		INSERT INTO metrics_daily (kind, labels, day, total) SELECT 'declaration', '["ypes","digital"]', $1 + x, 5 FROM d`, first)
	if err != nil {
		b.Fatal(err)
	}
	now := func() time.Time { return time.Date(2022, 1, 3, 10, 0, 0, 0, time.UTC) }
	m, err := metrics.New(ctx, metrics.Config{DB: db.DB.DB, Kinds: kinds, FlushEvery: time.Hour, Now: now})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	// Today (2022-01-03) every label set is counted once more: today's
	// rows are read from the daily rows, the days before from the rollups.
	for i := range labelSets {
		m.Count(metrics.KindAuthentication, fmt.Sprint("agency-", i%20), fmt.Sprint("service-", i), "digital")
	}
	if err := m.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	return m
}

// firstSchema migrates db to the first version of the package's schema
// only, as an earlier version left it, so that opening Metrics on it runs
// the later migrations (the rollups built from the daily rows).
func firstSchema(tb testing.TB, db *sqlstore.DB) {
	tb.Helper()
	v1, err := os.ReadFile("migrations/0001_totals.sql")
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.Migrate(context.Background(), "metrics", fstest.MapFS{"0001_totals.sql": {Data: v1}}); err != nil {
		tb.Fatal(err)
	}
}

func BenchmarkStatistics(b *testing.B) {
	engines := map[string]func(testing.TB) *sqltest.DB{"sqlite": sqltest.SQLite, "postgres": sqltest.Postgres}
	for _, engine := range []string{"sqlite", "postgres"} {
		for _, size := range []int{10, 1000} {
			b.Run(fmt.Sprintf("%s/labelsets=%d", engine, size), func(b *testing.B) {
				db := engines[engine](b)
				m := statsFixture(b, db, size)
				raw := db.DB.DB
				ctx := context.Background()
				year, _ := metrics.ParsePeriod("2021")
				h1, _ := metrics.ParsePeriod("2021-H1")
				h2, _ := metrics.ParsePeriod("2021-H2")
				odd, _ := metrics.ParsePeriod("2021-01-17..2021-11-13")  // edge days at both ends
				span, _ := metrics.ParsePeriod("2021-06-10..2022-01-03") // up to today
				questions := []struct {
					name          string
					rollup, naive func() error
				}{
					{"total", func() error { _, err := m.Total(ctx, metrics.KindAuthentication, year); return err },
						func() error { _, err := naiveTotal(ctx, raw, metrics.KindAuthentication, year); return err }},
					{"total-all", func() error { _, err := m.Total(ctx, metrics.KindAll, year); return err },
						func() error { _, err := naiveTotal(ctx, raw, metrics.KindAll, year); return err }},
					{"growth", func() error { _, err := m.Growth(ctx, metrics.KindAll, h2, h1); return err },
						func() error {
							if _, err := naiveTotal(ctx, raw, metrics.KindAll, h2); err != nil {
								return err
							}
							_, err := naiveTotal(ctx, raw, metrics.KindAll, h1)
							return err
						}},
					{"series-month", func() error { _, err := m.Series(ctx, metrics.KindAll, year, metrics.ByMonth); return err },
						func() error { _, err := naiveSeries(ctx, raw, metrics.KindAll, year, metrics.ByMonth); return err }},
					{"series-day", func() error { _, err := m.Series(ctx, metrics.KindAuthentication, year, metrics.ByDay); return err },
						func() error {
							_, err := naiveSeries(ctx, raw, metrics.KindAuthentication, year, metrics.ByDay)
							return err
						}},
					{"top-year", func() error { _, err := m.Top(ctx, metrics.KindAuthentication, "service", year, 10); return err },
						func() error {
							_, err := naiveTop(ctx, raw, m, metrics.KindAuthentication, "service", year, 10)
							return err
						}},
					{"top-range", func() error { _, err := m.Top(ctx, metrics.KindAuthentication, "agency", odd, 10); return err },
						func() error {
							_, err := naiveTop(ctx, raw, m, metrics.KindAuthentication, "agency", odd, 10)
							return err
						}},
					{"top-to-today", func() error { _, err := m.Top(ctx, metrics.KindAuthentication, "service", span, 10); return err },
						func() error {
							_, err := naiveTop(ctx, raw, m, metrics.KindAuthentication, "service", span, 10)
							return err
						}},
					{"total-to-today", func() error { _, err := m.Total(ctx, metrics.KindAuthentication, span); return err },
						func() error { _, err := naiveTotal(ctx, raw, metrics.KindAuthentication, span); return err }},
					{"visits-avoided", func() error { _, err := m.VisitsAvoided(ctx, year); return err },
						func() error { _, err := naiveVisitsAvoided(ctx, raw, m, year); return err }},
				}
				for _, q := range questions {
					for _, way := range []struct {
						name string
						f    func() error
					}{{"rollup", q.rollup}, {"baseline", q.naive}} {
						b.Run(q.name+"/"+way.name, func(b *testing.B) {
							b.ReportAllocs()
							for b.Loop() {
								if err := way.f(); err != nil {
									b.Fatal(err)
								}
							}
						})
					}
				}
			})
		}
	}
}

// TestWriteStatisticsDatabase writes, when EGOVKIT_STATS_DB names a file
// that does not exist yet, a SQLite database holding a year (2025) of
// counts of the portal's sign-in kind in 1,000 label sets (365,000 daily
// rows) in the first schema, for measuring the statistics API of a
// running portal: started with -db sqlite:FILE, the portal migrates it and
// builds the rollups. See BENCHMARKS.md, "Statistics answers".
func TestWriteStatisticsDatabase(t *testing.T) {
	path := os.Getenv("EGOVKIT_STATS_DB")
	if path == "" {
		t.Skip("EGOVKIT_STATS_DB not set")
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatalf("%s exists; name a new file", path)
	}
	ctx := t.Context()
	pool, err := sqldb.OpenSQLite(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db, err := sqlstore.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	firstSchema(t, db)
	first := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400
	// The portal's sign-in labels: realm, client, acr, channel.
	_, err = pool.ExecContext(ctx, `WITH RECURSIVE d(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM d WHERE x < 364),
		l(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM l WHERE i < 999)
		INSERT INTO metrics_daily (kind, labels, day, total)
		SELECT 'authentication', '["citizen","client-' || i || '","substantial","agency-' || (i % 20) || '"]',
			$1 + x, 1 + (x * 7 + i * 13) % 100 FROM d, l`, first)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRowContext(ctx, "SELECT COUNT(*) FROM metrics_daily").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 365000 {
		t.Fatalf("%d daily rows written, want 365000", n)
	}
}
