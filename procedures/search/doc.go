// Package search is the full-text index of the published procedures of a
// [procedures.Registry], in Greek and English: the [procedures.Searcher]
// that the catalogue pages and the API of package procedures search with.
// It lives apart from the registry because its engine (bleve, with its
// codecs) is most of the size of a program that uses it.
//
// # Greek
//
// Greek words are folded (case, accents, diaeresis, final sigma), stop
// words dropped and endings stripped by a light stemmer ([FoldGreek],
// [StemGreek]), so that «δήλωση», «δηλώσεις», «ΔΗΛΩΣΗ» and «δηλωση» find
// the same procedure; English words are stemmed. Titles weigh most, a
// whole title most of all; filters narrow by category, life event,
// authority and channel.
//
// # Instances
//
// [New] builds the index from the database at every start.
// [Index.StartRefresh] follows the database, so every instance sees
// another's publications and withdrawals within seconds.
//
//	idx, err := search.New(ctx, reg, search.WithLogger(log))
//	if err != nil { ... }
//	idx.StartRefresh(5 * time.Second)
//	defer idx.Close()
//	api, err := procedures.APIHandler(procedures.APIConfig{Registry: reg, Index: idx})
//
// # Memory
//
// The index lives in memory only (bleve's scorch without a path): it is
// rebuilt from the database at every start, so it writes no file and a
// killed process leaves nothing behind. Each refresh that changes
// something adds a segment; after RebuildAfter such refreshes the next one
// builds a fresh index of everything published and swaps it in, so the
// segments a search walks stay few without a background merger.
package search
