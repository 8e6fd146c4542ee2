package auth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

type userinfoFixture struct {
	p      *auth.Provider
	codes  *auth.CodeStore
	client auth.Client
	secret string
}

func newUserinfoFixture(t testing.TB, db *sqltest.DB, realm string, acc *auth.Accounts, opts ...signinOption) *userinfoFixture {
	ctx := t.Context()
	reg, err := auth.NewClientRegistry(ctx, db.DB.DB, realm)
	require.NoError(t, err)
	c := webClient()
	c.Scopes = []string{"openid", "profile", auth.ScopeGreekIdentity, auth.ScopePhone}
	client, secret, err := reg.Create(ctx, c)
	require.NoError(t, err)
	codes, err := auth.NewCodeStore(ctx, db.DB.DB, realm)
	require.NoError(t, err)
	ks, err := keys.NewStatic(mustKey(t))
	require.NoError(t, err)
	cfg := auth.ProviderConfig{Issuer: "https://id.example.gr/auth/" + realm, Keys: ks, Clients: reg,
		Codes: codes, Accounts: acc, Servants: realm == "servant"}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := auth.NewProvider(ctx, cfg)
	require.NoError(t, err)
	return &userinfoFixture{p: p, codes: codes, client: client, secret: secret}
}

// accessToken signs subject in with the given scopes through the code flow.
func (f *userinfoFixture) accessToken(t testing.TB, subject string, scopes ...string) string {
	g := grant()
	g.Subject, g.Scopes = subject, scopes
	code, err := f.codes.Create(t.Context(), g)
	require.NoError(t, err)
	r := httptest.NewRequest("POST", "/token", strings.NewReader(url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"https://agency.example.gr/callback"}, "code_verifier": {verifier}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(f.client.ID, f.secret)
	w := httptest.NewRecorder()
	f.p.Handler().ServeHTTP(w, r)
	require.Equal(t, 200, w.Code, w.Body.String())
	var tr auth.TokenResponse
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &tr))
	return tr.AccessToken
}

func (f *userinfoFixture) userinfo(t *testing.T, token string) (int, map[string]any, string) {
	r := httptest.NewRequest("GET", "/userinfo", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	f.p.Handler().ServeHTTP(w, r)
	var claims map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &claims)
	return w.Code, claims, w.Header().Get("WWW-Authenticate")
}

func TestUserInfoCitizen(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		acc, err := auth.NewAccounts(ctx, db.DB.DB, auth.WithPasswordParams(fastParams))
		require.NoError(t, err)
		c, err := acc.CreateCitizen(ctx, maria(), "σωστός κωδικός")
		require.NoError(t, err)
		f := newUserinfoFixture(t, db, "citizen", acc)

		status, claims, _ := f.userinfo(t, f.accessToken(t, c.ID, "openid"))
		require.Equal(t, 200, status)
		assert.Equal(t, map[string]any{"sub": c.ID}, claims, "openid alone releases the subject only")

		status, claims, _ = f.userinfo(t, f.accessToken(t, c.ID, "openid", "profile"))
		require.Equal(t, 200, status)
		assert.Equal(t, "Μαρία", claims["given_name"])
		assert.Equal(t, "1985-03-15", claims["birthdate"])
		assert.NotContains(t, claims, "afm", "tax numbers need their own scope")

		tok := f.accessToken(t, c.ID, "openid", auth.ScopeGreekIdentity)
		status, claims, _ = f.userinfo(t, tok)
		require.Equal(t, 200, status)
		assert.Equal(t, "123456783", claims["afm"])
		assert.Equal(t, "15038501233", claims["amka"])

		// Revoked, missing, foreign and machine tokens are refused.
		require.NoError(t, f.p.Revoke(ctx, f.client, tok))
		status, _, www := f.userinfo(t, tok)
		assert.Equal(t, 401, status)
		assert.Contains(t, www, `error="invalid_token"`)
		status, _, www = f.userinfo(t, "")
		assert.Equal(t, 401, status)
		assert.Equal(t, `Bearer realm="userinfo"`, www)
		status, _, _ = f.userinfo(t, "garbage")
		assert.Equal(t, 401, status)
		status, _, _ = f.userinfo(t, f.accessToken(t, c.ID, "profile"))
		assert.Equal(t, 401, status, "a token without openid is not for a person's claims")
	})
}

func TestUserInfoServantAuthorizations(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		acc, err := auth.NewAccounts(ctx, db.DB.DB, auth.WithPasswordParams(fastParams))
		require.NoError(t, err)
		s, err := acc.CreateServant(ctx, auth.Servant{Username: "clerk", GivenName: "Νίκος", FamilyName: "Αλεξίου"}, "clerk-password")
		require.NoError(t, err)
		z, err := acc.Grant(ctx, auth.Authorization{ServantID: s.ID, Agency: "Δήμος Θεσσαλονίκης", Service: "protocol",
			Role: "registrar", GrantedBy: "head-of-unit", ValidUntil: time.Now().Add(24 * time.Hour)})
		require.NoError(t, err)
		f := newUserinfoFixture(t, db, "servant", acc)
		tok := f.accessToken(t, s.ID, "openid")

		status, claims, _ := f.userinfo(t, tok)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, "clerk", claims["preferred_username"])
		details, ok := claims["authorization_details"].([]any)
		require.True(t, ok, "%v", claims)
		require.Len(t, details, 1)
		d := details[0].(map[string]any)
		assert.Equal(t, auth.AuthorizationDetailType, d["type"])
		assert.Equal(t, "Δήμος Θεσσαλονίκης", d["agency"])
		assert.Equal(t, "registrar", d["role"])

		require.NoError(t, acc.RevokeAuthorization(ctx, z.ID))
		status, claims, _ = f.userinfo(t, tok)
		require.Equal(t, http.StatusOK, status)
		assert.Empty(t, claims["authorization_details"], "a revoked authorization is absent at once")
	})
}
