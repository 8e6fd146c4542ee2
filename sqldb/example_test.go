package sqldb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/egovkit/egovkit/sqldb"
)

func ExampleOpen() {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite::memory:", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	var fk int
	if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("foreign keys:", fk)

	_, err = sqldb.Open(ctx, "mysql://root@localhost/db", nil)
	fmt.Println(err)
	// Output:
	// foreign keys: 1
	// sqldb: unknown database URL scheme: "mysql"
}

func ExampleOpenSQLite() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqldb-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	db, err := sqldb.OpenSQLite(ctx, filepath.Join(dir, "agency.db"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	var mode string
	var busy int
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		fmt.Println(err)
		return
	}
	if err := db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(mode, busy)
	// Output:
	// wal 4000
}

func ExampleRedact() {
	fmt.Println(sqldb.Redact("postgres://egovkit:s3cret@db.internal/egovkit"))
	// Output:
	// postgres://egovkit:xxxxx@db.internal/egovkit
}
