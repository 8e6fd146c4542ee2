package metrics_test

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"slices"

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
