// Package sqlstore is the storage plumbing shared by every egovkit package that
// keeps state: dialect detection, embedded migrations, error mapping by code and
// a retrying transaction helper.
//
// It imports no database driver. The caller opens a *sql.DB with the driver of
// its choice (modernc.org/sqlite or github.com/jackc/pgx/v5/stdlib; the public
// package sqldb does that from a URL) and every package's store shares it, so
// one database and one pool serve a whole service, and an agency that imports
// a single package does not compile a driver it does not use. [New] refuses a
// SQLite pool without the settings the stores need (package sqldb/sqlcheck
// says which), once per pool.
//
// # Dialects
//
// Two engines are supported: SQLite (the embedded default) and PostgreSQL
// (several instances of a service sharing one database). [New] asks the
// database which one it is, once. Queries are written so that both accept them:
// $1 placeholders, INSERT … ON CONFLICT … DO UPDATE, RETURNING. Where the
// engines really differ, code branches on [Dialect]; queries are never rewritten
// by pattern.
//
// Conventions that keep one schema portable:
//
//   - Times are stored as BIGINT Unix microseconds (time.Time.UnixMicro and
//     time.UnixMicro), so comparisons in SQL are numeric on both engines.
//   - Binary values are BYTEA in portable migrations (SQLite accepts the name
//     and stores the bytes unchanged); TEXT, BIGINT, INTEGER and BOOLEAN
//     behave alike.
//   - Auto-generated keys and anything else engine-specific go in
//     dialect-specific migration files (see Migrations).
//
// # Migrations
//
// Each package embeds numbered files and calls [DB.Migrate] from its store
// constructor:
//
//	//go:embed migrations/*.sql
//	var migrations embed.FS
//
//	func NewSQLStore(ctx context.Context, db *sql.DB) (*SQLStore, error) {
//		sdb, err := sqlstore.New(ctx, db)
//		if err != nil {
//			return nil, err
//		}
//		if err := sdb.Migrate(ctx, "consent", migrations); err != nil {
//			return nil, err
//		}
//		return &SQLStore{db: sdb}, nil
//	}
//
// A file is named NNNN_description.sql, or NNNN_description.sqlite.sql and
// NNNN_description.postgres.sql when the two engines need different text. Each
// version runs in one transaction and is recorded in the table
// egovkit_migrations keyed by (package, version), because several packages
// share one database. Two processes starting at once against the same
// database apply each version exactly once: PostgreSQL serialises them with
// an advisory lock, SQLite with its write lock.
//
// # Errors
//
// [MapError] turns driver errors into the sentinels [ErrNotFound],
// [ErrConflict] and [ErrConstraint] by SQLSTATE or SQLite result code, never by
// message text, and keeps the original error in the chain.
//
// # Deadlines and unavailable databases
//
// Every call made through a [DB] runs under a deadline ([DefaultTimeout],
// or the one set with [DB.WithTimeout]), so a database that stops
// answering fails requests in seconds instead of holding them. A function
// run by [DB.Tx] uses the context it captured: bound it with [DB.Bound].
// SQLite waits for a held write lock for its busy timeout whatever the
// context says, so the pool's busy timeout stays below the deadline.
//
// [IsUnavailable] is the one test of "the database cannot serve now":
// refused or dropped connections, the deadline, a closed pool, SQLite busy
// beyond its timeout, a full disk or a read-only database, PostgreSQL's
// connection, resource and shutdown SQLSTATEs. It recognises errors by
// value, type and code, never by text; the handle's methods and [MapError]
// wrap them as [ErrUnavailable]. HTTP handlers answer it with 503 and
// Retry-After, never with a credential error.
//
// # Transactions
//
// [DB.Tx] runs a function in a transaction and retries it a bounded number of
// times when the engine reports a transient conflict (SQLite BUSY or LOCKED,
// PostgreSQL serialization failure or deadlock). The function must therefore
// be safe to run more than once: it should only touch the database through
// the transaction it is given.
//
// On SQLite, the writers of one process queue in arrival order: a
// read-write transaction of [DB.Tx], [DB.ExecContext] and [DB.ExecStmt]
// first pass a one-slot gate shared by every handle made from the same
// *sql.DB, under the handle's deadline, and only then ask SQLite for its
// write lock. Left to SQLite, waiting writers poll the lock from its busy
// handler, sleeping from 1 ms up to 100 ms at a time in no order, which
// under load wastes most of each sleep and can starve a writer for the
// whole busy timeout. Read-only transactions and queries do not queue.
// A function run by [DB.Tx] must therefore not write through the pool
// (rather than through its transaction): it would wait for itself until
// the deadline. [DB.QueryRowStmt] does not queue either: a statement that
// writes and returns rows runs inside [DB.Tx] or through [DB.WriteRowStmt]
// or [DB.WriteRows].
package sqlstore
