package kek_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/kek"
	"github.com/egovkit/egovkit/sqldb"
)

func Example() {
	ctx := context.Background()
	key, err := kek.Generate() // once; then kept outside the database
	if err != nil {
		panic(err)
	}
	written := kek.Encode(key) // for a file or a secret store
	read, err := kek.Parse(written + "\n")
	fmt.Println(len(read), bytes.Equal(read, key), err)

	db, err := sqldb.Open(ctx, "sqlite::memory:", nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	// At every start, before the packages open their keys:
	fmt.Println(kek.Check(ctx, db, key))
	if _, err := auth.NewSigningKeys(ctx, db, "auth/citizen", key); err != nil {
		panic(err)
	}

	other, _ := kek.Generate()
	err = kek.Check(ctx, db, other)
	fmt.Println(errors.Is(err, kek.ErrMismatch))
	// Output:
	// 32 true <nil>
	// <nil>
	// true
}

func ExampleParse() {
	_, err := kek.Parse("not a key")
	fmt.Println(errors.Is(err, kek.ErrInvalid))
	key, err := kek.Parse("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	fmt.Println(len(key), err)
	// Output:
	// true
	// 32 <nil>
}
