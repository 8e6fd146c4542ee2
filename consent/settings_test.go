package consent_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/sqldb/sqlcheck"
)

// A SQLite pool opened without the documented settings is refused with an
// error that says what to change, and nothing is created in it.
func TestNewSQLStoreRefusesBadlyOpenedSQLite(t *testing.T) {
	db := sqltest.PlainSQLite(t)
	s, err := consent.NewSQLStore(t.Context(), db)
	assert.Nil(t, s)
	var se *sqlcheck.SettingsError
	require.True(t, errors.As(err, &se), "%v", err)
	assert.Contains(t, err.Error(), "sqldb.Open")
	_, err = consent.NewSigningKeys(t.Context(), db, key)
	assert.Error(t, err)
	assert.Zero(t, sqltest.Tables(t, db))
}
