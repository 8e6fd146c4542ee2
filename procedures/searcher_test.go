package procedures_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/fold"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/procedures"
)

// fakeSearcher answers with the function it is given.
type fakeSearcher struct {
	search func(ctx context.Context, q procedures.Query) (procedures.Results, error)
}

func (f fakeSearcher) Search(ctx context.Context, q procedures.Query) (procedures.Results, error) {
	return f.search(ctx, q)
}

var _ procedures.Searcher = fakeSearcher{}

var hitLink = regexp.MustCompile(`<li><a href="/procedures/([^"]+)">([^<]+)</a>`)

// hits lists the ids and titles of the procedures a catalogue page shows,
// in order.
func hits(body string) (ids, titles []string) {
	for _, m := range hitLink.FindAllStringSubmatch(body, -1) {
		ids, titles = append(ids, m[1]), append(titles, html.UnescapeString(m[2]))
	}
	return ids, titles
}

func getBody(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	return rec.Code, string(b)
}

// Without an index the catalogue has no search box: it lists every
// published procedure by title, and its filters still narrow the list.
// The API leaves /search out and still lists the procedures.
func TestCatalogueWithoutIndex(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		reg, err := procedures.NewRegistry(ctx, db.DB.DB)
		require.NoError(t, err)
		var docs [][]byte
		for _, d := range procedures.Samples() {
			docs = append(docs, d)
		}
		n, err := reg.ImportPublished(ctx, "samples", docs)
		require.NoError(t, err)
		pages, err := procedures.PagesHandler(procedures.PagesConfig{Registry: reg, Prefix: "/procedures"})
		require.NoError(t, err)
		h := http.StripPrefix("/procedures", pages)

		for _, lang := range []string{"el", "en"} {
			status, body := getBody(t, h, "/procedures/?lang="+lang)
			require.Equal(t, http.StatusOK, status)
			assert.NotContains(t, body, `name="q"`, "no search box without an index")
			assert.Contains(t, body, `name="category"`, "the filters stay")
			ids, titles := hits(body)
			assert.Len(t, ids, n, "every published procedure is listed")
			assert.True(t, slices.IsSortedFunc(titles, func(a, b string) int { return strings.Compare(fold.String(a), fold.String(b)) }),
				"by title in the page's language: %v", titles)
		}

		status, body := getBody(t, h, "/procedures/?lang=en&channel=video_call")
		require.Equal(t, http.StatusOK, status)
		ids, _ := hits(body)
		assert.Contains(t, ids, "unemployment-registration")
		assert.NotContains(t, ids, "passport")
		found := strconv.Itoa(len(ids)) + " procedures found"
		if len(ids) == 1 {
			found = "1 procedure found"
		}
		assert.Contains(t, body, found)
		for _, id := range ids {
			v, err := reg.Published(ctx, id)
			require.NoError(t, err)
			assert.True(t, slices.ContainsFunc(v.Procedure.Channels, func(c procedures.Channel) bool { return c.Type == "video_call" }), id)
		}
		_, body = getBody(t, h, "/procedures/?lang=en&category=residence")
		ids, _ = hits(body)
		require.NotEmpty(t, ids)
		for _, id := range ids {
			v, err := reg.Published(ctx, id)
			require.NoError(t, err)
			assert.Contains(t, v.Procedure.Categories, "residence", id)
		}

		_, body = getBody(t, h, "/procedures/?lang=en&category=no-such-category")
		ids, _ = hits(body)
		assert.Empty(t, ids)
		assert.Contains(t, body, "No procedure matches. Try fewer filters.", "no words to try without a search box")

		// Words from a link made for a site with an index: the list, not an error.
		status, body = getBody(t, h, "/procedures/?lang=en&q=passport")
		assert.Equal(t, http.StatusOK, status)
		ids, _ = hits(body)
		assert.Len(t, ids, n)

		api, err := procedures.APIHandler(procedures.APIConfig{Registry: reg})
		require.NoError(t, err)
		status, _ = getBody(t, api, "/search?q=passport")
		assert.Equal(t, http.StatusNotFound, status, "no /search without an index")
		status, body = getBody(t, api, "/procedures")
		assert.Equal(t, http.StatusOK, status)
		assert.Contains(t, body, `"passport"`)
	})
}

// The pages ask any Searcher, pass it the filters, and say so when it
// refuses the query.
func TestCatalogueAsksItsSearcher(t *testing.T) {
	ctx := t.Context()
	reg, err := procedures.NewRegistry(ctx, sqltest.SQLite(t).DB.DB)
	require.NoError(t, err)
	_, err = reg.ImportPublished(ctx, "samples", [][]byte{sample(t, "passport")})
	require.NoError(t, err)
	var asked []procedures.Query
	idx := fakeSearcher{search: func(_ context.Context, q procedures.Query) (procedures.Results, error) {
		asked = append(asked, q)
		if q, err := q.Normalize(); err != nil {
			return procedures.Results{}, err
		} else if q.Text == "nothing" {
			return procedures.Results{}, nil
		}
		return procedures.Results{Total: 1, Hits: []procedures.Hit{{ID: "passport", Title: procedures.Text{EL: "Διαβατήριο", EN: "Passport"}}}}, nil
	}}
	pages, err := procedures.PagesHandler(procedures.PagesConfig{Registry: reg, Index: idx, Prefix: "/procedures"})
	require.NoError(t, err)
	h := http.StripPrefix("/procedures", pages)

	status, body := getBody(t, h, "/procedures/?lang=en&q=pass&category=residence&channel=digital&life_event=x")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `name="q"`, "the search box is there")
	ids, titles := hits(body)
	assert.Equal(t, []string{"passport"}, ids)
	assert.Equal(t, []string{"Passport"}, titles)
	require.Len(t, asked, 1)
	assert.Equal(t, procedures.Query{Text: "pass", Category: "residence", Channel: "digital", LifeEvent: "x", Limit: 50}, asked[0])

	_, body = getBody(t, h, "/procedures/?lang=en&q=nothing")
	ids, _ = hits(body)
	assert.Empty(t, ids)
	assert.Contains(t, body, "No procedure matches")

	status, body = getBody(t, h, "/procedures/?lang=en&q="+strings.Repeat("x", 501))
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "The search is too long")
}
