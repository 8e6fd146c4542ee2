package metrics

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/egovkit/egovkit/internal/sqlstore"
)

// Rollups. Besides the daily row of each label set, every flush adds its
// deltas, in the same transaction, to totals by day, month and year per
// kind and for every kind together (for Total, Growth, Series and
// VisitsAvoided). A question over any period cuts the period into at most
// five runs (days, months, years, months, days) and reads one bounded
// range of rollup rows per run, so its cost depends on neither the number
// of label sets nor, beyond the edge days, the length of the period. These
// writes are additive upserts, so instances flushing into one database add
// up exactly. For Top, each label set has a running total on every day up
// to the last day rolled up (see rollUp and the Top query).

// A unit is the step of a rollup row; n numbers the rows of a unit: days
// since 1970-01-01, year*12 + month-1, or the year.
type unit int

const (
	unitDay   unit = 1
	unitMonth unit = 2
	unitYear  unit = 3
)

// run is the rows n = from … to of one unit.
type run struct {
	unit     unit
	from, to int64
}

func monthNumber(t time.Time) int64 { return int64(t.Year())*12 + int64(t.Month()) - 1 }

// runs cuts the days first … last (day numbers, inclusive) into the
// fewest runs of whole years, whole months and days.
func runs(first, last int64) []run {
	var out []run
	add := func(u unit, n int64) {
		if k := len(out) - 1; k >= 0 && out[k].unit == u && out[k].to == n-1 {
			out[k].to = n
			return
		}
		out = append(out, run{u, n, n})
	}
	for d := first; d <= last; {
		t := dayTime(d)
		y, m, day := t.Date()
		if m == time.January && day == 1 {
			if end := time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400; end-1 <= last {
				add(unitYear, int64(y))
				d = end
				continue
			}
		}
		if day == 1 {
			if end := time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400; end-1 <= last {
				add(unitMonth, monthNumber(t))
				d = end
				continue
			}
		}
		add(unitDay, d)
		d++
	}
	return out
}

// runsUnion selects the rows of rs: one range of the primary key per run,
// joined by UNION ALL (an OR of the runs would scan every row of the
// kind). sel ends where the condition on unit and n goes; the arguments
// are numbered from $next on.
func runsUnion(sel string, rs []run, next int, args []any) (string, []any) {
	var q strings.Builder
	for i, r := range rs {
		if i > 0 {
			q.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&q, "%s unit = %d AND n >= $%d AND n <= $%d", sel, r.unit, next, next+1)
		next += 2
		args = append(args, r.from, r.to)
	}
	return q.String(), args
}

// lockRolled reads metrics_rolled.through inside tx, locking it: shared
// for a flush (flushes do not wait for one another), exclusive for a
// roll-up, so that a roll-up reads every daily row of the flushes that
// read the old value and a flush that reads the new value adds to the
// label rollups itself. SQLite transactions hold the write lock already.
func lockRolled(ctx context.Context, tx *sql.Tx, d sqlstore.Dialect, exclusive bool) (int64, error) {
	q := `SELECT through FROM metrics_rolled WHERE id = 1`
	if d == sqlstore.Postgres {
		if exclusive {
			q += ` FOR UPDATE`
		} else {
			q += ` FOR SHARE`
		}
	}
	var through int64
	err := tx.QueryRowContext(ctx, q).Scan(&through)
	return through, err
}

