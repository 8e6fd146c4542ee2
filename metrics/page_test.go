package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/web"
	"github.com/egovkit/egovkit/metrics"
)

// statsState is a statistics page over figures of one kind: none, the
// published history only, or the history and some counting this year.
type statsState struct {
	name    string
	history bool
	// counts are sign-ins counted on each day, in order.
	counts []dayCount
}

type dayCount struct {
	day time.Time
	n   int
}

var (
	// statsNow is when every statistics page test looks at the page: the
	// first half of 2021 is the latest published period, and counting
	// began this year.
	statsNow    = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	stateEmpty  = statsState{name: "empty"}
	stateHist   = statsState{name: "history", history: true}
	statePartly = statsState{name: "history-and-2026", history: true, counts: []dayCount{
		{time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC), 4},
		{time.Date(2026, 3, 15, 9, 0, 0, 0, time.UTC), 2},
	}}
)

// comparisons are the portal's.
var comparisons = []metrics.Comparison{{Period: "2021-H1", Base: "2020"}, {Period: "2020", Base: "2019"}, {Period: "2019", Base: "2018"}}

// statsServer serves the statistics page over st's figures at /stats/,
// kept in SQLite.
func statsServer(t *testing.T, st statsState) *httptest.Server {
	t.Helper()
	return statsServerOn(t, sqltest.SQLite(t), st)
}

// statsServerOn is statsServer with the figures kept in db.
func statsServerOn(t *testing.T, db *sqltest.DB, st statsState) *httptest.Server {
	t.Helper()
	ctx := t.Context()
	var mu sync.Mutex
	now := statsNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	m := open(t, db, func(c *metrics.Config) { c.Now = clock })
	if st.history {
		require.NoError(t, m.ImportCSV(ctx, "gov.gr announcements", strings.NewReader(greekFigures)))
	}
	for _, c := range st.counts {
		mu.Lock()
		now = c.day
		mu.Unlock()
		for range c.n {
			m.Count(metrics.KindAuthentication, "gsis", "taxisnet", metrics.ChannelDigital)
		}
		require.NoError(t, m.Flush(ctx))
	}
	mu.Lock()
	now = statsNow
	mu.Unlock()
	page, err := m.PageHandler(metrics.PageConfig{Prefix: "/stats", APIPrefix: "/stats/api/", Comparisons: comparisons})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/stats/", http.StripPrefix("/stats", page))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// readable is a page's text with the spaces and joiners that keep its
// labels on one line written as plain spaces, as a reader sees them.
var readable = strings.NewReplacer("\u00a0", " ", "\u2060", "", "&#43;", "+")

// getPage fetches path from srv and returns the status and the page as a
// reader sees it.
func getPage(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, readable.Replace(string(b))
}

func form(lang, period, base string) string {
	return "/stats/?" + url.Values{"lang": {lang}, "period": {period}, "base": {base}}.Encode()
}

func TestStatisticsPageWithoutFigures(t *testing.T) {
	srv := statsServer(t, stateEmpty)
	status, body := getPage(t, srv, "/stats/?lang=en")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "There are no figures yet.")
	assert.NotContains(t, body, "<table", "no table of zeros")
	assert.NotContains(t, body, "<svg", "no chart of nothing")
	_, body = getPage(t, srv, "/stats/?lang=el")
	assert.Contains(t, body, "Δεν υπάρχουν ακόμη στοιχεία.")
}

