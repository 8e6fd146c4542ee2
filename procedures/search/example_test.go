package search_test

import (
	"context"
	"fmt"

	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/procedures/search"
	"github.com/egovkit/egovkit/sqldb"
)

func Example() {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite::memory:", nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	reg, err := procedures.NewRegistry(ctx, db)
	if err != nil {
		panic(err)
	}
	if _, err := reg.ImportPublished(ctx, "the samples", [][]byte{procedures.Samples()["solemn-declaration.json"]}); err != nil {
		panic(err)
	}

	// Citizens search in Greek without accents, in capitals, or in English.
	idx, err := search.New(ctx, reg)
	if err != nil {
		panic(err)
	}
	defer idx.Close()
	for _, q := range []string{"ΔΗΛΩΣΗ", "δηλωσεις", "solemn declaration"} {
		res, err := idx.Search(ctx, procedures.Query{Text: q})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %s\n", q, res.Hits[0].ID)
	}

	// The index is what the catalogue pages and the API search with.
	_, err = procedures.PagesHandler(procedures.PagesConfig{Registry: reg, Index: idx, Prefix: "/procedures"})
	fmt.Println(err)
	// Output:
	// ΔΗΛΩΣΗ: solemn-declaration
	// δηλωσεις: solemn-declaration
	// solemn declaration: solemn-declaration
	// <nil>
}
