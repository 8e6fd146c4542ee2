package rp_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth/rp"
)

// A provider whose token endpoint answers 503 (its database is down) makes
// the sign-in fail with 503 "temporarily unavailable", not with a refusal
// or a bad gateway.
func TestWebLoginProviderTemporarilyUnavailable(t *testing.T) {
	mux := http.NewServeMux()
	provider := httptest.NewServer(mux)
	t.Cleanup(provider.Close)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"issuer":"` + provider.URL + `","jwks_uri":"` + provider.URL + `/jwks","authorization_endpoint":"` +
			provider.URL + `/authorize","token_endpoint":"` + provider.URL + `/token"}`))
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"type":"https://egovkit.dev/problems/unavailable","title":"Service Unavailable","status":503,"error":"temporarily_unavailable"}`))
	})
	var failed *rp.LoginError
	login, err := rp.NewWebLogin(rp.LoginConfig{Issuer: provider.URL, ClientID: "site", ClientSecret: "secret",
		RedirectURL: "http://127.0.0.1:8090/callback", CookieKey: make([]byte, 32),
		OnError: func(w http.ResponseWriter, r *http.Request, err *rp.LoginError) {
			failed = err
			w.WriteHeader(err.Status)
		}})
	require.NoError(t, err)

	w := httptest.NewRecorder()
	login.LoginHandler().ServeHTTP(w, httptest.NewRequest("GET", "http://127.0.0.1:8090/login", nil))
	require.Equal(t, http.StatusSeeOther, w.Code, w.Body.String())
	to, err := url.Parse(w.Header().Get("Location"))
	require.NoError(t, err)
	r := httptest.NewRequest("GET", "http://127.0.0.1:8090/callback?code=c1&state="+url.QueryEscape(to.Query().Get("state")), nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	w = httptest.NewRecorder()
	login.CallbackHandler().ServeHTTP(w, r)
	require.NotNil(t, failed)
	assert.Equal(t, http.StatusServiceUnavailable, failed.Status)
	assert.Equal(t, "temporarily_unavailable", failed.Code)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
}
