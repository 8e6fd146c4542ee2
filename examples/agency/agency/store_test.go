package agency

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/sqldb"
)

// TestStoreKeepsApplications checks the applications' table: what is
// stored reads back whole from a new pool on the same file, an update
// takes only from the state it expects, and an unknown id is told apart.
func TestStoreKeepsApplications(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "agency.db")
	db, err := sqldb.Open(ctx, "sqlite:"+path, nil)
	require.NoError(t, err)
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

	db, err = sqldb.Open(ctx, "sqlite:"+path, nil)
	require.NoError(t, err)
	defer db.Close()
	s, err = newStore(ctx, db)
	require.NoError(t, err, "the table is there already")
	got, err := s.get(ctx, app.ID)
	require.NoError(t, err)
	assert.Equal(t, app, got)
	_, err = s.get(ctx, "nope")
	assert.ErrorIs(t, err, errNoApplication)
}
