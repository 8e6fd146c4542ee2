package metrics

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/internal/web"
)

//go:embed templates/*.html messages/*.json
var pageAssets embed.FS

// defaultLocation is where days begin when Config.Location is nil: the
// location of every egovkit page, Europe/Athens.
var defaultLocation = web.DefaultLocation

// Comparison is a growth figure the statistics page shows: a period
// against a base period, such as {"2021-H1", "2020"}.
type Comparison struct{ Period, Base string }

// PageConfig configures the public statistics page.
type PageConfig struct {
	// Prefix is the path the page is mounted at with http.StripPrefix,
	// such as "/stats" for a page at /stats/; empty means the root. The
	// handler serves the page's stylesheet itself, below it, at
	// Prefix + "/static/egovkit.<hash>.css".
	Prefix string
	// StaticPrefix is the directory the page links its stylesheet from.
	// Empty means the handler's own, Prefix + "/static/", so the page
	// needs nothing else mounted. A site that serves one shared
	// stylesheet for all its pages names its directory here, such as
	// "/static/"; so does a site that mounts the page at one exact path
	// (mux.Handle("GET /stats", page)), since no other path reaches the
	// handler then.
	StaticPrefix string
	// HomeURL is where the brand link leads; empty means "/".
	HomeURL string
	// APIPrefix is where APIHandler is mounted, such as "/stats/api/", for
	// the CSV download links; empty leaves the links out.
	APIPrefix string
	// Comparisons are the growth figures shown besides each year against
	// the year before.
	Comparisons []Comparison
	// Now replaces time.Now, for tests.
	Now func() time.Time
}

// PageHandler serves the public statistics page in Greek and English:
// totals by year with a bar chart, growth figures, the current year month
// by month with a line chart, and totals by kind. Charts are SVG drawn on
// the server (no JavaScript), each with a text alternative and its data as
// a table. ?period=P&base=B adds a comparison of the visitor's choice.
// Every path gives the page except its stylesheet's: the handler serves the
// stylesheet itself at Prefix + "/static/egovkit.<hash>.css" (text/css,
// cached for a year since its name changes with its content). Mount it
// at the root, or below PageConfig.Prefix with http.StripPrefix.
func (m *Metrics) PageHandler(cfg PageConfig) (http.Handler, error) {
	cfg.Prefix = strings.TrimSuffix(cfg.Prefix, "/")
	if cfg.StaticPrefix == "" {
		cfg.StaticPrefix = web.StaticPrefixAt(cfg.Prefix)
	}
	if cfg.HomeURL == "" {
		cfg.HomeURL = "/"
	}
	if cfg.Now == nil {
		cfg.Now = m.cfg.Now
	}
	pages, err := web.NewRenderer(pageAssets, "templates/*.html",
		web.WithMessages(pageAssets, "messages/*.json"),
		web.WithServiceName("metrics.service"),
		web.WithStaticPrefix(cfg.StaticPrefix),
		web.WithHomeURL(cfg.HomeURL),
		web.WithRequestID(func(r *http.Request) string { return httpx.RequestIDFromContext(r.Context()) }),
		web.WithLogger(m.log),
		web.WithLocation(m.cfg.Location),
	)
	if err != nil {
		return nil, err
	}
	return &statsPage{m: m, cfg: cfg, pages: pages, static: web.Static()}, nil
}

type statsPage struct {
	m      *Metrics
	cfg    PageConfig
	pages  *web.Renderer
	static http.Handler
}

// yearRow is one year of the totals table.
type yearRow struct {
	Year          string
	Total         string
	Change        string // "" when there is no base
	VisitsAvoided string
	visits        int64
}

type growthRow struct {
	Period, Base, Total, BaseTotal, Change, RateChange string
}

// formError is a field of the comparison form and what is wrong with it.
type formError struct{ Field, Label, Text string }

type kindRow struct {
	Title, Total string
}

type monthRow struct {
	Month, Total string
}

type statsData struct {
	Empty       bool
	LatestYear  string
	LatestTotal string // formatted for the page's language
	Visits      string // formatted; "" when none were avoided
	// LatestCount and VisitsCount are the same numbers unformatted: they
	// choose the plural form of the sentences that show them.
	LatestCount, VisitsCount int64
	Years                    []yearRow
	YearsChart               template.HTML
	Growth                   []growthRow
	Months                   []monthRow
	MonthsChart              template.HTML
	MonthsYear               string
	Kinds                    []kindRow
	FormPeriod               string
	FormBase                 string
	// PeriodError and BaseError say, in the page's language, what is
	// wrong with what was typed in each field; FormErrors lists them for
	// the summary above the form.
	PeriodError string
	BaseError   string
	FormErrors  []formError
	Custom      *growthRow
	CSVYears    string
	CSVMonths   string
}

