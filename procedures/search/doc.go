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
// # Files
//
// The index's files live in a directory under os.TempDir() that Close
// removes. A process killed with its index open cannot remove it: the
// index holds a file lock in its directory, which the system releases
// however the process ends, and the next index to start removes every such
// directory no living index holds.
package search
