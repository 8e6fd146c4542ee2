package declaration_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// datesSite serves the citizen's pages and the verification page of f.
func datesSite(t *testing.T, f *fixture) func(method, path string, form url.Values) (int, string, string) {
	t.Helper()
	cfg := declaration.PagesConfig{Service: f.svc, Prefix: "/declarations",
		Declarant: func(r *http.Request) (declaration.Person, error) {
			if r.Header.Get("X-Test-User") != "maria" {
				return declaration.Person{}, errors.New("not signed in")
			}
			return maria, nil
		}}
	pages, err := declaration.PagesHandler(cfg)
	require.NoError(t, err)
	verify, err := declaration.VerifyHandler(cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/declarations/", http.StripPrefix("/declarations", pages))
	mux.Handle("/verify", verify)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return func(method, path string, form url.Values) (int, string, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, srv.URL+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		req.Header.Set("X-Test-User", "maria")
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		// The page after saving a draft says so once; these tests go
		// on from the document's own address.
		loc, _ := strings.CutSuffix(resp.Header.Get("Location"), "?saved=1")
		return resp.StatusCode, loc, string(b)
	}
}

// pdfText is the text of a PDF, or skips without poppler-utils.
func pdfText(t *testing.T, b []byte) string {
	t.Helper()
	pdftotext := tool(t, "pdftotext", "poppler-utils")
	name := filepath.Join(t.TempDir(), "doc.pdf")
	require.NoError(t, os.WriteFile(name, b, 0o644))
	out, err := exec.Command(pdftotext, "-layout", name, "-").CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

// An authorization valid until 31 January says 31/01/2027 on its page, its
// PDF and the verification page, and every instant is shown in Athens
// time, the default, even when UTC is on another day.
func TestDatesAreShownInOneLocation(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, sqltest.SQLite(t).DB.DB, nil)            // no Location: Europe/Athens
	f.clock.Set(time.Date(2027, 1, 20, 22, 30, 0, 0, time.UTC)) // 21/01/2027 00:30 in Athens
	do := datesSite(t, f)

	status, loc, body := do("POST", "/declarations/new/authorization", url.Values{"grantee_afm": {nikos.AFM},
		"grantee_name": {"Νίκος Γεωργίου"}, "text": {"Να παραλάβει το πιστοποιητικό."}, "valid_until": {"2027-01-31"}, "lang": {"el"}})
	require.Equal(t, http.StatusSeeOther, status, body)
	id := strings.TrimPrefix(loc, "/declarations/d/")
	status, _, _ = do("POST", loc+"/code", url.Values{})
	require.Equal(t, http.StatusSeeOther, status)
	status, _, _ = do("POST", loc+"/confirm", url.Values{"code": {f.code(t, maria)}})
	require.Equal(t, http.StatusSeeOther, status)

	doc, err := f.svc.Get(ctx, maria, id)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2027, 1, 31, 22, 0, 0, 0, time.UTC), doc.Draft.ValidUntil,
		"stored in UTC: the end of 31 January in Athens")

	const validUntil, issued = "31/01/2027", "21/01/2027 00:30"
	status, _, body = do("GET", loc, nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, validUntil)
	assert.Contains(t, body, issued)
	assert.NotContains(t, body, "01/02/2027")
	assert.NotContains(t, body, "20/01/2027")

	code := regexp.MustCompile(`[2-9A-Z]{4}(-[2-9A-Z]{4}){4}`).FindString(body)
	require.NotEmpty(t, code)
	status, _, body = do("GET", "/verify?code="+code, nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, validUntil)
	assert.Contains(t, body, issued)
	assert.NotContains(t, body, "01/02/2027")

	b, err := f.svc.PDF(ctx, doc)
	require.NoError(t, err)
	text := pdfText(t, b)
	assert.Contains(t, text, validUntil)
	assert.Contains(t, text, issued)
	assert.NotContains(t, text, "01/02/2027", "the PDF says the same day as the page")
	assert.NotContains(t, text, "20/01/2027")

	// Revoked at 00:15 on 26 January in Athens, still the 25th in UTC: the
	// banner of the page, the PDF and the verification page agree.
	f.clock.Set(time.Date(2027, 1, 25, 22, 15, 0, 0, time.UTC))
	status, _, _ = do("POST", loc+"/revoke/code", url.Values{})
	require.Equal(t, http.StatusSeeOther, status)
	status, _, _ = do("POST", loc+"/revoke", url.Values{"reason": {"λάθος"}, "code": {f.code(t, maria)}, "confirm": {"yes"}})
	require.Equal(t, http.StatusSeeOther, status)
	const revoked = "26/01/2027 00:15"
	status, _, body = do("GET", loc, nil)
	require.Equal(t, http.StatusOK, status)
	assert.Regexp(t, `class="notice" role="status"><p>[^<]*`+revoked, body, "the revocation banner")
	status, _, body = do("GET", "/verify?code="+code, nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, revoked)
	doc, err = f.svc.Get(ctx, maria, id)
	require.NoError(t, err)
	b, err = f.svc.PDF(ctx, doc)
	require.NoError(t, err)
	assert.Contains(t, pdfText(t, b), "ΑΝΑΚΛΗΘΗΚΕ "+revoked)
}

// The location is configurable: a service in UTC reads and shows the same
// last day, and its instants in UTC.
func TestDatesInAnotherLocation(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, sqltest.SQLite(t).DB.DB, nil, func(c *declaration.Config) { c.Location = time.UTC })
	f.clock.Set(time.Date(2027, 1, 20, 22, 30, 0, 0, time.UTC))
	do := datesSite(t, f)
	status, loc, body := do("POST", "/declarations/new/authorization", url.Values{"grantee_afm": {nikos.AFM},
		"grantee_name": {"Νίκος Γεωργίου"}, "text": {"Να παραλάβει το πιστοποιητικό."}, "valid_until": {"2027-01-31"}})
	require.Equal(t, http.StatusSeeOther, status, body)
	do("POST", loc+"/code", url.Values{})
	status, _, _ = do("POST", loc+"/confirm", url.Values{"code": {f.code(t, maria)}})
	require.Equal(t, http.StatusSeeOther, status)
	doc, err := f.svc.Get(ctx, maria, strings.TrimPrefix(loc, "/declarations/d/"))
	require.NoError(t, err)
	assert.Equal(t, time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), doc.Draft.ValidUntil)
	_, _, body = do("GET", loc, nil)
	assert.Contains(t, body, "31/01/2027")
	assert.Contains(t, body, "20/01/2027 22:30")
	b, err := f.svc.PDF(ctx, doc)
	require.NoError(t, err)
	text := pdfText(t, b)
	assert.Contains(t, text, "31/01/2027")
	assert.Contains(t, text, "20/01/2027 22:30")
	assert.NotContains(t, text, "01/02/2027")
}
