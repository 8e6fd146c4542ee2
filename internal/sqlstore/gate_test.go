package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/sqldb"
)

// shortBusyPool opens a SQLite file whose busy handler gives up after
// 20 ms, so that a writer left to SQLite's own polling fails fast.
func shortBusyPool(t *testing.T) *sql.DB {
	t.Helper()
	pool, err := sqldb.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "gate.db"),
		&sqldb.Options{MaxOpenConns: 16, BusyTimeout: 20 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { pool.Close() })
	_, err = pool.ExecContext(t.Context(), "CREATE TABLE tally (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
	require.NoError(t, err)
	_, err = pool.ExecContext(t.Context(), "INSERT INTO tally (id, n) VALUES (1, 0)")
	require.NoError(t, err)
	return pool
}

// Writers of one process queue in arrival order instead of polling
// SQLite's lock: 32 writers (transactions holding the lock for 2 ms,
// statements, statements returning their rows), all get
// through although SQLite itself would let a writer wait only 20 ms. Two
// handles made from the same pool share the queue.
func TestSQLiteWritersQueue(t *testing.T) {
	pool := shortBusyPool(t)
	ctx := t.Context()
	a, err := sqlstore.New(ctx, pool)
	require.NoError(t, err)
	b, err := sqlstore.New(ctx, pool)
	require.NoError(t, err)
	c := sqlstore.NewWithDialect(pool, sqlstore.SQLite)

	inc, err := a.PrepareContext(ctx, "UPDATE tally SET n = n + 1 WHERE id = $1 RETURNING n")
	require.NoError(t, err)
	defer inc.Close()
	var none int
	require.ErrorIs(t, b.WriteRowStmt(ctx, inc, []any{2}, &none), sql.ErrNoRows, "no row written")

	const writers, rounds = 32, 4
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for w := range writers {
		h := []*sqlstore.DB{a, b, c}[w%3]
		wg.Go(func() {
			for range rounds {
				switch w % 4 {
				case 0:
					_, err := h.ExecContext(ctx, "UPDATE tally SET n = n + 1 WHERE id = 1")
					errs <- err
					continue
				case 1:
					var n int
					errs <- h.WriteRowStmt(ctx, inc, []any{1}, &n)
					continue
				case 2:
					rows := 0
					err := h.WriteRows(ctx, "UPDATE tally SET n = n + 1 WHERE id = $1 RETURNING n", []any{1},
						func(r *sql.Rows) error { rows++; var n int; return r.Scan(&n) })
					if err == nil && rows != 1 {
						err = fmt.Errorf("%d rows returned, want 1", rows)
					}
					errs <- err
					continue
				}
				errs <- h.Tx(ctx, func(tx *sql.Tx) error {
					var n int
					if err := tx.QueryRowContext(ctx, "SELECT n FROM tally WHERE id = 1").Scan(&n); err != nil {
						return err
					}
					time.Sleep(2 * time.Millisecond)
					_, err := tx.ExecContext(ctx, "UPDATE tally SET n = $1 WHERE id = 1", n+1)
					return err
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var n int
	require.NoError(t, pool.QueryRowContext(ctx, "SELECT n FROM tally WHERE id = 1").Scan(&n))
	assert.Equal(t, writers*rounds, n, "every increment counted once")
}

// A writer waiting in the queue stops at the handle's deadline with the
// database unavailable, and a read-only transaction does not queue at all.
func TestSQLiteQueueHonoursDeadline(t *testing.T) {
	pool := shortBusyPool(t)
	ctx := t.Context()
	db, err := sqlstore.New(ctx, pool)
	require.NoError(t, err)
	short := db.WithTimeout(50 * time.Millisecond)

	held := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.Tx(ctx, func(tx *sql.Tx) error {
			close(held)
			<-release
			_, err := tx.ExecContext(ctx, "UPDATE tally SET n = n + 1 WHERE id = 1")
			return err
		})
	}()
	<-held

	start := time.Now()
	_, err = short.ExecContext(ctx, "UPDATE tally SET n = n + 100 WHERE id = 1")
	require.ErrorIs(t, err, sqlstore.ErrUnavailable)
	assert.Less(t, time.Since(start), 2*time.Second)

	err = short.Tx(ctx, func(tx *sql.Tx) error { return errors.New("must not run") })
	require.ErrorIs(t, err, sqlstore.ErrUnavailable)

	var n int
	err = short.TxWith(ctx, sqlstore.TxOptions{ReadOnly: true}, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, "SELECT n FROM tally WHERE id = 1").Scan(&n)
	})
	require.NoError(t, err, "a reader does not wait for the writer")
	assert.Equal(t, 0, n)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = db.ExecContext(cctx, "UPDATE tally SET n = n + 100 WHERE id = 1")
	require.ErrorIs(t, err, context.Canceled)

	close(release)
	require.NoError(t, <-done)
	require.NoError(t, pool.QueryRowContext(ctx, "SELECT n FROM tally WHERE id = 1").Scan(&n))
	assert.Equal(t, 1, n, "the refused writes changed nothing")
}
