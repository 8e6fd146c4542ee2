package auth_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

// TestEndToEndWithIndependentRelyingParty signs a citizen in with a
// password and an SMS code, as an agency's site would with the usual Go
// libraries (coreos/go-oidc and x/oauth2), none of which know this
// provider: discovery, code flow with PKCE, ID token verification,
// UserInfo, refresh, introspection, revocation and logout.
func TestEndToEndWithIndependentRelyingParty(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newSigninFixture(t, db)
		ctx := t.Context()

		provider, err := oidc.NewProvider(ctx, f.issuer)
		require.NoError(t, err)
		conf := oauth2.Config{
			ClientID: "demo-agency", ClientSecret: f.secrets["demo-agency"],
			Endpoint: provider.Endpoint(), RedirectURL: rpCallback,
			Scopes: []string{oidc.ScopeOpenID, "profile"},
		}
		conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		pkceVerifier := oauth2.GenerateVerifier()
		authURL := conf.AuthCodeURL("state-e2e", oauth2.S256ChallengeOption(pkceVerifier), oidc.Nonce("nonce-e2e"))

		// The person: password, then the code from the SMS.
		b := f.browser(t)
		p := b.get(authURL)
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		p = b.post("/login", url.Values{"tx": {tx(t, p)}, "username": {"maria.p"}, "password": {"correct horse battery"}})
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		cb := callback(t, b.post("/login/code", url.Values{"tx": {tx(t, p)}, "code": {f.lastCode(t)}}))
		require.Equal(t, "state-e2e", cb.Get("state"))
		require.Equal(t, f.issuer, cb.Get("iss"))

		tok, err := conf.Exchange(ctx, cb.Get("code"), oauth2.VerifierOption(pkceVerifier))
		require.NoError(t, err)
		rawID, ok := tok.Extra("id_token").(string)
		require.True(t, ok)
		idTok, err := provider.Verifier(&oidc.Config{ClientID: "demo-agency"}).Verify(ctx, rawID)
		require.NoError(t, err)
		assert.Equal(t, "nonce-e2e", idTok.Nonce)
		assert.Equal(t, f.citizen.ID, idTok.Subject)
		var idClaims struct {
			ACR string   `json:"acr"`
			AMR []string `json:"amr"`
			SID string   `json:"sid"`
		}
		require.NoError(t, idTok.Claims(&idClaims))
		assert.Equal(t, auth.LoASubstantial, idClaims.ACR)
		assert.Contains(t, idClaims.AMR, "sms")
		require.NoError(t, idTok.VerifyAccessToken(tok.AccessToken), "at_hash binds the access token")

		info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		require.NoError(t, err)
		assert.Equal(t, f.citizen.ID, info.Subject)
		var profile map[string]any
		require.NoError(t, info.Claims(&profile))
		assert.Equal(t, "Μαρία", profile["given_name"])
		assert.NotContains(t, profile, "afm", "gr_identity was not asked for")

		assert.Error(t, idTok.VerifyAccessToken(tok.AccessToken+"x"))

		// Refresh: a new access token and a new refresh token.
		expired := *tok
		expired.Expiry = time.Now().Add(-time.Minute)
		next, err := conf.TokenSource(ctx, &expired).Token()
		require.NoError(t, err)
		assert.NotEqual(t, tok.AccessToken, next.AccessToken)
		assert.NotEqual(t, tok.RefreshToken, next.RefreshToken)

		// Introspection and revocation by the client.
		introspect := func(token string) map[string]any {
			return clientPost(t, f, "/introspect", url.Values{"token": {token}})
		}
		assert.Equal(t, true, introspect(next.AccessToken)["active"])
		clientPost(t, f, "/revoke", url.Values{"token": {next.AccessToken}})
		assert.Equal(t, false, introspect(next.AccessToken)["active"])
		_, err = provider.UserInfo(ctx, oauth2.StaticTokenSource(next))
		assert.Error(t, err, "a revoked token gets nothing")

		// Logout ends the session: the next request asks for the password.
		end, ok := providerClaim(t, provider, "end_session_endpoint")
		require.True(t, ok)
		p = b.get(end + "?" + url.Values{"id_token_hint": {rawID}}.Encode())
		require.Equal(t, http.StatusOK, p.Status)
		assert.Contains(t, p.Body, "You have signed out")
		p = b.get(conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(pkceVerifier)))
		assert.Contains(t, p.Body, `name="password"`)
	})
}

func providerClaim(t *testing.T, p *oidc.Provider, name string) (string, bool) {
	var doc map[string]any
	require.NoError(t, p.Claims(&doc))
	s, ok := doc[name].(string)
	return s, ok
}

// clientPost calls an endpoint as demo-agency and decodes a JSON answer.
func clientPost(t *testing.T, f *signinFixture, path string, form url.Values) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("demo-agency", f.secrets["demo-agency"])
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	out := map[string]any{}
	if resp.ContentLength != 0 {
		_ = json.NewDecoder(resp.Body).Decode(&out)
	}
	return out
}

