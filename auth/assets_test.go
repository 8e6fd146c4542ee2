package auth_test

import (
	"image/color"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/browsertest"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// providerAlone serves a citizens' provider with its sign-in pages, and
// nothing else, at prefix on a fresh server, and returns the server and
// the path of the authorization endpoint with a good request.
func providerAlone(t *testing.T, prefix string) (*httptest.Server, string) {
	t.Helper()
	ctx := t.Context()
	db := sqltest.SQLite(t).DB.DB
	reg, err := auth.NewClientRegistry(ctx, db, "citizen")
	require.NoError(t, err)
	accounts, err := auth.NewAccounts(ctx, db, auth.WithPasswordParams(fastParams))
	require.NoError(t, err)
	codes, err := auth.NewCodeStore(ctx, db, "citizen")
	require.NoError(t, err)
	kek, err := keys.GenerateKEK()
	require.NoError(t, err)
	signing, err := keys.New(ctx, db, "auth/citizen", kek)
	require.NoError(t, err)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p, err := auth.NewProvider(ctx, auth.ProviderConfig{Issuer: srv.URL + prefix, Realm: "citizen", Keys: signing,
		Clients: reg, Codes: codes, Accounts: accounts})
	require.NoError(t, err)
	if prefix == "" {
		mux.Handle("/", p.Handler())
	} else {
		mux.Handle(prefix+"/", http.StripPrefix(prefix, p.Handler()))
	}
	_, _, err = reg.Create(ctx, lowClient("low-agency"))
	require.NoError(t, err)
	return srv, prefix + auth.PathAuthorize + "?" + authorizeParams("low-agency").Encode()
}

// TestSigninPagesServeTheirStylesheet mounts a provider alone on a fresh
// mux, at the root and below a path, as a service importing only this
// package would: the sign-in page links a stylesheet the provider's
// handler serves.
func TestSigninPagesServeTheirStylesheet(t *testing.T) {
	for _, prefix := range []string{"", "/auth/citizen"} {
		t.Run("at "+prefix+"/", func(t *testing.T) {
			srv, authorize := providerAlone(t, prefix)
			// The authorization endpoint sends the browser, with a
			// cookie, to the sign-in page.
			jar, err := cookiejar.New(nil)
			require.NoError(t, err)
			c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := c.Get(srv.URL + authorize)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			login := resp.Header.Get("Location")
			require.Regexp(t, "^"+regexp.QuoteMeta(prefix+auth.PathLogin+"?"), login)
			assertStyledSignIn(t, c, srv.URL, login, prefix+"/static/")
		})
	}
}

// TestSigninPageStyledInBrowser loads the sign-in page of a provider
// mounted alone in chromium and checks that the stylesheet was applied:
// the header has the stylesheet's colour (--color-header-bg) where an
// unstyled page is white.
func TestSigninPageStyledInBrowser(t *testing.T) {
	browsertest.Binary(t)
	srv, authorize := providerAlone(t, "/auth/citizen")
	shot := browsertest.Screenshot(t, srv.URL+authorize+"&ui_locales=el", "auth-alone-signin-el", 1024, 900)
	assert.Equal(t, color.RGBA{R: 0x00, G: 0x34, B: 0x76, A: 0xff}, browsertest.Pixel(t, shot, 4, 4))
}

// assertStyledSignIn checks the page is the sign-in page and is styled.
func assertStyledSignIn(t *testing.T, c *http.Client, base, page, dir string) {
	t.Helper()
	body := browsertest.AssertStyled(t, c, base, page, dir)
	require.Contains(t, body, `name="password"`, "%s is the sign-in page", page)
}
