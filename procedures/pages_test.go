package procedures_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/procedures/search"
)

func TestCataloguePages(t *testing.T) {
	ctx := t.Context()
	reg, err := procedures.NewRegistry(ctx, sqltest.SQLite(t).DB.DB)
	require.NoError(t, err)
	var docs [][]byte
	for _, d := range procedures.Samples() {
		docs = append(docs, d)
	}
	_, err = reg.ImportPublished(ctx, "samples", docs)
	require.NoError(t, err)
	idx, err := search.New(ctx, reg)
	require.NoError(t, err)
	defer idx.Close()
	h, err := procedures.PagesHandler(procedures.PagesConfig{Registry: reg, Index: idx, Prefix: "/procedures"})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/procedures/", http.StripPrefix("/procedures", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get := func(path string) (int, string) {
		resp, err := client.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	status, body := get("/procedures/?lang=el")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Τι χρειάζεται κάθε διαδικασία")
	assert.Contains(t, body, `href="/procedures/passport"`, "every procedure is listed")
	assert.Contains(t, body, `<option value="family">Οικογένεια</option>`)

	status, body = get("/procedures/?lang=en&q=" + url.QueryEscape("ΔΗΛΩΣΗ"))
	require.Equal(t, http.StatusOK, status)
	assert.Regexp(t, `[0-9]+ procedures? found`, body)
	first := strings.Index(body, `href="/procedures/solemn-declaration"`)
	assert.True(t, first > 0, "the declaration is found")
	status, body = get("/procedures/?lang=en&channel=video_call")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "unemployment-registration")
	assert.NotContains(t, body, `href="/procedures/passport"`)

	status, body = get("/procedures/passport?lang=en")
	require.Equal(t, http.StatusOK, status)
	for _, want := range []string{"Passport issue", "What you need", "the agency can obtain it itself", "Steps", "up to 7 days",
		"In person", "84.40 EUR", "Law 3103/2003", "Suggest a correction"} {
		assert.Contains(t, body, want)
	}
	status, body = get("/procedures/passport?lang=el")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "84,40 EUR", "Greek decimal comma")
	assert.Contains(t, body, "έως 7 ημέρες")

	status, _ = get("/procedures/no-such-thing")
	assert.Equal(t, http.StatusNotFound, status)

	post := func(form url.Values) (int, string, string) {
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		defer func() { client.CheckRedirect = nil }()
		resp, err := client.PostForm(srv.URL+"/procedures/passport/suggestions?lang=en", form)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}
	status, loc, _ := post(url.Values{"kind": {"simplification"}, "text": {"Photos could be taken at the office."}})
	assert.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, "/procedures/passport?sent=1#suggest", loc)
	_, body = get("/procedures/passport?sent=1&lang=en")
	assert.Contains(t, body, "your suggestion has reached")
	status, _, body = post(url.Values{"kind": {"other"}, "text": {"  "}})
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, body, "Write your suggestion")
	for range procedures.SuggestionsPerHour - 1 {
		post(url.Values{"kind": {"other"}, "text": {"x"}})
	}
	status, _, body = post(url.Values{"kind": {"other"}, "text": {"one more"}})
	assert.Equal(t, http.StatusTooManyRequests, status)
	assert.Contains(t, body, "many suggestions")
	assert.Contains(t, body, "one more", "what was typed is kept")
}