// TestKeyRotationThroughProvider rotates the realm's signing key while an
// agency's API verifies tokens with package rp: tokens signed before the
// rotation keep working, new ones are signed with the new key, and once
// the old key is retired it is gone from the JWKS and its tokens fail.
func TestKeyRotationThroughProvider(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		reg, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen")
		require.NoError(t, err)
		_, secret, err := reg.Create(ctx, webClient())
		require.NoError(t, err)
		kek, _ := keys.GenerateKEK()
		ks, err := keys.New(ctx, db.DB.DB, "auth/citizen", kek, keys.WithClock(clock.Now),
			keys.WithPublishLead(time.Minute), keys.WithMaxTokenLifetime(time.Hour), keys.WithRefresh(0))
		require.NoError(t, err)
		mux := http.NewServeMux()
		srv := httptest.NewServer(mux)
		defer srv.Close()
		issuer := srv.URL + "/auth/citizen"
		p, err := auth.NewProvider(ctx, auth.ProviderConfig{Issuer: issuer, Keys: ks, Clients: reg, Now: clock.Now, AccessTokenLifetime: time.Hour})
		require.NoError(t, err)
		mux.Handle("/auth/citizen/", http.StripPrefix("/auth/citizen", p.Handler()))

		v, err := rp.NewVerifier(rp.Config{Issuer: issuer, Audience: "https://agency.example.gr/api", Now: clock.Now, KeysMaxAge: time.Minute})
		require.NoError(t, err)
		api := v.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		call := func(tok string) int {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			api.ServeHTTP(w, req)
			return w.Code
		}
		issue := func() (string, string) {
			req, _ := http.NewRequest(http.MethodPost, issuer+"/token", strings.NewReader("grant_type=client_credentials"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("demo-agency", secret)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var tr auth.TokenResponse
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&tr))
			msg, err := jws.Parse([]byte(tr.AccessToken))
			require.NoError(t, err)
			return tr.AccessToken, msg.Signatures()[0].ProtectedHeaders().KeyID()
		}

		before, oldKid := issue()
		require.Equal(t, http.StatusNoContent, call(before))
		require.NoError(t, ks.Rotate(ctx))
		clock.Advance(time.Minute)
		after, newKid := issue()
		assert.NotEqual(t, oldKid, newKid, "the new key signs after its lead time")
		assert.Equal(t, http.StatusNoContent, call(after), "an unknown kid makes rp fetch the keys again")
		assert.Equal(t, http.StatusNoContent, call(before), "a token signed before the rotation still verifies")

		clock.Advance(time.Hour)
		set, err := ks.PublicSet(ctx)
		require.NoError(t, err)
		_, published := set.LookupKeyID(oldKid)
		assert.False(t, published, "the retired key is gone from the JWKS")
		_, err = ks.ParseJWT(ctx, []byte(before), jwt.WithValidate(false))
		assert.ErrorIs(t, err, keys.ErrUnknownKey)
		assert.Equal(t, http.StatusUnauthorized, call(before))
	})
}

// TestCodeRedeemedOnTwoProvidersAtOnce runs two provider instances on one
// database (separate connection pools, as two processes would have) and
// posts the same code to both token endpoints at once: one redemption
// wins and every other is a replay, so at most one answer carries tokens,
// and those are revoked by the replays, whenever they came.
func TestCodeRedeemedOnTwoProvidersAtOnce(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		kek, _ := keys.GenerateKEK()
		const issuer = "https://id.example.gr/auth/citizen"
		var urls []string
		var codes *auth.CodeStore
		var secret string
		var first *auth.Provider
		var firstReg *auth.ClientRegistry
		for i, pool := range []*sql.DB{db.DB.DB, db.OpenAnother(t)} {
			reg, err := auth.NewClientRegistry(ctx, pool, "citizen")
			require.NoError(t, err)
			if i == 0 {
				_, secret, err = reg.Create(ctx, webClient())
				require.NoError(t, err)
			}
			cs, err := auth.NewCodeStore(ctx, pool, "citizen")
			require.NoError(t, err)
			if i == 0 {
				codes = cs
			}
			ks, err := keys.New(ctx, pool, "auth/citizen", kek)
			require.NoError(t, err)
			p, err := auth.NewProvider(ctx, auth.ProviderConfig{Issuer: issuer, Keys: ks, Clients: reg, Codes: cs})
			require.NoError(t, err)
			if i == 0 {
				first, firstReg = p, reg
			}
			srv := httptest.NewServer(p.Handler())
			t.Cleanup(srv.Close)
			urls = append(urls, srv.URL)
		}
		for round := range 3 {
			g := grant()
			g.AuthTime = time.Now().Truncate(time.Second)
			code, err := codes.Create(ctx, g)
			require.NoError(t, err)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {"https://agency.example.gr/callback"}, "code_verifier": {verifier}}.Encode()
			var issued, refused atomic.Int32
			var handedOut sync.Map
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					req, _ := http.NewRequest(http.MethodPost, urls[i%2]+"/token", strings.NewReader(form))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth("demo-agency", secret)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					defer resp.Body.Close()
					switch resp.StatusCode {
					case http.StatusOK:
						issued.Add(1)
						var tr auth.TokenResponse
						if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
							t.Error(err)
							return
						}
						handedOut.Store(tr.AccessToken, tr.RefreshToken)
					case http.StatusBadRequest:
						refused.Add(1)
					default:
						t.Errorf("round %d: status %d", round, resp.StatusCode)
					}
				}()
			}
			close(start)
			wg.Wait()
			assert.LessOrEqual(t, issued.Load(), int32(1), "round %d", round)
			assert.Equal(t, int32(8), issued.Load()+refused.Load(), "round %d", round)
			client, err := firstReg.Get(ctx, "demo-agency")
			require.NoError(t, err)
			handedOut.Range(func(access, refresh any) bool {
				in, err := first.Introspect(ctx, client, access.(string))
				require.NoError(t, err)
				assert.False(t, in.Active, "round %d: the replays revoked the access token", round)
				_, _, _, _, err = codes.Refresh().Rotate(ctx, refresh.(string), "demo-agency")
				assert.ErrorIs(t, err, auth.ErrInvalidGrant, "round %d: and the refresh token", round)
				return true
			})
		}
	})
}
