package metrics

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Totals are read from the store: counts reach it at the next flush, so
// answers lag behind Count by at most Config.FlushEvery. Imported totals
// are added to every period that contains their whole period. Kind
// KindAll means every kind counted, plus the totals imported as "all".

// totalsQuery is one statement that sums kind's rollup rows of runs rs
// and its imported totals within first … last.
func totalsQuery(kind string, rs []run, first, last int64) (string, []any) {
	sel := `SELECT total FROM metrics_kind_totals WHERE kind = $3 AND`
	if kind == KindAll {
		sel = `SELECT total FROM metrics_all_totals WHERE`
	}
	union, args := runsUnion(sel, rs, 4, []any{first, last, kind})
	return `SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) FROM (` + union + ` UNION ALL
		SELECT total FROM metrics_imported_totals WHERE kind = $3 AND first_day >= $1 AND last_day <= $2) t`, args
}

// Total is how many transactions of kind happened in p.
func (m *Metrics) Total(ctx context.Context, kind string, p Period) (int64, error) {
	q, args := totalsQuery(kind, runs(p.firstDay(), p.lastDay()), p.firstDay(), p.lastDay())
	var total int64
	if err := m.db.QueryRowContext(ctx, q, args...).Scan(&total); err != nil {
		return 0, fmt.Errorf("metrics: total: %w", err)
	}
	return total, nil
}

// Growth compares a period with a base period.
type Growth struct {
	Kind      string `json:"kind"`
	Period    string `json:"period"`
	Base      string `json:"base"`
	Total     int64  `json:"total"`
	BaseTotal int64  `json:"base_total"`
	// ChangePct is the plain change of the totals, in percent; nil when
	// the base is zero.
	ChangePct *float64 `json:"change_pct"`
	// RateChangePct is the change of the daily rate, in percent, so that a
	// half-year compares fairly with a whole year; nil when the base is
	// zero.
	RateChangePct *float64 `json:"rate_change_pct"`
	Days          int      `json:"days"`
	BaseDays      int      `json:"base_days"`
}

// Growth compares kind's total in p with its total in base.
func (m *Metrics) Growth(ctx context.Context, kind string, p, base Period) (Growth, error) {
	t, err := m.Total(ctx, kind, p)
	if err != nil {
		return Growth{}, err
	}
	bt, err := m.Total(ctx, kind, base)
	if err != nil {
		return Growth{}, err
	}
	g := Growth{Kind: kind, Period: p.Name, Base: base.Name, Total: t, BaseTotal: bt, Days: p.Days(), BaseDays: base.Days()}
	g.ChangePct, g.RateChangePct = changes(t, g.Days, bt, g.BaseDays)
	return g, nil
}

// changes is the plain change of total t against base total bt, and the
// change of the daily rate when t took days and bt baseDays, in percent
// rounded to two places; both nil when bt is zero.
func changes(t int64, days int, bt int64, baseDays int) (plain, rate *float64) {
	if bt <= 0 || days <= 0 || baseDays <= 0 {
		return nil, nil
	}
	change := round2(100 * (float64(t) - float64(bt)) / float64(bt))
	r, baseRate := float64(t)/float64(days), float64(bt)/float64(baseDays)
	rateChange := round2(100 * (r - baseRate) / baseRate)
	return &change, &rateChange
}

func round2(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 2, 64), 64)
	return v
}

// Granularity is the step of a series.
type Granularity string

// Steps of a series.
const (
	ByDay   Granularity = "day"
	ByMonth Granularity = "month"
	ByYear  Granularity = "year"
)

// Point is one step of a series.
type Point struct {
	Period string    `json:"period"` // "2020-05-17", "2020-05" or "2020"
	First  time.Time `json:"first"`
	Total  int64     `json:"total"`
}

