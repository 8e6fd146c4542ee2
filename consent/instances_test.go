package consent_test

import (
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

// instances returns two services on two pools of one database, as two
// instances of a service behind a load balancer would be.
func instances(t *testing.T, db *sqltest.DB, clock *testclock.Clock, opts ...consent.Option) (a, b *consent.Service) {
	t.Helper()
	mk := func(pool *sql.DB) *consent.Service {
		store, err := consent.NewSQLStore(t.Context(), pool, opts...)
		require.NoError(t, err)
		t.Cleanup(func() { store.Close() })
		return newService(t, store, clock, nil)
	}
	return mk(db.DB.DB), mk(db.OpenAnother(t))
}

// TestSingleUseAcrossInstances: two instances, fifty goroutines each,
// check a single-use consent at the same moment: exactly one exchange is
// allowed, one use is logged, and the other 99 are refused as used up;
// with the store's default on each engine, and with checks committed
// together on PostgreSQL too.
func TestSingleUseAcrossInstances(t *testing.T) {
	t.Run("default", func(t *testing.T) { testSingleUseAcrossInstances(t) })
	t.Run("batched", func(t *testing.T) { testSingleUseAcrossInstances(t, consent.WithMaxBatch(consent.DefaultMaxBatch)) })
}

func testSingleUseAcrossInstances(t *testing.T, opts ...consent.Option) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		a, b := instances(t, db, clock, opts...)
		r, err := a.Give(ctx, citizen, agency, draft(clock), notice)
		require.NoError(t, err)

		var allowed, usedUp atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, 100)
		for i := range 100 {
			svc := a
			if i%2 == 1 {
				svc = b
			}
			wg.Go(func() {
				<-start
				q := check()
				q.ExchangeID = fmt.Sprint("x-", i)
				d, err := svc.Check(ctx, q)
				switch {
				case err != nil:
					errs <- err
				case d.Allowed:
					allowed.Add(1)
				case d.Reason == consent.ReasonUsedUp:
					usedUp.Add(1)
				default:
					errs <- fmt.Errorf("unexpected reason %s", d.Reason)
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		assert.Equal(t, int32(1), allowed.Load(), "a single-use consent is used once")
		assert.Equal(t, int32(99), usedUp.Load())
		page, err := b.AccessLog(ctx, citizen, consent.LogQuery{Limit: consent.MaxPage})
		require.NoError(t, err)
		assert.Len(t, page.Entries, 1)
		got, err := b.Get(ctx, citizen, r.ID)
		require.NoError(t, err)
		assert.Equal(t, consent.StateConsumed, got.State)
		assert.Equal(t, 1, got.Uses)
	})
}

// TestWithdrawalSeenByEveryInstance: a consent withdrawn on one instance
// refuses the next Check on the other.
func TestWithdrawalSeenByEveryInstance(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		a, b := instances(t, db, clock)
		d := draft(clock)
		d.MaxUses = consent.Unlimited
		r, err := a.Give(ctx, citizen, agency, d, notice)
		require.NoError(t, err)
		dec, err := b.Check(ctx, check())
		require.NoError(t, err)
		require.True(t, dec.Allowed)

		_, err = a.Withdraw(ctx, citizen, r.ID)
		require.NoError(t, err)
		dec, err = b.Check(ctx, check())
		require.NoError(t, err)
		assert.Equal(t, consent.Decision{Reason: consent.ReasonWithdrawn}, dec)

		_, err = b.Withdraw(ctx, citizen, r.ID)
		assert.ErrorIs(t, err, errkind.Conflict, "withdrawn once")
		got, err := b.Get(ctx, citizen, r.ID)
		require.NoError(t, err)
		assert.Equal(t, []consent.Action{consent.ActionGiven, consent.ActionWithdrawn}, actionsOf(got))
	})
}

// TestApproveRace: the citizen approving on one instance while refusing
// on the other ends in one state, with one decision in the history.
func TestApproveRace(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		a, b := instances(t, db, clock)
		r, err := a.Request(ctx, agency, draft(clock))
		require.NoError(t, err)
		var wg sync.WaitGroup
		var okA, okB atomic.Bool
		wg.Go(func() { _, err := a.Approve(ctx, citizen, r.ID, notice); okA.Store(err == nil) })
		wg.Go(func() { _, err := b.Refuse(ctx, citizen, r.ID, notice); okB.Store(err == nil) })
		wg.Wait()
		assert.NotEqual(t, okA.Load(), okB.Load(), "one decision wins")
		got, err := a.Get(ctx, citizen, r.ID)
		require.NoError(t, err)
		assert.Len(t, got.Events, 2)
	})
}

// TestStoredWithoutTaxNumber: the database holds the pseudonym and the
// sealed tax number, never the tax number itself.
func TestStoredWithoutTaxNumber(t *testing.T) {
	db := sqltest.SQLite(t)
	clock := testclock.New()
	store, err := consent.NewSQLStore(t.Context(), db.DB.DB)
	require.NoError(t, err)
	svc := newService(t, store, clock, nil)
	_, err = svc.Give(t.Context(), citizen, agency, draft(clock), notice)
	require.NoError(t, err)
	_, err = svc.Check(t.Context(), check())
	require.NoError(t, err)
	for _, table := range []string{"consent_records", "consent_events", "consent_uses"} {
		for _, row := range db.Dump(t, "SELECT * FROM "+table) {
			assert.NotContains(t, row, maria, table)
		}
	}
}

// TestHistoryAppendOnly: the database itself refuses to change or delete
// a consent's events or an access-log entry.
func TestHistoryAppendOnly(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		store, err := consent.NewSQLStore(ctx, db.DB.DB)
		require.NoError(t, err)
		svc := newService(t, store, clock, nil)
		_, err = svc.Give(ctx, citizen, agency, draft(clock), notice)
		require.NoError(t, err)
		d, err := svc.Check(ctx, check())
		require.NoError(t, err)
		require.True(t, d.Allowed)
		before := db.Dump(t, "SELECT * FROM consent_events")
		uses := db.Dump(t, "SELECT * FROM consent_uses")
		for _, q := range []string{
			"UPDATE consent_events SET actor = 'someone'", "DELETE FROM consent_events",
			"UPDATE consent_uses SET requester_org = 'someone'", "DELETE FROM consent_uses",
		} {
			_, err := db.ExecContext(ctx, q)
			assert.Error(t, err, q)
		}
		assert.Equal(t, before, db.Dump(t, "SELECT * FROM consent_events"))
		assert.Equal(t, uses, db.Dump(t, "SELECT * FROM consent_uses"))
	})
}
