package declaration_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/browsertest"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// TestPagesAccessible checks every page with axe-core against the WCAG
// 2.1 A and AA rules, in both languages, and keeps screenshots (in
// $EGOVKIT_SCREENSHOT_DIR when set) for a person to look at.
func TestPagesAccessible(t *testing.T) {
	browsertest.Binary(t)
	ctx := t.Context()
	f := newFixture(t, sqltest.SQLite(t).DB.DB, nil)
	cfg := declaration.PagesConfig{Service: f.svc, Prefix: "/declarations", SignOutURL: "/signout",
		Declarant: func(*http.Request) (declaration.Person, error) { return maria, nil }}
	pages, err := declaration.PagesHandler(cfg)
	require.NoError(t, err)
	verify, err := declaration.VerifyHandler(cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/declarations/", http.StripPrefix("/declarations", pages))
	mux.Handle("/verify", verify)
	mux.Handle("/verify/", verify)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	issued := f.issue(t, maria, solemn())
	draft, err := f.svc.Create(ctx, maria, authorization())
	require.NoError(t, err)
	_, err = f.svc.RequestCode(ctx, maria, draft.ID)
	require.NoError(t, err)
	revoked := f.issue(t, maria, solemn())
	_, err = f.revoke(t, maria, revoked.ID, "")
	require.NoError(t, err)

	paths := []string{
		"/declarations/", "/declarations/new/solemn_declaration", "/declarations/new/authorization",
		"/declarations/new/template?template=parking",
		"/declarations/d/" + draft.ID + "?sent=1", "/declarations/d/" + issued.ID, "/declarations/d/" + issued.ID + "?revoke=1",
		"/declarations/d/" + revoked.ID,
		"/verify", "/verify?code=" + url.QueryEscape(issued.Code), "/verify?code=" + url.QueryEscape(revoked.Code),
		"/verify?code=2222-2222-2222-2222-2222",
	}
	for _, lang := range []string{"el", "en"} {
		for _, p := range paths {
			sep := "?"
			if strings.Contains(p, "?") {
				sep = "&"
			}
			rep := browsertest.AssertAccessible(t, srv.URL+p+sep+"lang="+lang)
			t.Logf("%s: %d rules pass", rep.URL, rep.Passes)
		}
	}
	browsertest.Screenshot(t, srv.URL+"/declarations/d/"+draft.ID+"?sent=1&lang=el", "declaration-confirm-el", 1280, 1400)
	browsertest.Screenshot(t, srv.URL+"/verify?lang=en&code="+url.QueryEscape(issued.Code), "declaration-verify-en-mobile", 390, 1600)
	browsertest.Screenshot(t, srv.URL+"/declarations/new/authorization?lang=el", "declaration-new-authorization-el", 1280, 1400)
}
