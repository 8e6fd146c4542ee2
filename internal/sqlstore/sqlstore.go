package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
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

// DB is a *sql.DB together with the dialect detected once at construction
// and the deadline of every call. It is safe for concurrent use.
//
// The methods ExecContext, QueryContext, QueryRowContext, PrepareContext,
// PingContext and BeginTx shadow those of *sql.DB: each runs under the
// earlier of the caller's deadline and now plus [DB.Timeout], so a database
// that stops answering fails the call in bounded time instead of holding
// it. Errors that mean the database is unavailable come back as
// [ErrUnavailable] (see [IsUnavailable]). Rows read after QueryContext
// returns stay under the same deadline.
type DB struct {
	*sql.DB
	dialect Dialect
	timeout time.Duration
	// gate queues the pool's writers on SQLite (see writeGate); nil on
	// PostgreSQL, whose writers wait on row locks instead.
	gate writeGate
}

// New detects the engine behind db and returns the handle packages use.
// It returns [ErrUnsupported] when the engine is neither SQLite nor
// PostgreSQL, and an error when the database cannot be reached.
//
// A SQLite pool opened without foreign keys, a busy timeout or (for a file)
// WAL mode is refused with a
// [*github.com/egovkit/egovkit/sqldb/sqlcheck.SettingsError] that says what
// to change. The settings are read once per pool, however many packages it
// is handed to.
func New(ctx context.Context, db *sql.DB) (*DB, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	d, err := Detect(ctx, db)
	if err != nil {
		return nil, err
	}
	var gate writeGate
	if d == SQLite {
		if gate, err = checkSettings(ctx, db); err != nil {
			return nil, err
		}
	}
	return &DB{DB: db, dialect: d, timeout: DefaultTimeout, gate: gate}, nil
}

// NewWithDialect wraps db without asking the database; the caller vouches for
// the dialect.
func NewWithDialect(db *sql.DB, d Dialect) *DB {
	var gate writeGate
	if d == SQLite {
		gate = gateFor(db)
	}
	return &DB{DB: db, dialect: d, timeout: DefaultTimeout, gate: gate}
}

// Dialect returns the engine behind the handle.
func (db *DB) Dialect() Dialect { return db.dialect }

// WithTimeout returns a handle on the same pool whose calls are bounded by
// d; zero or less means [DefaultTimeout]. Packages keep their own handle,
// so each can have its own deadline over one shared pool.
func (db *DB) WithTimeout(d time.Duration) *DB {
	if d <= 0 {
		d = DefaultTimeout
	}
	cp := *db
	cp.timeout = d
	return &cp
}

// Timeout returns the bound of every call made through the handle.
func (db *DB) Timeout() time.Duration {
	if db.timeout <= 0 {
		return DefaultTimeout
	}
	return db.timeout
}

// errDeadline is the cause of a context ended by the handle's own deadline.
var errDeadline = fmt.Errorf("%w: no answer within the deadline", ErrUnavailable)

// Bound returns ctx limited to the handle's timeout from now (or to ctx's
// own deadline when that comes first). Statements a function runs inside
// [DB.Tx] use the context the caller captured, so callers bound it:
//
//	ctx, cancel := db.Bound(ctx)
//	defer cancel()
//	err := db.Tx(ctx, func(tx *sql.Tx) error { … tx.ExecContext(ctx, …) … })
func (db *DB) Bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, db.Timeout(), errDeadline)
}

// fail maps an error of a bounded call: what the handle's own deadline
// caused (the context's error, a transaction it rolled back) and the
// errors for which IsUnavailable holds become ErrUnavailable. An error of
// the caller's own, returned from a transaction, is left alone.
func fail(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	if ctx.Err() != nil && errors.Is(context.Cause(ctx), errDeadline) &&
		(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, sql.ErrTxDone)) {
		return &Error{Kind: ErrUnavailable, Err: err}
	}
	return unavailable(err)
}

// ExecContext runs a statement under the handle's deadline.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, cancel := db.Bound(ctx)
	defer cancel()
	if err := db.gate.enter(ctx); err != nil {
		return nil, fail(ctx, err)
	}
	defer db.gate.leave()
	res, err := db.DB.ExecContext(ctx, query, args...)
	return res, fail(ctx, err)
}

