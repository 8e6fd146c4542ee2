// Package sqldb opens the *sql.DB that egovkit's packages store their state
// in, with the settings they need. It is the one package of egovkit that
// imports the database drivers (modernc.org/sqlite, pure Go, and
// github.com/jackc/pgx/v5/stdlib); the building blocks (auth, declaration,
// procedures, metrics) never import a driver or this package, so a service
// that opens its own pool compiles only the driver it chose.
//
// # Wiring
//
// One pool serves every package of a service:
//
//	db, err := sqldb.Open(ctx, "sqlite:/var/lib/agency/egovkit.db", nil)
//	// or sqldb.Open(ctx, "postgres://egovkit@db.internal/egovkit", nil)
//	// or sqldb.OpenSQLite(ctx, "/var/lib/agency/egovkit.db", nil)
//	if err != nil {
//		return err
//	}
//	defer db.Close()
//	m, err := metrics.New(ctx, metrics.Config{DB: db, Kinds: kinds})
//	reg, err := procedures.NewRegistry(ctx, db)
//
// # URLs
//
//	sqlite:PATH              a file; created with mode 0600 if missing (its directory must exist)
//	sqlite:///abs/path.db    the same with an absolute path
//	sqlite::memory:          a private in-memory database (tests, demos)
//	postgres://user@host/db  PostgreSQL through pgx (postgresql:// too);
//	                         every libpq URL parameter pgx knows is accepted
//
// Errors never include a URL's password; [Redact] removes it for logs.
//
// # SQLite settings
//
// Files are opened in WAL mode with synchronous=NORMAL, a busy timeout of
// [DefaultBusyTimeout] (below the stores' 5 s deadline, so a held lock fails
// as unavailable), foreign keys on and BEGIN IMMEDIATE for read-write
// transactions, so a transaction that reads and then writes waits for the
// single writer instead of failing. The pool allows several connections (WAL
// readers run in parallel; writers queue on SQLite's lock). An in-memory
// database lives in one connection, so its pool is limited to one connection
// that is never closed: a caller must not hold a transaction open while it
// runs another query outside it.
//
// # Opening a pool yourself
//
// A service that opens its own pool passes it to the packages the same way.
// A PostgreSQL pool needs no particular setting. A SQLite pool must give
// every connection foreign keys, a busy timeout and, for a file, WAL mode:
// with modernc.org/sqlite, append the parameters
// [github.com/egovkit/egovkit/sqldb/sqlcheck.DSNSettings] to the file name,
//
//	sql.Open("sqlite", path+"?"+sqlcheck.DSNSettings)
//
// The packages check a SQLite pool once when they are handed it, and refuse
// one opened without these settings (plain sql.Open("sqlite", path)) with a
// *sqlcheck.SettingsError that says what to change.
package sqldb
