package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Dialect names a database engine.
type Dialect int

// The supported engines.
const (
	SQLite Dialect = iota + 1
	Postgres
)

// String returns "sqlite" or "postgres".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	default:
		return fmt.Sprintf("Dialect(%d)", int(d))
	}
}

// ForUpdate returns the row-locking suffix for a SELECT inside a transaction:
// " FOR UPDATE" on PostgreSQL and "" on SQLite, where a write transaction
// already holds the database's single write lock.
func (d Dialect) ForUpdate() string {
	if d == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// ErrUnsupported is returned by [New] for a database that is neither SQLite
// nor PostgreSQL.
var ErrUnsupported = errors.New("sqlstore: unsupported database engine")

// DB is a *sql.DB together with the dialect detected once at construction.
// It is safe for concurrent use.
type DB struct {
	*sql.DB
	dialect Dialect
}

// New detects the engine behind db and returns the handle packages use.
// It returns [ErrUnsupported] when the engine is neither SQLite nor
// PostgreSQL, and an error when the database cannot be reached.
func New(ctx context.Context, db *sql.DB) (*DB, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	d, err := Detect(ctx, db)
	if err != nil {
		return nil, err
	}
	return &DB{DB: db, dialect: d}, nil
}

// NewWithDialect wraps db without asking the database; the caller vouches for
// the dialect.
func NewWithDialect(db *sql.DB, d Dialect) *DB {
	return &DB{DB: db, dialect: d}
}

// Dialect returns the engine behind the handle.
func (db *DB) Dialect() Dialect { return db.dialect }

// Detect asks the database which engine it is. Only a function that exists
// in one engine is called, so a driver wrapped for tracing or pooling is
// recognised too.
func Detect(ctx context.Context, db *sql.DB) (Dialect, error) {
	if err := db.PingContext(ctx); err != nil {
		return 0, fmt.Errorf("sqlstore: connect: %w", err)
	}
	var v string
	if err := db.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&v); err == nil {
		return SQLite, nil
	}
	var n string
	if err := db.QueryRowContext(ctx, "SELECT current_setting('server_version_num')").Scan(&n); err == nil {
		return Postgres, nil
	}
	return 0, ErrUnsupported
}
