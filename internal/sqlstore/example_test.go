package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing/fstest"

	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/sqldb"
)

func Example() {
	ctx := context.Background()
	raw, err := sqldb.Open(ctx, "sqlite::memory:", nil)
	if err != nil {
		panic(err)
	}
	defer raw.Close()

	db, err := sqlstore.New(ctx, raw)
	if err != nil {
		panic(err)
	}
	// A package embeds its migrations with //go:embed; a map stands in here.
	migrations := fstest.MapFS{
		"migrations/0001_notes.sql": {Data: []byte(`CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL)`)},
	}
	if err := db.Migrate(ctx, "example", migrations); err != nil {
		panic(err)
	}

	insert := func(id string) error {
		return db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO notes (id, body) VALUES ($1, $2)", id, "hello")
			return sqlstore.MapError(err)
		})
	}
	fmt.Println(db.Dialect(), insert("n1"))
	fmt.Println(errors.Is(insert("n1"), sqlstore.ErrConflict))

	var body string
	err = sqlstore.MapError(db.QueryRowContext(ctx, "SELECT body FROM notes WHERE id = $1", "n2").Scan(&body))
	fmt.Println(errors.Is(err, sqlstore.ErrNotFound))
	// Output:
	// sqlite <nil>
	// true
	// true
}