// steps cuts p into whole steps of g, each clipped to p.
func steps(p Period, g Granularity) ([]Period, error) {
	var out []Period
	for d := p.First; !d.After(p.Last); {
		var next time.Time
		var name string
		switch g {
		case ByDay:
			next, name = d.AddDate(0, 0, 1), d.Format("2006-01-02")
		case ByMonth:
			next, name = time.Date(d.Year(), d.Month()+1, 1, 0, 0, 0, 0, time.UTC), d.Format("2006-01")
		case ByYear:
			next, name = time.Date(d.Year()+1, 1, 1, 0, 0, 0, 0, time.UTC), d.Format("2006")
		default:
			return nil, fmt.Errorf("metrics: a series goes by day, month or year, not %q", g)
		}
		last := next.AddDate(0, 0, -1)
		if last.After(p.Last) {
			last = p.Last
		}
		out = append(out, Period{Name: name, First: d, Last: last})
		d = next
	}
	if len(out) > 5000 {
		return nil, &PeriodError{Input: p.Name, Code: PeriodSteps, Reason: fmt.Sprintf("a series of %d steps is too long; choose a coarser step", len(out))}
	}
	return out, nil
}

// Series gives kind's totals in p step by step.
func (m *Metrics) Series(ctx context.Context, kind string, p Period, g Granularity) ([]Point, error) {
	ps, err := steps(p, g)
	if err != nil {
		return nil, err
	}
	// Each step is cut into runs; the rows of every run are read in one
	// statement, ranges of one unit that touch merged.
	stepRuns := make([][]run, len(ps))
	var all []run
	for i, s := range ps {
		stepRuns[i] = runs(s.firstDay(), s.lastDay())
		all = append(all, stepRuns[i]...)
	}
	slices.SortFunc(all, func(a, b run) int { return cmp.Or(cmp.Compare(a.unit, b.unit), cmp.Compare(a.from, b.from)) })
	var merged []run
	for _, r := range all {
		if k := len(merged) - 1; k >= 0 && merged[k].unit == r.unit && r.from <= merged[k].to+1 {
			merged[k].to = max(merged[k].to, r.to)
			continue
		}
		merged = append(merged, r)
	}
	sel, args := `SELECT unit, n, total FROM metrics_all_totals WHERE`, []any{}
	if kind != KindAll {
		sel, args = `SELECT unit, n, total FROM metrics_kind_totals WHERE kind = $1 AND`, append(args, kind)
	}
	q, args := runsUnion(sel, merged, len(args)+1, args)
	type key struct {
		u unit
		n int64
	}
	totals := map[key]int64{}
	rows, err := m.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("metrics: series: %w", err)
	}
	for rows.Next() {
		var k key
		var total int64
		if err := rows.Scan(&k.u, &k.n, &total); err != nil {
			rows.Close()
			return nil, err
		}
		totals[k] = total
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metrics: series: %w", err)
	}
	type imp struct{ first, last, total int64 }
	var imports []imp
	rows, err = m.db.QueryContext(ctx,
		`SELECT first_day, last_day, total FROM metrics_imported_totals WHERE kind = $1 AND first_day >= $2 AND last_day <= $3`,
		kind, p.firstDay(), p.lastDay())
	if err != nil {
		return nil, fmt.Errorf("metrics: series: %w", err)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metrics: series: %w", err)
	}
	out := make([]Point, len(ps))
	for i, s := range ps {
		out[i] = Point{Period: s.Name, First: s.First}
		for _, r := range stepRuns[i] {
			for n := r.from; n <= r.to; n++ {
				out[i].Total += totals[key{r.unit, n}]
			}
		}
		for _, im := range imports {
			if im.first >= s.firstDay() && im.last <= s.lastDay() {
				out[i].Total += im.total
			}
		}
	}
	return out, nil
}

// Entry is one value of a label with its total.
type Entry struct {
	Value string `json:"value"`
	Total int64  `json:"total"`
}

// labelIndex is the position of the named label in kind's labels.
func (m *Metrics) labelIndex(kind, label string) (int, error) {
	if k, ok := m.kinds[kind]; ok {
		if i := slices.Index(k.Labels, label); i >= 0 {
			return i, nil
		}
		return 0, fmt.Errorf("metrics: kind %q has no label %q", kind, label)
	}
	var n int
	if _, err := fmt.Sscanf(label, "label%d", &n); err != nil || n < 1 {
		return 0, fmt.Errorf("metrics: kind %q is not declared; its labels are label1, label2, …", kind)
	}
	return n - 1, nil
}