// With only the published history, the page leads with its latest period,
// the first half of 2021, named as such, and its growth per day over 2020
// for all transactions and for each kind published for both.
func TestStatisticsPageWithHistoryOnly(t *testing.T) {
	srv := statsServer(t, stateHist)
	status, body := getPage(t, srv, "/stats/?lang=en")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `<p class="lead">In Jan–Jun 2021, 150,000,000 transactions were served digitally. Their daily rate changed by +222.7% against 2020.</p>`)
	assert.Contains(t, body, "<li>Sign-ins: 86,000,000, daily rate +222.0% against 2020.</li>")
	assert.Contains(t, body, "<li>Interoperability calls: 64,000,000, daily rate +249.8% against 2020.</li>")
	assert.NotContains(t, body, "Solemn declarations: ", "published for 2020 only: no growth to give")
	assert.Contains(t, body, "For 2018 to Jan–Jun 2021 the page shows the published totals (gov.gr announcements).")
	assert.NotContains(t, body, "So far", "nothing counted this year")
	assert.NotContains(t, body, "counted as they happen")

	// The table by year: a half-year is named by its months, and years
	// without figures say so, together, rather than 0 and -100 %.
	assert.Contains(t, body, `<tr><th scope="row">Jan–Jun 2021</th><td class="num">150,000,000</td><td class="num">+222.7%</td></tr>`)
	assert.Contains(t, body, `<tr><th scope="row">2022–2026</th><td class="num">no data</td><td class="num">—</td></tr>`)
	assert.Contains(t, body, `<tr><th scope="row">2018</th><td class="num">8,780,889</td><td class="num">—</td></tr>`)
	assert.NotContains(t, body, "-100")
	assert.NotContains(t, body, `<td class="num">0</td>`)
	assert.Contains(t, body, "A period with figures for only part of its days is named by those days")

	// A chart of all transactions and one per kind, each with a text
	// alternative that lists every bar.
	assert.Contains(t, body, `role="img" aria-labelledby="chart-all-title chart-all-desc"`)
	for _, title := range []string{"All transactions by year", "Sign-ins by year", "Solemn declarations by year", "Authorizations by year", "Interoperability calls by year"} {
		assert.Contains(t, body, ">"+title+"</title>")
	}
	assert.Contains(t, body, "Bar chart of the transactions of each year. 2018: 8,780,889; 2019: 34,688,318; 2020: 94,000,000; Jan–Jun 2021: 150,000,000; 2022–2026: no data.")
	assert.Contains(t, body, "2020: 54,000,000; Jan–Jun 2021: 86,000,000; 2022–2026: no data.", "a kind's chart starts at its first figure")
	assert.Contains(t, body, `<tr><th scope="row">2020</th><td class="num">54,000,000</td><td class="num">2,140,284</td><td class="num">845,027</td><td class="num">37,000,000</td><td class="num">2,985,311</td></tr>`, "by kind, with the visits avoided")
	assert.NotContains(t, body, `<tr><th scope="row">2018</th><td class="num">no data</td>`, "by kind, only years where some kind has figures")

	// The configured comparisons, kind by kind.
	assert.Contains(t, body, `<caption id="table-growth-0">Jan–Jun 2021 against 2020</caption>`)
	assert.Contains(t, body, `<tr><th scope="row">All transactions</th><td class="num">150,000,000</td><td class="num">94,000,000</td>
      <td class="num">+59.6%</td>
      <td class="num">+222.7%</td></tr>`)
	assert.NotContains(t, body, "Month by month", "this year has no figures")

	_, body = getPage(t, srv, "/stats/?lang=el")
	assert.Contains(t, body, "Την περίοδο Ιαν.–Ιουν. 2021 εξυπηρετήθηκαν ψηφιακά 150.000.000 συναλλαγές. Ο ημερήσιος ρυθμός τους άλλαξε κατά +222,7% σε σχέση με την περίοδο 2020.")
	assert.Contains(t, body, "Συνδέσεις: 86.000.000, ημερήσιος ρυθμός +222,0% σε σχέση με την περίοδο 2020.")
	assert.Contains(t, body, `<td class="num">δεν υπάρχουν στοιχεία</td><td class="num">—</td>`)
	assert.Contains(t, body, "59,6%", "Greek decimal comma")
	assert.NotContains(t, body, "<script")
}

// After the first sign-ins of the year the headline stays on the
// published figures; what was counted is said apart, named by its days.
func TestStatisticsPageWithHistoryAndThisYear(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) { pageWithHistoryAndThisYear(t, statsServerOn(t, db, statePartly)) })
}

