package auth_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/ident"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// post sends a form to one of the provider's endpoints as the fixture's
// client.
func (f *refreshFixture) post(t *testing.T, path string, form url.Values) (int, string) {
	t.Helper()
	r := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(f.client.ID, f.secret)
	w := httptest.NewRecorder()
	f.p.Handler().ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// TestRevokeRefreshToken: revoking a refresh token (RFC 7009) ends its
// family, whichever of the family's tokens is presented, with the access
// tokens issued in it; other families and other clients' attempts change
// nothing.
func TestRevokeRefreshToken(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newRefreshFixture(t, db)

		for _, tc := range []struct {
			name    string
			present func(first, second auth.TokenResponse) string
			hint    string
		}{
			{"the newest token", func(_, second auth.TokenResponse) string { return second.RefreshToken }, ""},
			{"the newest token with a hint", func(_, second auth.TokenResponse) string { return second.RefreshToken }, "refresh_token"},
			{"a wrong hint", func(_, second auth.TokenResponse) string { return second.RefreshToken }, "access_token"},
			{"a used token of the family", func(first, _ auth.TokenResponse) string { return first.RefreshToken }, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				first := f.signIn(t)
				status, second, body := f.refresh(t, first.RefreshToken)
				require.Equal(t, 200, status, body)
				bystander := f.signIn(t)

				form := url.Values{"token": {tc.present(first, second)}}
				if tc.hint != "" {
					form.Set("token_type_hint", tc.hint)
				}
				status, body = f.post(t, "/revoke", form)
				require.Equal(t, 200, status, body)

				status, _, body = f.refresh(t, second.RefreshToken)
				assert.Equal(t, 400, status)
				assert.Contains(t, body, "invalid_grant", "the family's live refresh token is dead")
				assert.False(t, f.active(t, first.AccessToken), "access tokens of the family are revoked")
				assert.False(t, f.active(t, second.AccessToken))

				assert.True(t, f.active(t, bystander.AccessToken), "another family is untouched")
				status, _, body = f.refresh(t, bystander.RefreshToken)
				assert.Equal(t, 200, status, body)
			})
		}

		t.Run("another client's refresh token", func(t *testing.T) {
			tr := f.signIn(t)
			other, err := f.p.Introspect(t.Context(), auth.Client{ID: "other-agency"}, tr.AccessToken)
			require.NoError(t, err)
			require.False(t, other.Active)
			require.NoError(t, f.p.Revoke(t.Context(), auth.Client{ID: "other-agency"}, tr.RefreshToken))
			status, _, body := f.refresh(t, tr.RefreshToken)
			assert.Equal(t, 200, status, body)
			assert.True(t, f.active(t, tr.AccessToken))
		})

		t.Run("unknown tokens", func(t *testing.T) {
			for _, tok := range []string{"garbage", strings.Repeat("x", 5000)} {
				status, body := f.post(t, "/revoke", url.Values{"token": {tok}, "token_type_hint": {"refresh_token"}})
				assert.Equal(t, 200, status, body)
			}
		})
	})
}

// TestReplayedCodeEndsRefreshFamily: a code presented twice revokes the
// refresh token issued from it and every token rotated from that one.
func TestReplayedCodeEndsRefreshFamily(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newRefreshFixture(t, db)
		code, err := f.codes.Create(t.Context(), grant())
		require.NoError(t, err)
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {"https://agency.example.gr/callback"}, "code_verifier": {verifier}}
		status, first, body := f.token(t, form)
		require.Equal(t, 200, status, body)
		require.NotEmpty(t, first.RefreshToken)
		status, second, body := f.refresh(t, first.RefreshToken)
		require.Equal(t, 200, status, body)
		bystander := f.signIn(t)

		status, _, body = f.token(t, form)
		assert.Equal(t, 400, status)
		assert.Contains(t, body, "invalid_grant")

		status, _, body = f.refresh(t, second.RefreshToken)
		assert.Equal(t, 400, status, "the refresh token rotated from the code's is dead: %s", body)
		assert.False(t, f.active(t, first.AccessToken))
		assert.False(t, f.active(t, second.AccessToken))
		assert.True(t, f.active(t, bystander.AccessToken))
		status, _, _ = f.refresh(t, bystander.RefreshToken)
		assert.Equal(t, 200, status)
	})
}

