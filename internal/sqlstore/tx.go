package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// TxOptions tunes [DB.TxWith].
type TxOptions struct {
	// Isolation is passed to PostgreSQL; SQLite transactions are always
	// serializable and ignore it. The zero value is the engine's default
	// (READ COMMITTED on PostgreSQL).
	Isolation sql.IsolationLevel
	// ReadOnly starts a read-only transaction. On SQLite it does not take
	// the write lock, so readers never wait for writers.
	ReadOnly bool
	// MaxAttempts bounds how often the function runs when the engine
	// reports a transient conflict. Zero means 8.
	MaxAttempts int
}

// ErrTooManyRetries is wrapped (with the last transient error) when a
// transaction kept meeting conflicts for all its attempts.
var ErrTooManyRetries = errors.New("sqlstore: transaction retried too often")

// Tx runs fn in a read-write transaction with the engine's default
// isolation, commits when fn returns nil and rolls back otherwise. See
// [DB.TxWith] for retries.
func (db *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.TxWith(ctx, TxOptions{}, fn)
}

// TxWith runs fn in a transaction. When fn or the commit fails with an error
// for which [IsRetryable] holds, the transaction is rolled back and fn runs
// again after a short randomised back-off, at most opts.MaxAttempts times in
// all. fn must touch the database only through tx and keep no state of its
// own between attempts. An error fn returns is passed back unchanged, so
// callers may return their own sentinels from it; an error that means the
// database is unavailable is wrapped so that errors.Is(err, ErrUnavailable)
// holds.
//
// All attempts together run under the handle's deadline ([DB.Timeout]):
// the transaction is rolled back when it passes. Statements fn runs use the
// context fn captured; bound it with [DB.Bound] so that they stop at the
// same deadline.
func (db *DB) TxWith(ctx context.Context, opts TxOptions, fn func(tx *sql.Tx) error) error {
	ctx, cancel := db.Bound(ctx)
	defer cancel()
	return fail(ctx, db.txWith(ctx, opts, fn))
}

func (db *DB) txWith(ctx context.Context, opts TxOptions, fn func(tx *sql.Tx) error) error {
	attempts := opts.MaxAttempts
	if attempts <= 0 {
		attempts = 8
	}
	sopts := &sql.TxOptions{Isolation: opts.Isolation, ReadOnly: opts.ReadOnly}
	if db.dialect == SQLite {
		sopts.Isolation = sql.LevelDefault
	}
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			if err := backoff(ctx, i); err != nil {
				return fmt.Errorf("sqlstore: transaction: %w (after %v)", err, last)
			}
		}
		err := db.runOnce(ctx, sopts, fn)
		if err == nil || !IsRetryable(err) {
			return err
		}
		last = err
	}
	return fmt.Errorf("%w: %d attempts: %w", ErrTooManyRetries, attempts, last)
}

func (db *DB) runOnce(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) (err error) {
	if !opts.ReadOnly {
		if err := db.gate.enter(ctx); err != nil {
			return err
		}
		defer db.gate.leave()
	}
	tx, err := db.DB.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// backoff waits between 1 and 2 times 2ms·2^(attempt-1), capped at 200ms,
// or until ctx ends.
func backoff(ctx context.Context, attempt int) error {
	d := 2 * time.Millisecond << (attempt - 1)
	if d > 200*time.Millisecond || d <= 0 {
		d = 200 * time.Millisecond
	}
	d += rand.N(d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