func pageWithHistoryAndThisYear(t *testing.T, srv *httptest.Server) {
	status, body := getPage(t, srv, "/stats/?lang=en")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `<p class="lead">In Jan–Jun 2021, 150,000,000 transactions were served digitally.`)
	assert.NotContains(t, body, "In 2026")
	assert.Contains(t, body, "<p>So far in 10–15 Mar 2026, 6 transactions have been counted.</p>")
	assert.Contains(t, body, "Since 10 Mar 2026, transactions are counted as they happen.")
	assert.Contains(t, body, `<tr><th scope="row">2022–2025</th><td class="num">no data</td><td class="num">—</td></tr>`)
	assert.Contains(t, body, `<tr><th scope="row">10–15 Mar 2026</th><td class="num">6</td><td class="num">—</td></tr>`)
	assert.Contains(t, body, "Sign-ins by year")
	assert.Contains(t, body, "Jan–Jun 2021: 86,000,000; 2022–2025: no data; 10–15 Mar 2026: 6.")
	assert.Contains(t, body, "2022–2025: no data; 2026: no data.", "no interoperability call was counted")

	// This year month by month: the months before counting began have no
	// data, and the month in progress is named by its days.
	assert.Contains(t, body, "Month by month in 2026")
	assert.Contains(t, body, `<tr><th scope="row">January–February</th><td class="num">no data</td></tr>`)
	assert.Contains(t, body, `<tr><th scope="row">10–15 Mar 2026</th><td class="num">6</td></tr>`)
	assert.NotContains(t, body, "April")
	assert.Contains(t, body, `href="/stats/api/series?kind=all&amp;period=2026&amp;by=month&amp;format=csv"`)
	assert.Contains(t, body, `href="/stats/api/series?kind=all&amp;period=2018-01-01..2026-12-31&amp;by=year&amp;format=csv"`)

	_, body = getPage(t, srv, "/stats/?lang=el")
	assert.Contains(t, body, "Μέχρι σήμερα, την περίοδο 10–15 Μαρ. 2026, έχουν μετρηθεί 6 συναλλαγές.")
	assert.Contains(t, body, "Ιανουάριος–Φεβρουάριος")
}

// A period that cannot be read is a sentence in the page's language beside
// its field, and the form keeps what was typed.
func TestStatisticsFormSaysWhatIsWrong(t *testing.T) {
	srv := statsServer(t, stateHist)
	for _, tt := range []struct {
		lang, period, base string
		want               []string
	}{
		{"en", "2021-H3", "2020", []string{
			`<p class="error-message" id="period-error">“2021-H3” is not a period: a half-year is H1 or H2.</p>`,
			`<li><a href="#period">Period: “2021-H3” is not a period: a half-year is H1 or H2.</a></li>`,
			`value="2021-H3" maxlength="40" autocomplete="off" aria-describedby="period-hint period-error" aria-invalid="true">`,
			`value="2020" maxlength="40" autocomplete="off" aria-describedby="period-hint">`, // kept, not marked
		}},
		{"el", "2021-H3", "2020", []string{
			`<p class="error-message" id="period-error">Το «2021-H3» δεν είναι περίοδος: το εξάμηνο είναι H1 ή H2.</p>`,
			"Η σύγκριση δεν ήταν δυνατή", `value="2021-H3"`,
		}},
		{"en", "", "2020-13", []string{
			`<p class="error-message" id="period-error">Enter a period, such as 2021-H1.</p>`,
			`<p class="error-message" id="base-error">“2020-13” is not a period: a month is 01 to 12.</p>`,
			`value="2020-13"`,
		}},
		{"el", "2020-03-31..2020-01-01", "<b>2019</b>", []string{
			"το διάστημα τελειώνει πριν αρχίσει.",
			"Το «&lt;b&gt;2019&lt;/b&gt;» δεν είναι περίοδος",
			`value="2020-03-31..2020-01-01"`, `value="&lt;b&gt;2019&lt;/b&gt;"`,
		}},
	} {
		status, body := getPage(t, srv, form(tt.lang, tt.period, tt.base))
		require.Equal(t, http.StatusOK, status)
		for _, w := range tt.want {
			assert.Contains(t, body, w, "%s %q %q", tt.lang, tt.period, tt.base)
		}
		assert.NotContains(t, body, "metrics:", "no Go error")
		assert.NotContains(t, body, "table-custom", "no comparison")
		assert.NotContains(t, body, "<b>2019</b>")
	}
}