// TestCodeReplayedWhileTokensAreIssued: a replay that arrives after the
// first redemption but before its tokens are recorded is still seen: the
// recording reports it, so the issuer revokes what it made.
func TestCodeReplayedWhileTokensAreIssued(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		s, err := auth.NewCodeStore(ctx, db.DB.DB, "citizen")
		require.NoError(t, err)
		code, err := s.Create(ctx, grant())
		require.NoError(t, err)
		_, err = s.Redeem(ctx, code, "demo-agency", "https://agency.example.gr/callback", verifier)
		require.NoError(t, err)
		_, err = s.Redeem(ctx, code, "demo-agency", "https://agency.example.gr/callback", verifier)
		require.ErrorIs(t, err, auth.ErrCodeReused)
		err = s.RecordTokens(ctx, code, auth.IssuedToken{JTI: "at-1", ExpiresAt: time.Now().Add(time.Minute)})
		assert.ErrorIs(t, err, auth.ErrCodeReused)
	})
}

// TestRefreshGraceGivesTheSameSuccessor: within the grace window the used
// token answers with the successor it already gave, never a second branch;
// once that successor is used, the old token is reuse.
func TestRefreshGraceGivesTheSameSuccessor(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newRefreshFixture(t, db)

		first := f.signIn(t)
		status, second, body := f.refresh(t, first.RefreshToken)
		require.Equal(t, 200, status, body)
		f.clock.Advance(5 * time.Second)
		status, retry, body := f.refresh(t, first.RefreshToken)
		require.Equal(t, 200, status, body)
		assert.Equal(t, second.RefreshToken, retry.RefreshToken, "the lost answer's refresh token again")
		assert.NotEqual(t, second.AccessToken, retry.AccessToken)
		f.clock.Advance(auth.RefreshGrace - 5*time.Second)
		status, again, body := f.refresh(t, first.RefreshToken)
		require.Equal(t, 200, status, body)
		assert.Equal(t, second.RefreshToken, again.RefreshToken, "and again, to the end of the grace window")
		status, third, body := f.refresh(t, retry.RefreshToken)
		require.Equal(t, 200, status, body)
		assert.True(t, f.active(t, third.AccessToken))
		for _, rt := range db.Dump(t, "SELECT * FROM auth_refresh_tokens") {
			for _, tok := range []string{first.RefreshToken, second.RefreshToken, third.RefreshToken} {
				assert.NotContains(t, rt, tok, "refresh tokens are not stored in clear")
			}
		}

		// The successor was used: the old token coming back, even within
		// the grace window, is a thief's, and ends the family.
		a := f.signIn(t)
		status, b, _ := f.refresh(t, a.RefreshToken)
		require.Equal(t, 200, status)
		status, c, _ := f.refresh(t, b.RefreshToken)
		require.Equal(t, 200, status)
		f.clock.Advance(time.Second)
		status, _, body = f.refresh(t, a.RefreshToken)
		assert.Equal(t, 400, status)
		assert.Contains(t, body, "invalid_grant")
		status, _, _ = f.refresh(t, c.RefreshToken)
		assert.Equal(t, 400, status, "the family is ended")
		assert.False(t, f.active(t, c.AccessToken))

		// A refused scope uses nothing up: the token still rotates after.
		d := f.signIn(t)
		status, _, body = f.refresh(t, d.RefreshToken, "scope", "openid admin")
		require.Equal(t, 400, status)
		assert.Contains(t, body, "invalid_scope")
		status, e, body := f.refresh(t, d.RefreshToken)
		require.Equal(t, 200, status, body)
		f.clock.Advance(auth.RefreshGrace + time.Second)
		status, _, body = f.refresh(t, e.RefreshToken)
		assert.Equal(t, 200, status, "not taken for reuse: %s", body)
	})
}

