package auth_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

type refreshFixture struct {
	p      *auth.Provider
	codes  *auth.CodeStore
	secret string
	client auth.Client
	clock  *testclock.Clock
	key    *ecdsa.PrivateKey
}

func newRefreshFixture(t *testing.T, db *sqltest.DB) *refreshFixture {
	ctx := t.Context()
	clock := testclock.New()
	reg, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen", auth.WithClock(clock.Now))
	require.NoError(t, err)
	client, secret, err := reg.Create(ctx, webClient())
	require.NoError(t, err)
	if other := webClient(); true {
		other.ID = "other-agency"
		_, _, err = reg.Create(ctx, other)
		require.NoError(t, err)
	}
	codes, err := auth.NewCodeStore(ctx, db.DB.DB, "citizen", auth.WithClock(clock.Now))
	require.NoError(t, err)
	key := mustKey(t)
	ks, err := keys.NewStatic(key, keys.WithStaticClock(clock.Now))
	require.NoError(t, err)
	p, err := auth.NewProvider(ctx, auth.ProviderConfig{Issuer: "https://id.example.gr/auth/citizen", Keys: ks, Clients: reg, Codes: codes, Now: clock.Now})
	require.NoError(t, err)
	return &refreshFixture{p: p, codes: codes, secret: secret, client: client, clock: clock, key: key}
}

func (f *refreshFixture) token(t *testing.T, form url.Values) (int, auth.TokenResponse, string) {
	t.Helper()
	r := httptest.NewRequest("POST", "/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(f.client.ID, f.secret)
	w := httptest.NewRecorder()
	f.p.Handler().ServeHTTP(w, r)
	var tr auth.TokenResponse
	_ = json.Unmarshal(w.Body.Bytes(), &tr)
	return w.Code, tr, w.Body.String()
}

func (f *refreshFixture) signIn(t *testing.T) auth.TokenResponse {
	t.Helper()
	g := grant()
	g.Scopes = []string{"openid", "profile"}
	code, err := f.codes.Create(t.Context(), g)
	require.NoError(t, err)
	status, tr, body := f.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"https://agency.example.gr/callback"}, "code_verifier": {verifier}})
	require.Equal(t, 200, status, body)
	require.NotEmpty(t, tr.RefreshToken)
	return tr
}

func (f *refreshFixture) refresh(t *testing.T, rt string, extra ...string) (int, auth.TokenResponse, string) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	if len(extra) == 2 {
		form.Set(extra[0], extra[1])
	}
	return f.token(t, form)
}

func (f *refreshFixture) active(t *testing.T, access string) bool {
	in, err := f.p.Introspect(t.Context(), f.client, access)
	require.NoError(t, err)
	return in.Active
}

func TestRefreshRotationAndReuse(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newRefreshFixture(t, db)
		first := f.signIn(t)

		status, second, body := f.refresh(t, first.RefreshToken)
		require.Equal(t, 200, status, body)
		assert.NotEqual(t, first.RefreshToken, second.RefreshToken, "rotated")
		assert.Equal(t, "openid profile", second.Scope)
		assert.Empty(t, second.IDToken)

		// Narrower scope is fine, wider is not.
		status, narrow, body := f.refresh(t, second.RefreshToken, "scope", "openid")
		require.Equal(t, 200, status, body)
		assert.Equal(t, "openid", narrow.Scope)
		status, _, body = f.refresh(t, narrow.RefreshToken, "scope", "openid admin")
		assert.Equal(t, 400, status)
		assert.Contains(t, body, "invalid_scope")

		// A lost response: the used token works again within 30 s, and
		// gives the successor already given.
		f.clock.Advance(10 * time.Second)
		status, retry, body := f.refresh(t, second.RefreshToken)
		require.Equal(t, 200, status, body)
		assert.Equal(t, narrow.RefreshToken, retry.RefreshToken, "the successor already given, not a new branch")
		status, newest, body := f.refresh(t, retry.RefreshToken)
		require.Equal(t, 200, status, body)
		// The successor used, the old token coming back is theft: the
		// whole family goes.
		status, _, body = f.refresh(t, second.RefreshToken)
		assert.Equal(t, 400, status)
		assert.Contains(t, body, "invalid_grant")
		for name, tr := range map[string]auth.TokenResponse{"first": first, "second": second, "narrow": narrow, "retry": retry, "newest": newest} {
			assert.False(t, f.active(t, tr.AccessToken), "%s access token revoked with the family", name)
		}
		status, _, _ = f.refresh(t, newest.RefreshToken)
		assert.Equal(t, 400, status, "the family's newest refresh token is dead too")

		// Outside the grace window, the first reuse already revokes.
		other := f.signIn(t)
		status, next, _ := f.refresh(t, other.RefreshToken)
		require.Equal(t, 200, status)
		f.clock.Advance(31 * time.Second)
		status, _, _ = f.refresh(t, other.RefreshToken)
		assert.Equal(t, 400, status)
		assert.False(t, f.active(t, next.AccessToken))

		// Garbage, a missing token.
		third := f.signIn(t)
		status, _, _ = f.refresh(t, "garbage")
		assert.Equal(t, 400, status)
		status, _, body = f.token(t, url.Values{"grant_type": {"refresh_token"}})
		assert.Equal(t, 400, status)
		assert.Contains(t, body, "invalid_request")
		assert.True(t, f.active(t, third.AccessToken), "other families are untouched")
	})
}

func TestRefreshTokenOfAnotherClient(t *testing.T) {
	db := sqltest.SQLite(t)
	f := newRefreshFixture(t, db)
	tr := f.signIn(t)
	_, _, _, _, err := f.codes.Refresh().Rotate(t.Context(), tr.RefreshToken, "other-agency")
	assert.ErrorIs(t, err, auth.ErrInvalidGrant)
	_, _, _, _, err = f.codes.Refresh().Rotate(t.Context(), tr.RefreshToken, f.client.ID)
	assert.NoError(t, err, "the refusal above did not use the token")
}

// TestRefreshConcurrentUse: from two instances at once, the first use and
// every retry within the grace window succeed, all with the same
// successor.
func TestRefreshConcurrentUse(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newRefreshFixture(t, db)
		tr := f.signIn(t)
		other, err := auth.NewCodeStore(t.Context(), db.OpenAnother(t), "citizen", auth.WithClock(f.clock.Now))
		require.NoError(t, err)
		stores := []*auth.RefreshStore{f.codes.Refresh(), other.Refresh()}
		var ok, reused atomic.Int32
		var nexts sync.Map
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < 12; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, next, _, _, err := stores[i%2].Rotate(context.Background(), tr.RefreshToken, f.client.ID)
				switch {
				case err == nil:
					ok.Add(1)
					nexts.Store(next, true)
				case errors.Is(err, auth.ErrRefreshReused) || errors.Is(err, auth.ErrInvalidGrant):
					reused.Add(1)
				default:
					t.Errorf("unexpected: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		assert.Equal(t, int32(12), ok.Load(), "the first use and the retries within the grace window")
		assert.Zero(t, reused.Load())
		n := 0
		nexts.Range(func(any, any) bool { n++; return true })
		assert.Equal(t, 1, n, "one successor")
	})
}
