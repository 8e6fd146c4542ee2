package auth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// TestAuthorizationCodeGrant exchanges a code (created as the coming
// authorization endpoint will, after a sign-in) for tokens, checks both
// with their verifiers, and replays the code.
func TestAuthorizationCodeGrant(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		reg, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen")
		require.NoError(t, err)
		_, secret, err := reg.Create(ctx, webClient())
		require.NoError(t, err)
		codes, err := auth.NewCodeStore(ctx, db.DB.DB, "citizen")
		require.NoError(t, err)
		kek, _ := keys.GenerateKEK()
		ks, err := keys.New(ctx, db.DB.DB, "auth/citizen", kek)
		require.NoError(t, err)
		mux := http.NewServeMux()
		srv := httptest.NewServer(mux)
		defer srv.Close()
		issuer := srv.URL + "/auth/citizen"
		p, err := auth.NewProvider(ctx, auth.ProviderConfig{Issuer: issuer, Keys: ks, Clients: reg, Codes: codes})
		require.NoError(t, err)
		mux.Handle("/auth/citizen/", http.StripPrefix("/auth/citizen", p.Handler()))

		g := grant()
		g.AuthTime = time.Now().Add(-time.Minute).Truncate(time.Second)
		code, err := codes.Create(ctx, g)
		require.NoError(t, err)
		exchange := func(form url.Values) (int, auth.TokenResponse, map[string]any) {
			req, _ := http.NewRequest("POST", issuer+"/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("demo-agency", secret)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var raw map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&raw))
			b, _ := json.Marshal(raw)
			var tr auth.TokenResponse
			_ = json.Unmarshal(b, &tr)
			return resp.StatusCode, tr, raw
		}
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {"https://agency.example.gr/callback"}, "code_verifier": {verifier}}

		bad := url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {"https://agency.example.gr/callback"}, "code_verifier": {strings.Repeat("a", 43)}}
		status, _, raw := exchange(bad)
		assert.Equal(t, 400, status)
		assert.Equal(t, "invalid_grant", raw["error"], "wrong verifier")
		status, _, raw = exchange(url.Values{"grant_type": {"authorization_code"}, "code": {code}})
		assert.Equal(t, 400, status)
		assert.Equal(t, "invalid_request", raw["error"])

		status, tr, raw := exchange(form)
		require.Equal(t, 200, status, raw)
		assert.Equal(t, "openid", tr.Scope)
		require.NotEmpty(t, tr.IDToken)

		// The ID token: for the client, with nonce, acr, amr, auth_time.
		id, err := ks.ParseJWT(ctx, []byte(tr.IDToken), jwt.WithIssuer(issuer), jwt.WithAudience("demo-agency"))
		require.NoError(t, err)
		assert.Equal(t, "citizen-7f3a", id.Subject())
		claims := id.PrivateClaims()
		assert.Equal(t, "n-0S6", claims["nonce"])
		assert.Equal(t, auth.LoASubstantial, claims["acr"])
		assert.Equal(t, []any{"pwd", "sms"}, claims["amr"])
		assert.EqualValues(t, g.AuthTime.Unix(), claims["auth_time"])
		assert.Equal(t, "demo-agency", claims["azp"])

		// The access token: accepted by an agency API needing substantial.
		v, err := rp.NewVerifier(rp.Config{Issuer: issuer, Audience: "https://agency.example.gr/api"})
		require.NoError(t, err)
		ident, err := v.Verify(ctx, tr.AccessToken)
		require.NoError(t, err)
		assert.Equal(t, auth.LoASubstantial, ident.ACR)
		assert.Equal(t, "citizen-7f3a", ident.Subject)
		_, err = v.Verify(ctx, tr.IDToken)
		assert.Error(t, err, "an ID token is not an access token")

		// Replaying the code is refused and revokes the access token.
		client, _ := reg.Get(ctx, "demo-agency")
		before, err := p.Introspect(ctx, client, tr.AccessToken)
		require.NoError(t, err)
		require.True(t, before.Active)
		status, _, raw = exchange(form)
		assert.Equal(t, 400, status)
		assert.Equal(t, "invalid_grant", raw["error"])
		after, err := p.Introspect(ctx, client, tr.AccessToken)
		require.NoError(t, err)
		assert.False(t, after.Active, "tokens issued from a replayed code are revoked")
	})
}

func TestAuthorizationCodeGrantNeedsStoreAndPermission(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx := t.Context()
	reg, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen")
	require.NoError(t, err)
	_, secret, err := reg.Create(ctx, webClient())
	require.NoError(t, err)
	ks, err := keys.NewStatic(mustKey(t))
	require.NoError(t, err)
	p, err := auth.NewProvider(ctx, auth.ProviderConfig{Issuer: "https://id.example.gr/auth/citizen", Keys: ks, Clients: reg})
	require.NoError(t, err)
	r := httptest.NewRequest("POST", "/token", strings.NewReader("grant_type=authorization_code&code=x&redirect_uri=y&code_verifier=z"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("demo-agency", secret)
	w := httptest.NewRecorder()
	p.Handler().ServeHTTP(w, r)
	assert.Equal(t, 400, w.Code)
	assert.Contains(t, w.Body.String(), "unsupported_grant_type", "no code store, no code grant")
}
