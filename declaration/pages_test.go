package declaration_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

func TestPages(t *testing.T) {
	f := newFixture(t, sqltest.SQLite(t).DB.DB, nil)
	people := map[string]declaration.Person{"maria": maria, "nikos": nikos}
	cfg := declaration.PagesConfig{Service: f.svc, Prefix: "/declarations", SignInURL: "/signin",
		Declarant: func(r *http.Request) (declaration.Person, error) {
			p, ok := people[r.Header.Get("X-Test-User")]
			if !ok {
				return declaration.Person{}, errors.New("not signed in")
			}
			return p, nil
		}}
	pages, err := declaration.PagesHandler(cfg)
	require.NoError(t, err)
	verify, err := declaration.VerifyHandler(cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/declarations/", http.StripPrefix("/declarations", pages))
	mux.Handle("/verify", verify)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path, user string, form url.Values, sameSite bool) (int, string, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, srv.URL+path, body)
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

	status, loc, _ := do("GET", "/declarations/", "", nil, false)
	assert.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, "/signin?return=%2Fdeclarations%2F", loc)
	status, _, body := do("GET", "/declarations/", "maria", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Signed in as Μαρία Παπαδοπούλου")
	assert.Contains(t, body, `href="/declarations/new/solemn_declaration"`)
	assert.Contains(t, body, "Parking card application", "the agency's templates are offered")

	status, _, body = do("GET", "/declarations/new/solemn_declaration", "maria", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Law 1599/1986")
	status, _, _ = do("GET", "/declarations/new/will", "maria", nil, false)
	assert.Equal(t, http.StatusNotFound, status)

	form := url.Values{"recipient": {"Δήμος Αθηναίων"}, "text": {""}, "lang": {"el"}}
	status, _, _ = do("POST", "/declarations/new/solemn_declaration", "maria", form, false)
	assert.Equal(t, http.StatusForbidden, status, "a form from another site")
	status, _, body = do("POST", "/declarations/new/solemn_declaration", "maria", form, true)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, body, `<a href="#text">I declare that: is required</a>`)
	assert.Contains(t, body, `value="Δήμος Αθηναίων"`, "what was typed is kept")
	form.Set("text", "Διαμένω μόνιμα στην Αθήνα.\nΣτη διεύθυνση Πανεπιστημίου 1.")
	status, loc, _ = do("POST", "/declarations/new/solemn_declaration", "maria", form, true)
	require.Equal(t, http.StatusSeeOther, status)
	require.True(t, strings.HasPrefix(loc, "/declarations/d/"), loc)
	saved := loc
	loc, _ = strings.CutSuffix(loc, "?saved=1")
	require.NotEqual(t, saved, loc, "the page after saving says so")
	status, _, body = do("GET", saved, "maria", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Your draft has been saved.")

	status, _, body = do("GET", loc, "maria", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.NotContains(t, body, "Your draft has been saved.", "said once, after saving")
	assert.Contains(t, body, "Waiting for the code")
	assert.Contains(t, body, "<p>Στη διεύθυνση Πανεπιστημίου 1.</p>", "paragraphs kept")
	assert.Contains(t, body, "&#43;3069******78", "the mobile is masked as on every page")
	status, _, _ = do("GET", loc, "nikos", nil, false)
	assert.Equal(t, http.StatusNotFound, status, "someone else's draft")

	status, sent, _ := do("POST", loc+"/code", "maria", url.Values{}, true)
	require.Equal(t, http.StatusSeeOther, status)
	status, _, body = do("GET", sent, "maria", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `autocomplete="one-time-code"`)
	status, _, body = do("POST", loc+"/confirm", "maria", url.Values{"code": {"000000"}}, true)
	assert.Contains(t, []int{http.StatusUnprocessableEntity}, status)
	assert.Contains(t, body, "The code is wrong")
	status, _, _ = do("POST", loc+"/confirm", "maria", url.Values{"code": {f.code(t, maria)}}, true)
	require.Equal(t, http.StatusSeeOther, status)

	status, _, body = do("GET", loc, "maria", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "The document is issued.")
	code := regexp.MustCompile(`[2-9A-Z]{4}(-[2-9A-Z]{4}){4}`).FindString(body)
	require.NotEmpty(t, code)
	assert.Contains(t, body, "2026/000001")
	status, _, body = do("GET", loc+"/pdf", "maria", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.True(t, strings.HasPrefix(body, "%PDF-"))

	// The public page, in Greek by default.
	req, _ := http.NewRequest("GET", srv.URL+"/verify?code="+strings.ToLower(code), nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(b), "Έγκυρο")
	assert.Contains(t, string(b), "Διαμένω μόνιμα στην Αθήνα.")
	assert.NotContains(t, string(b), maria.Mobile)
	status, _, body = do("GET", "/verify?code=2222-2222-2222-2222-2222", "", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Unknown")
	status, _, body = do("GET", "/verify", "", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `name="code"`)
	for _, bad := range []string{"12345", "2222-2222-2222-2222-2222-2", "ΑΒΓΔ-2222-2222-2222-2222", "<script>"} {
		status, _, body = do("GET", "/verify?code="+url.QueryEscape(bad), "", nil, false)
		assert.Equal(t, http.StatusUnprocessableEntity, status, bad)
		assert.Contains(t, body, "This is not a verification code: a code has twenty letters and digits", bad)
		assert.Contains(t, body, `aria-invalid="true"`, bad)
		assert.NotContains(t, body, "Unknown", "a malformed code is not looked up")
	}

	// Revoking takes a code sent on request, all in forms.
	status, _, body = do("GET", loc, "maria", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `action="/declarations/d/`)
	assert.Contains(t, body, "Send me a code to revoke it")
	assert.NotContains(t, body, `name="reason"`, "the revoke form comes with the code")
	status, _, body = do("POST", loc+"/revoke", "maria", url.Values{"reason": {"λάθος"}, "code": {"123456"}, "confirm": {"yes"}}, true)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, body, "Ask for a code first")
	status, _, _ = do("POST", loc+"/revoke/code", "maria", url.Values{}, false)
	assert.Equal(t, http.StatusForbidden, status, "a form from another site")
	status, sent, _ = do("POST", loc+"/revoke/code", "maria", url.Values{}, true)
	require.Equal(t, http.StatusSeeOther, status)
	status, _, body = do("GET", sent, "maria", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `id="revoke-code"`)
	assert.Contains(t, body, `name="reason"`)
	assert.Contains(t, body, `name="confirm"`, "revoking asks for a confirmation")
	status, _, body = do("POST", loc+"/revoke", "maria", url.Values{"reason": {"λάθος"}, "code": {f.code(t, maria)}}, true)
	assert.Equal(t, http.StatusUnprocessableEntity, status, "not confirmed")
	assert.Contains(t, body, "Tick the box to confirm")
	assert.Contains(t, body, `href="#revoke-confirm"`)
	assert.Contains(t, body, `value="λάθος"`, "the reason typed is kept")
	status, _, body = do("GET", "/verify?code="+code, "", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Valid", "nothing was revoked")
	status, _, body = do("POST", loc+"/revoke", "maria", url.Values{"reason": {"a\x00b"}, "code": {"000000"}, "confirm": {"yes"}}, true)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, body, `href="#reason"`, "the reason is at fault, not the code")
	status, _, body = do("POST", loc+"/revoke", "maria", url.Values{"reason": {"λάθος"}, "code": {"000000"}, "confirm": {"yes"}}, true)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, body, "The code is wrong")
	assert.Contains(t, body, `href="#revoke-code"`)
	assert.Contains(t, body, `value="λάθος"`, "the reason typed is kept")
	status, _, _ = do("POST", loc+"/revoke", "maria", url.Values{"reason": {"λάθος"}, "code": {f.code(t, maria)}, "confirm": {"yes"}}, true)
	require.Equal(t, http.StatusSeeOther, status)
	status, _, body = do("GET", "/verify?code="+code, "", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Revoked")
	_, _, body = do("GET", loc, "maria", nil, false)
	assert.Contains(t, body, "The reason you gave: «λάθος»", "the revoked document shows the reason given")

	// An authorization shows up on the grantee's page.
	auth := url.Values{"grantee_afm": {nikos.AFM}, "grantee_name": {"Νίκος Γεωργίου"}, "text": {"Να παραλάβει το πιστοποιητικό."},
		"valid_until": {"2026-12-31"}, "lang": {"el"}}
	auth.Set("grantee_afm", "12345")
	status, _, body = do("POST", "/declarations/new/authorization", "maria", auth, true)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, body, "is not a valid tax number (nine digits)")
	auth.Set("grantee_afm", "123456789") // nine digits, the last one wrong
	status, _, body = do("POST", "/declarations/new/authorization", "maria", auth, true)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, body, "has nine digits, but the last one (the check digit) does not match the others")
	assert.Contains(t, body, `value="123456789"`, "what was typed is kept")
	auth.Set("grantee_afm", nikos.AFM)
	status, loc, _ = do("POST", "/declarations/new/authorization", "maria", auth, true)
	require.Equal(t, http.StatusSeeOther, status)
	loc, _ = strings.CutSuffix(loc, "?saved=1")
	f.clock.Advance(61e9)
	do("POST", loc+"/code", "maria", url.Values{}, true)
	status, _, _ = do("POST", loc+"/confirm", "maria", url.Values{"code": {f.code(t, maria)}}, true)
	require.Equal(t, http.StatusSeeOther, status)
	status, _, body = do("GET", "/declarations/", "nikos", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Μαρία Παπαδοπούλου")
	granted := regexp.MustCompile(`href="(/declarations/granted/[^"]+/pdf)"`).FindStringSubmatch(body)
	require.NotNil(t, granted, "the grantee can download the authorization")
	status, _, body = do("GET", granted[1], "nikos", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.True(t, strings.HasPrefix(body, "%PDF-"))
	status, _, _ = do("GET", granted[1], "maria", nil, false)
	assert.Equal(t, http.StatusNotFound, status, "the grantor downloads hers from her own list")
}
