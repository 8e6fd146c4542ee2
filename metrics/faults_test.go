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

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/metrics"
)

const faultDeadline = 500 * time.Millisecond

// faultServer serves the statistics API and page on a database the test
// can break.
func faultServer(t *testing.T, db *sqltest.DB) (*metrics.Metrics, *sqltest.Fault, func(path, accept string) (int, http.Header, string)) {
	f := sqltest.Faulty(t, db, 200*time.Millisecond)
	m, err := metrics.New(t.Context(), metrics.Config{DB: f.DB, Kinds: kinds, FlushEvery: time.Hour, DBTimeout: faultDeadline})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	t.Cleanup(f.Thaw) // before Close, which flushes what is left
	require.NoError(t, m.ImportCSV(t.Context(), "gov.gr announcements", strings.NewReader(greekFigures)))
	page, err := m.PageHandler(metrics.PageConfig{APIPrefix: "/stats/api/"})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/stats/api/", http.StripPrefix("/stats/api", m.APIHandler()))
	mux.Handle("GET /stats", page)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return m, f, func(path, accept string) (int, http.Header, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
}

// With the database down, the API answers 503 problem+json with
// Retry-After and the page a readable "temporarily unavailable" page.
func TestDatabaseDownAnswers503(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		_, f, get := faultServer(t, db)
		status, _, body := get("/stats/api/growth?kind=all&period=2021-H1&base=2020", "application/json")
		require.Equal(t, http.StatusOK, status, body)
		f.Down()
		for _, path := range []string{"/stats/api/growth?kind=all&period=2021-H1&base=2020", "/stats/api/totals?kind=all&period=2020",
			"/stats/api/top?kind=declaration&label=agency&period=2020"} {
			status, h, body := get(path, "application/json")
			sqltest.AssertUnavailable(t, path, status, h, body)
		}
		status, h, body := get("/stats?lang=en", "text/html")
		assert.Equal(t, http.StatusServiceUnavailable, status)
		assert.NotEmpty(t, h.Get("Retry-After"))
		assert.Contains(t, body, "The service is temporarily unavailable")
	})
}

// A frozen database fails within the deadline: flushing the counters
// (a write, which SQLite's held lock stops) and, on PostgreSQL, the API.
func TestFrozenDatabaseFailsWithinDeadline(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		m, f, get := faultServer(t, db)
		m.Count(metrics.KindDeclaration, "ypes", metrics.ChannelDigital)
		f.Freeze()
		start := time.Now()
		err := m.Flush(t.Context())
		assert.True(t, sqlstore.IsUnavailable(err), "%v", err)
		assert.ErrorIs(t, err, errkind.Unavailable, "importers test the public kind")
		assert.Less(t, time.Since(start), faultDeadline+time.Second)
		if db.Dialect() == sqlstore.Postgres {
			start = time.Now()
			status, h, body := get("/stats/api/growth?kind=all&period=2021-H1&base=2020", "application/json")
			sqltest.AssertUnavailable(t, "growth, frozen", status, h, body)
			assert.Less(t, time.Since(start), faultDeadline+time.Second)
		}
	})
}
