package auth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

type counter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *counter) Count(kind string, labels ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[kind+":"+strings.Join(labels, ",")]++
}

type providerFixture struct {
	srv     *httptest.Server
	issuer  string
	reg     *auth.ClientRegistry
	counter *counter
	basic   string // demo-agency's secret
	jc      jwtClient
	clock   *testclock.Clock
	kek     []byte
}

// newProvider serves a citizen-realm provider under /auth/citizen, as the
// portal mounts it.
func newProvider(t *testing.T, db *sqltest.DB) *providerFixture {
	t.Helper()
	ctx := t.Context()
	f := &providerFixture{counter: &counter{}, clock: testclock.New()}
	// Real time for tokens, so that rp (on its own clock) accepts them;
	// the registry's clock is only used for assertion checks.
	reg, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen")
	require.NoError(t, err)
	f.reg = reg
	kek, err := keys.GenerateKEK()
	require.NoError(t, err)
	f.kek = kek
	ks, err := keys.New(ctx, db.DB.DB, "auth/citizen", kek)
	require.NoError(t, err)
	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.issuer = f.srv.URL + "/auth/citizen"
	p, err := auth.NewProvider(ctx, auth.ProviderConfig{Issuer: f.issuer, Keys: ks, Clients: reg, Counter: f.counter})
	require.NoError(t, err)
	mux.Handle("/auth/citizen/", http.StripPrefix("/auth/citizen", p.Handler()))

	_, f.basic, err = reg.Create(ctx, webClient())
	require.NoError(t, err)
	f.jc = newJWTClient(t, "tax-system")
	_, _, err = reg.Create(ctx, f.jc.client)
	require.NoError(t, err)
	return f
}

func (f *providerFixture) post(t *testing.T, form url.Values, basicID, basicSecret string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", f.issuer+"/token", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(basicID, basicSecret)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

func (f *providerFixture) assertionForm(t *testing.T, extra url.Values) url.Values {
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {auth.ClientAssertionType},
		"client_assertion": {f.jc.assertion(t, time.Now(), func(b *jwt.Builder) *jwt.Builder {
			return b.Audience([]string{f.issuer + "/token"})
		})},
	}
	for k, v := range extra {
		form[k] = v
	}
	return form
}

func TestClientCredentialsEndToEnd(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newProvider(t, db)

		// An agency service protected by the relying-party middleware
		// accepts what the provider issues.
		v, err := rp.NewVerifier(rp.Config{Issuer: f.issuer, Audience: "https://registry.example.gr"})
		require.NoError(t, err)
		api := httptest.NewServer(v.Middleware(rp.RequireScopes("registry:read"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, _ := rp.FromContext(r.Context())
			fmt.Fprint(w, id.ClientID)
		})))
		defer api.Close()

		status, body := f.post(t, f.assertionForm(t, nil), "", "")
		require.Equal(t, 200, status, body)
		assert.Equal(t, "Bearer", body["token_type"])
		assert.EqualValues(t, 600, body["expires_in"])
		assert.Equal(t, "registry:read", body["scope"])
		tok := body["access_token"].(string)
		msg, err := jws.Parse([]byte(tok))
		require.NoError(t, err)
		assert.Equal(t, "at+jwt", msg.Signatures()[0].ProtectedHeaders().Type())

		req, _ := http.NewRequest("GET", api.URL, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "tax-system", string(b))

		// Basic authentication, a narrower scope and an explicit resource.
		status, body = f.post(t, url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"},
			"resource": {"https://agency.example.gr/api"}}, "demo-agency", f.basic)
		require.Equal(t, 200, status, body)
		assert.Equal(t, "openid", body["scope"])

		f.counter.mu.Lock()
		assert.Empty(t, f.counter.counts, "a token is not a sign-in: nothing counted")
		f.counter.mu.Unlock()
	})
}

