package auth_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/kek"
	"github.com/egovkit/egovkit/sms"
)

// TestOptions: the common options go to every store; an option of one
// type given to another is refused by name, not ignored.
func TestOptions(t *testing.T) {
	ctx := t.Context()
	db := sqltest.SQLite(t).DB.DB
	outbox := sms.NewOutbox(0)
	common := []auth.Option{auth.WithLogger(zap.NewNop()), auth.WithClock(time.Now), auth.WithDBTimeout(time.Second), nil}

	_, err := auth.NewAccounts(ctx, db, append(common, auth.WithPasswordParams(auth.DefaultPasswordParams))...)
	require.NoError(t, err)
	_, err = auth.NewClientRegistry(ctx, db, "citizen", common...)
	require.NoError(t, err)
	_, err = auth.NewCodeStore(ctx, db, "citizen", common...)
	require.NoError(t, err)
	codes, err := auth.NewOneTimeCodes(ctx, db, make([]byte, 32), outbox, common...)
	require.NoError(t, err)
	_, err = auth.NewContactRegistry(ctx, db, codes, outbox, append(common, auth.WithEmail(codes, outbox))...)
	require.NoError(t, err)
	key, err := kek.Generate()
	require.NoError(t, err)
	_, err = auth.NewSigningKeys(ctx, db, "auth/citizen", key, common...)
	require.NoError(t, err)
	_, err = auth.NewTOTPStore(ctx, db, make([]byte, 32), "gov.example", common...)
	require.NoError(t, err)

	_, err = auth.NewClientRegistry(ctx, db, "citizen", auth.WithPasswordParams(auth.DefaultPasswordParams))
	assert.ErrorIs(t, err, auth.ErrOption)
	assert.ErrorIs(t, err, errkind.Invalid)
	assert.ErrorContains(t, err, "NewClientRegistry")
	assert.ErrorContains(t, err, "WithPasswordParams")
	_, err = auth.NewAccounts(ctx, db, auth.WithEmail(codes, outbox))
	assert.ErrorIs(t, err, auth.ErrOption)
	_, err = auth.NewTOTPStore(ctx, db, make([]byte, 32), "gov.example", auth.WithPasswordConcurrency(1, time.Second))
	assert.ErrorIs(t, err, auth.ErrOption)
}
