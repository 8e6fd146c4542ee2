package search_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/procedures/search"
)

func TestGreekFolding(t *testing.T) {
	for in, want := range map[string]string{
		"δήλωση": "δηλωσ", "δηλώσεις": "δηλωσ", "ΔΗΛΩΣΗ": "δηλωσ", "δηλωση": "δηλωσ", "Δηλώσεων": "δηλωσ",
		"πιστοποιητικό": "πιστοποιητικ", "πιστοποιητικά": "πιστοποιητικ", "βεβαίωση": "βεβαιωσ", "βεβαιώσεις": "βεβαιωσ",
		"διαβατήριο": "διαβατηρ", "διαβατηρίου": "διαβατηρ", "ΐ": "ι", "Passport": "passport",
	} {
		assert.Equal(t, want, search.StemGreek(search.FoldGreek(in)), in)
	}
	assert.Equal(t, "αυτοσ", search.FoldGreek("Αυτός"), "final sigma")
}

func TestSearch(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		reg, err := procedures.NewRegistry(ctx, db.DB.DB)
		require.NoError(t, err)
		for name := range procedures.Samples() {
			publish(t, reg, procedures.Samples()[name])
		}
		for _, doc := range procedures.Synthetic(200, 1) {
			publish(t, reg, doc)
		}
		idx, err := search.New(ctx, reg)
		require.NoError(t, err)
		defer idx.Close()

		first := func(text string) string {
			t.Helper()
			res, err := idx.Search(ctx, procedures.Query{Text: text})
			require.NoError(t, err, text)
			require.NotEmpty(t, res.Hits, text)
			return res.Hits[0].ID
		}
		for _, v := range []string{"δήλωση", "δηλώσεις", "ΔΗΛΩΣΗ", "δηλωση", "υπεύθυνη δήλωση", "Solemn declaration", "declarations"} {
			assert.Equal(t, "solemn-declaration", first(v), v)
		}
		for _, v := range []string{"βεβαίωση μόνιμης κατοικίας", "ΒΕΒΑΙΩΣΗ ΜΟΝΙΜΗΣ ΚΑΤΟΙΚΙΑΣ", "permanent residence"} {
			assert.Equal(t, "permanent-residence-certificate", first(v), "an exact title comes first: %s", v)
		}

		res, err := idx.Search(ctx, procedures.Query{Category: "residence"})
		require.NoError(t, err)
		for _, h := range res.Hits {
			p, err := reg.Published(ctx, h.ID)
			require.NoError(t, err)
			assert.Contains(t, p.Procedure.Categories, "residence")
		}
		res, err = idx.Search(ctx, procedures.Query{Text: "δήλωση", Channel: procedures.ChannelInPerson, Authority: "ministry-digital-governance"})
		require.NoError(t, err)
		require.NotEmpty(t, res.Hits)
		assert.Equal(t, "solemn-declaration", res.Hits[0].ID)
		res, err = idx.Search(ctx, procedures.Query{Text: "ανύπαρκτη λέξηξ"})
		require.NoError(t, err)
		assert.Empty(t, res.Hits)
		_, err = idx.Search(ctx, procedures.Query{Text: "x", Limit: 1000})
		var qe *procedures.QueryError
		assert.ErrorAs(t, err, &qe)
	})
}

// TestSearchAcrossInstances publishes on one instance and finds the
// procedure on another that shares the database, after its refresh.
func TestSearchAcrossInstances(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		a, err := procedures.NewRegistry(ctx, db.DB.DB)
		require.NoError(t, err)
		b, err := procedures.NewRegistry(ctx, db.OpenAnother(t))
		require.NoError(t, err)
		idx, err := search.New(ctx, b)
		require.NoError(t, err)
		defer idx.Close()
		idx.StartRefresh(20 * time.Millisecond)

		v := publish(t, a, sample(t, "solemn-declaration"))
		require.Eventually(t, func() bool {
			res, err := idx.Search(ctx, procedures.Query{Text: "δηλώσεις"})
			return err == nil && len(res.Hits) == 1
		}, 5*time.Second, 20*time.Millisecond, "the other instance's index picks it up")

		_, err = a.Transition(ctx, approver, v.Procedure.ID, v.Version, procedures.ActionWithdraw, "test")
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			res, err := idx.Search(ctx, procedures.Query{Text: "δηλώσεις"})
			return err == nil && len(res.Hits) == 0
		}, 5*time.Second, 20*time.Millisecond, "and drops it when withdrawn")
	})
}
