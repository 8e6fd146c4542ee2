package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// fakeTaxisnet is a legacy OAuth2 provider with an XML user document, as
// the Greek tax administration's sign-in answers.
type fakeTaxisnet struct {
	*httptest.Server
	mu     sync.Mutex
	taxID  string
	deny   bool
	tokens map[string]bool
}

func newFakeTaxisnet(t *testing.T, taxID string) *fakeTaxisnet {
	f := &fakeTaxisnet{taxID: taxID, tokens: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth2/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != "egovkit" || q.Get("response_type") != "code" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		back, _ := url.Parse(q.Get("redirect_uri"))
		v := url.Values{"state": {q.Get("state")}}
		f.mu.Lock()
		if f.deny {
			v.Set("error", "access_denied")
		} else {
			v.Set("code", "code-for-"+f.taxID)
		}
		f.mu.Unlock()
		back.RawQuery = v.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.FormValue("client_id"), r.FormValue("client_secret")
		}
		if id != "egovkit" || secret != "taxis-secret" || !strings.HasPrefix(r.FormValue("code"), "code-for-") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_grant"}`)
			return
		}
		f.mu.Lock()
		f.tokens["at-"+f.taxID] = true
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"at-%s","token_type":"bearer","expires_in":3600}`, f.taxID)
	})
	mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		f.mu.Lock()
		known := f.tokens[tok]
		f.mu.Unlock()
		if !known {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		// Fixed-width fields padded with spaces, as the real service sends.
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><root><userinfo userid="User%s   " taxid="%s   " lastname="ΠΑΠΑΔΟΠΟΥΛΟΥ" firstname="ΜΑΡΙΑ" fathername="ΓΕΩΡΓΙΟΣ" mothername="ΕΛΕΝΗ" birthyear="1985"/></root>`, f.taxID, f.taxID)
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTaxisnet) upstream(t *testing.T) auth.Upstream {
	u, err := auth.NewLegacyUpstream(auth.LegacyUpstreamConfig{
		ID: "taxisnet", Name: "TAXISnet", AuthURL: f.URL + "/oauth2/authorize", TokenURL: f.URL + "/oauth2/token",
		UserInfoURL: f.URL + "/userinfo", ClientID: "egovkit", ClientSecret: "taxis-secret",
	})
	require.NoError(t, err)
	return u
}

// traveller follows redirects across the provider and the upstreams,
// stopping at the client's site.
func (b *browser) traveller() *browser {
	c := *b.c
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Hostname() == "agency.example.gr" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return &browser{t: b.t, f: b.f, c: &c}
}

func (b *browser) postTo(u string, form url.Values) page {
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "en")
	return b.do(req)
}

func TestLegacyUpstreamSignIn(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		taxis := newFakeTaxisnet(t, "123456783")
		f := newSigninFixture(t, db, func(c *auth.ProviderConfig) { c.Upstreams = []auth.Upstream{taxis.upstream(t)} })
		b := f.browser(t).traveller()

		p := b.authorize(authorizeParams("low-agency"))
		require.Equal(t, http.StatusOK, p.Status)
		assert.Contains(t, p.Body, "Or sign in with")
		assert.Contains(t, p.Body, `value="taxisnet"`)
		cb := callback(t, b.post("/login/upstream", url.Values{"tx": {tx(t, p)}, "upstream": {"taxisnet"}}))
		it := f.idToken(t, f.exchange(t, "low-agency", cb.Get("code")).IDToken)
		assert.Equal(t, f.citizen.ID, it.Subject(), "linked by the tax number")
		assert.Equal(t, auth.LoALow, it.PrivateClaims()["acr"])

		// A client needing substantial: the upstream's low level is
		// raised with the SMS code.
		b2 := f.browser(t).traveller()
		p = b2.authorize(authorizeParams("demo-agency"))
		p = b2.post("/login/upstream", url.Values{"tx": {tx(t, p)}, "upstream": {"taxisnet"}})
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		assert.Contains(t, p.Body, `name="code"`)
		cb = callback(t, b2.post("/login/code", url.Values{"tx": {tx(t, p)}, "code": {f.lastCode(t)}}))
		it = f.idToken(t, f.exchange(t, "demo-agency", cb.Get("code")).IDToken)
		assert.Equal(t, auth.LoASubstantial, it.PrivateClaims()["acr"])
		assert.ElementsMatch(t, []any{"pwd", "sms", "mfa"}, it.PrivateClaims()["amr"])

		// Refused upstream: back to the page with a message.
		taxis.mu.Lock()
		taxis.deny = true
		taxis.mu.Unlock()
		b3 := f.browser(t).traveller()
		p = b3.authorize(authorizeParams("low-agency"))
		p = b3.post("/login/upstream", url.Values{"tx": {tx(t, p)}, "upstream": {"taxisnet"}})
		assert.Equal(t, http.StatusUnauthorized, p.Status)
		assert.Contains(t, p.Body, "Signing in with TAXISnet did not succeed")
		assert.Contains(t, p.Body, `name="password"`, "the password is still there")

		// A forged answer is refused.
		p = b3.get(f.issuer + "/login/upstream/callback?code=code-for-1&state=" + url.QueryEscape(tx(t, p)+"~forged"))
		assert.Equal(t, http.StatusBadRequest, p.Status)
	})
}

