package keys_test

import (
	"context"
	"fmt"

	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/sqldb"
)

func Example() {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite::memory:", nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()

	kek, _ := keys.GenerateKEK() // in production: keys.ParseKEK of a secret kept outside the database
	set, err := keys.New(ctx, db, "example", kek)
	if err != nil {
		panic(err)
	}
	token, err := set.Sign(ctx, []byte(`{"document":"2026/000123"}`))
	if err != nil {
		panic(err)
	}
	payload, err := set.Verify(ctx, token)
	fmt.Println(string(payload), err)

	published, _ := set.PublicSet(ctx)
	fmt.Println(published.Len(), "key published")

	_, err = keys.New(ctx, db, "example", make([]byte, 32))
	fmt.Println(err)
	// Output:
	// {"document":"2026/000123"} <nil>
	// 1 key published
	// keys: stored keys cannot be decrypted: wrong key-encryption key? (set "example")
}
