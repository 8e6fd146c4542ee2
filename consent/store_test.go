package consent_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/consent/consenttest"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

func TestMemoryStore(t *testing.T) {
	consenttest.RunStoreTests(t, func(t *testing.T) consent.Store { return consent.NewMemoryStore() })
}

func TestSQLStore(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		consenttest.RunStoreTests(t, func(t *testing.T) consent.Store {
			// Each subtest gets its own database.
			var fresh *sqltest.DB
			if db.Name() == "postgres" {
				fresh = sqltest.Postgres(t)
			} else {
				fresh = sqltest.SQLite(t)
			}
			s, err := consent.NewSQLStore(t.Context(), fresh.DB.DB)
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}
