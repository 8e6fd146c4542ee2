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

// Every mistake in a period has a stable code.
func TestPeriodErrorCodes(t *testing.T) {
	for in, code := range map[string]string{
		"": metrics.PeriodMissing, "  ": metrics.PeriodMissing, strings.Repeat("2", 50): metrics.PeriodTooLong,
		"twenty": metrics.PeriodUnknown, "1800": metrics.PeriodYear, "2021-H3": metrics.PeriodHalf,
		"2020-Q5": metrics.PeriodQuarter, "2020-13": metrics.PeriodMonth, "2021-W53": metrics.PeriodWeek,
		"2020-W54": metrics.PeriodWeek, "2020-02-30": metrics.PeriodDay, "2020..2021": metrics.PeriodRange,
		"2020-06-30..2020-03-01": metrics.PeriodRangeOrder,
	} {
		_, err := metrics.ParsePeriod(in)
		var pe *metrics.PeriodError
		if assert.ErrorAs(t, err, &pe, in) {
			assert.Equal(t, code, pe.Code, in)
			assert.NotEmpty(t, pe.Reason, in)
		}
	}
}

// The JSON API answers a period it cannot read with 400 problem+json of
// one stable type, the code of the mistake and the parameter it is in.
func TestStatisticsAPIPeriodErrors(t *testing.T) {
	m := open(t, sqltest.SQLite(t))
	srv := httptest.NewServer(http.StripPrefix("/stats/api", m.APIHandler()))
	defer srv.Close()
	for _, tt := range []struct{ path, field, code string }{
		{"/growth?kind=all&period=2021-H3&base=2020", "period", metrics.PeriodHalf},
		{"/growth?kind=all&period=2021-H1", "base", metrics.PeriodMissing},
		{"/growth?kind=all&period=2021-H1&base=2020-02-30", "base", metrics.PeriodDay},
		{"/totals?kind=all&period=twenty", "period", metrics.PeriodUnknown},
		{"/totals?kind=all", "period", metrics.PeriodMissing},
		{"/series?kind=all&period=2000-01-01..2030-12-31&by=day", "period", metrics.PeriodSteps},
		{"/top?kind=all&label=agency&period=2020-Q5", "period", metrics.PeriodQuarter},
		{"/visits-avoided?period=2020-06-30..2020-03-01", "period", metrics.PeriodRangeOrder},
	} {
		resp, err := http.Get(srv.URL + "/stats/api" + tt.path)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, tt.path)
		assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), tt.path)
		var p struct {
			Type, Title, Detail, Code string
			Status                    int
			Errors                    []struct{ Field, Detail string }
		}
		require.NoError(t, json.Unmarshal(b, &p), string(b))
		assert.Equal(t, metrics.ProblemBadPeriod, p.Type, tt.path)
		assert.Equal(t, "https://egovkit.dev/problems/bad-period", p.Type)
		assert.Equal(t, http.StatusBadRequest, p.Status)
		assert.Equal(t, tt.code, p.Code, tt.path)
		if assert.Len(t, p.Errors, 1, tt.path) {
			assert.Equal(t, tt.field, p.Errors[0].Field, tt.path)
		}
		assert.NotContains(t, p.Detail, "metrics:", tt.path)
		assert.Contains(t, p.Detail, tt.field, tt.path)
	}
}
