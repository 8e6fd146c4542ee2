package auth_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

// TestAuthenticatorPages binds an app from the account page (QR code and
// key, a wrong first code kept out, the right one taken), then removes it
// after a confirmation that takes a code from it.
func TestAuthenticatorPages(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx := t.Context()
	clock := testclock.New()
	store, err := auth.NewTOTPStore(ctx, db.DB.DB, totpKey, "gov.example", auth.WithClock(clock.Now))
	require.NoError(t, err)
	_, err = auth.AuthenticatorPages(auth.AuthenticatorPagesConfig{Store: store})
	assert.Error(t, err, "a Holder is required")
	h, err := auth.AuthenticatorPages(auth.AuthenticatorPagesConfig{Store: store, Prefix: "/account", SignInURL: "/account/signin",
		Holder: func(r *http.Request) (auth.AuthenticatorHolder, error) {
			if r.Header.Get("X-Test-User") == "" {
				return auth.AuthenticatorHolder{}, errors.New("nobody")
			}
			return auth.AuthenticatorHolder{Subject: "sub-" + r.Header.Get("X-Test-User"), Account: r.Header.Get("X-Test-User")}, nil
		}})
	require.NoError(t, err)
	srv := httptest.NewServer(http.StripPrefix("/account", h))
	defer srv.Close()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path, user string, form url.Values, sameSite bool) (int, string, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, srv.URL+"/account"+path, body)
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
	path := func(loc string) string { return strings.TrimPrefix(loc, "/account") }

	status, loc, _ := do("GET", "/", "", nil, false)
	assert.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, "/account/signin?return=%2Faccount%2F", loc)
	status, _, _ = do("POST", "/authenticator/enrol", "", url.Values{}, true)
	assert.Equal(t, http.StatusUnauthorized, status)

	status, _, body := do("GET", "/", "maria", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Bind an authenticator app")
	status, loc, _ = do("GET", "/authenticator/confirm", "maria", nil, false)
	assert.Equal(t, http.StatusSeeOther, status, "nothing to confirm before enrolling")
	assert.Equal(t, "/account/", loc)
	status, _, _ = do("POST", "/authenticator/enrol", "maria", url.Values{}, false)
	assert.Equal(t, http.StatusForbidden, status, "a form from another site")
	has, err := store.Has(ctx, "sub-maria")
	require.NoError(t, err)
	assert.False(t, has)

	status, loc, _ = do("POST", "/authenticator/enrol", "maria", url.Values{}, true)
	require.Equal(t, http.StatusSeeOther, status)
	status, _, body = do("GET", path(loc), "maria", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `<img class="qr" src="data:image/png;base64,`)
	key := regexp.MustCompile(`<code class="secret" lang="en">([A-Z2-7 ]+)</code>`).FindStringSubmatch(body)
	require.NotNil(t, key, "the key is shown to type by hand")
	uri, err := store.Pending(ctx, "sub-maria", "maria")
	require.NoError(t, err)
	app := appFromURI(t, uri)
	assert.Contains(t, uri, "secret="+strings.ReplaceAll(key[1], " ", ""), "the key shown is the QR code's")

	status, _, body = do("POST", "/authenticator/confirm", "maria", url.Values{"code": {"12"}}, true)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, body, "Enter the 6 digits of the code.")
	status, _, body = do("POST", "/authenticator/confirm", "maria", url.Values{"code": {wrongCode(appCode(t, app, clock.Now()))}}, true)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, body, "The code is wrong.")
	assert.Contains(t, body, `aria-invalid="true"`)
	assert.Contains(t, body, key[1], "the same key is shown again")
	has, err = store.Has(ctx, "sub-maria")
	require.NoError(t, err)
	assert.False(t, has, "a wrong code binds nothing")

	status, loc, _ = do("POST", "/authenticator/confirm", "maria", url.Values{"code": {appCode(t, app, clock.Now())}}, true)
	require.Equal(t, http.StatusSeeOther, status)
	status, _, body = do("GET", path(loc), "maria", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "The authenticator app is bound.")
	assert.Contains(t, body, `href="/account/authenticator/remove"`)
	has, err = store.Has(ctx, "sub-maria")
	require.NoError(t, err)
	assert.True(t, has)
	_, _, body = do("GET", "/", "nikos", nil, false)
	assert.Contains(t, body, "Bind an authenticator app", "someone else's account is apart")

	// Removing asks first, and takes a code from the app.
	status, _, body = do("GET", "/authenticator/remove", "maria", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Remove the authenticator app?")
	assert.Contains(t, body, "Keep the app and go back")
	clock.Advance(30 * time.Second)
	status, _, body = do("POST", "/authenticator/remove", "maria", url.Values{"code": {wrongCode(appCode(t, app, clock.Now()))}}, true)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, body, "The code is wrong.")
	has, err = store.Has(ctx, "sub-maria")
	require.NoError(t, err)
	assert.True(t, has, "a wrong code removes nothing")
	status, loc, _ = do("POST", "/authenticator/remove", "maria", url.Values{"code": {appCode(t, app, clock.Now())}}, true)
	require.Equal(t, http.StatusSeeOther, status)
	_, _, body = do("GET", path(loc), "maria", nil, false)
	assert.Contains(t, body, "The authenticator app has been removed.")
	has, err = store.Has(ctx, "sub-maria")
	require.NoError(t, err)
	assert.False(t, has)
	status, loc, _ = do("GET", "/authenticator/remove", "maria", nil, false)
	assert.Equal(t, http.StatusSeeOther, status, "nothing left to remove")
	assert.Equal(t, "/account/", loc)

	// Greek is the default language.
	req, _ := http.NewRequest("GET", srv.URL+"/account/", nil)
	req.Header.Set("X-Test-User", "maria")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(b), "Σύνδεση εφαρμογής ελέγχου ταυτότητας")
}