// QueryContext runs a query under the handle's deadline. The deadline also
// bounds reading the rows: database/sql closes them when it passes. Its
// timer is released when it fires or when ctx ends.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx, cancel := db.Bound(ctx)
	rows, err := db.DB.QueryContext(ctx, query, args...)
	if err != nil {
		cancel()
		return nil, fail(ctx, err)
	}
	return rows, nil
}

// QueryRowContext runs a query that returns at most one row under the
// handle's deadline, which also bounds its Scan. Scan returns
// database/sql's errors unchanged; [IsUnavailable] recognises them.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx, _ = db.Bound(ctx) // released when it fires; Scan needs it until then
	return db.DB.QueryRowContext(ctx, query, args...)
}

// PrepareContext prepares a statement under the handle's deadline. The
// statement's own calls take the context they are given.
func (db *DB) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	ctx, cancel := db.Bound(ctx)
	defer cancel()
	st, err := db.DB.PrepareContext(ctx, query)
	return st, fail(ctx, err)
}

// ExecStmt runs a statement prepared with [DB.PrepareContext] under the
// handle's deadline, its errors mapped as [DB.ExecContext] maps them.
// Preparing once the statements a hot path runs saves parsing the SQL on
// every call: on SQLite that costs about as much as running it.
func (db *DB) ExecStmt(ctx context.Context, st *sql.Stmt, args ...any) (sql.Result, error) {
	ctx, cancel := db.Bound(ctx)
	defer cancel()
	if err := db.gate.enter(ctx); err != nil {
		return nil, fail(ctx, err)
	}
	defer db.gate.leave()
	res, err := st.ExecContext(ctx, args...)
	return res, fail(ctx, err)
}

// QueryRowStmt runs a prepared statement that returns at most one row under
// the handle's deadline, which also bounds its Scan, as
// [DB.QueryRowContext] does.
func (db *DB) QueryRowStmt(ctx context.Context, st *sql.Stmt, args ...any) *sql.Row {
	ctx, _ = db.Bound(ctx) // released when it fires; Scan needs it until then
	return st.QueryRowContext(ctx, args...)
}

// WriteRowStmt runs a prepared statement that writes and returns at most
// one row (UPDATE … RETURNING, say) outside a transaction, and scans the
// row into dest. On SQLite it waits in the writers' queue first, as
// [DB.ExecStmt] does, which [DB.QueryRowStmt] cannot: its row is scanned
// after it returns. It returns sql.ErrNoRows when no row was written, and
// maps errors as [DB.ExecContext] does.
func (db *DB) WriteRowStmt(ctx context.Context, st *sql.Stmt, args []any, dest ...any) error {
	ctx, cancel := db.Bound(ctx)
	defer cancel()
	if err := db.gate.enter(ctx); err != nil {
		return fail(ctx, err)
	}
	defer db.gate.leave()
	err := st.QueryRowContext(ctx, args...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return fail(ctx, err)
}

// WriteRows runs a statement that writes and returns rows (INSERT …
// RETURNING, say) outside a transaction, calling scan for each row. On
// SQLite it waits in the writers' queue first and holds its place until
// the rows are read. Errors are mapped as [DB.ExecContext] maps them; an
// error scan returns is passed back unchanged.
func (db *DB) WriteRows(ctx context.Context, query string, args []any, scan func(*sql.Rows) error) error {
	ctx, cancel := db.Bound(ctx)
	defer cancel()
	if err := db.gate.enter(ctx); err != nil {
		return fail(ctx, err)
	}
	defer db.gate.leave()
	rows, err := db.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return fail(ctx, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return fail(ctx, rows.Err())
}

// PingContext checks the database answers within the handle's deadline.
func (db *DB) PingContext(ctx context.Context) error {
	ctx, cancel := db.Bound(ctx)
	defer cancel()
	return fail(ctx, db.DB.PingContext(ctx))
}

// BeginTx starts a transaction that is rolled back when the handle's
// deadline passes; on PostgreSQL its commit is bounded by the same
// deadline. Prefer [DB.Tx], which also retries transient conflicts.
func (db *DB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	ctx, _ = db.Bound(ctx) // released when it fires; the transaction needs it until then
	tx, err := db.DB.BeginTx(ctx, opts)
	return tx, fail(ctx, err)
}

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
