package rp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth/rp"
)

// mixUpProvider is a provider whose authorization endpoint answers with
// the iss it is told to (none when iss is nil), and which counts the codes
// sent to its token endpoint.
type mixUpProvider struct {
	srv       *httptest.Server
	announces bool
	iss       func(self string) []string
	exchanged atomic.Int32
}

func newMixUpProvider(t *testing.T, announces bool, iss func(self string) []string) *mixUpProvider {
	t.Helper()
	p := &mixUpProvider{announces: announces, iss: iss}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		doc := map[string]any{
			"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize", "token_endpoint": p.srv.URL + "/token",
			"jwks_uri": p.srv.URL + "/jwks",
		}
		if p.announces {
			doc["authorization_response_iss_parameter_supported"] = true
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := url.Values{"code": {"a-code"}, "state": {r.URL.Query().Get("state")}}
		if list := p.iss(p.srv.URL); list != nil {
			q["iss"] = list
		}
		http.Redirect(w, r, r.URL.Query().Get("redirect_uri")+"?"+q.Encode(), http.StatusSeeOther)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		p.exchanged.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// TestWebLoginMixUpDefence sends a site's sign-in to providers that answer
// with a wrong iss, with none although they announce RFC 9207, or with
// none and no announcement. Only the last code may reach a token
// endpoint; the others are refused before the code goes anywhere.
func TestWebLoginMixUpDefence(t *testing.T) {
	other := "https://idp.evil.example"
	cases := map[string]struct {
		announces bool
		iss       func(self string) []string
		status    int
		text      string
		exchanged int32
	}{
		"another provider's iss":     {true, func(string) []string { return []string{other} }, http.StatusBadRequest, "another provider", 0},
		"another iss, not announced": {false, func(string) []string { return []string{other} }, http.StatusBadRequest, "another provider", 0},
		"two iss":                    {true, func(self string) []string { return []string{self, other} }, http.StatusBadRequest, "another provider", 0},
		"iss with a trailing slash":  {true, func(self string) []string { return []string{self + "/"} }, http.StatusBadRequest, "another provider", 0},
		"announced, none sent":       {true, func(string) []string { return nil }, http.StatusBadRequest, "does not say which provider", 0},
		"not announced, none sent":   {false, func(string) []string { return nil }, http.StatusBadGateway, "could not be completed", 1},
		"its own iss":                {true, func(self string) []string { return []string{self} }, http.StatusBadGateway, "could not be completed", 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := newMixUpProvider(t, tc.announces, tc.iss)
			mux := http.NewServeMux()
			site := httptest.NewServer(mux)
			t.Cleanup(site.Close)
			login, err := rp.NewWebLogin(rp.LoginConfig{Issuer: p.srv.URL, ClientID: "site", ClientSecret: "secret",
				RedirectURL: site.URL + "/callback", CookieKey: make([]byte, 32)})
			require.NoError(t, err)
			mux.Handle("GET /login", login.LoginHandler())
			mux.Handle("GET /callback", login.CallbackHandler())
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar}
			resp, err := c.Get(site.URL + "/login")
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, tc.status, resp.StatusCode, string(body))
			assert.Contains(t, string(body), tc.text)
			assert.Equal(t, tc.exchanged, p.exchanged.Load(), "codes sent to the token endpoint")
		})
	}
}
