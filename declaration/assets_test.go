package declaration_test

import (
	"image/color"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/browsertest"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

var stylesheetLink = regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)">`)

// TestPagesServeTheirStylesheet mounts each page handler alone on a fresh
// mux, at the root and below a path, as a service importing only this
// package would: every page links a stylesheet that the same handler
// serves.
func TestPagesServeTheirStylesheet(t *testing.T) {
	declarant := func(*http.Request) (declaration.Person, error) { return maria, nil }
	for _, c := range []struct{ name, baseURL, prefix, verify string }{
		{"root", "https://docs.example.gr", "", "/verify"},
		{"below a path", "https://example.gr/docs", "/docs/my", "/docs/verify"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, sqltest.SQLite(t).DB.DB, nil, func(cfg *declaration.Config) { cfg.BaseURL = c.baseURL })
			issued := f.issue(t, maria, solemn())
			cfg := declaration.PagesConfig{Service: f.svc, Prefix: c.prefix, Declarant: declarant}
			pages, err := declaration.PagesHandler(cfg)
			require.NoError(t, err)
			verify, err := declaration.VerifyHandler(cfg)
			require.NoError(t, err)

			mux := http.NewServeMux()
			if c.prefix == "" {
				mux.Handle("/", pages)
			} else {
				mux.Handle(c.prefix+"/", http.StripPrefix(c.prefix, pages))
			}
			srv := httptest.NewServer(mux)
			defer srv.Close()
			for _, p := range []string{"/", "/new/solemn_declaration", "/d/" + issued.ID} {
				browsertest.AssertStyled(t, nil, srv.URL, c.prefix+p, c.prefix+"/static/")
			}

			// The verification page, alone on its own mux.
			vmux := http.NewServeMux()
			vmux.Handle(c.verify, verify)
			vmux.Handle(c.verify+"/", verify)
			vsrv := httptest.NewServer(vmux)
			defer vsrv.Close()
			browsertest.AssertStyled(t, nil, vsrv.URL, c.verify, c.verify+"/static/")
			browsertest.AssertStyled(t, nil, vsrv.URL, c.verify+"?code="+url.QueryEscape(issued.Code), c.verify+"/static/")
		})
	}

	// A site with one shared stylesheet says where it is.
	f := newFixture(t, sqltest.SQLite(t).DB.DB, nil)
	verify, err := declaration.VerifyHandler(declaration.PagesConfig{Service: f.svc, StaticPrefix: "/assets/"})
	require.NoError(t, err)
	w := httptest.NewRecorder()
	verify.ServeHTTP(w, httptest.NewRequest("GET", "/verify", nil))
	m := stylesheetLink.FindStringSubmatch(w.Body.String())
	require.NotNil(t, m)
	assert.Regexp(t, `^/assets/egovkit\.[0-9a-f]{12}\.css$`, m[1])
}

// headerColour is the colour of the pages' header in the stylesheet
// (--color-header-bg); an unstyled page is white there.
var headerColour = color.RGBA{R: 0x00, G: 0x34, B: 0x76, A: 0xff}

// TestPagesStyledInBrowser loads the pages, each handler mounted alone, in
// chromium and checks that the stylesheet was applied.
func TestPagesStyledInBrowser(t *testing.T) {
	browsertest.Binary(t)
	f := newFixture(t, sqltest.SQLite(t).DB.DB, nil)
	issued := f.issue(t, maria, solemn())
	cfg := declaration.PagesConfig{Service: f.svc, Prefix: "/declarations",
		Declarant: func(*http.Request) (declaration.Person, error) { return maria, nil }}
	pages, err := declaration.PagesHandler(cfg)
	require.NoError(t, err)
	verify, err := declaration.VerifyHandler(cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/declarations/", http.StripPrefix("/declarations", pages))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	vmux := http.NewServeMux()
	vmux.Handle("/verify", verify)
	vmux.Handle("/verify/", verify)
	vsrv := httptest.NewServer(vmux)
	defer vsrv.Close()

	for name, u := range map[string]string{
		"declaration-alone-new-el":    srv.URL + "/declarations/new/solemn_declaration?lang=el",
		"declaration-alone-verify-en": vsrv.URL + "/verify?lang=en&code=" + url.QueryEscape(issued.Code),
	} {
		shot := browsertest.Screenshot(t, u, name, 1024, 900)
		assert.Equal(t, headerColour, browsertest.Pixel(t, shot, 4, 4), "%s: the header has the stylesheet's colour", name)
	}
}