// TestRefreshGraceAcrossInstances presents one refresh token at once to
// two providers sharing the database, before and after its first use:
// every answer that carries a refresh token carries the same one, and at
// most one branch of the family is alive afterwards.
func TestRefreshGraceAcrossInstances(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newRefreshFixture(t, db)
		ctx := t.Context()
		pool := db.OpenAnother(t)
		reg2, err := auth.NewClientRegistry(ctx, pool, "citizen")
		require.NoError(t, err)
		codes2, err := auth.NewCodeStore(ctx, pool, "citizen", auth.WithClock(f.clock.Now))
		require.NoError(t, err)
		ks2, err := keys.NewStatic(f.key, keys.WithStaticClock(f.clock.Now))
		require.NoError(t, err)
		p2, err := auth.NewProvider(ctx, auth.ProviderConfig{Issuer: "https://id.example.gr/auth/citizen", Keys: ks2,
			Clients: reg2, Codes: codes2, Now: f.clock.Now})
		require.NoError(t, err)
		providers := []http.Handler{f.p.Handler(), p2.Handler()}

		present := func(rt string) []auth.TokenResponse {
			var mu sync.Mutex
			var ok []auth.TokenResponse
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
					r := httptest.NewRequestWithContext(context.Background(), "POST", "/token", strings.NewReader(form.Encode()))
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					r.SetBasicAuth(f.client.ID, f.secret)
					w := httptest.NewRecorder()
					providers[i%2].ServeHTTP(w, r)
					body, _ := io.ReadAll(w.Body)
					switch w.Code {
					case http.StatusOK:
						var tr auth.TokenResponse
						if err := json.Unmarshal(body, &tr); err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						ok = append(ok, tr)
						mu.Unlock()
					case http.StatusBadRequest:
						if !strings.Contains(string(body), "invalid_grant") {
							t.Errorf("refused with %s", body)
						}
					default:
						t.Errorf("status %d: %s", w.Code, body)
					}
				}()
			}
			close(start)
			wg.Wait()
			return ok
		}
		live := func(tokens map[string]bool) int {
			n := 0
			for rt := range tokens {
				if status, _, _ := f.refresh(t, rt); status == 200 {
					n++
				}
			}
			return n
		}

		for round := range 3 {
			tr := f.signIn(t)
			answers := present(tr.RefreshToken)
			got := map[string]bool{}
			for _, a := range answers {
				got[a.RefreshToken] = true
			}
			assert.Len(t, answers, 10, "round %d: the first use and retries within the grace window", round)
			assert.Len(t, got, 1, "round %d: one successor for every answer", round)
			assert.Equal(t, 1, live(got), "round %d", round)
		}

		for round := range 3 {
			tr := f.signIn(t)
			status, next, body := f.refresh(t, tr.RefreshToken)
			require.Equal(t, 200, status, body)
			answers := present(tr.RefreshToken)
			got := map[string]bool{next.RefreshToken: true}
			for _, a := range answers {
				got[a.RefreshToken] = true
			}
			assert.Len(t, answers, 10, "round %d", round)
			assert.Len(t, got, 1, "round %d: retries within the grace window get the successor already given", round)
			assert.Equal(t, 1, live(got), "round %d", round)

			// Once that successor is used, the same burst is reuse, wherever
			// it lands: refused, and the family ends.
			tr = f.signIn(t)
			status, next, body = f.refresh(t, tr.RefreshToken)
			require.Equal(t, 200, status, body)
			status, newest, body := f.refresh(t, next.RefreshToken)
			require.Equal(t, 200, status, body)
			assert.Empty(t, present(tr.RefreshToken), "round %d", round)
			assert.Zero(t, live(map[string]bool{newest.RefreshToken: true}), "round %d", round)
		}
	})
}

// refreshAs presents a refresh token to the fixture's provider as client.
func (f *signinFixture) refreshAs(t *testing.T, client, rt string) (int, auth.TokenResponse) {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	req, _ := http.NewRequest(http.MethodPost, f.issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, f.secrets[client])
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var tr auth.TokenResponse
	_ = json.NewDecoder(resp.Body).Decode(&tr)
	return resp.StatusCode, tr
}