// addToRollups adds a flush's rows, all of one day, to the rollups of
// the kinds and of every kind, and to the label sets' rollups when the day
// has been rolled up already.
func addToRollups(ctx context.Context, tx *sql.Tx, d sqlstore.Dialect, rows []row) error {
	if len(rows) == 0 {
		return nil
	}
	day := rows[0].day
	t := dayTime(day)
	units := [3]struct {
		u unit
		n int64
	}{{unitDay, day}, {unitMonth, monthNumber(t)}, {unitYear, int64(t.Year())}}
	perKind := map[string]int64{}
	var kinds []string
	var all int64
	for _, r := range rows {
		if r.day != day {
			return fmt.Errorf("a flush holds one day, not %d and %d", day, r.day)
		}
		if _, ok := perKind[r.kind]; !ok {
			kinds = append(kinds, r.kind)
		}
		perKind[r.kind] += int64(r.delta)
		all += int64(r.delta)
	}
	slices.Sort(kinds)

	through, err := lockRolled(ctx, tx, d, false)
	if err != nil {
		return err
	}
	if day <= through {
		if err := addLateRows(ctx, tx, d, rows, through); err != nil {
			return err
		}
	}

	for start := 0; start < len(kinds); start += 1000 {
		chunk := kinds[start:min(start+1000, len(kinds))]
		var q strings.Builder
		args := make([]any, 0, 3*3*len(chunk))
		q.WriteString(`INSERT INTO metrics_kind_totals (kind, unit, n, total) VALUES `)
		for i, k := range chunk {
			for j, u := range units {
				if i+j > 0 {
					q.WriteString(", ")
				}
				fmt.Fprintf(&q, "($%d, %d, $%d, $%d)", len(args)+1, u.u, len(args)+2, len(args)+3)
				args = append(args, k, u.n, perKind[k])
			}
		}
		q.WriteString(` ON CONFLICT (kind, unit, n) DO UPDATE SET total = metrics_kind_totals.total + excluded.total`)
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
		q.Reset()
		args = args[:0]
		q.WriteString(`INSERT INTO metrics_kind_span (kind, first_day, last_day) VALUES `)
		for i, k := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "($%d, $%d, $%d)", len(args)+1, len(args)+2, len(args)+2)
			args = append(args, k, day)
		}
		q.WriteString(` ON CONFLICT (kind) DO UPDATE SET
			first_day = CASE WHEN excluded.first_day < metrics_kind_span.first_day THEN excluded.first_day ELSE metrics_kind_span.first_day END,
			last_day = CASE WHEN excluded.last_day > metrics_kind_span.last_day THEN excluded.last_day ELSE metrics_kind_span.last_day END`)
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO metrics_all_totals (unit, n, total) VALUES (1, $1, $4), (2, $2, $4), (3, $3, $4)
		ON CONFLICT (unit, n) DO UPDATE SET total = metrics_all_totals.total + excluded.total`,
		units[0].n, units[1].n, units[2].n, all)
	return err
}

// addLateRows adds rows of a day already in the running totals to the
// running totals of that day and of every later day up to through. A
// label set without a row on such a day had nothing before, so its row
// there is the delta alone.
func addLateRows(ctx context.Context, tx *sql.Tx, d sqlstore.Dialect, rows []row, through int64) error {
	type labelled struct {
		Kind   string `json:"k"`
		Labels string `json:"l"`
		Delta  int64  `json:"d"`
	}
	list := make([]labelled, len(rows))
	for i, r := range rows {
		list[i] = labelled{r.kind, r.labels, int64(r.delta)}
	}
	payload, err := json.Marshal(list)
	if err != nil {
		return err
	}
	from := `SELECT $2, value->>'k', value->>'l', value->>'d' FROM json_each($1) WHERE true`
	if d == sqlstore.Postgres {
		from = `SELECT $2::bigint, r->>'k', r->>'l', (r->>'d')::bigint FROM jsonb_array_elements($1::jsonb) AS r`
	}
	for day := rows[0].day; day <= through; day++ {
		if _, err := tx.ExecContext(ctx, `INSERT INTO metrics_label_cum (day, kind, labels, cum) `+from+`
			ON CONFLICT (day, kind, labels) DO UPDATE SET cum = metrics_label_cum.cum + excluded.cum`,
			string(payload), day); err != nil {
			return err
		}
	}
	return nil
}

// rollUp adds the days after metrics_rolled.through up to and including
// upto to the label sets' running totals, one statement a day, in one
// transaction. Every instance may call it; the first does the work.
func (m *Metrics) rollUp(ctx context.Context, upto int64) error {
	ctx, cancel := m.db.Bound(ctx)
	defer cancel()
	d := m.db.Dialect()
	var rolled int64
	err := m.db.Tx(ctx, func(tx *sql.Tx) error {
		through, err := lockRolled(ctx, tx, d, true)
		if err != nil {
			return err
		}
		rolled = through
		if through >= upto {
			return nil
		}
		from := through + 1
		var carried bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM metrics_label_cum WHERE day = $1)`, through).Scan(&carried); err != nil {
			return err
		}
		if !carried {
			// Nothing before: start at the first day counted since.
			var first sql.NullInt64
			if err := tx.QueryRowContext(ctx, `SELECT MIN(day) FROM metrics_daily WHERE day > $1 AND day <= $2`, through, upto).Scan(&first); err != nil {
				return err
			}
			if !first.Valid {
				from = upto + 1
			} else {
				from = first.Int64
			}
		}
		for day := from; day <= upto; day++ {
			if _, err := tx.ExecContext(ctx, `INSERT INTO metrics_label_cum (day, kind, labels, cum)
				SELECT $1, kind, labels, CAST(SUM(v) AS BIGINT) FROM (
					SELECT kind, labels, cum AS v FROM metrics_label_cum WHERE day = $2
					UNION ALL
					SELECT kind, labels, total FROM metrics_daily WHERE day = $1
				) t GROUP BY kind, labels`, day, day-1); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE metrics_rolled SET through = $1 WHERE id = 1`, upto); err != nil {
			return err
		}
		rolled = upto
		return nil
	})
	if err != nil {
		return fmt.Errorf("metrics: roll up: %w", err)
	}
	m.rolled.Store(rolled)
	return nil
}
