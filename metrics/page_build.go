package metrics

import (
	"context"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/message"
)

// yearRow is one row of the table by year: a year, or a run of years
// without figures.
type yearRow struct {
	Period     string // "2020", "Jan–Jun 2021", "2022–2025"
	Total      string
	RateChange string // "" when there is nothing to compare with
}

// leadFigures is the headline: the latest period that has ended, against
// the year before it.
type leadFigures struct {
	Period string
	IsYear bool // Period is a whole year
	Total  string
	Count  int64
	Base   string // "" when the year before has no figures
	Change string // of the daily rate against Base
	Kinds  []kindGrowth
	Visits string
	// VisitsCount chooses the plural form of the visits sentence.
	VisitsCount int64
}

// kindGrowth is one kind's figure in the headline period.
type kindGrowth struct{ Title, Total, Change string }

// soFar is the period in progress: the current year, up to today.
type soFar struct {
	Period string
	Total  string
	Count  int64
}

type chart struct {
	Title string
	SVG   template.HTML
}

// comparison is a table of one period against another, kind by kind.
type comparison struct {
	ID, Caption  string
	Period, Base string
	Cols         comparisonCols
	Rows         []growthRow
}

// comparisonCols are the words of a comparison's table.
type comparisonCols struct{ Kind, Change, RateChange string }

type growthRow struct {
	Kind, Total, BaseTotal, Change, RateChange string
}

// formError is a field of the comparison form and what is wrong with it.
type formError struct{ Field, Label, Text string }

type monthRow struct {
	Month, Total string
	NoData       bool
}

// kindCells is one row of the table by kind and year.
type kindCells struct {
	Period string
	Cells  []string
	Visits string // visits avoided, or "no data"
}

type statsData struct {
	Empty bool
	Lead  *leadFigures
	SoFar *soFar
	// Published and Counted say where the figures come from; Partial,
	// that some period shown has figures for part of its days only.
	Published, Counted string
	Partial            bool
	Years              []yearRow
	Charts             []chart
	KindTitles         []string
	KindRows           []kindCells
	Growth             []comparison
	Custom             *comparison
	Months             []monthRow
	MonthsChart        template.HTML
	MonthsYear         string
	FormPeriod         string
	FormBase           string
	// PeriodError and BaseError say, in the page's language, what is
	// wrong with what was typed in each field; FormErrors lists them for
	// the summary above the form.
	PeriodError string
	BaseError   string
	FormErrors  []formError
	CSVYears    string
	CSVMonths   string
}

// yearSlot is a year of the page, or a run of years without figures of
// any kind.
type yearSlot struct {
	first, last int        // years
	p           Period     // the year, when first == last
	cov         []dayRange // its days with figures of all kinds together
	total       int64
	figures     bool // some kind has figures in the year
}

// pageBuild is one rendering of the page: what it reads once and what it
// has found.
type pageBuild struct {
	*statsPage
	ctx     context.Context
	lang    string
	p       *message.Printer
	cov     *coverage
	kinds   []string // the kinds with any figure
	today   int64
	noData  string
	partial bool // a label named part of a period
}

func (s *statsPage) build(ctx context.Context, lang, period, base string) (*statsData, error) {
	m := s.m
	d := &statsData{FormPeriod: period, FormBase: base}
	now := s.cfg.Now().In(m.cfg.Location)
	today := dayOf(now, m.cfg.Location)
	cov, err := m.loadCoverage(ctx, today)
	if err != nil {
		return nil, err
	}
	b := &pageBuild{statsPage: s, ctx: ctx, lang: lang, p: printer(lang), cov: cov, kinds: cov.kinds(m.cfg.Kinds), today: today,
		noData: s.text(lang, "metrics.no_data")}
	first, last, ok := cov.years()
	if !ok {
		d.Empty = true
		return d, nil
	}
	last = max(last, now.Year())
	first = max(first, last-30)
	slots, err := b.yearSlots(first, last)
	if err != nil {
		return nil, err
	}
	steps := []func(*statsData, []yearSlot) error{b.years, b.headline, b.byKind}
	for _, step := range steps {
		if err := step(d, slots); err != nil {
			return nil, err
		}
	}
	if s.cfg.APIPrefix != "" {
		d.CSVYears = s.cfg.APIPrefix + fmt.Sprintf("series?kind=all&period=%d-01-01..%d-12-31&by=year&format=csv", first, last)
	}
	for i, c := range s.comparisons {
		t, err := b.compare(c[0], c[1], fmt.Sprintf("table-growth-%d", i))
		if err != nil {
			return nil, err
		}
		d.Growth = append(d.Growth, *t)
	}
	if err := b.form(d, period, base); err != nil {
		return nil, err
	}
	if err := b.months(d, now); err != nil {
		return nil, err
	}
	b.sources(d)
	d.Partial = b.partial
	return d, nil
}

