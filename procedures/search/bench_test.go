package search_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/procedures/search"
)

// seeded is a registry on SQLite with n synthetic published procedures.
func seeded(b *testing.B, n int) *procedures.Registry {
	b.Helper()
	ctx := context.Background()
	reg, err := procedures.NewRegistry(ctx, sqltest.SQLite(b).DB.DB)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := reg.ImportPublished(ctx, "synthetic", procedures.Synthetic(n, 42)); err != nil {
		b.Fatal(err)
	}
	return reg
}

// BenchmarkIndexBuild builds the search index of 6,000 published
// procedures from the database (target: at most 3 s).
func BenchmarkIndexBuild(b *testing.B) {
	reg := seeded(b, 6000)
	b.ResetTimer()
	for range b.N {
		idx, err := search.New(context.Background(), reg)
		if err != nil {
			b.Fatal(err)
		}
		idx.Close()
	}
}

// searchQueries are what people type: words with and without accents, in
// capitals, inflected, in English.
var searchQueries = []string{
	"πιστοποιητικό γέννησης", "πιστοποιητικο γεννησης", "ΑΔΕΙΑ ΟΔΗΓΗΣΗΣ", "άδεια λειτουργίας καταστήματος",
	"επίδομα ανεργίας", "επιδόματα", "ανανέωση", "μεταβολή στοιχείων", "σύνταξη", "βεβαίωση", "birth certificate",
	"driving licence", "unemployment allowance", "εγγραφή στο μητρώο", "ιθαγένεια", "φορολογική ενημερότητα",
}

// BenchmarkSearch runs realistic queries over 6,000 procedures and
// reports the 99th percentile (target: at most 10 ms).
func BenchmarkSearch(b *testing.B) {
	reg := seeded(b, 6000)
	idx, err := search.New(context.Background(), reg)
	if err != nil {
		b.Fatal(err)
	}
	defer idx.Close()
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if _, err := idx.Search(ctx, procedures.Query{Text: searchQueries[i%len(searchQueries)]}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
