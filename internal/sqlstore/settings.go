package sqlstore

import (
	"context"
	"database/sql"
	"runtime"
	"sync"
	"weak"

	"github.com/egovkit/egovkit/sqldb/sqlcheck"
)

// pools holds, for each SQLite pool whose settings passed, the gate its
// writers queue at, so that a pool handed to several constructors is
// checked once and all its handles share one queue. Keys are weak: an
// entry does not keep its pool alive and is removed when the pool is
// collected.
var pools sync.Map // weak.Pointer[sql.DB] -> writeGate

// checkSettings refuses a SQLite pool without the settings the stores need
// (see package sqlcheck), once per pool, and returns the pool's gate.
func checkSettings(ctx context.Context, db *sql.DB) (writeGate, error) {
	if g, ok := pools.Load(weak.Make(db)); ok {
		return g.(writeGate), nil
	}
	if err := sqlcheck.SQLite(ctx, db); err != nil {
		return nil, err
	}
	return gateFor(db), nil
}

// gateFor returns the gate of a SQLite pool, made on first use.
func gateFor(db *sql.DB) writeGate {
	key := weak.Make(db)
	if g, ok := pools.Load(key); ok {
		return g.(writeGate)
	}
	g, loaded := pools.LoadOrStore(key, make(writeGate, 1))
	if !loaded {
		runtime.AddCleanup(db, func(k weak.Pointer[sql.DB]) { pools.Delete(k) }, key)
	}
	return g.(writeGate)
}

// writeGate lets one writer of a process into a SQLite database at a time.
//
// SQLite admits one writer per file; the others wait in its busy handler,
// which polls by sleeping from 1 ms up to 100 ms at a time, in no order.
// Under many concurrent writers that wastes most of each sleep and lets an
// unlucky writer wait for the whole busy timeout while later ones pass.
// Queueing at a channel first gives writers the lock in arrival order as
// soon as it is free; the busy handler is left to arbitrate between
// processes sharing the file.
type writeGate chan struct{}

// enter waits for the gate or for ctx to end.
func (g writeGate) enter(ctx context.Context) error {
	if g == nil {
		return nil
	}
	select {
	case g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// leave opens the gate for the next writer.
func (g writeGate) leave() {
	if g != nil {
		<-g
	}
}