// years is the first and last year with any figure.
func (c *coverage) years() (first, last int, ok bool) {
	lo, hi := int64(1<<62), int64(-1<<62)
	for _, rs := range c.imported {
		for _, r := range rs {
			lo, hi = min(lo, r.first), max(hi, r.last)
		}
	}
	for _, r := range c.counted {
		lo, hi = min(lo, r.first), max(hi, r.last)
	}
	if lo > hi {
		return 0, 0, false
	}
	return dayTime(lo).Year(), dayTime(hi).Year(), true
}

// yearSlots are the years from first to last, runs of years without any
// figure taken together.
func (b *pageBuild) yearSlots(first, last int) ([]yearSlot, error) {
	var out []yearSlot
	for y := first; y <= last; y++ {
		sl := yearSlot{first: y, last: y, p: mustPeriod(fmt.Sprint(y))}
		sl.cov = b.cov.within(KindAll, sl.p)
		sl.figures = len(sl.cov) > 0
		for _, k := range b.kinds {
			sl.figures = sl.figures || len(b.cov.within(k, sl.p)) > 0
		}
		if n := len(out); !sl.figures && n > 0 && !out[n-1].figures {
			out[n-1].last = y
			continue
		}
		if len(sl.cov) > 0 {
			t, err := b.m.Total(b.ctx, KindAll, sl.p)
			if err != nil {
				return nil, err
			}
			sl.total = t
		}
		out = append(out, sl)
	}
	return out, nil
}

// label names p by its days with figures (rs) and notes when that is
// only part of p.
func (b *pageBuild) label(p Period, rs []dayRange) string {
	l, partial := b.periodLabel(b.lang, p, rs)
	b.partial = b.partial || partial
	return l
}

// slotLabel names a slot: its year or the days of it with figures (rs),
// or a run of years.
func (b *pageBuild) slotLabel(sl yearSlot, rs []dayRange) string {
	if sl.first != sl.last {
		return unbroken.Replace(fmt.Sprintf("%d–%d", sl.first, sl.last))
	}
	return b.label(sl.p, rs)
}

func (b *pageBuild) number(n int64) string { return b.p.Sprintf("%d", n) }

// rateChange is the change of the daily rate of kind's total t over the
// days rs against bt over bs, counting only days with figures; "" when
// either has none.
func (b *pageBuild) rateChange(t int64, rs []dayRange, bt int64, bs []dayRange) string {
	if len(rs) == 0 || len(bs) == 0 {
		return ""
	}
	_, rate := changes(t, coveredDays(rs), bt, coveredDays(bs))
	return pct(b.p, rate)
}

// years fills the table by year and the chart of all transactions.
func (b *pageBuild) years(d *statsData, slots []yearSlot) error {
	var bars []bar
	for i, sl := range slots {
		row := yearRow{Period: b.slotLabel(sl, sl.cov)}
		if len(sl.cov) == 0 {
			row.Total = b.noData
			d.Years = append(d.Years, row)
			bars = append(bars, bar{label: row.Period, text: b.noData})
			continue
		}
		row.Total = b.number(sl.total)
		if i > 0 && slots[i-1].last == sl.first-1 {
			prev := slots[i-1]
			row.RateChange = b.rateChange(sl.total, sl.cov, prev.total, prev.cov)
		}
		d.Years = append(d.Years, row)
		bars = append(bars, bar{label: row.Period, value: sl.total, text: row.Total, known: true})
	}
	title := b.kindTitle(b.lang, KindAll)
	d.Charts = append(d.Charts, chart{Title: title, SVG: barChart("chart-all",
		b.text(b.lang, "metrics.chart.kind.title", "kind", title), b.text(b.lang, "metrics.chart.years.desc"), bars)})
	return nil
}

// visitFigures tells whether a kind that replaces a visit has figures in p.
func (b *pageBuild) visitFigures(p Period) bool {
	for _, k := range b.m.cfg.Kinds {
		if k.ReplacesVisit && len(b.cov.within(k.Name, p)) > 0 {
			return true
		}
	}
	return false
}

