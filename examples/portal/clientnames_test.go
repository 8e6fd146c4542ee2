package main

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// The portal's clients have names in both languages: a Greek sign-in page
// names the site in Greek, an English one in English.
func TestClientNamesInBothLanguages(t *testing.T) {
	base, _ := startPortal(t, "-demo")
	u, err := url.Parse(base)
	require.NoError(t, err)
	for _, tt := range []struct{ path, el, en string }{
		{"/demo/citizen/login?return=/demo/citizen/", "«Δοκιμαστική υπηρεσία»", "Demo agency asks you"},
		{"/declarations/", "«Υπεύθυνες δηλώσεις και εξουσιοδοτήσεις»", "Solemn declarations and authorizations asks you"},
		{"/procedures/edit/", "«Μητρώο διαδικασιών: χώρος επιμελητών»", "Registry of procedures: editors&#39; workspace asks you"},
	} {
		for lang, want := range map[string]string{"el": tt.el, "en": tt.en} {
			c := signInBrowser(t)
			c.Jar.SetCookies(u, []*http.Cookie{{Name: "lang", Value: lang}})
			page, at := browse(t, c, "GET", base+tt.path, nil)
			require.Contains(t, at.Path, "/login", tt.path)
			assert.Contains(t, page, want, "%s in %s", tt.path, lang)
			if lang == "el" {
				for _, en := range []string{"Demo agency", "Solemn declarations and authorizations", "editors&#39; workspace"} {
					assert.NotContains(t, page, en, "%s in Greek", tt.path)
				}
			}
		}
	}
}

// A client the portal registered before it had names in both languages
// gets them on the next start.
func TestEnsureClientGivesNames(t *testing.T) {
	db := sqltest.SQLite(t)
	clients, err := auth.NewClientRegistry(t.Context(), db.DB.DB, "citizen")
	require.NoError(t, err)
	c := auth.Client{ID: "site", Name: "Site", AuthMethod: auth.AuthSecretBasic, GrantTypes: []string{auth.GrantAuthorizationCode},
		RedirectURIs: []string{"https://portal.example.gr/site/signin/callback"}, Scopes: []string{"openid"}}
	_, err = clients.Import(t.Context(), c, "a-secret-of-enough-length-000000")
	require.NoError(t, err)
	c.Name, c.Names = "Ιστότοπος", map[string]string{"el": "Ιστότοπος", "en": "Site"}
	require.NoError(t, ensureClient(t.Context(), clients, c, "a-secret-of-enough-length-000000"))
	got, err := clients.Get(t.Context(), "site")
	require.NoError(t, err)
	assert.Equal(t, c.Names, got.Names)
	assert.Equal(t, "Ιστότοπος", got.Name)
}
