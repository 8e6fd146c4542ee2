package sqlstore_test

import (
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func tableExists(t *testing.T, db *sqlstore.DB, name string) bool {
	t.Helper()
	q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1"
	if db.Dialect() == sqlstore.Postgres {
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
	}
	var n int
	require.NoError(t, db.QueryRowContext(t.Context(), q, name).Scan(&n))
	return n > 0
}

func versions(t *testing.T, db *sqlstore.DB, pkg string) []int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT version FROM egovkit_migrations WHERE package = $1 ORDER BY version", pkg)
	require.NoError(t, err)
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		require.NoError(t, rows.Scan(&v))
		out = append(out, v)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestMigrateAppliesInOrderOnce(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, tdb *sqltest.DB) {
		db, ctx := tdb.DB, t.Context()
		v1 := fstest.MapFS{
			"m/0001_people.sql": file("CREATE TABLE people (id TEXT PRIMARY KEY)"),
		}
		v2 := fstest.MapFS{
			"m/0001_people.sql": v1["m/0001_people.sql"],
			// Engine-specific text for an auto-generated key.
			"m/0002_events.sqlite.sql":   file("CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, person TEXT REFERENCES people(id))"),
			"m/0002_events.postgres.sql": file("CREATE TABLE events (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, person TEXT REFERENCES people(id))"),
			"m/README.txt":               file("not a migration"),
		}
		require.NoError(t, db.Migrate(ctx, "alpha", v1))
		assert.Equal(t, []int{1}, versions(t, db, "alpha"))
		require.NoError(t, db.Migrate(ctx, "alpha", v1), "applying again is a no-op")
		require.NoError(t, db.Migrate(ctx, "alpha", v2))
		assert.Equal(t, []int{1, 2}, versions(t, db, "alpha"))
		assert.True(t, tableExists(t, db, "events"))

		_, err := db.ExecContext(ctx, "INSERT INTO people (id) VALUES ('p')")
		require.NoError(t, err)
		var id int64
		require.NoError(t, db.QueryRowContext(ctx, "INSERT INTO events (person) VALUES ('p') RETURNING id").Scan(&id))
		assert.Equal(t, int64(1), id)

		// Another package keeps its own versions in the same table.
		require.NoError(t, db.Migrate(ctx, "beta", fstest.MapFS{"0001_x.sql": file("CREATE TABLE beta_x (a INTEGER)")}))
		assert.Equal(t, []int{1}, versions(t, db, "beta"))
		assert.Equal(t, []int{1, 2}, versions(t, db, "alpha"))
	})
}

func TestMigrateFailureRollsBackThatVersion(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, tdb *sqltest.DB) {
		db, ctx := tdb.DB, t.Context()
		set := fstest.MapFS{
			"0001_ok.sql":     file("CREATE TABLE good (a INTEGER)"),
			"0002_broken.sql": file("CREATE TABLE half (a INTEGER); CREATE TABLE oops (a NOSUCHTYPE NOT NULL"),
		}
		err := db.Migrate(ctx, "gamma", set)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "version 2 (broken)")
		assert.Equal(t, []int{1}, versions(t, db, "gamma"))
		assert.True(t, tableExists(t, db, "good"))
		assert.False(t, tableExists(t, db, "half"), "the failed version left nothing behind")
	})
}

func TestMigrateRefusesNewerOrChangedSchema(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, tdb *sqltest.DB) {
		db, ctx := tdb.DB, t.Context()
		v2 := fstest.MapFS{
			"0001_a.sql": file("CREATE TABLE d_a (x INTEGER)"),
			"0002_b.sql": file("CREATE TABLE d_b (x INTEGER)"),
		}
		require.NoError(t, db.Migrate(ctx, "delta", v2))

		older := fstest.MapFS{"0001_a.sql": v2["0001_a.sql"]}
		assert.ErrorIs(t, db.Migrate(ctx, "delta", older), sqlstore.ErrSchemaTooNew)

		edited := fstest.MapFS{
			"0001_a.sql": file("CREATE TABLE d_a (x INTEGER, y INTEGER)"),
			"0002_b.sql": v2["0002_b.sql"],
		}
		assert.ErrorIs(t, db.Migrate(ctx, "delta", edited), sqlstore.ErrMigrationChanged)
		assert.Equal(t, []int{1, 2}, versions(t, db, "delta"))
	})
}

func TestMigrateRejectsMalformedSets(t *testing.T) {
	db := sqltest.SQLite(t)
	tests := map[string]fstest.MapFS{
		"no files":            {},
		"bad name":            {"1-init.sql": file("SELECT 1")},
		"zero version":        {"0000_init.sql": file("SELECT 1")},
		"no description":      {"0001_.sql": file("SELECT 1")},
		"unknown dialect":     {"0001_a.mysql.sql": file("SELECT 1")},
		"duplicate version":   {"0001_a.sql": file("SELECT 1"), "x/0001_a.sql": file("SELECT 1")},
		"two names":           {"0001_a.sql": file("SELECT 1"), "0001_b.sql": file("SELECT 1")},
		"missing twin":        {"0001_a.sqlite.sql": file("SELECT 1")},
		"common and specific": {"0001_a.sql": file("SELECT 1"), "0001_a.sqlite.sql": file("SELECT 1"), "0001_a.postgres.sql": file("SELECT 1")},
		"empty file":          {"0001_a.sql": file("  \n")},
	}
	for name, set := range tests {
		t.Run(name, func(t *testing.T) {
			err := db.Migrate(t.Context(), "epsilon", set)
			assert.ErrorIs(t, err, sqlstore.ErrBadMigration)
		})
	}
	assert.ErrorIs(t, db.Migrate(t.Context(), "", fstest.MapFS{"0001_a.sql": file("SELECT 1")}), sqlstore.ErrBadMigration)
	assert.False(t, tableExists(t, db.DB, "egovkit_migrations"), "a rejected set touches nothing")
}

// TestMigrateConcurrentPools starts several migrators on separate pools
// of one database at once, as several instances starting together would.
func TestMigrateConcurrentPools(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, tdb *sqltest.DB) {
		set := fstest.MapFS{
			"0001_a.sql": file("CREATE TABLE z_a (id INTEGER PRIMARY KEY)"),
			"0002_b.sql": file("CREATE TABLE z_b (id INTEGER PRIMARY KEY); INSERT INTO z_a (id) VALUES (1)"),
			"0003_c.sql": file("CREATE TABLE z_c (id INTEGER PRIMARY KEY); INSERT INTO z_a (id) VALUES (2)"),
		}
		const instances = 6
		dbs := make([]*sqlstore.DB, instances)
		for i := range dbs {
			db, err := sqlstore.New(t.Context(), tdb.OpenAnother(t))
			require.NoError(t, err)
			dbs[i] = db
		}
		var wg sync.WaitGroup
		errs := make([]error, instances)
		start := make(chan struct{})
		for i, db := range dbs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = db.Migrate(t.Context(), "zeta", set)
			}()
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		assert.Equal(t, []int{1, 2, 3}, versions(t, tdb.DB, "zeta"))
		var n int
		require.NoError(t, tdb.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM z_a").Scan(&n))
		assert.Equal(t, 2, n, "every version's data was inserted exactly once")
	})
}
