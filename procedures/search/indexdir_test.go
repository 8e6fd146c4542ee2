package search_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/procedures/search"
)

func indexDirs(t *testing.T, parent string) []string {
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "egovkit-procedures-index-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// A process killed with its index open leaves the index's directory
// behind; the next index removes it, and leaves alone the directories of
// indexes that are alive.
func TestIndexRemovesWhatAKilledProcessLeft(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	reg, err := procedures.NewRegistry(t.Context(), sqltest.SQLite(t).DB.DB)
	require.NoError(t, err)
	publish(t, reg, sample(t, "permanent-residence-certificate"))

	// What a killed process leaves: the index files and a lock file no
	// one holds any more (the system released the lock with the process).
	killed := filepath.Join(tmp, "egovkit-procedures-index-123456")
	require.NoError(t, os.MkdirAll(filepath.Join(killed, "index", "store"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(killed, "index", "store", "000000000001.zap"), make([]byte, 4096), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(killed, "lock"), nil, 0o600))
	// An older version's directory, with no lock file, long abandoned.
	old := filepath.Join(tmp, "egovkit-procedures-index-654321")
	require.NoError(t, os.MkdirAll(filepath.Join(old, "index"), 0o700))
	long := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(old, long, long))
	// Something else in the temporary directory is not touched.
	other := filepath.Join(tmp, "not-an-index")
	require.NoError(t, os.Mkdir(other, 0o700))

	alive, err := search.New(t.Context(), reg)
	require.NoError(t, err)
	assert.NoDirExists(t, killed)
	assert.NoDirExists(t, old)
	assert.DirExists(t, other)
	require.Len(t, indexDirs(t, tmp), 1, "only the living index's directory is left")

	second, err := search.New(t.Context(), reg)
	require.NoError(t, err)
	assert.Len(t, indexDirs(t, tmp), 2, "a living index's directory is never taken for abandoned")
	res, err := alive.Search(t.Context(), procedures.Query{Text: "permanent residence"})
	require.NoError(t, err)
	assert.NotEmpty(t, res.Hits, "the first index still works")

	require.NoError(t, second.Close())
	require.NoError(t, alive.Close())
	assert.Empty(t, indexDirs(t, tmp), "Close removes its directory")
}
