package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// readyTable holds the one row [DB.ProbeWrite] rewrites. [DB.Migrate]
// creates it with the migrations table.
const readyTable = `CREATE TABLE IF NOT EXISTS egovkit_ready (
	id         INTEGER PRIMARY KEY,
	checked_at BIGINT NOT NULL
)`

// CreateProbeTable creates the table [DB.ProbeWrite] writes, when it is
// missing: for a probe of a database no package has migrated yet.
func (db *DB) CreateProbeTable(ctx context.Context) error {
	if _, err := db.ExecContext(ctx, readyTable); err != nil {
		return fmt.Errorf("sqlstore: create probe table: %w", err)
	}
	return nil
}

// ProbeWrite checks that the database can write now, not only answer: in
// one transaction under the handle's deadline it rewrites a single row of
// the table egovkit_ready and commits, so that a read-only database (a
// standby, default_transaction_read_only, a read-only file), a full disk or
// a held write lock fails it. Its errors satisfy errors.Is(err,
// ErrUnavailable) when they mean the database cannot serve. Readiness
// checks call it; it writes one small row, so it is cheap to call every
// few seconds from several instances.
func (db *DB) ProbeWrite(ctx context.Context) error {
	ctx, cancel := db.Bound(ctx)
	defer cancel()
	now := time.Now().UnixMicro()
	err := db.TxWith(ctx, TxOptions{MaxAttempts: 1}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO egovkit_ready (id, checked_at) VALUES (1, $1)
			 ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: write probe: %w", err)
	}
	return nil
}