func TestTokenEndpointRefusals(t *testing.T) {
	f := newProvider(t, sqltest.SQLite(t))
	cases := map[string]struct {
		form       url.Values
		id, secret string
		status     int
		code       string
	}{
		"no grant type":        {url.Values{}, "demo-agency", "", 401, "invalid_client"},
		"missing grant":        {url.Values{"scope": {"openid"}}, "demo-agency", "SECRET", 400, "invalid_request"},
		"password grant":       {url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}}, "demo-agency", "SECRET", 400, "unsupported_grant_type"},
		"implicit":             {url.Values{"grant_type": {"implicit"}}, "demo-agency", "SECRET", 400, "unsupported_grant_type"},
		"scope not allowed":    {url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}, "demo-agency", "SECRET", 400, "invalid_scope"},
		"resource not allowed": {url.Values{"grant_type": {"client_credentials"}, "resource": {"https://evil.example"}}, "demo-agency", "SECRET", 400, "invalid_target"},
		"wrong secret":         {url.Values{"grant_type": {"client_credentials"}}, "demo-agency", "nope", 401, "invalid_client"},
		"repeated parameter":   {url.Values{"grant_type": {"client_credentials", "client_credentials"}}, "demo-agency", "SECRET", 400, "invalid_request"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			secret := tc.secret
			if secret == "SECRET" {
				secret = f.basic
			}
			status, body := f.post(t, tc.form, tc.id, secret)
			assert.Equal(t, tc.status, status)
			assert.Equal(t, tc.code, body["error"])
			assert.NotEmpty(t, body["error_description"])
		})
	}

	// A replayed assertion is refused.
	form := f.assertionForm(t, nil)
	status, _ := f.post(t, form, "", "")
	require.Equal(t, 200, status)
	status, body := f.post(t, form, "", "")
	assert.Equal(t, 401, status)
	assert.Equal(t, "invalid_client", body["error"])

	// Wrong method, content type, parameters in the URL.
	resp, err := http.Get(f.issuer + "/token")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 405, resp.StatusCode)
	resp, err = http.Post(f.issuer+"/token", "application/json", strings.NewReader(`{"grant_type":"client_credentials"}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 400, resp.StatusCode)
	resp, err = http.Post(f.issuer+"/token?grant_type=client_credentials", "application/x-www-form-urlencoded", strings.NewReader(""))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 400, resp.StatusCode)
	resp, err = http.Post(f.issuer+"/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type="+strings.Repeat("x", 70<<10)))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 400, resp.StatusCode, "oversized body")
}

func TestDiscoveryAndJWKS(t *testing.T) {
	f := newProvider(t, sqltest.SQLite(t))
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		resp, err := http.Get(f.issuer + path)
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
		resp.Body.Close()
		assert.Equal(t, f.issuer, doc["issuer"])
		assert.Equal(t, f.issuer+"/token", doc["token_endpoint"])
		assert.Equal(t, f.issuer+"/jwks", doc["jwks_uri"])
		assert.Equal(t, []any{"client_credentials"}, doc["grant_types_supported"], "only what works is announced")
		assert.NotContains(t, doc, "authorization_endpoint")
	}
	resp, err := http.Get(f.issuer + "/jwks")
	require.NoError(t, err)
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&set))
	resp.Body.Close()
	require.Len(t, set.Keys, 1)
	assert.NotContains(t, set.Keys[0], "d")
}

func TestProviderConfig(t *testing.T) {
	db := sqltest.SQLite(t)
	reg, err := auth.NewClientRegistry(t.Context(), db.DB.DB, "citizen")
	require.NoError(t, err)
	ks, err := keys.NewStatic(mustKey(t))
	require.NoError(t, err)
	for _, cfg := range []auth.ProviderConfig{
		{Keys: ks, Clients: reg},
		{Issuer: "ftp://x", Keys: ks, Clients: reg},
		{Issuer: "https://x/", Keys: ks, Clients: reg},
		{Issuer: "https://x", Clients: reg},
		{Issuer: "https://x", Keys: ks},
	} {
		_, err := auth.NewProvider(t.Context(), cfg)
		assert.Error(t, err)
	}
	_, err = auth.NewClientRegistry(context.Background(), db.DB.DB, "")
	assert.Error(t, err)
}

func FuzzTokenRequest(f *testing.F) {
	db := sqltest.SQLite(f)
	reg, err := auth.NewClientRegistry(context.Background(), db.DB.DB, "citizen")
	require.NoError(f, err)
	_, secret, err := reg.Create(context.Background(), webClient())
	require.NoError(f, err)
	ks, err := keys.NewStatic(mustKey(f))
	require.NoError(f, err)
	p, err := auth.NewProvider(f.Context(), auth.ProviderConfig{Issuer: "https://id.example.gr/auth/citizen", Keys: ks, Clients: reg})
	require.NoError(f, err)
	h := p.Handler()
	for _, s := range []string{"grant_type=client_credentials", "grant_type=client_credentials&scope=openid+profile",
		"grant_type=authorization_code&code=x&redirect_uri=https%3A%2F%2Fa", "%zz", "a=1&a=2", "", "scope=" + strings.Repeat("a ", 100)} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, body string, basic bool) {
		r := httptest.NewRequest("POST", "/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			r.SetBasicAuth("demo-agency", secret)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%q: status %d", body, w.Code)
		}
		var out map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("%q: not JSON: %s", body, w.Body.String())
		}
		if w.Code == 200 {
			if _, ok := out["access_token"]; !ok {
				t.Fatalf("200 without a token: %v", out)
			}
		} else if out["error"] == "" {
			t.Fatalf("error without a code: %v", out)
		}
	})
}
