package main

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPagesShareOneStylesheet checks that the packages' pages in the
// portal link the portal's one stylesheet at /static/, and that it is
// served as CSS.
func TestPagesShareOneStylesheet(t *testing.T) {
	base, _ := startPortal(t)
	link := regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)">`)
	var hrefs []string
	for _, p := range []string{"/", "/procedures/", "/stats"} {
		resp, body := fetch(t, "GET", base+p, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, p)
		m := link.FindStringSubmatch(body)
		require.NotNil(t, m, "%s links no stylesheet", p)
		assert.Regexp(t, `^/static/egovkit\.[0-9a-f]{12}\.css$`, m[1], p)
		hrefs = append(hrefs, m[1])
	}
	for _, h := range hrefs[1:] {
		assert.Equal(t, hrefs[0], h, "one stylesheet for every page")
	}
	resp, _ := fetch(t, "GET", base+hrefs[0], nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/css; charset=utf-8", resp.Header.Get("Content-Type"))
}
