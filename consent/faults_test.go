package consent_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

// TestUnavailableDatabase: a database that stops answering fails Check
// and the citizen's calls within the deadline with errkind.Unavailable,
// never with a refusal that reads as "no consent".
func TestUnavailableDatabase(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		f := sqltest.Faulty(t, db, 100*time.Millisecond)
		clock := testclock.New()
		store, err := consent.NewSQLStore(ctx, f.DB, consent.WithDBTimeout(300*time.Millisecond))
		require.NoError(t, err)
		svc := newService(t, store, clock, nil)
		r, err := svc.Give(ctx, citizen, agency, draft(clock), notice)
		require.NoError(t, err)

		f.Freeze()
		start := time.Now()
		_, err = svc.Check(ctx, check())
		assert.ErrorIs(t, err, errkind.Unavailable, "frozen: %v", err)
		assert.Less(t, time.Since(start), 5*time.Second)
		f.Thaw()

		f.Down()
		_, err = svc.Check(ctx, check())
		assert.ErrorIs(t, err, errkind.Unavailable)
		_, err = svc.Withdraw(ctx, citizen, r.ID)
		assert.ErrorIs(t, err, errkind.Unavailable)
		_, err = svc.AccessLog(ctx, citizen, consent.LogQuery{})
		assert.ErrorIs(t, err, errkind.Unavailable)
		_, err = svc.List(ctx, citizen)
		assert.ErrorIs(t, err, errkind.Unavailable)
	})
}