// headline chooses the lead: the latest period with figures that has
// ended, against the year before; and the year in progress, if it has
// figures.
func (b *pageBuild) headline(d *statsData, slots []yearSlot) error {
	for i := len(slots) - 1; i >= 0; i-- {
		sl := slots[i]
		if len(sl.cov) == 0 {
			continue
		}
		if sl.cov[len(sl.cov)-1].last >= b.today {
			if d.SoFar == nil {
				d.SoFar = &soFar{Period: b.slotLabel(sl, sl.cov), Total: b.number(sl.total), Count: sl.total}
			}
			continue
		}
		l := &leadFigures{Period: b.slotLabel(sl, sl.cov), IsYear: whole(sl.cov, sl.p), Total: b.number(sl.total), Count: sl.total}
		if i > 0 && slots[i-1].last == sl.first-1 && len(slots[i-1].cov) > 0 {
			prev := slots[i-1]
			l.Base = b.slotLabel(prev, prev.cov)
			l.Change = b.rateChange(sl.total, sl.cov, prev.total, prev.cov)
			for _, k := range b.kinds {
				rs, bs := b.cov.within(k, sl.p), b.cov.within(k, prev.p)
				if len(rs) == 0 || len(bs) == 0 {
					continue
				}
				t, bt, err := b.totals(k, sl.p, prev.p)
				if err != nil {
					return err
				}
				l.Kinds = append(l.Kinds, kindGrowth{Title: b.kindTitle(b.lang, k), Total: b.number(t), Change: b.rateChange(t, rs, bt, bs)})
			}
		}
		if b.visitFigures(sl.p) {
			v, err := b.m.VisitsAvoided(b.ctx, sl.p)
			if err != nil {
				return err
			}
			if v > 0 {
				l.Visits, l.VisitsCount = b.number(v), v
			}
		}
		d.Lead = l
		break
	}
	return nil
}

func (b *pageBuild) totals(kind string, p, base Period) (int64, int64, error) {
	t, err := b.m.Total(b.ctx, kind, p)
	if err != nil {
		return 0, 0, err
	}
	bt, err := b.m.Total(b.ctx, kind, base)
	return t, bt, err
}

// byKind draws a chart for each kind with figures and fills the table of
// kinds by year.
func (b *pageBuild) byKind(d *statsData, slots []yearSlot) error {
	cells := make([][]string, len(slots))
	for _, k := range b.kinds {
		title := b.kindTitle(b.lang, k)
		d.KindTitles = append(d.KindTitles, title)
		var bars []bar // from the kind's first year with figures
		for i, sl := range slots {
			rs := b.cov.within(k, sl.p)
			if sl.first != sl.last || len(rs) == 0 {
				cells[i] = append(cells[i], b.noData)
				if len(bars) > 0 {
					bars = append(bars, bar{label: b.slotLabel(sl, nil), text: b.noData})
				}
				continue
			}
			t, err := b.m.Total(b.ctx, k, sl.p)
			if err != nil {
				return err
			}
			cells[i] = append(cells[i], b.number(t))
			bars = append(bars, bar{label: b.slotLabel(sl, rs), value: t, text: b.number(t), known: true})
		}
		d.Charts = append(d.Charts, chart{Title: title, SVG: barChart(fmt.Sprintf("chart-%d", len(d.Charts)),
			b.text(b.lang, "metrics.chart.kind.title", "kind", title), b.text(b.lang, "metrics.chart.years.desc"), bars)})
	}
	if len(b.kinds) == 0 {
		return nil
	}
	for i, sl := range slots {
		if !slices.ContainsFunc(cells[i], func(c string) bool { return c != b.noData }) {
			continue // no kind has figures: the table by year says so
		}
		row := kindCells{Period: b.slotLabel(sl, sl.cov), Cells: cells[i], Visits: b.noData}
		if sl.first == sl.last && b.visitFigures(sl.p) {
			v, err := b.m.VisitsAvoided(b.ctx, sl.p)
			if err != nil {
				return err
			}
			row.Visits = b.number(v)
		}
		d.KindRows = append(d.KindRows, row)
	}
	return nil
}

// sources says where the figures come from: the periods of the published
// totals and their source, and the day counting began.
func (b *pageBuild) sources(d *statsData) {
	if rs := b.cov.imported[KindAll]; len(rs) > 0 {
		lo, hi := rs[0], rs[0]
		for _, r := range rs {
			if r.first < lo.first {
				lo = r
			}
			if r.last > hi.last {
				hi = r
			}
		}
		from, to := b.rangeLabel(b.lang, lo, true), b.rangeLabel(b.lang, hi, true)
		src := strings.Join(b.cov.sources, "; ")
		if from == to {
			d.Published = b.text(b.lang, "metrics.source.published_one", "period", from, "source", src)
		} else {
			d.Published = b.text(b.lang, "metrics.source.published", "from", from, "to", to, "source", src)
		}
	}
	if r, ok := b.cov.counted[KindAll]; ok {
		d.Counted = b.text(b.lang, "metrics.source.counted", "day", b.rangeLabel(b.lang, dayRange{r.first, r.first}, true))
	}
}

