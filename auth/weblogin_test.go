package auth_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// agencySite is a server-rendered agency site using rp.WebLogin.
func agencySite(t *testing.T, f *signinFixture, acr string) (*httptest.Server, *rp.WebLogin) {
	t.Helper()
	mux := http.NewServeMux()
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)
	c := lowClient("site")
	c.Name = "Agency site"
	c.RedirectURIs = []string{site.URL + "/callback"} // exact: the site is a confidential client
	c.PostLogoutRedirectURIs = []string{site.URL + "/"}
	_, secret, err := f.reg.Create(t.Context(), c)
	require.NoError(t, err)
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	login, err := rp.NewWebLogin(rp.LoginConfig{
		Issuer: f.issuer, ClientID: "site", ClientSecret: secret,
		RedirectURL: site.URL + "/callback", PostLogoutURL: site.URL + "/", ACR: acr, CookieKey: key,
	})
	require.NoError(t, err)
	mux.Handle("GET /login", login.LoginHandler())
	mux.Handle("GET /callback", login.CallbackHandler())
	mux.Handle("POST /logout", login.LogoutHandler())
	mux.Handle("GET /private", login.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := rp.SessionFromContext(r.Context())
		fmt.Fprintf(w, "hello %s at %s with %s", s.Subject, s.ACR, strings.Join(s.AMR, "+"))
	})))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if s, ok := login.SessionFrom(r); ok {
			fmt.Fprintf(w, "signed in as %s", s.Subject)
			return
		}
		fmt.Fprint(w, "welcome, guest")
	})
	return site, login
}

// person is a browser that follows every redirect, across the site and
// the provider.
func person(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar}
}

func visit(t *testing.T, c *http.Client, method, u string, form url.Values) (int, string, *url.URL) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept-Language", "en")
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Request.URL
}

func TestWebLoginSignsInToAnAgencySite(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newSigninFixture(t, db)
		site, _ := agencySite(t, f, rp.LoASubstantial)
		c := person(t)

		status, body, at := visit(t, c, "GET", site.URL+"/private", nil)
		require.Equal(t, http.StatusOK, status)
		require.Contains(t, body, `name="password"`, "a private page sends the person to sign in")
		assert.Equal(t, "/auth/citizen/login", at.Path)
		status, body, _ = visit(t, c, "POST", f.issuer+"/login", url.Values{"tx": {tx(t, page{Body: body})},
			"username": {"maria.p"}, "password": {"correct horse battery"}})
		require.Equal(t, http.StatusOK, status)
		require.Contains(t, body, `name="code"`, "the site asks for substantial: a code follows")
		status, body, at = visit(t, c, "POST", f.issuer+"/login/code", url.Values{"tx": {tx(t, page{Body: body})}, "code": {f.lastCode(t)}})
		require.Equal(t, http.StatusOK, status, body)
		assert.Equal(t, "/private", at.Path, "back to the page asked for")
		assert.Equal(t, "hello "+f.citizen.ID+" at "+auth.LoASubstantial+" with pwd+sms+mfa", body)

		// The session cookie is sealed: altered, it is no session.
		siteURL, _ := url.Parse(site.URL)
		for _, ck := range c.Jar.Cookies(siteURL) {
			assert.NotContains(t, ck.Value, f.citizen.ID, "the cookie does not show its content")
		}
		_, body, _ = visit(t, c, "GET", site.URL+"/", nil)
		assert.Equal(t, "signed in as "+f.citizen.ID, body)

		// Logout ends both sessions and comes back to the site.
		status, body, at = visit(t, c, "POST", site.URL+"/logout", url.Values{})
		require.Equal(t, http.StatusOK, status, body)
		assert.Equal(t, site.URL+"/", at.String())
		assert.Equal(t, "welcome, guest", body)
		_, body, _ = visit(t, c, "GET", site.URL+"/private", nil)
		assert.Contains(t, body, `name="password"`, "the provider's session ended too")
	})
}

