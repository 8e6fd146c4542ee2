// Package sqltest hands tests a fresh database on every engine egovkit
// supports, so that one line runs a store's conformance suite on SQLite and
// on PostgreSQL:
//
//	func TestStore(t *testing.T) {
//		sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
//			store, err := NewSQLStore(t.Context(), db.DB.DB)
//			...
//		})
//	}
//
// SQLite always runs, on a file in the test's temporary directory.
// PostgreSQL runs when EGOVKIT_TEST_POSTGRES_DSN holds a URL such as
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable; each test gets a
// schema of its own that is dropped when the test ends. When
// EGOVKIT_TEST_POSTGRES_REQUIRED is set (as in CI), a missing DSN fails the
// test instead of skipping it.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/sqldb"
	"github.com/egovkit/egovkit/sqldb/sqlcheck"
)

// Environment variables read by this package.
const (
	EnvPostgresDSN      = "EGOVKIT_TEST_POSTGRES_DSN"
	EnvPostgresRequired = "EGOVKIT_TEST_POSTGRES_REQUIRED"
)

// DB is a fresh, empty database for one test.
type DB struct {
	*sqlstore.DB
	// URL opens another, independent pool on the same database, as a second
	// process would.
	URL string
}

// Name names the engine: "sqlite" or "postgres".
func (d *DB) Name() string { return d.Dialect().String() }

// OpenAnother opens an independent pool on the same database, closed when
// the test ends. Two stores built on two pools behave like two instances of
// a service.
func (d *DB) OpenAnother(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), d.URL, &sqldb.Options{MaxOpenConns: 8})
	if err != nil {
		t.Fatalf("sqltest: open another pool: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// OpenReadOnly opens a pool on the same database that answers but cannot
// write, as a standby or a read-only file does: SQLite opened with
// mode=ro (and the settings the stores check), PostgreSQL with
// default_transaction_read_only. It is closed when the test ends.
func (d *DB) OpenReadOnly(t testing.TB) *sql.DB {
	t.Helper()
	var (
		db  *sql.DB
		err error
	)
	if d.Dialect() == sqlstore.SQLite {
		db, err = sql.Open("sqlite", "file:"+strings.TrimPrefix(d.URL, "sqlite:")+"?mode=ro&"+sqlcheck.DSNSettings)
	} else {
		db, err = sql.Open("pgx", d.URL+"&default_transaction_read_only=on")
	}
	if err != nil {
		t.Fatalf("sqltest: open read-only pool: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Run runs fn once per available engine as subtests named "sqlite" and
// "postgres", each with a fresh database.
func Run(t *testing.T, fn func(t *testing.T, db *DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite returns a fresh SQLite database in a file under t.TempDir().
func SQLite(t testing.TB) *DB {
	t.Helper()
	u := "sqlite:" + filepath.Join(t.TempDir(), "test.db")
	db, err := sqldb.Open(context.Background(), u, nil)
	if err != nil {
		t.Fatalf("sqltest: open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return &DB{DB: sqlstore.NewWithDialect(db, sqlstore.SQLite), URL: u}
}

// PlainSQLite returns a pool on a fresh SQLite file opened with the driver's
// defaults, sql.Open("sqlite", path), as a service that ignores the
// documented settings would: foreign keys off, no busy timeout, a rollback
// journal. Stores must refuse it. It is closed when the test ends.
func PlainSQLite(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "plain.db"))
	if err != nil {
		t.Fatalf("sqltest: open plain sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Tables returns the number of tables, indexes and other objects in a SQLite
// database, to show that a refused pool was left untouched.
func Tables(t testing.TB, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM sqlite_master").Scan(&n); err != nil {
		t.Fatalf("sqltest: count tables: %v", err)
	}
	return n
}

var admin struct {
	once sync.Once
	db   *sql.DB
	err  error
}

// Postgres returns a fresh PostgreSQL schema, reached through a pool whose
// search_path points at it. It skips the test when EGOVKIT_TEST_POSTGRES_DSN
// is unset (and fails it when EGOVKIT_TEST_POSTGRES_REQUIRED is set).
func Postgres(t testing.TB) *DB {
	t.Helper()
	dsn := os.Getenv(EnvPostgresDSN)
	if dsn == "" {
		if os.Getenv(EnvPostgresRequired) != "" {
			t.Fatalf("sqltest: %s is set but %s is empty", EnvPostgresRequired, EnvPostgresDSN)
		}
		t.Skipf("PostgreSQL tests skipped: set %s to run them", EnvPostgresDSN)
	}
	ctx := context.Background()
	admin.once.Do(func() {
		admin.db, admin.err = sqldb.Open(ctx, dsn, &sqldb.Options{MaxOpenConns: 2})
	})
	if admin.err != nil {
		t.Fatalf("sqltest: connect to PostgreSQL: %v", admin.err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "egovkit_test_" + hex.EncodeToString(b[:])
	if _, err := admin.db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("sqltest: create schema: %v", err)
	}
	u, err := withSearchPath(dsn, schema)
	if err != nil {
		t.Fatalf("sqltest: %v", err)
	}
	db, err := sqldb.Open(ctx, u, &sqldb.Options{MaxOpenConns: 10})
	if err != nil {
		t.Fatalf("sqltest: open schema pool: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.db.ExecContext(cctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("sqltest: drop schema %s: %v", schema, err)
		}
	})
	return &DB{DB: sqlstore.NewWithDialect(db, sqlstore.Postgres), URL: u}
}

// withSearchPath adds search_path to the URL; pgx sends unknown parameters to
// the server as run-time settings.
func withSearchPath(dsn, schema string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("%s must be a postgres:// URL", EnvPostgresDSN)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Dump returns every row the query selects, one string a row, each value
// formatted with %v (byte slices as text and as hex, so a test can search
// for a secret in either form). Tests use it to prove that bad input stored
// nothing (compare dumps before and after) and that no personal data is kept
// in clear.
func (d *DB) Dump(t testing.TB, query string, args ...any) []string {
	t.Helper()
	rows, err := d.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("sqltest: dump %q: %v", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatalf("sqltest: dump %q: %v", query, err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("sqltest: dump %q: %v", query, err)
		}
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteString(" | ")
			}
			if raw, ok := v.([]byte); ok {
				fmt.Fprintf(&b, "%s (%x)", raw, raw)
				continue
			}
			fmt.Fprintf(&b, "%v", v)
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("sqltest: dump %q: %v", query, err)
	}
	return out
}
