package procedures_test

import (
	"errors"
	"io"
	"net/http"
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

func TestEditorPages(t *testing.T) {
	ctx := t.Context()
	reg, err := procedures.NewRegistry(ctx, sqltest.SQLite(t).DB.DB)
	require.NoError(t, err)
	idx, err := search.New(ctx, reg)
	require.NoError(t, err)
	defer idx.Close()
	h, err := procedures.PagesHandler(procedures.PagesConfig{Registry: reg, Index: idx, Prefix: "/procedures", SignOutURL: "/procedures/signout",
		Caller: func(r *http.Request) (procedures.Caller, error) {
			c, ok := tokens[r.Header.Get("X-Test-User")]
			if !ok {
				return procedures.Caller{}, errors.New("not signed in")
			}
			return c, nil
		}})
	require.NoError(t, err)
	srv := httptest.NewServer(http.StripPrefix("/procedures", h))
	defer srv.Close()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path, user string, form url.Values, sameSite bool) (int, string, string) {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, srv.URL+"/procedures"+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if sameSite {
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		req.Header.Set("X-Test-User", user)
		req.Header.Set("Accept-Language", "en")
		resp, err := noFollow.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}

	status, _, _ := do("GET", "/edit/", "", nil, false)
	assert.Equal(t, http.StatusUnauthorized, status)
	status, _, _ = do("GET", "/edit/", "citizen", nil, false)
	assert.Equal(t, http.StatusForbidden, status)
	status, _, body := do("GET", "/edit/", "editor", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Signed in as editor-1")
	assert.Contains(t, body, `<form method="post" action="/procedures/signout">`)
	status, _, body = do("GET", "/", "", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `href="/procedures/edit/"`, "the catalogue links to the workspace")

	doc := string(sample(t, "solemn-declaration"))
	status, _, _ = do("POST", "/edit/new", "editor", url.Values{"doc": {doc}}, false)
	assert.Equal(t, http.StatusForbidden, status, "a form from another site is refused")
	bad := strings.Replace(doc, `"max_duration": "PT10M"`, `"max_duration": "ten"`, 1)
	status, _, body = do("POST", "/edit/new", "editor", url.Values{"doc": {bad}}, true)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, body, "/steps/1/max_duration")
	assert.Contains(t, body, "ten", "what was typed is kept")
	status, loc, _ := do("POST", "/edit/new", "editor", url.Values{"doc": {doc}}, true)
	require.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, "/procedures/edit/solemn-declaration/1?saved=1", loc)

	status, _, body = do("GET", "/edit/solemn-declaration/1", "editor", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Save the draft")
	assert.Contains(t, body, "Submit for approval")
	assert.NotContains(t, body, ">Approve<", "editors do not approve")
	edited := strings.Replace(doc, `"processing_time": "PT5M"`, `"processing_time": "PT7M"`, 1)
	status, _, _ = do("POST", "/edit/solemn-declaration/1", "editor", url.Values{"doc": {edited}}, true)
	require.Equal(t, http.StatusSeeOther, status)
	status, _, _ = do("POST", "/edit/solemn-declaration/1/submit", "editor", url.Values{}, true)
	require.Equal(t, http.StatusSeeOther, status)
	status, _, body = do("POST", "/edit/solemn-declaration/1", "editor", url.Values{"doc": {doc}}, true)
	assert.Equal(t, http.StatusConflict, status, "a submitted version does not change")
	assert.Contains(t, body, "Only drafts change")

	status, _, body = do("GET", "/edit/solemn-declaration/1", "approver", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, ">Approve<")
	assert.Contains(t, body, "Send back to the editor")
	status, _, body = do("POST", "/edit/solemn-declaration/1/reject", "approver", url.Values{"note": {""}}, true)
	assert.Equal(t, http.StatusConflict, status)
	assert.Contains(t, body, "say why")
	for _, a := range []string{"approve", "publish"} {
		status, _, body = do("POST", "/edit/solemn-declaration/1/"+a, "approver", url.Values{}, true)
		require.Equal(t, http.StatusSeeOther, status, body)
	}
	pub, err := reg.Published(ctx, "solemn-declaration")
	require.NoError(t, err)
	assert.Equal(t, "PT7M", pub.Procedure.ProcessingTime)
	status, _, body = do("GET", "/edit/solemn-declaration/1", "editor", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Start a new revision")
	assert.Contains(t, body, "Pending approval → Approved")

	_, err = reg.Suggest(ctx, "solemn-declaration", procedures.Suggestion{Kind: procedures.SuggestionOther, Text: "A thought."}, "192.0.2.9")
	require.NoError(t, err)
	open, err := reg.Suggestions(ctx, editor, "", true)
	require.NoError(t, err)
	require.Len(t, open, 1)
	status, _, body = do("GET", "/edit/", "editor", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "A thought.")
	status, _, _ = do("POST", "/edit/suggestions/"+open[0].ID+"/close", "editor", url.Values{"resolution": {"Noted."}}, true)
	require.Equal(t, http.StatusSeeOther, status)
	open, _ = reg.Suggestions(ctx, editor, "", true)
	assert.Empty(t, open)

	status, loc, _ = do("POST", "/edit/solemn-declaration/revise", "editor", url.Values{}, true)
	require.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, "/procedures/edit/solemn-declaration/2", loc)
}
