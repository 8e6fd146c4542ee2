// Package sqlcheck tells whether a SQLite pool has the settings egovkit's
// stores rely on. It imports no database driver, so every package that keeps
// state can run it: each refuses, when it is handed a *sql.DB, a SQLite pool
// that lacks them, with a [*SettingsError] that says what to change.
// PostgreSQL pools need no particular setting.
//
// The settings, and why:
//
//   - foreign_keys on: SQLite ignores foreign keys unless each connection
//     turns them on, and the schemas rely on them to keep rows consistent.
//   - a busy timeout: without one, a writer that meets another's lock fails
//     at once instead of waiting its turn. Keep it below the stores' deadline
//     (5 s unless configured), since SQLite waits whatever the context says.
//   - WAL journal mode, for a database in a file: readers then run while a
//     writer writes. An in-memory database has no WAL and needs none.
//
// The settings are per connection, so they belong in the data source name,
// where every connection of the pool gets them; a PRAGMA run through the pool
// reaches one connection only. [SQLite] reads them from one connection.
// Package [github.com/egovkit/egovkit/sqldb] opens pools that pass.
package sqlcheck

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// DSNSettings are the data source name parameters of modernc.org/sqlite
// that give every connection the settings egovkit needs (the last one makes
// read-write transactions BEGIN IMMEDIATE, so a transaction that reads and
// then writes waits for the lock instead of failing).
const DSNSettings = "_pragma=foreign_keys(1)&_pragma=busy_timeout(4000)&_pragma=journal_mode(WAL)&_txlock=immediate"

// Setting is one setting of a pool that is not as egovkit needs it.
type Setting struct {
	Name string // the PRAGMA: "foreign_keys", "busy_timeout" or "journal_mode"
	Got  string // what the pool has, as SQLite reports it
	Want string // what it needs
}

// SettingsError is a SQLite pool refused because of its settings.
type SettingsError struct {
	Settings []Setting // each wrong setting, in the order above
}

func (e *SettingsError) Error() string {
	var b strings.Builder
	b.WriteString("sqlcheck: the SQLite pool is opened without the settings egovkit needs:")
	for i, s := range e.Settings {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %s is %s (want %s)", s.Name, s.Got, s.Want)
	}
	b.WriteString(`; open it with sqldb.Open(ctx, "sqlite:PATH", nil) or sqldb.OpenSQLite, ` +
		`or give every connection the settings in the data source name: PATH?` + DSNSettings)
	return b.String()
}

// SQLite checks the settings of a pool on a SQLite database and returns a
// [*SettingsError] listing those that are wrong, or the error of a query
// that failed. It reads four PRAGMAs on one connection; callers run
// it once per pool.
func SQLite(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlcheck: %w", err)
	}
	defer conn.Close()
	var (
		fk, busy int64
		mode     string
	)
	if err := conn.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return fmt.Errorf("sqlcheck: foreign_keys: %w", err)
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
		return fmt.Errorf("sqlcheck: busy_timeout: %w", err)
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("sqlcheck: journal_mode: %w", err)
	}
	file, err := mainFile(ctx, conn)
	if err != nil {
		return err
	}
	var wrong []Setting
	if fk != 1 {
		wrong = append(wrong, Setting{Name: "foreign_keys", Got: fmt.Sprint(fk), Want: "1"})
	}
	if busy <= 0 {
		wrong = append(wrong, Setting{Name: "busy_timeout", Got: fmt.Sprint(busy), Want: "a few seconds, below the stores' deadline, such as 4000"})
	}
	// An in-memory or temporary database has no file name and no WAL.
	if file != "" && !strings.EqualFold(mode, "wal") {
		wrong = append(wrong, Setting{Name: "journal_mode", Got: mode, Want: "wal"})
	}
	if wrong != nil {
		return &SettingsError{Settings: wrong}
	}
	return nil
}

// mainFile returns the file name of the connection's main database: empty
// for an in-memory or temporary one.
func mainFile(ctx context.Context, conn *sql.Conn) (string, error) {
	rows, err := conn.QueryContext(ctx, "PRAGMA database_list")
	if err != nil {
		return "", fmt.Errorf("sqlcheck: database_list: %w", err)
	}
	defer rows.Close()
	var file string
	for rows.Next() {
		var (
			seq        int
			name, path string
		)
		if err := rows.Scan(&seq, &name, &path); err != nil {
			return "", fmt.Errorf("sqlcheck: database_list: %w", err)
		}
		if name == "main" {
			file = path
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("sqlcheck: database_list: %w", err)
	}
	return file, nil
}