// TestLogoutEndsSessionRefreshTokens: ending a single sign-on session ends
// the refresh tokens its sign-ins issued, for every client it signed in
// to; a step-up keeps them (the session goes on under a new id), and
// another session of the same person is untouched.
func TestLogoutEndsSessionRefreshTokens(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newSigninFixture(t, db)
		b := f.browser(t)
		cb := b.signIn(authorizeParams("low-agency"), true, false)
		low := f.exchange(t, "low-agency", cb.Get("code"))
		require.NotEmpty(t, low.RefreshToken)

		// A step-up for another client replaces the session; the first
		// client's refresh token lives on.
		p := b.authorize(authorizeParams("demo-agency"))
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		cb = callback(t, b.post("/login/code", url.Values{"tx": {tx(t, p)}, "code": {f.lastCode(t)}}))
		demo := f.exchange(t, "demo-agency", cb.Get("code"))
		status, lowNext := f.refreshAs(t, "low-agency", low.RefreshToken)
		require.Equal(t, http.StatusOK, status, "a step-up ends no refresh token")

		// The same person in another browser: another session.
		other := f.browser(t)
		cb = other.signIn(authorizeParams("low-agency"), true, false)
		elsewhere := f.exchange(t, "low-agency", cb.Get("code"))

		p = b.get(f.issuer + "/logout?" + url.Values{"id_token_hint": {demo.IDToken}}.Encode())
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		assert.Contains(t, p.Body, "You have signed out")

		status, _ = f.refreshAs(t, "low-agency", lowNext.RefreshToken)
		assert.Equal(t, http.StatusBadRequest, status, "the session's refresh token for low-agency is dead")
		status, _ = f.refreshAs(t, "demo-agency", demo.RefreshToken)
		assert.Equal(t, http.StatusBadRequest, status, "and demo-agency's")
		in := clientPostAs(t, f, "low-agency", "/introspect", url.Values{"token": {lowNext.AccessToken}})
		assert.Equal(t, false, in["active"], "with the access tokens issued in the family")

		status, _ = f.refreshAs(t, "low-agency", elsewhere.RefreshToken)
		assert.Equal(t, http.StatusOK, status, "the other browser's session keeps its refresh token")
	})
}

// TestAnotherPersonSigningInEndsRefreshTokens: when someone else signs in
// in the same browser, the session they replace ends, with its refresh
// tokens, as a logout would.
func TestAnotherPersonSigningInEndsRefreshTokens(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newSigninFixture(t, db)
		afm, err := ident.GenerateAFM(rand.Reader)
		require.NoError(t, err)
		amka, err := ident.GenerateAMKA(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), rand.Reader)
		require.NoError(t, err)
		_, err = f.accounts.CreateCitizen(t.Context(), auth.Citizen{Username: "giorgos", AFM: afm, AMKA: amka,
			GivenName: "Γιώργος", FamilyName: "Άλλος", FatherName: "Α", MotherName: "Β", BirthDate: "1970-01-01"}, "another good password")
		require.NoError(t, err)

		b := f.browser(t)
		cb := b.signIn(authorizeParams("low-agency"), true, false)
		maria := f.exchange(t, "low-agency", cb.Get("code"))

		q := authorizeParams("low-agency")
		q.Set("prompt", "login")
		p := b.authorize(q)
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		cb = callback(t, b.post("/login", url.Values{"tx": {tx(t, p)}, "username": {"giorgos"}, "password": {"another good password"}}))
		giorgos := f.exchange(t, "low-agency", cb.Get("code"))

		status, _ := f.refreshAs(t, "low-agency", maria.RefreshToken)
		assert.Equal(t, http.StatusBadRequest, status, "the replaced session's refresh token is dead")
		status, _ = f.refreshAs(t, "low-agency", giorgos.RefreshToken)
		assert.Equal(t, http.StatusOK, status)
	})
}
