package auth_test

import (
	"encoding/base32"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

var totpKey = []byte("0123456789abcdef0123456789abcdef")

// appFromURI is the authenticator app: it reads the enrolment URI.
func appFromURI(t *testing.T, uri string) auth.TOTP {
	t.Helper()
	u, err := url.Parse(uri)
	require.NoError(t, err)
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(u.Query().Get("secret"))
	require.NoError(t, err)
	return auth.TOTP{Secret: secret}
}

func appCode(t *testing.T, app auth.TOTP, at time.Time) string {
	t.Helper()
	c, err := app.Code(at)
	require.NoError(t, err)
	return c
}

func TestTOTPStore(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		s, err := auth.NewTOTPStore(ctx, db.DB.DB, totpKey, "gov.example", auth.WithClock(clock.Now))
		require.NoError(t, err)
		_, err = auth.NewTOTPStore(ctx, db.DB.DB, []byte("short"), "gov.example")
		assert.Error(t, err)

		assert.ErrorIs(t, s.Verify(ctx, "s1", "123456"), auth.ErrNoAuthenticator)
		uri, err := s.Enroll(ctx, "s1", "maria")
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(uri, "otpauth://totp/gov.example:maria?"), uri)
		app := appFromURI(t, uri)
		for _, row := range db.Dump(t, "SELECT * FROM auth_totp") {
			assert.NotContains(t, row, url.QueryEscape(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(app.Secret)), "the secret is sealed")
		}
		has, err := s.Has(ctx, "s1")
		require.NoError(t, err)
		assert.False(t, has, "not before a first code confirms it")
		again, err := s.Pending(ctx, "s1", "maria")
		require.NoError(t, err)
		assert.Equal(t, uri, again, "the pending app's QR code can be shown again")
		_, err = s.Pending(ctx, "s2", "nikos")
		assert.ErrorIs(t, err, auth.ErrNoAuthenticator)

		assert.ErrorIs(t, s.Confirm(ctx, "s1", wrongCode(appCode(t, app, clock.Now()))), auth.ErrAuthenticatorCode)
		require.NoError(t, s.Confirm(ctx, "s1", appCode(t, app, clock.Now())))
		_, err = s.Pending(ctx, "s1", "maria")
		assert.ErrorIs(t, err, auth.ErrNoAuthenticator, "nothing pending once confirmed")
		has, _ = s.Has(ctx, "s1")
		assert.True(t, has)

		// The code that confirmed cannot sign in: each time step once.
		assert.ErrorIs(t, s.Verify(ctx, "s1", appCode(t, app, clock.Now())), auth.ErrAuthenticatorCode)
		clock.Advance(30 * time.Second)
		require.NoError(t, s.Verify(ctx, "s1", appCode(t, app, clock.Now())))
		assert.ErrorIs(t, s.Verify(ctx, "s1", appCode(t, app, clock.Now())), auth.ErrAuthenticatorCode, "replay")
		clock.Advance(30 * time.Second)
		require.NoError(t, s.Verify(ctx, "s1", appCode(t, app, clock.Now().Add(30*time.Second))), "a phone a step ahead")

		// Five wrong codes lock; the right one waits too.
		for range 5 {
			assert.ErrorIs(t, s.Verify(ctx, "s1", "000000"), auth.ErrAuthenticatorCode)
		}
		err = s.Verify(ctx, "s1", appCode(t, app, clock.Now().Add(time.Minute)))
		assert.ErrorIs(t, err, auth.ErrAuthenticatorLocked)
		assert.ErrorIs(t, err, errkind.RateLimited)
		var rl *auth.RateLimitError
		require.ErrorAs(t, err, &rl)
		assert.Equal(t, time.Minute, rl.RetryAfter, "the first lock lasts a minute")
		clock.Advance(61 * time.Second)
		require.NoError(t, s.Verify(ctx, "s1", appCode(t, app, clock.Now())), "the lock is over")

		// A new app replaces the old only once confirmed.
		uri, err = s.Enroll(ctx, "s1", "maria")
		require.NoError(t, err)
		next := appFromURI(t, uri)
		clock.Advance(30 * time.Second)
		require.NoError(t, s.Verify(ctx, "s1", appCode(t, app, clock.Now())), "the old app still works")
		clock.Advance(30 * time.Second)
		require.NoError(t, s.Confirm(ctx, "s1", appCode(t, next, clock.Now())))
		clock.Advance(30 * time.Second)
		assert.ErrorIs(t, s.Verify(ctx, "s1", appCode(t, app, clock.Now())), auth.ErrAuthenticatorCode, "the old app is gone")
		require.NoError(t, s.Verify(ctx, "s1", appCode(t, next, clock.Now())))

		require.NoError(t, s.Remove(ctx, "s1"))
		assert.ErrorIs(t, s.Verify(ctx, "s1", "123456"), auth.ErrNoAuthenticator)
	})
}

func TestSignInWithAuthenticatorApp(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		store, err := auth.NewTOTPStore(ctx, db.DB.DB, totpKey, "gov.example")
		require.NoError(t, err)
		f := newSigninFixture(t, db, func(c *auth.ProviderConfig) { c.Authenticators = store })
		uri, err := store.Enroll(ctx, f.citizen.ID, "maria.p")
		require.NoError(t, err)
		app := appFromURI(t, uri)
		require.NoError(t, store.Confirm(ctx, f.citizen.ID, appCode(t, app, time.Now())))

		b := f.browser(t)
		p := b.authorize(authorizeParams("demo-agency"))
		p = b.post("/login", url.Values{"tx": {tx(t, p)}, "username": {"maria.p"}, "password": {"correct horse battery"}})
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		assert.Contains(t, p.Body, "authenticator app")
		assert.Contains(t, p.Body, "Send a code by SMS to")
		assert.Empty(t, f.outbox.All(), "no SMS is sent while the app is used")
		id := tx(t, p)
		p = b.post("/login/code", url.Values{"tx": {id}, "code": {"000000"}})
		assert.Equal(t, http.StatusUnauthorized, p.Status)
		// The next step's code: the current one confirmed the enrolment.
		cb := callback(t, b.post("/login/code", url.Values{"tx": {id}, "code": {appCode(t, app, time.Now().Add(30*time.Second))}}))
		it := f.idToken(t, f.exchange(t, "demo-agency", cb.Get("code")).IDToken)
		assert.Equal(t, auth.LoASubstantial, it.PrivateClaims()["acr"])
		assert.ElementsMatch(t, []any{"pwd", "otp", "mfa"}, it.PrivateClaims()["amr"])

		// Without the phone at hand: SMS instead.
		b2 := f.browser(t)
		p = b2.authorize(authorizeParams("demo-agency"))
		p = b2.post("/login", url.Values{"tx": {tx(t, p)}, "username": {"maria.p"}, "password": {"correct horse battery"}})
		p = b2.post("/login/resend", url.Values{"tx": {tx(t, p)}})
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		assert.Contains(t, p.Body, "We sent a 6-digit code by SMS")
		cb = callback(t, b2.post("/login/code", url.Values{"tx": {tx(t, p)}, "code": {f.lastCode(t)}}))
		it = f.idToken(t, f.exchange(t, "demo-agency", cb.Get("code")).IDToken)
		assert.ElementsMatch(t, []any{"pwd", "sms", "mfa"}, it.PrivateClaims()["amr"])
	})
}
