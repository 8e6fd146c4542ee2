package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// A frozen database fails every kind of call within the handle's deadline
// (plus a margin for the engines' own reaction), as ErrUnavailable. SQLite
// waits for its write lock for the busy timeout whatever the context says,
// so the pool's busy timeout is kept below the deadline, as sqldb's
// defaults do.
func TestFrozenDatabaseFailsWithinDeadline(t *testing.T) {
	const deadline = 400 * time.Millisecond
	const margin = 1500 * time.Millisecond
	sqltest.Run(t, func(t *testing.T, tdb *sqltest.DB) {
		migrated(t, tdb)
		f := sqltest.Faulty(t, tdb, 200*time.Millisecond)
		raw, err := sqlstore.New(t.Context(), f.DB)
		require.NoError(t, err)
		db := raw.WithTimeout(deadline)
		assert.Equal(t, deadline, db.Timeout())
		f.Freeze()

		writes := map[string]func(ctx context.Context) error{
			"exec": func(ctx context.Context) error {
				_, err := db.ExecContext(ctx, "INSERT INTO accounts (id, owner) VALUES ($1, $2)", "e1", "x")
				return err
			},
			"tx": func(ctx context.Context) error {
				ctx, cancel := db.Bound(ctx)
				defer cancel()
				return db.Tx(ctx, func(tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, "INSERT INTO accounts (id, owner) VALUES ($1, $2)", "t1", "x")
					return err
				})
			},
		}
		if tdb.Dialect() == sqlstore.Postgres { // SQLite readers do not wait for the writer
			writes["query row"] = func(ctx context.Context) error {
				var n int
				return db.QueryRowContext(ctx, "SELECT COUNT(*) FROM accounts").Scan(&n)
			}
			writes["query"] = func(ctx context.Context) error {
				rows, err := db.QueryContext(ctx, "SELECT id FROM accounts")
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
				}
				return rows.Err()
			}
			writes["ping"] = db.PingContext
		}
		for name, call := range writes {
			t.Run(name, func(t *testing.T) {
				start := time.Now()
				err := call(context.Background())
				took := time.Since(start)
				require.Error(t, err)
				assert.True(t, sqlstore.IsUnavailable(err), "%v is unavailable", err)
				assert.Less(t, took, deadline+margin, "answered within the deadline")
			})
		}
	})
}

// A database that is down (pool closed, server gone) is unavailable, not
// missing data.
func TestDownDatabaseIsUnavailable(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, tdb *sqltest.DB) {
		migrated(t, tdb)
		f := sqltest.Faulty(t, tdb, 200*time.Millisecond)
		db, err := sqlstore.New(t.Context(), f.DB)
		require.NoError(t, err)
		f.Down()
		ctx := t.Context()

		_, err = db.ExecContext(ctx, "INSERT INTO accounts (id, owner) VALUES ($1, $2)", "d1", "x")
		assert.ErrorIs(t, err, sqlstore.ErrUnavailable)
		assert.ErrorIs(t, err, errkind.Unavailable, "importers test the public kind")
		var n int
		err = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM accounts").Scan(&n)
		assert.True(t, sqlstore.IsUnavailable(err), "%v", err)
		assert.False(t, errors.Is(sqlstore.MapError(err), sqlstore.ErrNotFound))
		assert.ErrorIs(t, sqlstore.MapError(err), sqlstore.ErrUnavailable)
		err = db.Tx(ctx, func(tx *sql.Tx) error { return nil })
		assert.ErrorIs(t, err, sqlstore.ErrUnavailable)
		assert.ErrorIs(t, err, errkind.Unavailable)
	})
}

func TestIsUnavailable(t *testing.T) {
	assert.False(t, sqlstore.IsUnavailable(nil))
	assert.False(t, sqlstore.IsUnavailable(sql.ErrNoRows))
	assert.False(t, sqlstore.IsUnavailable(errors.New("connection refused")), "message text is not a code")
	assert.False(t, sqlstore.IsUnavailable(context.Canceled), "a caller that went away is not a database fault")
	assert.True(t, sqlstore.IsUnavailable(context.DeadlineExceeded))
	assert.True(t, sqlstore.IsUnavailable(sql.ErrConnDone))
	assert.True(t, sqlstore.IsUnavailable(sqlstore.ErrUnavailable))
	assert.True(t, sqlstore.IsUnavailable(fmt.Errorf("create: %w", retryable{safe: true, err: errors.New("conn closed")})),
		"a request that never reached the server (pgx's connection closed under it)")
	assert.False(t, sqlstore.IsUnavailable(retryable{safe: false, err: errors.New("query failed")}))
	assert.False(t, sqlstore.IsUnavailable(retryable{safe: true, err: context.Canceled}), "the caller went away")
}

// retryable is an error of pgx's kind that says whether it failed before
// reaching the server.
type retryable struct {
	safe bool
	err  error
}

func (r retryable) Error() string     { return r.err.Error() }
func (r retryable) Unwrap() error     { return r.err }
func (r retryable) SafeToRetry() bool { return r.safe }

// The write probe passes on a database that writes and fails, as
// unavailable, on one that answers but cannot write: a SQLite file opened
// read-only, a PostgreSQL session with default_transaction_read_only, a
// held write lock.
func TestProbeWrite(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, tdb *sqltest.DB) {
		db := migrated(t, tdb)
		ctx := t.Context()
		require.NoError(t, db.ProbeWrite(ctx))
		require.NoError(t, db.ProbeWrite(ctx), "the probe rewrites its row")

		rdb, err := sqlstore.New(ctx, tdb.OpenReadOnly(t))
		require.NoError(t, err, "the read-only database answers")
		require.NoError(t, rdb.PingContext(ctx), "a ping cannot tell")
		err = rdb.ProbeWrite(ctx)
		require.Error(t, err)
		assert.ErrorIs(t, err, sqlstore.ErrUnavailable)

		f := sqltest.Faulty(t, tdb, 200*time.Millisecond)
		fdb, err := sqlstore.New(ctx, f.DB)
		require.NoError(t, err)
		fdb = fdb.WithTimeout(400 * time.Millisecond)
		f.Freeze()
		start := time.Now()
		err = fdb.ProbeWrite(ctx)
		assert.ErrorIs(t, err, sqlstore.ErrUnavailable)
		assert.Less(t, time.Since(start), 2*time.Second)
	})
}
