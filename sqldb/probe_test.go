package sqldb_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/sqldb"
	"github.com/egovkit/egovkit/sqldb/sqlcheck"
)

// The probe passes on a database no package has migrated (it creates its
// table), and fails as unavailable on one that answers but cannot write
// and on one that does not answer in time.
func TestProbe(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, tdb *sqltest.DB) {
		ctx := t.Context()
		p, err := sqldb.NewProbe(ctx, tdb.DB.DB)
		require.NoError(t, err)
		assert.Equal(t, tdb.Name(), p.Engine())
		require.NoError(t, p.Check(ctx), "a fresh database writes")
		require.NoError(t, p.Check(ctx), "the probe rewrites its row")

		rp, err := sqldb.NewProbe(ctx, tdb.OpenReadOnly(t))
		require.NoError(t, err, "the read-only database answers")
		err = rp.Check(ctx)
		assert.ErrorIs(t, err, errkind.Unavailable, "%v", err)

		f := sqltest.Faulty(t, tdb, 200*time.Millisecond)
		fp, err := sqldb.NewProbe(ctx, f.DB)
		require.NoError(t, err)
		f.Freeze()
		start := time.Now()
		err = fp.Check(ctx)
		assert.ErrorIs(t, err, errkind.Unavailable, "%v", err)
		assert.Less(t, time.Since(start), 7*time.Second, "within the 5 s deadline")
	})
}

func TestProbeRefusesAPoolWithoutTheSettings(t *testing.T) {
	_, err := sqldb.NewProbe(t.Context(), sqltest.PlainSQLite(t))
	var se *sqlcheck.SettingsError
	assert.ErrorAs(t, err, &se)
}