// compare is the table of p against base: every kind with figures in
// both, after all transactions together.
// id is unique in the page.
func (b *pageBuild) compare(p, base Period, id string) (*comparison, error) {
	pa, ba := b.cov.within(KindAll, p), b.cov.within(KindAll, base)
	c := &comparison{ID: id, Period: b.label(p, pa), Base: b.label(base, ba), Cols: comparisonCols{
		Kind: b.text(b.lang, "metrics.col.kind"), Change: b.text(b.lang, "metrics.col.change"),
		RateChange: b.text(b.lang, "metrics.col.rate_change")}}
	c.Caption = b.text(b.lang, "metrics.growth.caption", "period", c.Period, "base", c.Base)
	for _, k := range append([]string{KindAll}, b.kinds...) {
		rs, bs := b.cov.within(k, p), b.cov.within(k, base)
		if k != KindAll && (len(rs) == 0 || len(bs) == 0) {
			continue
		}
		t, bt, err := b.totals(k, p, base)
		if err != nil {
			return nil, err
		}
		row := growthRow{Kind: b.kindTitle(b.lang, k), Total: b.noData, BaseTotal: b.noData}
		if len(rs) > 0 {
			row.Total = b.number(t)
		}
		if len(bs) > 0 {
			row.BaseTotal = b.number(bt)
		}
		if whole(rs, p) && whole(bs, base) {
			plain, _ := changes(t, p.Days(), bt, base.Days())
			row.Change = pct(b.p, plain)
		}
		row.RateChange = b.rateChange(t, rs, bt, bs)
		c.Rows = append(c.Rows, row)
	}
	return c, nil
}

// form reads the visitor's comparison: what is wrong with each field, in
// the page's language, or the comparison.
func (b *pageBuild) form(d *statsData, period, base string) error {
	if period == "" && base == "" {
		return nil
	}
	// Periods are written in capitals (2021-H1); a visitor need not.
	pp, perr := ParsePeriod(strings.ToUpper(period))
	bp, berr := ParsePeriod(strings.ToUpper(base))
	d.PeriodError, d.BaseError = b.periodMessage(b.lang, period, perr), b.periodMessage(b.lang, base, berr)
	if d.PeriodError != "" {
		d.FormErrors = append(d.FormErrors, formError{"period", b.text(b.lang, "metrics.form.period"), d.PeriodError})
	}
	if d.BaseError != "" {
		d.FormErrors = append(d.FormErrors, formError{"base", b.text(b.lang, "metrics.form.base"), d.BaseError})
	}
	if perr != nil || berr != nil {
		return nil
	}
	c, err := b.compare(pp, bp, "table-custom")
	d.Custom = c
	return err
}

// months fills the current year month by month, when it has figures.
func (b *pageBuild) months(d *statsData, now time.Time) error {
	yp := mustPeriod(fmt.Sprint(now.Year()))
	if len(b.cov.within(KindAll, yp)) == 0 {
		return nil
	}
	points, err := b.m.Series(b.ctx, KindAll, yp, ByMonth)
	if err != nil {
		return err
	}
	// Months without figures are taken together, named in full in the
	// table and shortly in the chart.
	name := func(t time.Time, key string) string { return b.text(b.lang, key+t.Format("01")) }
	var bars []bar
	var runFrom time.Time
	for _, pt := range points[:int(now.Month())] {
		mp := mustPeriod(pt.Period)
		rs := b.cov.within(KindAll, mp)
		if len(rs) == 0 {
			n := len(d.Months)
			if n == 0 || !d.Months[n-1].NoData {
				runFrom = pt.First
				d.Months = append(d.Months, monthRow{Total: b.noData, NoData: true})
				bars = append(bars, bar{text: b.noData})
				n++
			}
			d.Months[n-1].Month, bars[n-1].label = name(runFrom, "metrics.month."), name(runFrom, "metrics.month_short.")
			if !runFrom.Equal(pt.First) {
				d.Months[n-1].Month += dash + name(pt.First, "metrics.month.")
				bars[n-1].label += dash + name(pt.First, "metrics.month_short.")
			}
			continue
		}
		row := monthRow{Month: name(pt.First, "metrics.month."), Total: b.number(pt.Total)}
		if !whole(rs, mp) {
			row.Month = b.label(mp, rs)
		}
		d.Months = append(d.Months, row)
		bars = append(bars, bar{label: row.Month, value: pt.Total, text: row.Total, known: true})
	}
	d.MonthsYear = fmt.Sprint(now.Year())
	d.MonthsChart = barChart("chart-months", b.text(b.lang, "metrics.chart.months.title", "year", now.Year()), b.text(b.lang, "metrics.chart.months.desc"), bars)
	if b.cfg.APIPrefix != "" {
		d.CSVMonths = b.cfg.APIPrefix + fmt.Sprintf("series?kind=all&period=%d&by=month&format=csv", now.Year())
	}
	return nil
}
