package metrics_test

import (
	"image/color"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/browsertest"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/metrics"
)

// statsAlone serves the statistics page, and nothing else, at prefix on a
// fresh server.
func statsAlone(t *testing.T, prefix string) *httptest.Server {
	t.Helper()
	m := open(t, sqltest.SQLite(t))
	require.NoError(t, m.ImportCSV(t.Context(), "gov.gr announcements", strings.NewReader(greekFigures)))
	page, err := m.PageHandler(metrics.PageConfig{Prefix: prefix})
	require.NoError(t, err)
	mux := http.NewServeMux()
	if prefix == "" {
		mux.Handle("/", page)
	} else {
		mux.Handle(prefix+"/", http.StripPrefix(prefix, page))
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestPageServesItsStylesheet mounts the statistics page alone on a fresh
// mux, at the root and below a path, as a service importing only this
// package would: the page links a stylesheet the handler serves.
func TestPageServesItsStylesheet(t *testing.T) {
	for _, prefix := range []string{"", "/stats"} {
		t.Run("at "+prefix+"/", func(t *testing.T) {
			srv := statsAlone(t, prefix)
			for _, p := range []string{"/", "/?lang=en&period=2021-H1&base=2020"} {
				browsertest.AssertStyled(t, nil, srv.URL, prefix+p, prefix+"/static/")
			}
			// Only the stylesheet's own names are assets; any other path
			// below static is the page, as every path is.
			resp, err := http.Get(srv.URL + prefix + "/static/other.css")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
		})
	}
}

// TestPageStyledInBrowser loads the statistics page, mounted alone, in
// chromium and checks that the stylesheet was applied: the header has the
// stylesheet's colour (--color-header-bg) where an unstyled page is white.
func TestPageStyledInBrowser(t *testing.T) {
	browsertest.Binary(t)
	srv := statsAlone(t, "/stats")
	shot := browsertest.Screenshot(t, srv.URL+"/stats/?lang=en", "metrics-alone-en", 1024, 900)
	assert.Equal(t, color.RGBA{R: 0x00, G: 0x34, B: 0x76, A: 0xff}, browsertest.Pixel(t, shot, 4, 4))
}