func (s *statsPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && web.IsStatic(r.URL.Path) {
		s.static.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.pages.RenderError(w, r, http.StatusMethodNotAllowed, "")
		return
	}
	lang := web.Lang(r)
	d, err := s.build(r.Context(), lang, r.URL.Query().Get("period"), r.URL.Query().Get("base"))
	if err != nil {
		status := httpx.ServerErrorStatus(err) // 503 when the database is unavailable
		s.m.log.Error("statistics page", zap.Int("status", status), zap.Error(err))
		s.pages.RenderError(w, r, status, "")
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	s.pages.Render(w, r, http.StatusOK, "stats.html", d)
}

func (s *statsPage) text(lang, key string, args ...any) string {
	return s.pages.Text(lang, key, args...)
}

// printer formats numbers the way the language writes them.
func printer(lang string) *message.Printer {
	if lang == "el" {
		return message.NewPrinter(language.Greek)
	}
	return message.NewPrinter(language.English)
}

func (s *statsPage) pct(p *message.Printer, v *float64) string {
	if v == nil {
		return ""
	}
	return p.Sprintf("%+.1f%%", *v)
}

// span is the first and last year with any figure, counted or imported.
func (m *Metrics) span(ctx context.Context) (first, last int, ok bool, err error) {
	var a, b sql.NullInt64
	if err := m.db.QueryRowContext(ctx, `SELECT MIN(day), MAX(day) FROM metrics_daily`).Scan(&a, &b); err != nil {
		return 0, 0, false, err
	}
	var c, d sql.NullInt64
	if err := m.db.QueryRowContext(ctx, `SELECT MIN(first_day), MAX(last_day) FROM metrics_imported`).Scan(&c, &d); err != nil {
		return 0, 0, false, err
	}
	lo, hi := int64(1<<62), int64(-1<<62)
	for _, v := range []sql.NullInt64{a, c} {
		if v.Valid && v.Int64 < lo {
			lo = v.Int64
		}
	}
	for _, v := range []sql.NullInt64{b, d} {
		if v.Valid && v.Int64 > hi {
			hi = v.Int64
		}
	}
	if lo > hi {
		return 0, 0, false, nil
	}
	return time.Unix(lo*86400, 0).UTC().Year(), time.Unix(hi*86400, 0).UTC().Year(), true, nil
}

func mustPeriod(s string) Period {
	p, err := ParsePeriod(s)
	if err != nil {
		panic(err) // built from numbers here, never from input
	}
	return p
}

func (s *statsPage) build(ctx context.Context, lang, period, base string) (*statsData, error) {
	m := s.m
	p := printer(lang)
	d := &statsData{FormPeriod: period, FormBase: base}
	first, last, ok, err := m.span(ctx)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now().In(m.cfg.Location)
	if !ok {
		d.Empty = true
		return d, nil
	}
	if now.Year() > last {
		last = now.Year()
	}
	if last-first > 30 {
		first = last - 30
	}
	// Totals by year; the current year runs to today, so its daily rate
	// is fair.
	yearPeriod := func(y int) Period {
		if y == now.Year() {
			return mustPeriod(fmt.Sprintf("%d-01-01..%s", y, now.Format(time.DateOnly)))
		}
		return mustPeriod(fmt.Sprint(y))
	}
	var bars []bar
	var prev *Period
	for y := first; y <= last; y++ {
		yp := yearPeriod(y)
		row := yearRow{Year: fmt.Sprint(y)}
		var total int64
		if prev != nil {
			g, err := m.Growth(ctx, KindAll, yp, *prev)
			if err != nil {
				return nil, err
			}
			total = g.Total
			row.Change = s.pct(p, g.ChangePct)
		} else if total, err = m.Total(ctx, KindAll, yp); err != nil {
			return nil, err
		}
		visits, err := m.VisitsAvoided(ctx, yp)
		if err != nil {
			return nil, err
		}
		row.Total, row.VisitsAvoided, row.visits = p.Sprintf("%d", total), p.Sprintf("%d", visits), visits
		d.Years = append(d.Years, row)
		bars = append(bars, bar{label: row.Year, value: total, text: row.Total})
		prevP := yp
		prev = &prevP
		if total > 0 {
			d.LatestYear, d.LatestTotal, d.LatestCount, d.Visits, d.VisitsCount = row.Year, row.Total, total, "", 0
			if row.visits > 0 {
				d.Visits, d.VisitsCount = row.VisitsAvoided, row.visits
			}
		}
	}
	d.YearsChart = barChart(s.text(lang, "metrics.chart.years.title"), s.text(lang, "metrics.chart.years.desc"), bars)
	if s.cfg.APIPrefix != "" {
		d.CSVYears = s.cfg.APIPrefix + fmt.Sprintf("series?kind=all&period=%d-01-01..%d-12-31&by=year&format=csv", first, last)
	}

	for _, c := range s.cfg.Comparisons {
		row, err := s.compare(ctx, p, c.Period, c.Base)
		if err != nil {
			return nil, err
		}
		d.Growth = append(d.Growth, *row)
	}
	if period != "" || base != "" {
		pp, perr := ParsePeriod(period)
		bp, berr := ParsePeriod(base)
		d.PeriodError, d.BaseError = s.periodMessage(lang, period, perr), s.periodMessage(lang, base, berr)
		if d.PeriodError != "" {
			d.FormErrors = append(d.FormErrors, formError{"period", s.text(lang, "metrics.form.period"), d.PeriodError})
		}
		if d.BaseError != "" {
			d.FormErrors = append(d.FormErrors, formError{"base", s.text(lang, "metrics.form.base"), d.BaseError})
		}
		if perr == nil && berr == nil {
			if d.Custom, err = s.growthRow(ctx, p, pp, bp); err != nil {
				return nil, err
			}
		}
	}

	// The current year, month by month.
	yp := mustPeriod(fmt.Sprint(now.Year()))
	points, err := m.Series(ctx, KindAll, yp, ByMonth)
	if err != nil {
		return nil, err
	}
	var line []bar
	for _, pt := range points[:int(now.Month())] {
		name := s.text(lang, "metrics.month."+pt.First.Format("01"))
		d.Months = append(d.Months, monthRow{Month: name, Total: p.Sprintf("%d", pt.Total)})
		line = append(line, bar{label: s.text(lang, "metrics.month_short."+pt.First.Format("01")), value: pt.Total, text: p.Sprintf("%d", pt.Total)})
	}
	d.MonthsYear = fmt.Sprint(now.Year())
	d.MonthsChart = lineChart(s.text(lang, "metrics.chart.months.title", "year", now.Year()), s.text(lang, "metrics.chart.months.desc"), line)
	if s.cfg.APIPrefix != "" {
		d.CSVMonths = s.cfg.APIPrefix + fmt.Sprintf("series?kind=all&period=%d&by=month&format=csv", now.Year())
	}

	// Totals by kind in the latest year with figures.
	if d.LatestYear != "" {
		lp := mustPeriod(d.LatestYear)
		for _, k := range s.kindNames(ctx) {
			t, err := m.Total(ctx, k, lp)
			if err != nil {
				return nil, err
			}
			if t > 0 {
				d.Kinds = append(d.Kinds, kindRow{Title: s.kindTitle(lang, k), Total: p.Sprintf("%d", t)})
			}
		}
	}
	return d, nil
}

// periodMessage says in lang what is wrong with a period typed in the
// form, or "" when err is nil.
func (s *statsPage) periodMessage(lang, input string, err error) string {
	if err == nil {
		return ""
	}
	code := PeriodUnknown
	var pe *PeriodError
	if errors.As(err, &pe) {
		code = pe.Code
	}
	if code == PeriodMissing {
		return s.text(lang, "metrics.period.missing")
	}
	return s.text(lang, "metrics.period.bad", "input", strings.TrimSpace(input), "reason", s.text(lang, "metrics.period."+code))
}

// compare builds a growth row from two period strings of the
// configuration.
func (s *statsPage) compare(ctx context.Context, p *message.Printer, period, base string) (*growthRow, error) {
	pp, err := ParsePeriod(period)
	if err != nil {
		return nil, err
	}
	bp, err := ParsePeriod(base)
	if err != nil {
		return nil, err
	}
	return s.growthRow(ctx, p, pp, bp)
}

// growthRow is the growth of pp against bp.
func (s *statsPage) growthRow(ctx context.Context, p *message.Printer, pp, bp Period) (*growthRow, error) {
	g, err := s.m.Growth(ctx, KindAll, pp, bp)
	if err != nil {
		return nil, err
	}
	return &growthRow{Period: pp.Name, Base: bp.Name, Total: p.Sprintf("%d", g.Total), BaseTotal: p.Sprintf("%d", g.BaseTotal),
		Change: s.pct(p, g.ChangePct), RateChange: s.pct(p, g.RateChangePct)}, nil
}

// kindNames lists the declared kinds, then any other kind with figures.
func (s *statsPage) kindNames(ctx context.Context) []string {
	var out []string
	seen := map[string]bool{KindAll: true}
	for _, k := range s.m.cfg.Kinds {
		out, seen[k.Name] = append(out, k.Name), true
	}
	for _, q := range []string{`SELECT DISTINCT kind FROM metrics_daily`, `SELECT DISTINCT kind FROM metrics_imported`} {
		rows, err := s.m.db.QueryContext(ctx, q)
		if err != nil {
			continue
		}
		for rows.Next() {
			var k string
			if rows.Scan(&k) == nil && !seen[k] {
				out, seen[k] = append(out, k), true
			}
		}
		rows.Close()
	}
	return out
}

func (s *statsPage) kindTitle(lang, kind string) string {
	if k, ok := s.m.kinds[kind]; ok && k.Title[lang] != "" {
		return k.Title[lang]
	}
	if t := s.text(lang, "metrics.kind."+kind); t != "metrics.kind."+kind {
		return t
	}
	return kind
}

// bar is one value of a chart.
type bar struct {
	label string
	value int64
	text  string // the value as written in the page's language
}

const (
	chartW, chartH               = 720, 300
	padL, padR, padTop, padBot   = 16, 16, 28, 36
	barColour, lineColour, muted = "#1d70b8", "#1d70b8", "#505a5f"
)

// svgOpen starts an SVG figure whose title and description are its text
// alternative.
func svgOpen(b *strings.Builder, title, desc string, id string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title %s-desc" class="chart">`, chartW, chartH, id, id)
	fmt.Fprintf(b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, id, html.EscapeString(title), id, html.EscapeString(desc))
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="1"/>`, padL, chartH-padBot, chartW-padR, chartH-padBot, muted)
}

func maxValue(bars []bar) int64 {
	var top int64 = 1
	for _, b := range bars {
		top = max(top, b.value)
	}
	return top
}

// describe is the text alternative: every label with its value.
func describe(desc string, bars []bar) string {
	parts := make([]string, len(bars))
	for i, b := range bars {
		parts[i] = b.label + ": " + b.text
	}
	return desc + " " + strings.Join(parts, "; ") + "."
}

// barChart draws one bar per value, each labelled below and valued above.
func barChart(title, desc string, bars []bar) template.HTML {
	var b strings.Builder
	svgOpen(&b, title, describe(desc, bars), "chart-years")
	if len(bars) > 0 {
		top := maxValue(bars)
		slot := float64(chartW-padL-padR) / float64(len(bars))
		for i, v := range bars {
			h := float64(chartH-padTop-padBot) * float64(v.value) / float64(top)
			x := float64(padL) + slot*float64(i) + slot*0.15
			y := float64(chartH-padBot) - h
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x, y, slot*0.7, h, barColour)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" font-size="13" fill="#0b0c0c">%s</text>`, x+slot*0.35, chartH-padBot+18, html.EscapeString(v.label))
			if v.value > 0 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11" fill="#0b0c0c">%s</text>`, x+slot*0.35, y-6, html.EscapeString(v.text))
			}
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text inside was escaped above
}

// lineChart draws the values joined by a line, with a dot on each.
func lineChart(title, desc string, points []bar) template.HTML {
	var b strings.Builder
	svgOpen(&b, title, describe(desc, points), "chart-months")
	if len(points) > 0 {
		top := maxValue(points)
		step := float64(chartW-padL-padR) / float64(max(len(points)-1, 1))
		coords := make([]string, len(points))
		for i, p := range points {
			x := float64(padL) + step*float64(i)
			if len(points) == 1 {
				x = float64(chartW) / 2
			}
			y := float64(chartH-padBot) - float64(chartH-padTop-padBot)*float64(p.value)/float64(top)
			coords[i] = fmt.Sprintf("%.1f,%.1f", x, y)
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>`, x, y, lineColour)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" font-size="12" fill="#0b0c0c">%s</text>`, x, chartH-padBot+18, html.EscapeString(p.label))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="3"/>`, strings.Join(coords, " "), lineColour)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text inside was escaped above
}
