package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/web"
	"github.com/egovkit/egovkit/metrics"
)

func TestStatisticsPage(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx := t.Context()
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	m := open(t, db, func(c *metrics.Config) { c.Now = func() time.Time { return now } })
	require.NoError(t, m.ImportCSV(ctx, "gov.gr announcements", strings.NewReader(greekFigures)))
	for range 5 {
		m.Count(metrics.KindDeclaration, "ypes", metrics.ChannelDigital)
	}
	require.NoError(t, m.Flush(ctx))
	page, err := m.PageHandler(metrics.PageConfig{APIPrefix: "/stats/api/", Comparisons: []metrics.Comparison{{Period: "2021-H1", Base: "2020"}}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /stats", page)
	mux.Handle("GET /static/", web.Static())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	status, body := get("/stats?lang=el")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Οι ψηφιακές δημόσιες υπηρεσίες σε αριθμούς")
	assert.Contains(t, body, "94.000.000", "Greek thousands separator")
	assert.Contains(t, body, "59,6%", "Greek decimal comma")
	assert.Contains(t, body, "222,7%")
	assert.Contains(t, body, `<svg xmlns="http://www.w3.org/2000/svg"`)
	assert.Contains(t, body, `role="img" aria-labelledby="chart-years-title chart-years-desc"`)
	assert.Contains(t, body, "2019: 34.688.318", "the text alternative lists every bar")
	assert.Contains(t, body, "Μάρτιος", "months up to now")
	assert.NotContains(t, body, "Απρίλιος")
	assert.Contains(t, body, "Υπεύθυνες δηλώσεις")
	assert.Contains(t, body, `href="/stats/api/series?kind=all&amp;period=2018-01-01..2026-12-31&amp;by=year&amp;format=csv"`)
	assert.NotContains(t, body, "<script")

	status, body = get("/stats?lang=en&period=2021-H1&base=2019")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "94,000,000")
	assert.Contains(t, body, "Transactions by year")
	assert.Contains(t, body, "332.4%", "the visitor's comparison: 150M against 34.7M")

	status, body = get("/stats?lang=en&period=2021-H3&base=2020")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "The comparison could not be made")
	assert.Contains(t, body, "H1 or H2")

	empty := open(t, sqltest.SQLite(t))
	h, err := empty.PageHandler(metrics.PageConfig{})
	require.NoError(t, err)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/stats?lang=en", nil))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), "There are no figures yet.")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/stats", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
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
	body := w.Body.String()
	assert.Contains(t, body, "Month by month in 2027")
	assert.Contains(t, body, "January")
	assert.NotContains(t, body, "December")
	assert.Contains(t, body, "In 2027, 1 transaction was served digitally.", "one transaction is singular")
	assert.NotContains(t, body, "1 transactions")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/stats?lang=el", nil))
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), "Το 2027 εξυπηρετήθηκε ψηφιακά 1 συναλλαγή.")
	assert.NotContains(t, w.Body.String(), "1 συναλλαγές")
}
