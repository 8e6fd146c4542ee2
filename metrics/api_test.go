package metrics_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/metrics"
)

func TestStatisticsAPI(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		m := open(t, db)
		require.NoError(t, m.ImportCSV(ctx, "gov.gr announcements", strings.NewReader(greekFigures)))
		for range 3 {
			m.Count(metrics.KindDeclaration, "ypes", metrics.ChannelDigital)
		}
		m.Count(metrics.KindDeclaration, "efka", metrics.ChannelDigital)
		require.NoError(t, m.Flush(ctx))
		srv := httptest.NewServer(http.StripPrefix("/stats/api", m.APIHandler()))
		defer srv.Close()
		get := func(path string, hdr ...string) (int, http.Header, string) {
			req, _ := http.NewRequest("GET", srv.URL+"/stats/api"+path, nil)
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, resp.Header, string(b)
		}

		status, _, body := get("/growth?kind=all&period=2021-H1&base=2020")
		require.Equal(t, http.StatusOK, status, body)
		var g map[string]any
		require.NoError(t, json.Unmarshal([]byte(body), &g))
		for _, k := range []string{"kind", "period", "base", "total", "base_total", "change_pct", "rate_change_pct"} {
			assert.Contains(t, g, k)
		}
		assert.EqualValues(t, 150000000, g["total"])
		assert.EqualValues(t, 94000000, g["base_total"])
		assert.InDelta(t, 59.57, g["change_pct"], 0.001)
		assert.InDelta(t, 222.68, g["rate_change_pct"], 0.001)

		status, hdr, body := get("/growth?kind=all&period=2021-H3&base=2020")
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "application/problem+json", hdr.Get("Content-Type"))
		assert.Contains(t, body, `"field":"period"`)
		assert.Contains(t, body, "H1 or H2")
		status, _, body = get("/growth?kind=all&period=2021-H1")
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Contains(t, body, `"field":"base"`)
		status, _, _ = get("/totals?period=2020")
		assert.Equal(t, http.StatusBadRequest, status)

		status, _, body = get("/totals?kind=authentication&period=2021-H1")
		require.Equal(t, http.StatusOK, status)
		assert.JSONEq(t, `{"kind":"authentication","period":"2021-H1","first":"2021-01-01","last":"2021-06-30","total":86000000}`, body)

		status, _, body = get("/series?kind=all&period=2018-01-01..2021-12-31&by=year")
		require.Equal(t, http.StatusOK, status)
		assert.Contains(t, body, `"period":"2019","first":"2019-01-01T00:00:00Z","total":34688318`)
		status, hdr, body = get("/series?kind=all&period=2018-01-01..2021-12-31&by=year&format=csv")
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, "text/csv; charset=utf-8", hdr.Get("Content-Type"))
		assert.Contains(t, hdr.Get("Content-Disposition"), "all-2018-01-01..2021-12-31-by-year.csv")
		assert.Equal(t, "period,first_day,total\n2018,2018-01-01,8780889\n2019,2019-01-01,34688318\n2020,2020-01-01,94000000\n2021,2021-01-01,150000000\n", body)
		status, _, body = get("/series?kind=all&period=2020&by=day", "Accept", "text/csv")
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, 367, strings.Count(body, "\n"), "a header and 366 days")
		status, _, _ = get("/series?kind=all&period=2020&by=week")
		assert.Equal(t, http.StatusBadRequest, status)
		status, _, _ = get("/series?kind=all&period=1900-01-01..2099-12-31&by=day")
		assert.Equal(t, http.StatusBadRequest, status, "too many steps")

		today := today().Name
		status, _, body = get("/top?kind=declaration&label=agency&period=" + today + "&n=1")
		require.Equal(t, http.StatusOK, status, body)
		assert.Contains(t, body, `"entries":[{"value":"ypes","total":3}]`)
		status, _, _ = get("/top?kind=declaration&label=colour&period=" + today)
		assert.Equal(t, http.StatusBadRequest, status)
		status, _, _ = get("/top?kind=declaration&label=agency&period=" + today + "&n=0")
		assert.Equal(t, http.StatusBadRequest, status)

		status, _, body = get("/visits-avoided?period=2020")
		require.Equal(t, http.StatusOK, status)
		assert.JSONEq(t, `{"period":"2020","total":2985311}`, body)
		status, _, body = get("/kinds")
		require.Equal(t, http.StatusOK, status)
		assert.Contains(t, body, `"name":"declaration","labels":["agency","channel"],"replaces_visit":true`)
		status, _, _ = get("/nothing")
		assert.Equal(t, http.StatusNotFound, status)
	})
}
