package sqldb_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/sqldb"
	"github.com/egovkit/egovkit/sqldb/sqlcheck"
)

func TestOpenSQLiteFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, u := range []string{
		"sqlite:" + filepath.Join(dir, "a.db"),
		"sqlite://" + filepath.Join(dir, "b.db"),
		"SQLITE:" + filepath.Join(dir, "c.db"),
	} {
		db, err := sqldb.Open(ctx, u, nil)
		require.NoError(t, err, u)
		var mode string
		require.NoError(t, db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode))
		assert.Equal(t, "wal", mode)
		var fk, busy int
		require.NoError(t, db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk))
		require.NoError(t, db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy))
		assert.Equal(t, 1, fk)
		assert.Equal(t, 4000, busy)
		d, err := sqlstore.Detect(ctx, db)
		require.NoError(t, err)
		assert.Equal(t, sqlstore.SQLite, d)
		require.NoError(t, db.Close())
	}
	fi, err := os.Stat(filepath.Join(dir, "a.db"))
	require.NoError(t, err, "the file was created")
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "readable by its owner only")
	live, err := sqldb.Open(ctx, "sqlite:"+filepath.Join(dir, "live.db"), nil)
	require.NoError(t, err)
	_, err = live.ExecContext(ctx, "CREATE TABLE t (a INTEGER)")
	require.NoError(t, err)
	for _, side := range []string{"live.db-wal", "live.db-shm"} {
		fi, err := os.Stat(filepath.Join(dir, side))
		require.NoError(t, err, side)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), side)
	}
	require.NoError(t, live.Close())

	// An existing file keeps the mode its owner gave it.
	shared := filepath.Join(dir, "shared.db")
	require.NoError(t, os.WriteFile(shared, nil, 0o640))
	db, err := sqldb.Open(ctx, "sqlite:"+shared, nil)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	fi, err = os.Stat(shared)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
}

func TestOpenSQLiteMemoryKeepsData(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite::memory:", nil)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.ExecContext(ctx, "CREATE TABLE t (a INTEGER)")
	require.NoError(t, err)
	// Queries from several goroutines share the single connection, so
	// they all see the same database.
	done := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			_, err := db.ExecContext(ctx, "INSERT INTO t (a) VALUES (1)")
			done <- err
		}()
	}
	for i := 0; i < 4; i++ {
		require.NoError(t, <-done)
	}
	var n int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n))
	assert.Equal(t, 4, n)
}

func TestOpenRejectsBadURLs(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(notDir, []byte("x"), 0o600))
	tests := []struct {
		url  string
		want error
	}{
		{"", sqldb.ErrBadURL},
		{"just-a-path.db", sqldb.ErrBadURL},
		{":memory:", sqldb.ErrBadURL},
		{"mysql://root@localhost/db", sqldb.ErrUnknownScheme},
		{"file:test.db", sqldb.ErrUnknownScheme},
		{"sqlite:", sqldb.ErrBadURL},
		{"sqlite:memory:", sqldb.ErrBadURL},
		{"sqlite::memory", sqldb.ErrBadURL},
		{"sqlite://host/file.db", sqldb.ErrBadURL},
		{"sqlite:" + filepath.Join(dir, "x.db") + "?_pragma=journal_mode(OFF)", sqldb.ErrBadURL},
		{"sqlite:" + filepath.Join(dir, "missing", "x.db"), sqldb.ErrBadURL},
		{"sqlite:" + filepath.Join(notDir, "x.db"), sqldb.ErrBadURL},
		{"postgres://user:secret@[::1/db", sqldb.ErrBadURL},
		{"postgres://user:secret@127.0.0.1:5432/db?sslmode=bogus", sqldb.ErrBadURL},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			db, err := sqldb.Open(context.Background(), tt.url, nil)
			assert.Nil(t, db)
			require.ErrorIs(t, err, tt.want)
			assert.NotContains(t, err.Error(), "secret", "passwords never appear in errors")
		})
	}
}

func TestOpenPostgresUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5e9)
	defer cancel()
	// Port 1 on loopback refuses at once.
	db, err := sqldb.Open(ctx, "postgres://user:secret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", nil)
	assert.Nil(t, db)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret")
	assert.Contains(t, err.Error(), "xxxxx")
}

func TestOpenPostgres(t *testing.T) {
	tdb := sqltest.Postgres(t)
	d, err := sqlstore.Detect(context.Background(), tdb.DB.DB)
	require.NoError(t, err)
	assert.Equal(t, sqlstore.Postgres, d)
}

func TestRedact(t *testing.T) {
	assert.Equal(t, "postgres://u:xxxxx@h/db", sqldb.Redact("postgres://u:pw@h/db"))
	assert.Equal(t, "postgres://u@h/db", sqldb.Redact("postgres://u@h/db"))
	assert.Equal(t, "postgres://h/db?password=xxxxx", sqldb.Redact("postgres://h/db?password=pw"))
	assert.Equal(t, "postgres:…", sqldb.Redact("postgres://u:pw@[::1/db"))
}

// Every pool the opener makes has the settings the stores check, and
// OpenSQLite opens a path as Open opens "sqlite:"+path.
func TestOpenedPoolsPassTheCheck(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	byURL, err := sqldb.Open(ctx, "sqlite:"+filepath.Join(dir, "url.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { byURL.Close() })
	byPath, err := sqldb.OpenSQLite(ctx, filepath.Join(dir, "path.db"), &sqldb.Options{BusyTimeout: time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { byPath.Close() })
	mem, err := sqldb.OpenSQLite(ctx, ":memory:", nil)
	require.NoError(t, err)
	t.Cleanup(func() { mem.Close() })
	for _, db := range []*sql.DB{byURL, byPath, mem} {
		require.NoError(t, sqlcheck.SQLite(ctx, db))
	}
	var busy int
	require.NoError(t, byPath.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy))
	assert.Equal(t, 1000, busy)
	assert.Equal(t, 1, mem.Stats().MaxOpenConnections, "an in-memory database lives in one connection")

	for _, bad := range []string{"", filepath.Join(dir, "missing", "x.db"), filepath.Join(dir, "x.db?_pragma=foreign_keys(0)")} {
		db, err := sqldb.OpenSQLite(ctx, bad, nil)
		assert.Nil(t, db)
		assert.ErrorIs(t, err, sqldb.ErrBadURL, bad)
	}
}
