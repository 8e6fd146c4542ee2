package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

var accountsV1 = fstest.MapFS{
	"migrations/0001_accounts.sql": {Data: []byte(`
CREATE TABLE accounts (
	id      TEXT PRIMARY KEY,
	owner   TEXT NOT NULL,
	balance BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
	photo   BYTEA
);
CREATE TABLE transfers (
	id         TEXT PRIMARY KEY,
	account_id TEXT NOT NULL REFERENCES accounts(id),
	amount     BIGINT NOT NULL
);`)},
}

func migrated(t *testing.T, db *sqltest.DB) *sqlstore.DB {
	t.Helper()
	require.NoError(t, db.Migrate(t.Context(), "sqlstoretest", accountsV1))
	return db.DB
}

func TestDetect(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		got, err := sqlstore.New(t.Context(), db.DB.DB)
		require.NoError(t, err)
		assert.Equal(t, db.Dialect(), got.Dialect())
		assert.Equal(t, t.Name()[len("TestDetect/"):], got.Dialect().String())
	})
}

func TestNewRejectsNilAndClosed(t *testing.T) {
	_, err := sqlstore.New(context.Background(), nil)
	require.Error(t, err)

	db := sqltest.SQLite(t)
	require.NoError(t, db.DB.DB.Close())
	_, err = sqlstore.New(context.Background(), db.DB.DB)
	require.Error(t, err)
}

func TestMapError(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, tdb *sqltest.DB) {
		db := migrated(t, tdb)
		ctx := t.Context()
		_, err := db.ExecContext(ctx, "INSERT INTO accounts (id, owner, balance, photo) VALUES ($1, $2, $3, $4)",
			"a1", "Ελένη", 10, []byte{0, 1, 2, 0xff})
		require.NoError(t, err)

		var photo []byte
		require.NoError(t, db.QueryRowContext(ctx, "SELECT photo FROM accounts WHERE id = $1", "a1").Scan(&photo))
		assert.Equal(t, []byte{0, 1, 2, 0xff}, photo, "binary values survive unchanged")

		tests := []struct {
			name string
			run  func() error
			want error
		}{
			{"duplicate primary key", func() error {
				_, err := db.ExecContext(ctx, "INSERT INTO accounts (id, owner) VALUES ($1, $2)", "a1", "x")
				return err
			}, sqlstore.ErrConflict},
			{"foreign key", func() error {
				_, err := db.ExecContext(ctx, "INSERT INTO transfers (id, account_id, amount) VALUES ($1, $2, $3)", "t1", "nope", 1)
				return err
			}, sqlstore.ErrConstraint},
			{"check", func() error {
				_, err := db.ExecContext(ctx, "UPDATE accounts SET balance = -1 WHERE id = $1", "a1")
				return err
			}, sqlstore.ErrConstraint},
			{"not null", func() error {
				_, err := db.ExecContext(ctx, "INSERT INTO accounts (id, owner) VALUES ($1, NULL)", "a2")
				return err
			}, sqlstore.ErrConstraint},
			{"no rows", func() error {
				var s string
				return db.QueryRowContext(ctx, "SELECT owner FROM accounts WHERE id = $1", "missing").Scan(&s)
			}, sqlstore.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := sqlstore.MapError(tt.run())
				require.Error(t, err)
				assert.ErrorIs(t, err, tt.want)
				var se *sqlstore.Error
				require.ErrorAs(t, err, &se)
				if tt.want != sqlstore.ErrNotFound {
					assert.NotEmpty(t, se.Code)
				}
				for _, other := range []error{sqlstore.ErrConflict, sqlstore.ErrConstraint, sqlstore.ErrNotFound} {
					if other != tt.want {
						assert.NotErrorIs(t, err, other)
					}
				}
			})
		}

		// A syntax error is none of the sentinels and passes through.
		_, err = db.ExecContext(ctx, "SELEC 1")
		require.Error(t, err)
		mapped := sqlstore.MapError(err)
		assert.Equal(t, err, mapped)
		assert.False(t, sqlstore.IsRetryable(mapped))
		assert.NoError(t, sqlstore.MapError(nil))
	})
}

// TestTxAddsUpAcrossInstances moves money between accounts from two pools
// (two instances of a service) at once. Every transfer reads and then writes,
// so lost updates or unretried conflicts would show in the totals.
func TestTxAddsUpAcrossInstances(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, tdb *sqltest.DB) {
		db := migrated(t, tdb)
		ctx := t.Context()
		_, err := db.ExecContext(ctx, "INSERT INTO accounts (id, owner, balance) VALUES ('a', 'A', 0), ('b', 'B', 0)")
		require.NoError(t, err)

		other, err := sqlstore.New(ctx, tdb.OpenAnother(t))
		require.NoError(t, err)
		pools := []*sqlstore.DB{db, other}

		const workers, each = 4, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				p := pools[w%2]
				for i := 0; i < each; i++ {
					errs <- p.TxWith(ctx, sqlstore.TxOptions{Isolation: sql.LevelSerializable, MaxAttempts: 50}, func(tx *sql.Tx) error {
						var a int64
						if err := tx.QueryRowContext(ctx, "SELECT balance FROM accounts WHERE id = 'a'").Scan(&a); err != nil {
							return err
						}
						if _, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = $1 WHERE id = 'a'", a+1); err != nil {
							return err
						}
						_, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance + 2 WHERE id = 'b'")
						return err
					})
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		var a, b int64
		require.NoError(t, db.QueryRowContext(ctx, "SELECT balance FROM accounts WHERE id = 'a'").Scan(&a))
		require.NoError(t, db.QueryRowContext(ctx, "SELECT balance FROM accounts WHERE id = 'b'").Scan(&b))
		assert.Equal(t, int64(workers*each), a)
		assert.Equal(t, int64(2*workers*each), b)
	})
}

