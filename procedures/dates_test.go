package procedures_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/procedures/search"
)

// The catalogue and the editors' pages show the publication date, the
// history and the suggestions in Athens time (the default), while the
// registry keeps UTC; and a title with & and < is escaped once.
func TestPagesDatesAndTitles(t *testing.T) {
	ctx := t.Context()
	at := time.Date(2027, 1, 31, 22, 30, 0, 0, time.UTC) // 01/02/2027 00:30 in Athens
	reg, err := procedures.NewRegistry(ctx, sqltest.SQLite(t).DB.DB, procedures.WithClock(func() time.Time { return at }))
	require.NoError(t, err)
	p, err := procedures.Parse(sample(t, "solemn-declaration"))
	require.NoError(t, err)
	p.Title = procedures.Text{EL: `Δήλωση & <υπογραφή> "τώρα"`, EN: `Declare & <sign> "now"`}
	doc, err := json.Marshal(p)
	require.NoError(t, err)
	_, err = reg.ImportPublished(ctx, "samples", [][]byte{doc})
	require.NoError(t, err)
	_, err = reg.Suggest(ctx, p.ID, procedures.Suggestion{Kind: procedures.SuggestionOther, Text: "Μία πρόταση."}, "192.0.2.1")
	require.NoError(t, err)
	history, err := reg.History(ctx, p.ID)
	require.NoError(t, err)
	require.NotEmpty(t, history)
	assert.Equal(t, at, history[0].At.UTC(), "the registry keeps the instant")

	idx, err := search.New(ctx, reg)
	require.NoError(t, err)
	defer idx.Close()
	h, err := procedures.PagesHandler(procedures.PagesConfig{Registry: reg, Index: idx, Prefix: "/procedures",
		Caller: func(r *http.Request) (procedures.Caller, error) { return tokens["approver"], nil }})
	require.NoError(t, err)
	srv := httptest.NewServer(http.StripPrefix("/procedures", h))
	defer srv.Close()
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(srv.URL + "/procedures" + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
		return string(b)
	}

	body := get("/" + p.ID + "?lang=en")
	assert.Contains(t, body, "01/02/2027", "published on 1 February in Athens")
	assert.NotContains(t, body, "2027-01-31")
	assert.Contains(t, body, `<title>Declare &amp; &lt;sign&gt; &#34;now&#34; — `)
	assert.NotContains(t, body, "&amp;amp;")
	body = get("/edit/" + p.ID + "/1?lang=en")
	assert.Contains(t, body, "01/02/2027 00:30", "the history")
	assert.NotContains(t, body, "2027-01-31 22:30")
	body = get("/edit/?lang=en")
	assert.Contains(t, body, "01/02/2027 00:30", "the suggestion")

	// Another location, when configured.
	h, err = procedures.PagesHandler(procedures.PagesConfig{Registry: reg, Index: idx, Location: time.UTC,
		Caller: func(r *http.Request) (procedures.Caller, error) { return tokens["approver"], nil }})
	require.NoError(t, err)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/edit/"+p.ID+"/1", nil))
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), "31/01/2027 22:30")
}
