package sqlcheck_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite"

	"github.com/egovkit/egovkit/sqldb/sqlcheck"
)

func ExampleSQLite() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqlcheck-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	// The driver's defaults: refused.
	plain, err := sql.Open("sqlite", filepath.Join(dir, "plain.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer plain.Close()
	var se *sqlcheck.SettingsError
	if errors.As(sqlcheck.SQLite(ctx, plain), &se) {
		for _, s := range se.Settings {
			fmt.Printf("%s is %s, want %s\n", s.Name, s.Got, s.Want)
		}
	}

	// The documented settings in the data source name: accepted.
	good, err := sql.Open("sqlite", filepath.Join(dir, "good.db")+"?"+sqlcheck.DSNSettings)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer good.Close()
	fmt.Println("with DSNSettings:", sqlcheck.SQLite(ctx, good))
	// Output:
	// foreign_keys is 0, want 1
	// busy_timeout is 0, want a few seconds, below the stores' deadline, such as 4000
	// journal_mode is delete, want wal
	// with DSNSettings: <nil>
}
