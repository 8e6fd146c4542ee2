package procedures_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/procedures/search"
)

// The Greek pages speak Greek: filters agree with the label they qualify,
// life events and the history are translated, a free cost is said once,
// and the editors' workspace has one name.
func TestGreekWording(t *testing.T) {
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
	h, err := procedures.PagesHandler(procedures.PagesConfig{Registry: reg, Index: idx, Prefix: "/procedures",
		Caller: func(r *http.Request) (procedures.Caller, error) { return tokens["editor"], nil }})
	require.NoError(t, err)
	srv := httptest.NewServer(http.StripPrefix("/procedures", h))
	defer srv.Close()
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(srv.URL + "/procedures" + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		return string(b)
	}

	body := get("/?lang=el")
	for _, want := range []string{"Όλες οι κατηγορίες", "Όλοι οι τρόποι", "Όλα τα γεγονότα ζωής",
		">Απόκτηση παιδιού<", ">Γάμος<", ">Μετακόμιση και αλλαγή διεύθυνσης<", ">Απώλεια εργασίας<",
		">Χώρος επιμελητών (δημόσιοι υπάλληλοι)<"} {
		assert.Contains(t, body, want)
	}
	for _, not := range []string{">Όλες<", "having a child", "getting married", "moving and changing address", "losing a job", "Χώρος εργασίας"} {
		assert.NotContains(t, body, not)
	}
	body = get("/?lang=en")
	for _, want := range []string{"All categories", "All life events", ">Having a child<", ">Editors&#39; workspace (civil servants)<"} {
		assert.Contains(t, body, want)
	}

	body = get("/solemn-declaration?lang=el")
	assert.Equal(t, 1, strings.Count(strings.ToLower(body), "χωρίς κόστος"), "a free cost is said once")
	body = get("/solemn-declaration?lang=en")
	assert.Equal(t, 1, strings.Count(strings.ToLower(body), "free of charge"), "a free cost is said once")
	body = get("/passport?lang=el")
	assert.Contains(t, body, "Παράβολο διαβατηρίου (ενήλικες, 5 έτη): 84,40 EUR", "a cost with a price keeps its title")

	// The workspace's own pages use the same name.
	body = get("/edit/?lang=el")
	assert.Contains(t, body, "χώρος επιμελητών")
	assert.NotContains(t, body, "συντακτών")

	// History: the notes the registry writes are translated.
	body = get("/edit/passport/1?lang=el")
	assert.Contains(t, body, "εισαγωγή από «samples»")
	assert.NotContains(t, body, "imported from")
	v, err := reg.Revise(ctx, tokens["editor"], "solemn-declaration")
	require.NoError(t, err)
	_, err = reg.Update(ctx, tokens["editor"], "solemn-declaration", v.Version, sample(t, "solemn-declaration"))
	require.NoError(t, err)
	page := "/edit/solemn-declaration/" + strconv.Itoa(v.Version)
	body = get(page + "?lang=el")
	assert.Contains(t, body, "αναθεώρηση της έκδοσης 1")
	assert.Contains(t, body, "επεξεργασία")
	assert.NotContains(t, body, "revision of version")
	assert.NotContains(t, body, "edited")
	body = get(page + "?lang=en")
	assert.Contains(t, body, "revision of version 1")
	assert.Contains(t, body, "edited")

	doc := strings.Replace(string(sample(t, "solemn-declaration")), `"id": "solemn-declaration"`, `"id": "solemn-declaration-copy"`, 1)
	_, err = reg.Create(ctx, tokens["editor"], []byte(doc))
	require.NoError(t, err)
	body = get("/edit/solemn-declaration-copy/1?lang=el")
	assert.Contains(t, body, "δημιουργία")
	assert.NotContains(t, body, "created")
}
