package kek_test

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/kek"
)

func TestSizeIsTheKeysSize(t *testing.T) {
	assert.Equal(t, keys.KEKSize, kek.Size)
}

func TestParseReadsEveryWrittenForm(t *testing.T) {
	key, err := kek.Generate()
	require.NoError(t, err)
	require.Len(t, key, kek.Size)
	for name, s := range map[string]string{
		"encoded":         kek.Encode(key),
		"with newline":    " " + kek.Encode(key) + "\n",
		"hex":             hex.EncodeToString(key),
		"url-safe":        base64.URLEncoding.EncodeToString(key),
		"without padding": base64.RawStdEncoding.EncodeToString(key),
	} {
		got, err := kek.Parse(s)
		require.NoError(t, err, name)
		assert.Equal(t, key, got, name)
	}
	other, err := kek.Generate()
	require.NoError(t, err)
	assert.NotEqual(t, key, other, "two keys generated alike")
}

func TestParseRefusesWhatIsNotAKey(t *testing.T) {
	for _, s := range []string{"", "short", base64.StdEncoding.EncodeToString(make([]byte, 16)),
		hex.EncodeToString(make([]byte, 33)), "zz" + hex.EncodeToString(make([]byte, 31))} {
		key, err := kek.Parse(s)
		assert.Nil(t, key, "%q", s)
		assert.ErrorIs(t, err, kek.ErrInvalid, "%q", s)
		assert.ErrorIs(t, err, errkind.Invalid, "%q", s)
	}
}

func TestErrorsMatchOneKind(t *testing.T) {
	for err, kind := range map[error]error{kek.ErrInvalid: errkind.Invalid, kek.ErrMismatch: errkind.Unauthorized} {
		for _, k := range []error{errkind.NotFound, errkind.Conflict, errkind.Invalid, errkind.Forbidden, errkind.Unauthorized, errkind.Unavailable} {
			assert.Equal(t, k == kind, errors.Is(err, k), "%v is %v", err, k)
		}
	}
}

func TestCheck(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		key, err := kek.Generate()
		require.NoError(t, err)
		require.NoError(t, kek.Check(ctx, db.DB.DB, key), "a database without keys passes")
		_, err = keys.New(ctx, db.DB.DB, "declaration", key)
		require.NoError(t, err)
		require.NoError(t, kek.Check(ctx, db.DB.DB, key))

		other, err := kek.Generate()
		require.NoError(t, err)
		err = kek.Check(ctx, db.DB.DB, other)
		assert.ErrorIs(t, err, kek.ErrMismatch)
		assert.ErrorIs(t, err, errkind.Unauthorized)
		assert.Contains(t, err.Error(), `"declaration"`, "the error names the set")
		_, err = keys.New(ctx, db.DB.DB, "declaration", other)
		assert.ErrorIs(t, err, kek.ErrMismatch, "the packages' key sets fail with the same error")
		require.NoError(t, kek.Check(ctx, db.DB.DB, key), "nothing was changed")

		assert.ErrorIs(t, kek.Check(ctx, db.DB.DB, key[:16]), kek.ErrInvalid)
	})
}
