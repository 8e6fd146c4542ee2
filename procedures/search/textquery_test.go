package search

import (
	"context"
	"testing"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/procedures"
)

// matchQueries is the text query as bleve's match and match-phrase queries
// build it, analyzing the text once per field.
func matchQueries(text string) query.Query {
	var any []query.Query
	for field, boost := range map[string]float64{"title_el": 5, "title_en": 5, "text_el": 1, "text_en": 1} {
		mq := bleve.NewMatchQuery(text)
		mq.SetField(field)
		mq.SetBoost(boost)
		any = append(any, mq)
	}
	for _, field := range []string{"title_el", "title_en"} {
		pq := bleve.NewMatchPhraseQuery(text)
		pq.SetField(field)
		pq.SetBoost(20)
		any = append(any, pq)
	}
	return bleve.NewDisjunctionQuery(any...)
}

// TestTextQueryRanksAsMatchQueries checks that analyzing the text once
// finds the same procedures with the same scores as bleve's match queries.
func TestTextQueryRanksAsMatchQueries(t *testing.T) {
	ctx := context.Background()
	reg, err := procedures.NewRegistry(ctx, sqltest.SQLite(t).DB.DB)
	require.NoError(t, err)
	_, err = reg.ImportPublished(ctx, "synthetic", procedures.Synthetic(300, 42))
	require.NoError(t, err)
	x, err := New(ctx, reg)
	require.NoError(t, err)
	defer x.Close()
	for _, text := range []string{
		"πιστοποιητικό γέννησης", "πιστοποιητικο γεννησης", "ΑΔΕΙΑ ΟΔΗΓΗΣΗΣ", "άδεια λειτουργίας καταστήματος",
		"επίδομα ανεργίας", "επιδόματα", "σύνταξη", "εγγραφή στο μητρώο", "birth certificate", "the driving licence",
		"unemployment allowance of the", "και", "the", "!!", "φορολογική ενημερότητα για το δημόσιο",
	} {
		want, err := x.idx.SearchInContext(ctx, bleve.NewSearchRequestOptions(matchQueries(text), 50, 0, false))
		require.NoError(t, err)
		got, err := x.idx.SearchInContext(ctx, bleve.NewSearchRequestOptions(x.textQuery(text), 50, 0, false))
		require.NoError(t, err)
		require.Equal(t, want.Total, got.Total, text)
		require.Len(t, got.Hits, len(want.Hits), text)
		for i := range want.Hits {
			assert.Equal(t, want.Hits[i].ID, got.Hits[i].ID, "%s: hit %d", text, i)
			assert.InDelta(t, want.Hits[i].Score, got.Hits[i].Score, 1e-9, "%s: hit %d", text, i)
		}
		t.Logf("%q: %d hits", text, got.Total)
	}
}
