package metrics_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/metrics"
	"github.com/egovkit/egovkit/sqldb/sqlcheck"
)

// A SQLite pool opened without the documented settings is refused with an
// error that says what to change, and nothing is created in it.
func TestNewRefusesBadlyOpenedSQLite(t *testing.T) {
	db := sqltest.PlainSQLite(t)
	m, err := metrics.New(t.Context(), metrics.Config{DB: db,
		Kinds: []metrics.Kind{{Name: metrics.KindDeclaration, Labels: []string{"agency"}}}})
	assert.Nil(t, m)
	var se *sqlcheck.SettingsError
	require.True(t, errors.As(err, &se), "%v", err)
	assert.Contains(t, err.Error(), "foreign_keys is 0")
	assert.Contains(t, err.Error(), "sqldb.Open")
	assert.Zero(t, sqltest.Tables(t, db))
}
