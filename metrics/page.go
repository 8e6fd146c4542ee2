package metrics

import (
	"embed"
	"errors"
	"fmt"
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
	// Comparisons are the growth figures the page shows, kind by kind,
	// besides each year against the year before. PageHandler fails with
	// a *PeriodError on a period it cannot read.
	Comparisons []Comparison
	// Now replaces time.Now, for tests.
	Now func() time.Time
}

// PageHandler serves the public statistics page in Greek and English.
//
// It leads with the latest period that has ended: a year, or the part of
// one that has figures, named by its days ("Jan–Jun 2021" where only the
// first half-year was published), with the change of its daily rate
// against the year before for all transactions and for every kind with
// figures in both; then what has been counted so far in the current year,
// and where the figures come from (the sources of the imported totals, the
// day counting began). Below come the totals by year, where a year without
// figures says so rather than showing 0 (runs of such years are taken
// together); a bar chart of all transactions and one per kind, with their
// figures in a table; the comparisons of PageConfig.Comparisons, kind by
// kind; a form to compare two periods, which keeps what was typed and says
// in the page's language what is wrong with a period it cannot read; and
// the current year month by month. A period with figures for only part of
// its days is named by them, and its daily rate counts only them.
//
// Charts are SVG drawn on the server (no JavaScript), each with a text
// alternative that lists every value; their text keeps at least 4.5:1
// contrast and a readable size at any width. Tables wider than a phone
// scroll inside their own labelled, focusable box, so the page itself
// does not scroll sideways 390 pixels wide.
//
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
	s := &statsPage{m: m, cfg: cfg, pages: pages, static: web.Static()}
	for _, c := range cfg.Comparisons {
		p, err := ParsePeriod(c.Period)
		if err != nil {
			return nil, fmt.Errorf("metrics: page: comparison: %w", err)
		}
		base, err := ParsePeriod(c.Base)
		if err != nil {
			return nil, fmt.Errorf("metrics: page: comparison: %w", err)
		}
		s.comparisons = append(s.comparisons, [2]Period{p, base})
	}
	return s, nil
}

type statsPage struct {
	m           *Metrics
	cfg         PageConfig
	pages       *web.Renderer
	static      http.Handler
	comparisons [][2]Period
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

func pct(p *message.Printer, v *float64) string {
	if v == nil {
		return ""
	}
	return p.Sprintf("%+.1f%%", *v)
}

func mustPeriod(s string) Period {
	p, err := ParsePeriod(s)
	if err != nil {
		panic(err) // built from numbers here, never from input
	}
	return p
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

func (s *statsPage) kindTitle(lang, kind string) string {
	if k, ok := s.m.kinds[kind]; ok && k.Title[lang] != "" {
		return k.Title[lang]
	}
	if t := s.text(lang, "metrics.kind."+kind); t != "metrics.kind."+kind {
		return t
	}
	return kind
}
