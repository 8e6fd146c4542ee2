package auth_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/metrics"
)

// *metrics.Metrics is a TransactionCounter as it is: wiring is one line.
var _ auth.TransactionCounter = (*metrics.Metrics)(nil)

// TestCountedByMetrics wires a *metrics.Metrics as the provider's Counter,
// declared with the kind and labels the package documents, and finds the
// sign-ins, and only them, in its totals.
func TestCountedByMetrics(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		day := time.Date(2026, 5, 17, 12, 0, 0, 0, time.UTC)
		m, err := metrics.New(ctx, metrics.Config{DB: db.DB.DB, Now: func() time.Time { return day }, FlushEvery: time.Hour,
			Kinds: []metrics.Kind{{Name: auth.CountSignIn, Labels: auth.CountLabels()}}})
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, m.Close()) })
		f := newSigninFixture(t, db, func(c *auth.ProviderConfig) { c.Counter = m })
		b := f.browser(t)

		p := b.authorize(authorizeParams("low-agency"))
		refused := b.post("/login", url.Values{"tx": {tx(t, p)}, "username": {"maria.p"}, "password": {"wrong password here"}})
		assert.Equal(t, 401, refused.Status)
		cb := b.signIn(authorizeParams("low-agency"), true, false)
		f.exchange(t, "low-agency", cb.Get("code"))
		callback(t, b.authorize(authorizeParams("low-agency"))) // by the session
		cb = b.signIn(authorizeParams("demo-agency"), false, true)
		f.exchange(t, "demo-agency", cb.Get("code"))

		require.NoError(t, m.Flush(ctx))
		period, err := metrics.ParsePeriod("2026-05-17")
		require.NoError(t, err)
		total, err := m.Total(ctx, metrics.KindAll, period)
		require.NoError(t, err)
		assert.EqualValues(t, 3, total, "three sign-ins; the refusal and the tokens are not counted")
		top, err := m.Top(ctx, auth.CountSignIn, auth.CountLabelLoA, period, 10)
		require.NoError(t, err)
		assert.ElementsMatch(t, []metrics.Entry{{Value: auth.LoALow, Total: 2}, {Value: auth.LoASubstantial, Total: 1}}, top)
		top, err = m.Top(ctx, auth.CountSignIn, auth.CountLabelChannel, period, 10)
		require.NoError(t, err)
		assert.Equal(t, []metrics.Entry{{Value: auth.ChannelDigital, Total: 3}}, top)
	})
}
