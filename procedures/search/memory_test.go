package search_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/procedures/search"
)

// The index writes no file: nothing is left for a killed process to leave
// behind in the temporary directory (or anywhere).
func TestIndexWritesNoFile(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	reg, err := procedures.NewRegistry(t.Context(), sqltest.SQLite(t).DB.DB)
	require.NoError(t, err)
	publish(t, reg, sample(t, "permanent-residence-certificate"))
	idx, err := search.New(t.Context(), reg)
	require.NoError(t, err)
	res, err := idx.Search(t.Context(), procedures.Query{Text: "permanent residence"})
	require.NoError(t, err)
	assert.NotEmpty(t, res.Hits)
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing written while the index lives")
	require.NoError(t, idx.Close())
}

// After RebuildAfter refreshes that each change something, the next one
// builds the index whole: searches find every published procedure, with
// their latest titles, before and after.
func TestIndexRebuildsAfterManyRefreshes(t *testing.T) {
	ctx := t.Context()
	reg, err := procedures.NewRegistry(ctx, sqltest.SQLite(t).DB.DB)
	require.NoError(t, err)
	idx, err := search.New(ctx, reg)
	require.NoError(t, err)
	defer idx.Close()
	names := []string{"permanent-residence-certificate", "passport", "solemn-declaration"}
	published := 0
	for i := 0; i <= search.RebuildAfter+1; i++ {
		doc := sample(t, names[i%len(names)])
		if i >= len(names) {
			// A new procedure under a new id, so each refresh changes the index.
			id := names[i%len(names)]
			doc = []byte(strings.Replace(string(doc), `"id": "`+id+`"`, fmt.Sprintf(`"id": "%s-copy-%d"`, id, i), 1))
		}
		publish(t, reg, doc)
		published++
		require.NoError(t, idx.Refresh(ctx))
		assert.LessOrEqual(t, search.SinceBuild(idx), search.RebuildAfter)
	}
	assert.Less(t, search.SinceBuild(idx), search.RebuildAfter, "a rebuild happened")
	res, err := idx.Search(ctx, procedures.Query{Limit: 100})
	require.NoError(t, err)
	assert.Equal(t, uint64(published), res.Total, "every published procedure is found after the rebuild")
}
