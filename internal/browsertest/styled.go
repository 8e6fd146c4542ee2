package browsertest

import (
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// StylesheetLink finds the stylesheet a page links.
var StylesheetLink = regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)">`)

// AssertStyled loads page from base with c (nil means
// http.DefaultClient) and checks that it links a stylesheet below dir
// which the same server answers as CSS, cached for good under its
// content-addressed name. It returns the page.
func AssertStyled(t testing.TB, c *http.Client, base, page, dir string) string {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Get(base + page)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	m := StylesheetLink.FindStringSubmatch(string(body))
	require.NotNil(t, m, "%s links no stylesheet", page)
	assert.Regexp(t, "^"+regexp.QuoteMeta(dir)+`egovkit\.[0-9a-f]{12}\.css$`, m[1], page)
	resp, err = c.Get(base + m[1])
	require.NoError(t, err)
	css, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode, m[1])
	assert.Equal(t, "text/css; charset=utf-8", resp.Header.Get("Content-Type"), m[1])
	assert.Equal(t, "public, max-age=31536000, immutable", resp.Header.Get("Cache-Control"), m[1])
	assert.Contains(t, string(css), "--color-header-bg", m[1])
	return string(body)
}