// Top lists the n values of kind's label with the most transactions in p,
// largest first (counted transactions only).
func (m *Metrics) Top(ctx context.Context, kind, label string, p Period, n int) ([]Entry, error) {
	if kind == KindAll {
		return nil, fmt.Errorf("metrics: top values need one kind")
	}
	idx, err := m.labelIndex(kind, label)
	if err != nil {
		return nil, err
	}
	// A label set's total in p is its running total on the last day of p
	// less that on the day before p, both taken no later than the last day
	// in the running totals, plus its daily rows after that day. One
	// statement reads them all at once, so a roll-up cannot come between.
	// (kind || '' keeps SQLite on the index by day rather than on every
	// daily row of the kind.)
	rows, err := m.db.QueryContext(ctx, `SELECT labels, CAST(SUM(v) AS BIGINT) FROM (
		SELECT labels, cum AS v FROM metrics_label_cum
			WHERE day = (SELECT CASE WHEN through < $2 THEN through ELSE $2 END FROM metrics_rolled WHERE id = 1) AND kind = $3
		UNION ALL
		SELECT labels, -cum FROM metrics_label_cum
			WHERE day = (SELECT CASE WHEN through < $1 - 1 THEN through ELSE $1 - 1 END FROM metrics_rolled WHERE id = 1) AND kind = $3
		UNION ALL
		SELECT labels, total FROM metrics_daily WHERE kind || '' = $3 AND day <= $2
			AND day > (SELECT CASE WHEN through >= $1 THEN through ELSE $1 - 1 END FROM metrics_rolled WHERE id = 1)
	) t GROUP BY labels HAVING SUM(v) <> 0`, p.firstDay(), p.lastDay(), kind)
	if err != nil {
		return nil, fmt.Errorf("metrics: top: %w", err)
	}
	defer rows.Close()
	sums := map[string]int64{}
	for rows.Next() {
		var raw string
		var total int64
		if err := rows.Scan(&raw, &total); err != nil {
			return nil, err
		}
		v, err := labelAt(raw, idx)
		if err != nil {
			return nil, err
		}
		sums[v] += total
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(sums))
	for v, t := range sums {
		out = append(out, Entry{Value: v, Total: t})
	}
	slices.SortFunc(out, func(a, b Entry) int { return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Value, b.Value)) })
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// VisitsAvoided is the total in p of the kinds declared as replacing a
// visit to an office.
func (m *Metrics) VisitsAvoided(ctx context.Context, p Period) (int64, error) {
	var sum int64
	for _, k := range m.cfg.Kinds {
		if !k.ReplacesVisit {
			continue
		}
		t, err := m.Total(ctx, k.Name, p)
		if err != nil {
			return 0, err
		}
		sum += t
	}
	return sum, nil
}

// labelAt is the value at idx of a label set stored as a JSON array, or
// OverflowLabel for the overflow series and for a label set too short.
// Arrays as Count stores them, without escapes, are cut apart without
// decoding (a JSON string without a backslash cannot hold a quote); any
// other is decoded.
func labelAt(raw string, idx int) (string, error) {
	var labels []string
	if strings.HasPrefix(raw, `["`) && strings.HasSuffix(raw, `"]`) && !strings.Contains(raw, `\`) {
		inner := raw[2 : len(raw)-2]
		n := strings.Count(inner, `","`) + 1
		if n == 1 && inner == OverflowLabel || idx >= n {
			return OverflowLabel, nil
		}
		for i := 0; i < idx; i++ {
			_, inner, _ = strings.Cut(inner, `","`)
		}
		v, _, _ := strings.Cut(inner, `","`)
		return v, nil
	}
	if err := json.Unmarshal([]byte(raw), &labels); err != nil {
		return "", err
	}
	if idx >= len(labels) || len(labels) == 1 && labels[0] == OverflowLabel {
		return OverflowLabel, nil
	}
	return labels[idx], nil
}