func TestTxRollsBackAndPassesErrorsThrough(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, tdb *sqltest.DB) {
		db := migrated(t, tdb)
		ctx := t.Context()
		mine := errors.New("business rule")
		calls := 0
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			calls++
			if _, err := tx.ExecContext(ctx, "INSERT INTO accounts (id, owner) VALUES ('x', 'X')"); err != nil {
				return err
			}
			return mine
		})
		assert.Same(t, mine, err, "the function's own error comes back unchanged")
		assert.Equal(t, 1, calls, "a non-transient error is not retried")
		var n int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM accounts").Scan(&n))
		assert.Zero(t, n, "the insert was rolled back")

		assert.Panics(t, func() {
			_ = db.Tx(ctx, func(tx *sql.Tx) error {
				_, _ = tx.ExecContext(ctx, "INSERT INTO accounts (id, owner) VALUES ('p', 'P')")
				panic("boom")
			})
		})
		require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM accounts").Scan(&n))
		assert.Zero(t, n, "a panicking transaction is rolled back")

		ro := db.TxWith(ctx, sqlstore.TxOptions{ReadOnly: true}, func(tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM accounts").Scan(&n)
		})
		assert.NoError(t, ro)
	})
}

// TestTxGivesUpAfterMaxAttempts makes every attempt meet a transient error.
func TestTxGivesUpAfterMaxAttempts(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, tdb *sqltest.DB) {
		db := migrated(t, tdb)
		ctx := t.Context()
		busy := transientError(t, tdb)
		require.True(t, sqlstore.IsRetryable(busy), "%v", busy)
		calls := 0
		err := db.TxWith(ctx, sqlstore.TxOptions{MaxAttempts: 3}, func(tx *sql.Tx) error {
			calls++
			return busy
		})
		assert.ErrorIs(t, err, sqlstore.ErrTooManyRetries)
		assert.Equal(t, 3, calls)

		cctx, cancel := context.WithCancel(ctx)
		calls = 0
		err = db.TxWith(cctx, sqlstore.TxOptions{MaxAttempts: 5}, func(tx *sql.Tx) error {
			calls++
			cancel()
			return busy
		})
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 1, calls, "a cancelled context stops the retries")
	})
}

// transientError produces a real transient error from the engine: SQLite
// BUSY from a second pool that cannot get the write lock, or a PostgreSQL
// serialization failure from two crossing serializable transactions.
func transientError(t *testing.T, tdb *sqltest.DB) error {
	t.Helper()
	ctx := t.Context()
	if tdb.Dialect() == sqlstore.SQLite {
		holder, err := tdb.DB.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer holder.Rollback()
		_, err = holder.ExecContext(ctx, "INSERT INTO accounts (id, owner) VALUES ('lock', 'L')")
		require.NoError(t, err)
		impatient := tdb.OpenAnother(t)
		_, err = impatient.ExecContext(ctx, "PRAGMA busy_timeout = 1")
		require.NoError(t, err)
		_, err = impatient.ExecContext(ctx, "INSERT INTO accounts (id, owner) VALUES ('other', 'O')")
		require.Error(t, err)
		return err
	}
	opts := &sql.TxOptions{Isolation: sql.LevelSerializable}
	t1, err := tdb.DB.BeginTx(ctx, opts)
	require.NoError(t, err)
	defer t1.Rollback()
	t2, err := tdb.DB.BeginTx(ctx, opts)
	require.NoError(t, err)
	defer t2.Rollback()
	var n int
	require.NoError(t, t1.QueryRowContext(ctx, "SELECT COUNT(*) FROM accounts WHERE owner = 'T2'").Scan(&n))
	require.NoError(t, t2.QueryRowContext(ctx, "SELECT COUNT(*) FROM accounts WHERE owner = 'T1'").Scan(&n))
	_, err = t1.ExecContext(ctx, "INSERT INTO accounts (id, owner) VALUES ('t1', 'T1')")
	require.NoError(t, err)
	_, err = t2.ExecContext(ctx, "INSERT INTO accounts (id, owner) VALUES ('t2', 'T2')")
	require.NoError(t, err)
	require.NoError(t, t1.Commit())
	err = t2.Commit()
	require.Error(t, err)
	return err
}

func TestDialectHelpers(t *testing.T) {
	assert.Equal(t, " FOR UPDATE", sqlstore.Postgres.ForUpdate())
	assert.Equal(t, "", sqlstore.SQLite.ForUpdate())
	assert.Equal(t, "postgres", sqlstore.Postgres.String())
	assert.Equal(t, "Dialect(9)", sqlstore.Dialect(9).String())
}
