package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/sqldb"
)

// envMigrateURL makes the test binary, run as a child, migrate the database
// at that URL and exit.
const envMigrateURL = "EGOVKIT_TEST_MIGRATE_CHILD_URL"

var processMigrations = fstest.MapFS{
	"0001_a.sql": file("CREATE TABLE p_a (id INTEGER PRIMARY KEY)"),
	"0002_b.sql": file("INSERT INTO p_a (id) VALUES (1)"),
	"0003_c.sql": file("CREATE TABLE p_c (id INTEGER PRIMARY KEY); INSERT INTO p_a (id) VALUES (2)"),
}

func TestMain(m *testing.M) {
	if u := os.Getenv(envMigrateURL); u != "" {
		os.Exit(migrateChild(u))
	}
	os.Exit(m.Run())
}

func migrateChild(u string) int {
	ctx := context.Background()
	raw, err := sqldb.Open(ctx, u, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer raw.Close()
	db, err := sqlstore.New(ctx, raw)
	if err == nil {
		err = db.Migrate(ctx, "process", processMigrations)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestMigrateSeparateProcesses starts several operating-system processes
// that migrate the same database at once, as instances of a service
// starting together do.
func TestMigrateSeparateProcesses(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, tdb *sqltest.DB) {
		const n = 4
		cmds := make([]*exec.Cmd, n)
		outs := make([]*output, n)
		for i := range cmds {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), envMigrateURL+"="+tdb.URL)
			outs[i] = &output{}
			cmd.Stdout, cmd.Stderr = outs[i], outs[i]
			require.NoError(t, cmd.Start())
			cmds[i] = cmd
		}
		for i, cmd := range cmds {
			assert.NoError(t, cmd.Wait(), "process %d: %s", i, outs[i].String())
		}
		assert.Equal(t, []int{1, 2, 3}, versions(t, tdb.DB, "process"))
		var count int
		require.NoError(t, tdb.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM p_a").Scan(&count))
		assert.Equal(t, 2, count, "each version ran exactly once")
	})
}

type output struct{ b []byte }

func (o *output) Write(p []byte) (int, error) { o.b = append(o.b, p...); return len(p), nil }
func (o *output) String() string              { return string(o.b) }
