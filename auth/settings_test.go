package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/sms"
	"github.com/egovkit/egovkit/sqldb/sqlcheck"
)

// Every constructor that takes a pool refuses a SQLite pool opened without
// the documented settings, with an error that says what to change, and
// creates nothing in it.
func TestConstructorsRefuseBadlyOpenedSQLite(t *testing.T) {
	ctx := t.Context()
	plain := sqltest.PlainSQLite(t)
	key := []byte("0123456789abcdef0123456789abcdef")
	good := sqltest.SQLite(t)
	outbox := sms.NewOutbox(0)
	codes, err := auth.NewOneTimeCodes(ctx, good.DB.DB, key, outbox)
	require.NoError(t, err)

	for name, construct := range map[string]func() error{
		"NewAccounts": func() error { _, err := auth.NewAccounts(ctx, plain); return err },
		"NewClientRegistry": func() error {
			_, err := auth.NewClientRegistry(ctx, plain, "https://login.example.gr")
			return err
		},
		"NewCodeStore": func() error {
			_, err := auth.NewCodeStore(ctx, plain, "https://login.example.gr", auth.WithClock(time.Now))
			return err
		},
		"NewTOTPStore": func() error { _, err := auth.NewTOTPStore(ctx, plain, key, "gov.gr"); return err },
		"NewContactRegistry": func() error {
			_, err := auth.NewContactRegistry(ctx, plain, codes, outbox)
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := construct()
			var se *sqlcheck.SettingsError
			require.True(t, errors.As(err, &se), "%v", err)
			assert.Contains(t, err.Error(), "foreign_keys is 0")
			assert.Contains(t, err.Error(), "sqldb.Open")
			assert.Zero(t, sqltest.Tables(t, plain))
		})
	}
}
