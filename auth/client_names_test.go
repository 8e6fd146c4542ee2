package auth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// A client named in both languages is shown by its Greek name on Greek
// sign-in pages and in the Greek SMS, and by its English name on English
// pages; a client registered with one name keeps it in every language.
func TestClientNamesByLanguage(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newSigninFixture(t, db)
		c := webClient()
		c.ID, c.Name = "municipality", "Municipality of Testville"
		c.Names = map[string]string{"el": "Δήμος Δοκιμούπολης", "en": "Municipality of Testville"}
		_, _, err := f.reg.Create(t.Context(), c)
		require.NoError(t, err)
		got, err := f.reg.Get(t.Context(), "municipality")
		require.NoError(t, err)
		assert.Equal(t, c.Names, got.Names, "the names are stored")

		b := f.browser(t)
		in := func(lang string, req *http.Request) page {
			req.Header.Set("Accept-Language", lang)
			return b.do(req)
		}
		get := func(lang, u string) page {
			req, err := http.NewRequest(http.MethodGet, u, nil)
			require.NoError(t, err)
			return in(lang, req)
		}
		post := func(lang, path string, form url.Values) page {
			req, err := http.NewRequest(http.MethodPost, f.issuer+path, strings.NewReader(form.Encode()))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return in(lang, req)
		}

		p := get("el", f.issuer+"/authorize?"+authorizeParams("municipality").Encode())
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		assert.Contains(t, p.Body, "Η υπηρεσία «Δήμος Δοκιμούπολης» ζητά")
		assert.NotContains(t, p.Body, "Testville")
		id := tx(t, p)
		p = post("el", "/login", url.Values{"tx": {id}, "username": {"maria.p"}, "password": {"correct horse battery"}})
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		assert.Contains(t, p.Body, "επιστροφή στην υπηρεσία «Δήμος Δοκιμούπολης»")
		assert.NotContains(t, p.Body, "Testville")
		sms, _ := f.outbox.Last(citizenMobile)
		assert.Contains(t, sms.Text, "Δήμος Δοκιμούπολης", "the SMS is Greek and names the client in Greek")

		p = get("en", f.issuer+"/authorize?"+authorizeParams("municipality").Encode())
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		assert.Contains(t, p.Body, "Municipality of Testville asks you")
		assert.NotContains(t, p.Body, "Δοκιμούπολης")

		// A client registered with one name shows it in both languages.
		p = get("el", f.issuer+"/authorize?"+authorizeParams("low-agency").Encode())
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		assert.Contains(t, p.Body, "«Low agency»")
	})
}

func TestClientNamesValidated(t *testing.T) {
	for name, names := range map[string]map[string]string{
		"not a language": {"greek": "Δήμος"},
		"not canonical":  {"EL": "Δήμος"},
		"empty name":     {"el": " "},
		"too long":       {"en": strings.Repeat("x", 201)},
	} {
		t.Run(name, func(t *testing.T) {
			c := webClient()
			c.Names = names
			var ie *auth.InvalidClientError
			require.ErrorAs(t, c.Validate(), &ie)
			assert.Equal(t, "client_names", ie.Field)
		})
	}
	c := webClient()
	c.Names = map[string]string{"el": "Δήμος", "en": "Municipality"}
	require.NoError(t, c.Validate())
	assert.Equal(t, "Δήμος", c.NameIn("el"))
	assert.Equal(t, "Municipality", c.NameIn("en"))
	c.Names = map[string]string{"el": "Δήμος"}
	assert.Equal(t, c.Name, c.NameIn("en"), "a language without a name falls back to Name")
}
