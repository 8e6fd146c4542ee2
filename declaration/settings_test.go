package declaration_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/sqldb/sqlcheck"
)

// Every constructor that takes a pool refuses a SQLite pool opened without
// the documented settings, with an error that says what to change, and
// creates nothing in it.
func TestConstructorsRefuseBadlyOpenedSQLite(t *testing.T) {
	ctx := t.Context()
	plain := sqltest.PlainSQLite(t)
	refused := func(t *testing.T, err error) {
		t.Helper()
		var se *sqlcheck.SettingsError
		require.True(t, errors.As(err, &se), "%v", err)
		assert.Contains(t, err.Error(), "foreign_keys is 0")
		assert.Contains(t, err.Error(), "sqldb.Open")
		assert.Zero(t, sqltest.Tables(t, plain))
	}
	kek, err := keys.GenerateKEK()
	require.NoError(t, err)

	t.Run("NewSigningKeys", func(t *testing.T) {
		_, err := declaration.NewSigningKeys(ctx, plain, kek, declaration.ES256)
		refused(t, err)
	})
	t.Run("New", func(t *testing.T) {
		good := sqltest.SQLite(t)
		ks, err := declaration.NewSigningKeys(ctx, good.DB.DB, kek, declaration.ES256)
		require.NoError(t, err)
		svc, err := declaration.New(ctx, declaration.Config{DB: plain, Issuer: "gov.gr",
			BaseURL: "https://docs.example.gr", Keys: ks, CodeSecret: secret, SMS: otp.NewOutbox(0)})
		assert.Nil(t, svc)
		refused(t, err)
	})
	t.Run("NewBook", func(t *testing.T) {
		b, err := declaration.NewBook(ctx, declaration.BookConfig{DB: plain, Issuer: "gov.gr"})
		assert.Nil(t, b)
		refused(t, err)
	})
}
