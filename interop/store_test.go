package interop_test

import (
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/interoptest"
)

func TestSQLStore(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		first := true
		interoptest.RunStoreTests(t, func(t *testing.T) interop.Store {
			if first {
				first = false
				return sqlStore(t, db.DB.DB)
			}
			// Each subtest gets an empty database of its own.
			var fresh *sqltest.DB
			if db.Name() == "sqlite" {
				fresh = sqltest.SQLite(t)
			} else {
				fresh = sqltest.Postgres(t)
			}
			return sqlStore(t, fresh.DB.DB)
		})
	})
}

func TestMemoryStore(t *testing.T) {
	interoptest.RunStoreTests(t, func(t *testing.T) interop.Store {
		st, err := interop.NewMemoryStore()
		require.NoError(t, err)
		return st
	})
}

func TestStoreOptions(t *testing.T) {
	_, err := interop.NewMemoryStore(interop.WithDBTimeout(1))
	assert.ErrorIs(t, err, interop.ErrOption)
	db := sqltest.SQLite(t)
	_, err = interop.NewSQLStore(t.Context(), db.DB.DB, interop.WithLogger(nil), interop.WithClock(nil), interop.WithDBTimeout(0))
	assert.NoError(t, err)
}

// TestSQLStoreRefusesPlainSQLite: a pool without the settings the stores
// need is refused, and left without tables.
func TestSQLStoreRefusesPlainSQLite(t *testing.T) {
	db := sqltest.PlainSQLite(t)
	_, err := interop.NewSQLStore(t.Context(), db)
	require.Error(t, err)
	assert.Zero(t, sqltest.Tables(t, db))
}

// TestSQLStoreTwice: a second store on the same database (another
// instance, or a restart) finds the registry as it was.
func TestSQLStoreTwice(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		a := sqlStore(t, db.DB.DB)
		_, err := a.CreateService(t.Context(), interoptest.Service("kept"))
		require.NoError(t, err)
		b := sqlStore(t, db.OpenAnother(t))
		list, err := b.Services(t.Context())
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, "kept", list[0].ID.Service)
	})
}

func sqlStore(t *testing.T, db *sql.DB) *interop.SQLStore {
	t.Helper()
	st, err := interop.NewSQLStore(t.Context(), db)
	require.NoError(t, err)
	return st
}
