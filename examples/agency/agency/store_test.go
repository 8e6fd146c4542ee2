package agency

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// TestStoreKeepsApplications checks the applications' table: what is
// stored reads back whole from a new pool on the same file, an update
// takes only from the state it expects, and an unknown id is told apart.
// It runs on SQLite, and on PostgreSQL too when EGOVKIT_TEST_POSTGRES_DSN
// names a database.
func TestStoreKeepsApplications(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, fresh *sqltest.DB) {
		ctx := t.Context()
		db := fresh.OpenAnother(t)
		s, err := newStore(ctx, db)
		require.NoError(t, err)

		app := &application{ID: randomID(), Owner: "sub-1", TaxNumber: "123456783",
			Created: time.Date(2026, 12, 7, 10, 0, 0, 123, time.UTC), State: stateAwaitingConsent}
		require.NoError(t, s.create(ctx, app))
		app.State, app.ConsentID, app.Exchange = stateComplete, "C1", "X1"
		app.Certificate = &certificate{MaritalStatus: "married", Children: []child{{Name: "Ελένη", BirthDate: "2016-05-02"}}}
		taken, err := s.update(ctx, app, stateAwaitingConsent)
		require.NoError(t, err)
		assert.True(t, taken)
		// A second request that saw the old state does not overwrite.
		stale := *app
		stale.State, stale.Why = stateNeedsUpload, "agency.why.failed"
		taken, err = s.update(ctx, &stale, stateAwaitingConsent)
		require.NoError(t, err)
		assert.False(t, taken, "the state moved on")

		app.DeclarationID, app.DeclarationNumber, app.DeclarationCode = "D1", "2026/000001", "ABCD-EFGH"
		taken, err = s.update(ctx, app, app.State)
		require.NoError(t, err)
		assert.True(t, taken)
		require.NoError(t, db.Close())
		// A new pool on the same database, as after a restart.

		db = fresh.OpenAnother(t)
		s, err = newStore(ctx, db)
		require.NoError(t, err, "the table is there already")
		got, err := s.get(ctx, app.ID)
		require.NoError(t, err)
		assert.Equal(t, app, got)
		_, err = s.get(ctx, "nope")
		assert.ErrorIs(t, err, errNoApplication)
	})
}

// TestStoreKeepsAuthorizations: an application has no authorization
// until one is put; a draft is replaced by the next, an issued one stays
// (issuing it again with its own document is no change), and it reads
// back whole after a restart. SQLite, and PostgreSQL when set.
func TestStoreKeepsAuthorizations(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, fresh *sqltest.DB) {
		ctx := t.Context()
		db := fresh.OpenAnother(t)
		s, err := newStore(ctx, db)
		require.NoError(t, err)
		z, err := s.authorization(ctx, "app-1")
		require.NoError(t, err)
		assert.Nil(t, z, "none yet")

		until := time.Date(2027, 3, 7, 23, 59, 59, 0, time.UTC)
		first := &authorization{DocumentID: "D1", GranteeAFM: "987654324", GranteeName: "Γιάννης Παράδειγμα", ValidUntil: until}
		require.NoError(t, s.putAuthorization(ctx, "app-1", first))
		second := &authorization{DocumentID: "D2", GranteeAFM: "094014201", GranteeName: "Άλλος", ValidUntil: until.AddDate(0, 1, 0)}
		require.NoError(t, s.putAuthorization(ctx, "app-1", second), "a draft is replaced")
		second.Number, second.Code = "2026/000002", "ABCD-EFGH-JKLM-NPQR-STUV"
		require.NoError(t, s.putAuthorization(ctx, "app-1", second), "issued")
		require.NoError(t, s.putAuthorization(ctx, "app-1", second), "issued again by a confirmation whose answer was lost")
		err = s.putAuthorization(ctx, "app-1", &authorization{DocumentID: "D3", GranteeAFM: "987654324", GranteeName: "Τρίτος", ValidUntil: until})
		assert.ErrorIs(t, err, errAuthorizationIssued)
		require.NoError(t, s.putAuthorization(ctx, "app-2", first), "another application's is its own")
		require.NoError(t, db.Close())

		db = fresh.OpenAnother(t)
		s, err = newStore(ctx, db)
		require.NoError(t, err)
		got, err := s.authorization(ctx, "app-1")
		require.NoError(t, err)
		assert.Equal(t, second, got)
		got, err = s.authorization(ctx, "app-2")
		require.NoError(t, err)
		assert.Equal(t, first, got)
	})
}
