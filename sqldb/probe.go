package sqldb

import (
	"context"
	"database/sql"
	"sync/atomic"

	"github.com/egovkit/egovkit/internal/sqlstore"
)

// Probe tells whether a database can write now, not only answer: the
// readiness check of a service (its /readyz), which takes an instance out
// of rotation when its database is down, does not answer in time, has
// turned read-only (a standby, a read-only file) or is full. It is safe
// for concurrent use.
type Probe struct {
	db      *sqlstore.DB
	created atomic.Bool
}

// NewProbe returns the probe of db, any pool the packages take (opened by
// Open or elsewhere). It asks the database which engine it is, so the
// database must answer now, and refuses a SQLite pool without the
// settings the packages need (see package sqlcheck), as they do.
func NewProbe(ctx context.Context, db *sql.DB) (*Probe, error) {
	sdb, err := sqlstore.New(ctx, db)
	if err != nil {
		return nil, err
	}
	return &Probe{db: sdb}, nil
}

// Engine names the database engine: "sqlite" or "postgres".
func (p *Probe) Engine() string { return p.db.Dialect().String() }

// Check rewrites one row of the table egovkit_ready in a transaction and
// commits it, within the earlier of ctx's deadline and 5 seconds; the
// first Check creates the table when no package has yet. A nil error
// means the database took a write. Errors that mean the database cannot
// serve (refused, no answer in time, read-only, full, locked) match
// errkind.Unavailable. One small row, rewritten: cheap enough to run
// every few seconds from every instance.
func (p *Probe) Check(ctx context.Context) error {
	if !p.created.Load() {
		if err := p.db.CreateProbeTable(ctx); err != nil {
			return err
		}
		p.created.Store(true)
	}
	return p.db.ProbeWrite(ctx)
}
