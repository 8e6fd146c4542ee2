package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/sqldb"
	"github.com/egovkit/egovkit/sqldb/sqlcheck"
)

func settingNames(t *testing.T, err error) []string {
	t.Helper()
	var se *sqlcheck.SettingsError
	require.True(t, errors.As(err, &se), "want a *sqlcheck.SettingsError, got %v", err)
	var names []string
	for _, s := range se.Settings {
		names = append(names, s.Name)
	}
	return names
}

// A SQLite pool opened with the driver's defaults has foreign keys off, no
// busy timeout and a rollback journal: it is refused, with a message that
// says how to open it, and nothing is created in it.
func TestNewRefusesSQLiteWithoutSettings(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "plain.db")
	plain, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	t.Cleanup(func() { plain.Close() })

	db, err := sqlstore.New(ctx, plain)
	assert.Nil(t, db)
	assert.Equal(t, []string{"foreign_keys", "busy_timeout", "journal_mode"}, settingNames(t, err))
	msg := err.Error()
	assert.Contains(t, msg, "foreign_keys is 0 (want 1)")
	assert.Contains(t, msg, "journal_mode is delete (want wal)")
	assert.Contains(t, msg, "sqldb.Open")
	assert.Contains(t, msg, sqlcheck.DSNSettings)
	var n int
	require.NoError(t, plain.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master").Scan(&n))
	assert.Zero(t, n, "a refused pool is left as it was")

	// An in-memory database has no WAL; the other two settings still count.
	mem, err := sql.Open("sqlite", ":memory:")
	require.NoError(t, err)
	t.Cleanup(func() { mem.Close() })
	_, err = sqlstore.New(ctx, mem)
	assert.Equal(t, []string{"foreign_keys", "busy_timeout"}, settingNames(t, err))

	// One setting missing is named alone.
	nobusy, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	t.Cleanup(func() { nobusy.Close() })
	_, err = sqlstore.New(ctx, nobusy)
	assert.Equal(t, []string{"busy_timeout"}, settingNames(t, err))
}

// A pool whose data source name carries the documented settings passes, as
// do the opener's, file and in-memory.
func TestNewAcceptsSQLiteWithSettings(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	own, err := sql.Open("sqlite", filepath.Join(dir, "own.db")+"?"+sqlcheck.DSNSettings)
	require.NoError(t, err)
	t.Cleanup(func() { own.Close() })
	ownMem, err := sql.Open("sqlite", ":memory:?"+sqlcheck.DSNSettings)
	require.NoError(t, err)
	ownMem.SetMaxOpenConns(1)
	t.Cleanup(func() { ownMem.Close() })
	file, err := sqldb.OpenSQLite(ctx, filepath.Join(dir, "opener.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { file.Close() })
	mem, err := sqldb.Open(ctx, "sqlite::memory:", nil)
	require.NoError(t, err)
	t.Cleanup(func() { mem.Close() })
	for _, p := range []*sql.DB{own, ownMem, file, mem} {
		db, err := sqlstore.New(ctx, p)
		require.NoError(t, err)
		assert.Equal(t, sqlstore.SQLite, db.Dialect())
	}
}

// The settings are read once per pool, not on every construction: a pool
// that passed is not asked again (here its only connection is changed
// behind the check's back), while another pool is asked anew.
func TestNewChecksSettingsOncePerPool(t *testing.T) {
	ctx := context.Background()
	mem, err := sqldb.Open(ctx, "sqlite::memory:", nil)
	require.NoError(t, err)
	t.Cleanup(func() { mem.Close() })
	_, err = sqlstore.New(ctx, mem)
	require.NoError(t, err)
	_, err = mem.ExecContext(ctx, "PRAGMA foreign_keys = OFF")
	require.NoError(t, err)
	_, err = sqlstore.New(ctx, mem)
	require.NoError(t, err, "the pool passed once; it is not checked again")

	other, err := sqldb.Open(ctx, "sqlite::memory:", nil)
	require.NoError(t, err)
	t.Cleanup(func() { other.Close() })
	_, err = other.ExecContext(ctx, "PRAGMA foreign_keys = OFF")
	require.NoError(t, err)
	_, err = sqlstore.New(ctx, other)
	assert.Equal(t, []string{"foreign_keys"}, settingNames(t, err))
}

// PostgreSQL pools are taken as they are, however they were opened.
func TestNewAcceptsAnyPostgresPool(t *testing.T) {
	tdb := sqltest.Postgres(t)
	plain, err := sql.Open("pgx", tdb.URL)
	require.NoError(t, err)
	t.Cleanup(func() { plain.Close() })
	db, err := sqlstore.New(t.Context(), plain)
	require.NoError(t, err)
	assert.Equal(t, sqlstore.Postgres, db.Dialect())
}