// A comparison typed in the form is shown kind by kind, and the form keeps
// the periods as typed, even in small letters; a period with figures for
// part of its days is named by them.
func TestStatisticsFormKeepsWhatWasTyped(t *testing.T) {
	srv := statsServer(t, statePartly)
	status, body := getPage(t, srv, form("en", "2021-h1", " 2019"))
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `value="2021-h1"`)
	assert.Contains(t, body, `value=" 2019"`)
	assert.NotContains(t, body, "error-message")
	assert.Contains(t, body, `<caption id="table-custom">Jan–Jun 2021 against 2019</caption>`)
	assert.Contains(t, body, `<td class="num">+332.4%</td>`, "150 M against 34.7 M")
	assert.Contains(t, body, `<form method="get" action="#compare">`)
	assert.Contains(t, body, `<input type="hidden" name="lang" value="en">`)

	_, body = getPage(t, srv, form("el", "2026", "2021"))
	assert.Contains(t, body, `value="2026"`)
	assert.Contains(t, body, `<caption id="table-custom">10–15 Μαρ. 2026 σε σύγκριση με Ιαν.–Ιουν. 2021</caption>`)
	assert.Contains(t, body, `<tr><th scope="row">Συνδέσεις</th><td class="num">6</td><td class="num">86.000.000</td>
      <td class="num">—</td>`, "a part of a year against a half-year: no plain change")
	assert.Contains(t, body, `<tr><th scope="row">Όλες οι συναλλαγές</th><td class="num">6</td><td class="num">150.000.000</td>`)

	_, body = getPage(t, srv, form("en", "2024", "2023"))
	assert.Contains(t, body, `<caption id="table-custom">2024 against 2023</caption>`)
	assert.Contains(t, body, `<tr><th scope="row">All transactions</th><td class="num">no data</td><td class="num">no data</td>
      <td class="num">—</td>
      <td class="num">—</td></tr>`)
}

func TestStatisticsPageRefusesBadComparisons(t *testing.T) {
	m := open(t, sqltest.SQLite(t))
	_, err := m.PageHandler(metrics.PageConfig{Comparisons: []metrics.Comparison{{Period: "2021-H3", Base: "2020"}}})
	require.ErrorIs(t, err, metrics.ErrBadPeriod)
	h, err := m.PageHandler(metrics.PageConfig{})
	require.NoError(t, err)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/stats", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	assert.Equal(t, "GET, HEAD", w.Header().Get("Allow"))
}

// The page mounted at one exact path links the site's stylesheet.
func TestStatisticsPageAtOnePath(t *testing.T) {
	m := open(t, sqltest.SQLite(t))
	require.NoError(t, m.ImportCSV(t.Context(), "gov.gr announcements", strings.NewReader(greekFigures)))
	page, err := m.PageHandler(metrics.PageConfig{StaticPrefix: "/static/"})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /stats", page)
	mux.Handle("GET /static/", web.Static())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	status, body := getPage(t, srv, "/stats?lang=el")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "94.000.000", "Greek thousands separator")
	assert.Regexp(t, `<link rel="stylesheet" href="/static/egovkit\.[0-9a-f]{12}\.css">`, body)
}

// With no location configured, days begin in Athens, as every page shows
// its dates: at 00:30 on 1 January in Athens (still 31 December in UTC) a
// count is filed on 1 January, and the page is about the new year.
func TestDaysBeginInAthensByDefault(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 12, 31, 22, 30, 0, 0, time.UTC)
	m := open(t, sqltest.SQLite(t), func(c *metrics.Config) { c.Now = func() time.Time { return now } })
	m.Count(metrics.KindDeclaration, "ypes", metrics.ChannelDigital)
	require.NoError(t, m.Flush(ctx))
	total, err := m.Total(ctx, metrics.KindDeclaration, period(t, "2027-01-01"))
	require.NoError(t, err)
	assert.EqualValues(t, 1, total, "filed on 1 January")

	h, err := m.PageHandler(metrics.PageConfig{})
	require.NoError(t, err)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/stats?lang=en", nil))
	require.Equal(t, http.StatusOK, w.Code)
	body := readable.Replace(w.Body.String())
	assert.Contains(t, body, "Month by month in 2027")
	assert.Contains(t, body, `<th scope="row">1 Jan 2027</th>`)
	assert.NotContains(t, body, "December")
	assert.Contains(t, body, `<p class="lead">So far in 1 Jan 2027, 1 transaction has been counted.</p>`, "one transaction is singular")
	assert.NotContains(t, body, "1 transactions")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/stats?lang=el", nil))
	require.Equal(t, http.StatusOK, w.Code)
	body = readable.Replace(w.Body.String())
	assert.Contains(t, body, "Μέχρι σήμερα, την περίοδο 1 Ιαν. 2027, έχει μετρηθεί 1 συναλλαγή.")
	assert.NotContains(t, body, "1 συναλλαγές")
}
