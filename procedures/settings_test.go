package procedures_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/sqldb/sqlcheck"
)

// A SQLite pool opened without the documented settings is refused with an
// error that says what to change, and nothing is created in it.
func TestNewRegistryRefusesBadlyOpenedSQLite(t *testing.T) {
	db := sqltest.PlainSQLite(t)
	reg, err := procedures.NewRegistry(t.Context(), db)
	assert.Nil(t, reg)
	var se *sqlcheck.SettingsError
	require.True(t, errors.As(err, &se), "%v", err)
	assert.Contains(t, err.Error(), "foreign_keys is 0")
	assert.Contains(t, err.Error(), "sqldb.Open")
	assert.Zero(t, sqltest.Tables(t, db))
}