func TestUpstreamWithoutAccount(t *testing.T) {
	f := newSigninFixture(t, sqltest.SQLite(t), func(c *auth.ProviderConfig) {
		c.Upstreams = []auth.Upstream{newFakeTaxisnet(t, "090000045").upstream(t)}
	})
	b := f.browser(t).traveller()
	p := b.authorize(authorizeParams("low-agency"))
	p = b.post("/login/upstream", url.Values{"tx": {tx(t, p)}, "upstream": {"taxisnet"}})
	assert.Equal(t, http.StatusForbidden, p.Status)
	assert.Contains(t, p.Body, "no account for public services has your tax number")
}

// TestOIDCUpstreamSignIn uses a second egovkit provider, on its own
// database, as "the bank": the person signs in there, and the bank's tax
// number claim (read from its UserInfo) links the citizen here.
func TestOIDCUpstreamSignIn(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		bankDB := sqltest.SQLite(t)
		bankMux := http.NewServeMux()
		bankSrv := httptest.NewServer(bankMux)
		defer bankSrv.Close()
		bankIssuer := bankSrv.URL + "/bank"
		bankClients, err := auth.NewClientRegistry(ctx, bankDB.DB.DB, "bank")
		require.NoError(t, err)
		bankAccounts, err := auth.NewAccounts(ctx, bankDB.DB.DB, auth.WithPasswordParams(fastParams))
		require.NoError(t, err)
		bankCodes, err := auth.NewCodeStore(ctx, bankDB.DB.DB, "bank")
		require.NoError(t, err)
		kek, _ := keys.GenerateKEK()
		bankKeys, err := keys.New(ctx, bankDB.DB.DB, "bank", kek)
		require.NoError(t, err)
		bank, err := auth.NewProvider(ctx, auth.ProviderConfig{Issuer: bankIssuer, Realm: "bank", Keys: bankKeys,
			Clients: bankClients, Codes: bankCodes, Accounts: bankAccounts})
		require.NoError(t, err)
		bankMux.Handle("/bank/", http.StripPrefix("/bank", bank.Handler()))
		customer := maria()
		customer.Username = "maria-at-bank"
		_, err = bankAccounts.CreateCitizen(ctx, customer, "bank password 1")
		require.NoError(t, err)

		// Our provider's upstream callback is registered with the bank
		// once our address is known.
		var bankClientSecret string
		var upstream auth.Upstream
		f := newSigninFixture(t, db, func(c *auth.ProviderConfig) {
			bc := auth.Client{ID: "egovkit", Name: "Public services", AuthMethod: auth.AuthSecretBasic,
				GrantTypes: []string{auth.GrantAuthorizationCode}, Scopes: []string{"openid", "profile", auth.ScopeGreekIdentity},
				RedirectURIs: []string{strings.TrimSuffix(c.Issuer, "/auth/citizen") + "/auth/citizen/login/upstream/callback"}}
			_, bankClientSecret, err = bankClients.Create(ctx, bc)
			require.NoError(t, err)
			upstream, err = auth.NewOIDCUpstream(context.Background(), auth.OIDCUpstreamConfig{
				ID: "bank", Name: "Demo Bank", Issuer: bankIssuer, ClientID: "egovkit", ClientSecret: bankClientSecret,
				Scopes: []string{"profile", auth.ScopeGreekIdentity}, ACRMap: map[string]string{auth.LoALow: auth.LoALow},
			})
			require.NoError(t, err)
			c.Upstreams = []auth.Upstream{upstream}
		})

		b := f.browser(t).traveller()
		p := b.authorize(authorizeParams("low-agency"))
		p = b.post("/login/upstream", url.Values{"tx": {tx(t, p)}, "upstream": {"bank"}})
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		assert.Contains(t, p.Body, "Public services", "the bank's own sign-in page, naming us as its client")
		cb := callback(t, b.postTo(bankIssuer+"/login", url.Values{"tx": {tx(t, p)}, "username": {"maria-at-bank"}, "password": {"bank password 1"}}))
		it := f.idToken(t, f.exchange(t, "low-agency", cb.Get("code")).IDToken)
		assert.Equal(t, f.citizen.ID, it.Subject())
		assert.Equal(t, auth.LoALow, it.PrivateClaims()["acr"])
		assert.Equal(t, []any{"pwd"}, it.PrivateClaims()["amr"], "the bank's authentication methods")
	})
}

func TestUpstreamConfiguration(t *testing.T) {
	_, err := auth.NewLegacyUpstream(auth.LegacyUpstreamConfig{ID: "Bad ID", Name: "x"})
	assert.Error(t, err)
	_, err = auth.NewLegacyUpstream(auth.LegacyUpstreamConfig{ID: "taxis", Name: "x", AuthURL: "a", TokenURL: "b", UserInfoURL: "c", ClientID: "d", ACR: auth.LoAHigh})
	assert.Error(t, err, "a legacy service cannot vouch for high")
	_, err = auth.NewOIDCUpstream(t.Context(), auth.OIDCUpstreamConfig{ID: "bank", Name: "Bank", Issuer: "http://127.0.0.1:1", ClientID: "x"})
	assert.Error(t, err, "discovery fails")
}
