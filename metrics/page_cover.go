package metrics

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// dayRange is a run of days, first to last inclusive, as day numbers
// (days since 1970-01-01).
type dayRange struct{ first, last int64 }

func (r dayRange) days() int { return int(r.last-r.first) + 1 }

func dayTime(d int64) time.Time { return time.Unix(d*86400, 0).UTC() }

// coverage says which days have figures, kind by kind: the periods of
// the imported totals, and the days since counting of the kind began.
// The statistics page uses it to tell "no data" from a counted zero and
// to say when a period has figures for only part of its days.
type coverage struct {
	imported map[string][]dayRange
	counted  map[string]dayRange // KindAll from the first count of any kind
	sources  []string            // where the imported totals come from
}

// loadCoverage reads what coverage needs; today is the last day counting
// covers.
func (m *Metrics) loadCoverage(ctx context.Context, today int64) (*coverage, error) {
	c := &coverage{imported: map[string][]dayRange{}, counted: map[string]dayRange{}}
	rows, err := m.db.QueryContext(ctx, `SELECT kind, first_day, last_day, source FROM metrics_imported ORDER BY first_day, kind`)
	if err != nil {
		return nil, fmt.Errorf("metrics: page: %w", err)
	}
	for rows.Next() {
		var kind, source string
		var r dayRange
		if err := rows.Scan(&kind, &r.first, &r.last, &source); err != nil {
			rows.Close()
			return nil, err
		}
		c.imported[kind] = append(c.imported[kind], r)
		if !slices.Contains(c.sources, source) {
			c.sources = append(c.sources, source)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metrics: page: %w", err)
	}
	rows, err = m.db.QueryContext(ctx, `SELECT kind, first_day, last_day FROM metrics_kind_span`)
	if err != nil {
		return nil, fmt.Errorf("metrics: page: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var r dayRange
		if err := rows.Scan(&kind, &r.first, &r.last); err != nil {
			return nil, err
		}
		r.last = max(r.last, today)
		c.counted[kind] = r
		all, ok := c.counted[KindAll]
		if !ok {
			all = r
		}
		c.counted[KindAll] = dayRange{min(all.first, r.first), max(all.last, r.last)}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("metrics: page: %w", err)
	}
	return c, nil
}

// kinds are the kinds with any figure: the declared ones in their order,
// then the others by name.
func (c *coverage) kinds(declared []Kind) []string {
	var out, others []string
	seen := map[string]bool{KindAll: true}
	for _, k := range declared {
		seen[k.Name] = true
		if c.has(k.Name) {
			out = append(out, k.Name)
		}
	}
	for k := range c.imported {
		if !seen[k] {
			seen[k], others = true, append(others, k)
		}
	}
	for k := range c.counted {
		if !seen[k] {
			seen[k], others = true, append(others, k)
		}
	}
	slices.Sort(others)
	return append(out, others...)
}

func (c *coverage) has(kind string) bool {
	_, ok := c.counted[kind]
	return ok || len(c.imported[kind]) > 0
}

// within is the days of p with figures of kind, merged and in order: the
// periods of the imported totals that p contains whole (the only ones its
// total adds), and the counted days.
func (c *coverage) within(kind string, p Period) []dayRange {
	lo, hi := p.firstDay(), p.lastDay()
	var rs []dayRange
	for _, r := range c.imported[kind] {
		if r.first >= lo && r.last <= hi {
			rs = append(rs, r)
		}
	}
	if r, ok := c.counted[kind]; ok && r.first <= hi && r.last >= lo {
		rs = append(rs, dayRange{max(r.first, lo), min(r.last, hi)})
	}
	slices.SortFunc(rs, func(a, b dayRange) int { return int(a.first - b.first) })
	var out []dayRange
	for _, r := range rs {
		if n := len(out); n > 0 && r.first <= out[n-1].last+1 {
			out[n-1].last = max(out[n-1].last, r.last)
			continue
		}
		out = append(out, r)
	}
	return out
}

// coveredDays counts the days in rs.
func coveredDays(rs []dayRange) int {
	n := 0
	for _, r := range rs {
		n += r.days()
	}
	return n
}

// whole tells whether rs is every day of p.
func whole(rs []dayRange, p Period) bool {
	return len(rs) == 1 && rs[0].first == p.firstDay() && rs[0].last == p.lastDay()
}

// spanLabel writes days the way people name periods, in lang: "2020",
// "Jan–Jun 2021", "Jun 2021", "7–15 Dec 2026", "10 Mar–31 Dec 2025", or
// several of them joined by commas.
func (s *statsPage) spanLabel(lang string, rs []dayRange) string {
	if len(rs) == 0 {
		return ""
	}
	sameYear := dayTime(rs[0].first).Year() == dayTime(rs[len(rs)-1].last).Year()
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = s.rangeLabel(lang, r, !sameYear)
	}
	label := strings.Join(parts, ", ")
	if y := fmt.Sprint(dayTime(rs[0].first).Year()); sameYear && label != y {
		label += " " + y
	}
	return label
}

// unbroken keeps a text on one line: its spaces do not break, nor does
// the line after its dashes.
var unbroken = strings.NewReplacer(" ", "\u00a0", "–", dash)

// dash joins the ends of a range; the line does not break after it.
const dash = "–\u2060"

// rangeLabel names one run of days; with withYear false it leaves out the
// year, which the caller adds once, unless the run crosses a year. A line
// may break before the year, nowhere else.
func (s *statsPage) rangeLabel(lang string, r dayRange, withYear bool) string {
	a, b := dayTime(r.first), dayTime(r.last)
	month := func(t time.Time) string { return s.text(lang, "metrics.month_short."+t.Format("01")) }
	day := func(t time.Time) string { return fmt.Sprintf("%d\u00a0%s", t.Day(), month(t)) }
	if a.Year() != b.Year() {
		withYear = true
		if a.YearDay() == 1 && b.AddDate(0, 0, 1).YearDay() == 1 {
			return fmt.Sprint(a.Year(), dash, b.Year())
		}
	}
	year := func(t time.Time) string {
		if withYear {
			return fmt.Sprintf(" %d", t.Year())
		}
		return ""
	}
	switch {
	case a.Year() == b.Year() && a.YearDay() == 1 && b.AddDate(0, 0, 1).YearDay() == 1:
		return fmt.Sprint(a.Year())
	case a.Day() == 1 && b.AddDate(0, 0, 1).Day() == 1: // whole months
		if a.Year() == b.Year() && a.Month() == b.Month() {
			return month(a) + year(a)
		}
		if a.Year() == b.Year() {
			return month(a) + dash + month(b) + year(b)
		}
		return month(a) + year(a) + dash + month(b) + year(b)
	case r.first == r.last:
		return day(a) + year(a)
	case a.Year() == b.Year() && a.Month() == b.Month():
		return fmt.Sprint(a.Day(), dash, day(b)) + year(b)
	case a.Year() == b.Year():
		return day(a) + dash + day(b) + year(b)
	}
	return day(a) + year(a) + dash + day(b) + year(b)
}

// periodLabel names p by the days it has figures for, when only some
// have; partial tells whether that is so.
func (s *statsPage) periodLabel(lang string, p Period, rs []dayRange) (label string, partial bool) {
	full := dayRange{p.firstDay(), p.lastDay()}
	if len(rs) == 0 || whole(rs, p) {
		return s.rangeLabel(lang, full, true), false
	}
	return s.spanLabel(lang, rs), true
}
