package sqlstore

import (
	"context"
	"database/sql"
	"runtime"
	"sync"
	"weak"

	"github.com/egovkit/egovkit/sqldb/sqlcheck"
)

// checked holds the SQLite pools whose settings passed, so that a pool
// handed to several constructors is checked once. Keys are weak: an entry
// does not keep its pool alive and is removed when the pool is collected.
var checked sync.Map // weak.Pointer[sql.DB] -> struct{}

// checkSettings refuses a SQLite pool without the settings the stores need
// (see package sqlcheck), once per pool.
func checkSettings(ctx context.Context, db *sql.DB) error {
	key := weak.Make(db)
	if _, ok := checked.Load(key); ok {
		return nil
	}
	if err := sqlcheck.SQLite(ctx, db); err != nil {
		return err
	}
	if _, loaded := checked.LoadOrStore(key, struct{}{}); !loaded {
		runtime.AddCleanup(db, func(k weak.Pointer[sql.DB]) { checked.Delete(k) }, key)
	}
	return nil
}