func TestWebLoginRefusals(t *testing.T) {
	f := newSigninFixture(t, sqltest.SQLite(t))
	site, _ := agencySite(t, f, "")
	c := person(t)

	status, body, _ := visit(t, c, "GET", site.URL+"/callback?code=x&state=y", nil)
	assert.Equal(t, http.StatusBadRequest, status, "no sign-in was started")
	assert.Contains(t, body, "no sign-in was started")

	// A sign-in started, then an answer with another state.
	noFollow := *c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	status, _, _ = visit(t, &noFollow, "GET", site.URL+"/login?return=//evil.example/", nil)
	require.Equal(t, http.StatusSeeOther, status)
	status, _, _ = visit(t, c, "GET", site.URL+"/callback?code=x&state=forged", nil)
	assert.Equal(t, http.StatusBadRequest, status)

	// Cancelling at the provider comes back as a refusal, not a session.
	_, body, _ = visit(t, c, "GET", site.URL+"/login?return=//evil.example/", nil)
	status, body, at := visit(t, c, "POST", f.issuer+"/login/cancel", url.Values{"tx": {tx(t, page{Body: body})}})
	assert.Equal(t, http.StatusForbidden, status, body)
	assert.Equal(t, "/callback", at.Path)
	_, body, _ = visit(t, c, "GET", site.URL+"/", nil)
	assert.Equal(t, "welcome, guest", body)

	// An open redirect through return= is not possible, however the path
	// is dressed up for a browser to read it as another host.
	for _, ret := range []string{"//evil.example/", "/\t/evil.example", "/\\evil.example", "/\n/evil.example", "https://evil.example/"} {
		// Each sign-in starts afresh: the session of the one before ends.
		visit(t, c, "POST", site.URL+"/logout", url.Values{})
		_, body, _ = visit(t, c, "GET", site.URL+"/login?"+url.Values{"return": {ret}}.Encode(), nil)
		_, body, at = visit(t, c, "POST", f.issuer+"/login", url.Values{"tx": {tx(t, page{Body: body})},
			"username": {"maria.p"}, "password": {"correct horse battery"}})
		assert.Equal(t, strings.TrimPrefix(site.URL, "http://"), at.Host, "%q", ret)
		assert.Equal(t, "/", at.Path, "%q", ret)
		assert.Equal(t, "signed in as "+f.citizen.ID, body, "%q", ret)
	}

	_, err := rp.NewWebLogin(rp.LoginConfig{Issuer: f.issuer, ClientID: "site", RedirectURL: site.URL + "/callback", CookieKey: []byte("short")})
	assert.Error(t, err)
}

// TestWebLoginRequiresTheIssuer signs in through the real provider, which
// announces RFC 9207 and names itself in every answer, and tampers with
// the answer on its way back to the site: without iss, with another
// provider's, or with two, the site refuses it before using the code.
func TestWebLoginRequiresTheIssuer(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newSigninFixture(t, db)
		site, _ := agencySite(t, f, "")
		siteURL, _ := url.Parse(site.URL)
		c := person(t)
		c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
			if req.URL.Host == siteURL.Host && req.URL.Path == "/callback" {
				return http.ErrUseLastResponse // the test carries the answer
			}
			return nil
		}
		// answer starts a sign-in at the site and returns the provider's
		// answer, the redirect to the site's callback.
		answer := func() *url.URL {
			t.Helper()
			status, body, at := visit(t, c, "GET", site.URL+"/login", nil)
			if status == http.StatusOK && strings.Contains(body, `name="password"`) {
				require.Equal(t, "/auth/citizen/login", at.Path)
				form := url.Values{"tx": {tx(t, page{Body: body})}, "username": {"maria.p"}, "password": {"correct horse battery"}}
				req, err := http.NewRequest("POST", f.issuer+"/login", strings.NewReader(form.Encode()))
				require.NoError(t, err)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := c.Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusSeeOther, resp.StatusCode)
				u, err := url.Parse(resp.Header.Get("Location"))
				require.NoError(t, err)
				return u
			}
			// Single sign-on: the provider answered without a page.
			resp, err := c.Get(site.URL + "/login")
			require.NoError(t, err)
			resp.Body.Close()
			u, err := resp.Location()
			require.NoError(t, err)
			if u.Host != siteURL.Host {
				resp, err = c.Get(u.String())
				require.NoError(t, err)
				resp.Body.Close()
				u, err = resp.Location()
				require.NoError(t, err)
			}
			return u
		}

		for name, tamper := range map[string]func(q url.Values){
			"no iss":      func(q url.Values) { q.Del("iss") },
			"empty iss":   func(q url.Values) { q.Set("iss", "") },
			"another iss": func(q url.Values) { q.Set("iss", "https://idp.evil.example/auth/citizen") },
			"two iss":     func(q url.Values) { q.Add("iss", "https://idp.evil.example/auth/citizen") },
		} {
			u := answer()
			q := u.Query()
			require.Equal(t, f.issuer, q.Get("iss"), "the provider names itself")
			require.NotEmpty(t, q.Get("code"))
			tamper(q)
			u.RawQuery = q.Encode()
			status, body, _ := visit(t, c, "GET", u.String(), nil)
			assert.Equal(t, http.StatusBadRequest, status, name)
			assert.Contains(t, body, "provider", name)
			_, body, _ = visit(t, c, "GET", site.URL+"/", nil)
			assert.Equal(t, "welcome, guest", body, "%s: no session", name)
		}

		// Untouched, the answer signs the person in.
		u := answer()
		status, body, at := visit(t, c, "GET", u.String(), nil)
		require.Equal(t, http.StatusOK, status, body)
		assert.Equal(t, "/", at.Path)
		assert.Equal(t, "signed in as "+f.citizen.ID, body)
	})
}
