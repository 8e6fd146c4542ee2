package sqlstore_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/sqldb"
)

// TestCheckpointer: the pages a writer commits stay in the write-ahead
// log until the writer has reported its interval of work; then the
// checkpointer copies them into the database file, in the background.
func TestCheckpointer(t *testing.T) {
	ctx := t.Context()
	file := filepath.Join(t.TempDir(), "ckpt.db")
	pool, err := sqldb.OpenSQLite(ctx, file, nil)
	require.NoError(t, err)
	t.Cleanup(func() { pool.Close() })
	db, err := sqlstore.New(ctx, pool)
	require.NoError(t, err)
	size := func() int64 {
		fi, err := os.Stat(file)
		require.NoError(t, err)
		return fi.Size()
	}
	_, err = db.ExecContext(ctx, "CREATE TABLE filler (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
	require.NoError(t, err)
	c := sqlstore.NewCheckpointer(db, 100)
	require.NotNil(t, c)
	before := size()
	// About 100 pages of rows, well under SQLite's own 1,000.
	for i := range 100 {
		_, err := db.ExecContext(ctx, "INSERT INTO filler (id, v) VALUES ($1, $2)", i, strings.Repeat("x", 3000))
		require.NoError(t, err)
		c.Wrote(1)
		if i < 98 {
			assert.Equal(t, before, size(), "no checkpoint before the interval (row %d)", i)
		}
	}
	c.Close() // waits for the checkpoint the last Wrote started
	assert.Greater(t, size(), before+200_000, "the rows were copied into the database file")
	c.Close() // again: nothing more
}

// TestCheckpointerPostgreSQL: PostgreSQL needs none; the nil checkpointer
// does nothing.
func TestCheckpointerPostgreSQL(t *testing.T) {
	db := sqltest.Postgres(t)
	c := sqlstore.NewCheckpointer(db.DB, 100)
	assert.Nil(t, c)
	c.Wrote(1000)
	c.Close()
}
