package consent_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

// TestRepeatedExchange: a gateway asking again about an exchange, on any
// instance, is answered with the consent it was counted against, even
// when that use consumed it and another consent would allow a new one;
// only a new exchange is counted, and a withdrawal refuses the repeat.
func TestRepeatedExchange(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		a, b := instances(t, db, clock)
		single, err := a.Give(ctx, citizen, agency, draft(clock), notice)
		require.NoError(t, err)
		d := draft(clock)
		d.MaxUses = consent.Unlimited
		d.ValidUntil = d.ValidUntil.Add(time.Hour)
		standing, err := a.Give(ctx, citizen, agency, d, notice)
		require.NoError(t, err)

		for _, svc := range []*consent.Service{a, b, a} {
			dec, err := svc.Check(ctx, check())
			require.NoError(t, err)
			assert.Equal(t, consent.Decision{Allowed: true, ConsentID: single.ID}, dec, "the window ending first, then the same")
		}
		q := check()
		q.ExchangeID = "x-2"
		dec, err := b.Check(ctx, q)
		require.NoError(t, err)
		assert.Equal(t, consent.Decision{Allowed: true, ConsentID: standing.ID}, dec)
		dec, err = a.Check(ctx, q)
		require.NoError(t, err)
		assert.Equal(t, standing.ID, dec.ConsentID)

		clock.Advance(time.Second) // the withdrawal is the latest change, which says why
		_, err = a.Withdraw(ctx, citizen, standing.ID)
		require.NoError(t, err)
		dec, err = b.Check(ctx, q)
		require.NoError(t, err)
		assert.Equal(t, consent.Decision{Reason: consent.ReasonWithdrawn}, dec)

		page, err := a.AccessLog(ctx, citizen, consent.LogQuery{})
		require.NoError(t, err)
		require.Len(t, page.Entries, 2, "one entry per exchange")
		got, err := a.Get(ctx, citizen, standing.ID)
		require.NoError(t, err)
		assert.Equal(t, 1, got.Uses)
	})
}

// TestBatchedRefusals: checks that share a transaction (on either
// engine) are answered each on its own: the one use of a single-use consent goes to one of them
// and the others are refused, while another citizen's checks, at the
// same moment, are all allowed and all logged.
func TestBatchedRefusals(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		store, err := consent.NewSQLStore(ctx, db.DB.DB, consent.WithMaxBatch(consent.DefaultMaxBatch))
		require.NoError(t, err)
		t.Cleanup(func() { store.Close() })
		svc := newService(t, store, clock, nil)
		_, err = svc.Give(ctx, citizen, agency, draft(clock), notice)
		require.NoError(t, err)
		other := citizen
		other.TaxNumber = nikos
		d := draft(clock)
		d.TaxNumber, d.MaxUses = nikos, consent.Unlimited
		_, err = svc.Give(ctx, other, agency, d, notice)
		require.NoError(t, err)

		var allowed, usedUp, otherAllowed atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, 100)
		for i := range 100 {
			wg.Go(func() {
				<-start
				q := check()
				q.ExchangeID = fmt.Sprint("x-", i)
				if i%2 == 1 {
					q.TaxNumber = nikos
				}
				dec, err := svc.Check(ctx, q)
				switch {
				case err != nil:
					errs <- err
				case i%2 == 1 && dec.Allowed:
					otherAllowed.Add(1)
				case i%2 == 0 && dec.Allowed:
					allowed.Add(1)
				case i%2 == 0 && dec.Reason == consent.ReasonUsedUp:
					usedUp.Add(1)
				default:
					errs <- fmt.Errorf("check %d: %+v", i, dec)
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		assert.Equal(t, int32(1), allowed.Load())
		assert.Equal(t, int32(49), usedUp.Load())
		assert.Equal(t, int32(50), otherAllowed.Load())
		page, err := svc.AccessLog(ctx, other, consent.LogQuery{Limit: consent.MaxPage})
		require.NoError(t, err)
		assert.Len(t, page.Entries, 50)
	})
}

// TestCloseAnswersEveryCheck: closing the store while checks are under
// way, waiting for its writer, answers each of them, allowed or unavailable, and every allowed
// one is in the access log; a check after Close is unavailable.
func TestCloseAnswersEveryCheck(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		store, err := consent.NewSQLStore(ctx, db.DB.DB, consent.WithMaxBatch(consent.DefaultMaxBatch))
		require.NoError(t, err)
		svc := newService(t, store, clock, nil)
		d := draft(clock)
		d.MaxUses = consent.Unlimited
		_, err = svc.Give(ctx, citizen, agency, d, notice)
		require.NoError(t, err)

		var allowed, unavailable atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for i := range 100 {
			wg.Go(func() {
				q := check()
				q.ExchangeID = fmt.Sprint("x-", i)
				dec, err := svc.Check(ctx, q)
				switch {
				case err == nil && dec.Allowed:
					allowed.Add(1)
				case errorIsUnavailable(err):
					unavailable.Add(1)
				default:
					errs <- fmt.Errorf("check %d: %+v, %v", i, dec, err)
				}
			})
			if i == 50 {
				require.NoError(t, store.Close())
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		assert.Equal(t, int32(100), allowed.Load()+unavailable.Load())
		assert.Positive(t, unavailable.Load(), "checks after Close")
		var logged int32
		require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM consent_uses").Scan(&logged))
		assert.Equal(t, allowed.Load(), logged, "every allowed check was committed")
		assert.NoError(t, store.Close(), "closing twice")
	})
}

func errorIsUnavailable(err error) bool { return errors.Is(err, errkind.Unavailable) }

// TestCheckCallerGone: a check whose caller has already given up is not
// counted.
func TestCheckCallerGone(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		clock := testclock.New()
		store, err := consent.NewSQLStore(t.Context(), db.DB.DB)
		require.NoError(t, err)
		t.Cleanup(func() { store.Close() })
		svc := newService(t, store, clock, nil)
		r, err := svc.Give(t.Context(), citizen, agency, draft(clock), notice)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err = svc.Check(ctx, check())
		require.Error(t, err)
		got, err := svc.Get(t.Context(), citizen, r.ID)
		require.NoError(t, err)
		assert.Zero(t, got.Uses)
		assert.Equal(t, consent.StateAuthorised, got.State)
	})
}
