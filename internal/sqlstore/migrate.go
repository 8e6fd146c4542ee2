package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migration errors, matched with errors.Is.
var (
	// ErrBadMigration means the embedded files are malformed: a name that is
	// not NNNN_name[.dialect].sql, a version given twice, a dialect-specific
	// file without its twin for the other engine.
	ErrBadMigration = errors.New("sqlstore: bad migration set")
	// ErrSchemaTooNew means the database records a version this program
	// does not know: a newer release has migrated it.
	ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this program")
	// ErrMigrationChanged means an applied migration's text differs from
	// the embedded file of the same version.
	ErrMigrationChanged = errors.New("sqlstore: applied migration was changed")
)

// migrationsTable records applied versions of every package sharing the
// database.
const migrationsTable = `CREATE TABLE IF NOT EXISTS egovkit_migrations (
	package    TEXT NOT NULL,
	version    INTEGER NOT NULL,
	name       TEXT NOT NULL,
	checksum   TEXT NOT NULL,
	applied_at BIGINT NOT NULL,
	PRIMARY KEY (package, version)
)`

type migration struct {
	version  int
	name     string
	sql      string
	checksum string
}

// Migrate applies, in order, the versions of package pkg found as *.sql files
// in fsys (searched recursively) that the database has not recorded yet. Each
// version runs in its own transaction together with its record. Concurrent
// callers, in this process or another one on the same database, are
// serialised so that every version is applied once.
//
// It fails with [ErrBadMigration] for a malformed file set, with
// [ErrSchemaTooNew] when the database has versions the files do not, and with
// [ErrMigrationChanged] when an applied file was edited afterwards.
func (db *DB) Migrate(ctx context.Context, pkg string, fsys fs.FS) error {
	if pkg == "" {
		return fmt.Errorf("%w: empty package name", ErrBadMigration)
	}
	ms, err := loadMigrations(fsys, db.dialect)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate %s: %w", pkg, err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate %s: %w", pkg, err)
	}
	defer conn.Close()

	unlock, err := db.lockMigrations(ctx, conn)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate %s: lock: %w", pkg, err)
	}
	defer unlock()

	if _, err := conn.ExecContext(ctx, migrationsTable); err != nil {
		return fmt.Errorf("sqlstore: migrate %s: create table: %w", pkg, err)
	}
	if _, err := conn.ExecContext(ctx, readyTable); err != nil {
		return fmt.Errorf("sqlstore: migrate %s: create table: %w", pkg, err)
	}
	applied, err := appliedVersions(ctx, conn, pkg)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate %s: %w", pkg, err)
	}
	known := make(map[int]migration, len(ms))
	for _, m := range ms {
		known[m.version] = m
	}
	for v, sum := range applied {
		m, ok := known[v]
		if !ok {
			return fmt.Errorf("%w: package %s has version %d applied, this program knows up to %d",
				ErrSchemaTooNew, pkg, v, lastVersion(ms))
		}
		if m.checksum != sum {
			return fmt.Errorf("%w: package %s version %d (%s)", ErrMigrationChanged, pkg, v, m.name)
		}
	}
	for _, m := range ms {
		if _, ok := applied[m.version]; ok {
			continue
		}
		if err := db.applyOne(ctx, conn, pkg, m); err != nil {
			return fmt.Errorf("sqlstore: migrate %s: version %d (%s): %w", pkg, m.version, m.name, err)
		}
	}
	return nil
}

// lockMigrations serialises migrators. On PostgreSQL a session advisory lock
// keyed by the current schema is held on conn until unlock. SQLite needs no
// session lock: every version is applied under BEGIN IMMEDIATE, which takes
// the database's write lock, and re-checked inside it.
func (db *DB) lockMigrations(ctx context.Context, conn *sql.Conn) (func(), error) {
	if db.dialect != Postgres {
		return func() {}, nil
	}
	var schema string
	if err := conn.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, err
	}
	h := fnv.New64a()
	h.Write([]byte("egovkit_migrations\x00" + schema))
	key := int64(h.Sum64())
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return nil, err
	}
	return func() {
		// A fresh context: the lock must go even when ctx has ended.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, "SELECT pg_advisory_unlock($1)", key); err != nil {
			// Closing the session is the only other way to free the lock:
			// mark the connection bad so the pool discards it.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}, nil
}

func (db *DB) applyOne(ctx context.Context, conn *sql.Conn, pkg string, m migration) (err error) {
	// On SQLite BEGIN IMMEDIATE takes the write lock before anything is
	// read, so the check below cannot race with another process.
	begin, commit, rollback := "BEGIN", "COMMIT", "ROLLBACK"
	if db.dialect == SQLite {
		begin = "BEGIN IMMEDIATE"
	}
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, _ = conn.ExecContext(rctx, rollback)
		}
	}()
	var n int
	if err := conn.QueryRowContext(ctx,
		"SELECT COUNT(*) FROM egovkit_migrations WHERE package = $1 AND version = $2",
		pkg, m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		_, err = conn.ExecContext(ctx, commit)
		return err
	}
	if _, err := conn.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx,
		"INSERT INTO egovkit_migrations (package, version, name, checksum, applied_at) VALUES ($1, $2, $3, $4, $5)",
		pkg, m.version, m.name, m.checksum, time.Now().UnixMicro()); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, commit)
	return err
}

func appliedVersions(ctx context.Context, conn *sql.Conn, pkg string) (map[int]string, error) {
	rows, err := conn.QueryContext(ctx,
		"SELECT version, checksum FROM egovkit_migrations WHERE package = $1", pkg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]string{}
	for rows.Next() {
		var v int
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, err
		}
		out[v] = sum
	}
	return out, rows.Err()
}

func lastVersion(ms []migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// loadMigrations reads the files that apply to dialect d, sorted by version.
func loadMigrations(fsys fs.FS, d Dialect) ([]migration, error) {
	type entry struct {
		name   string
		common string
		per    map[string]string // dialect name → text
	}
	byVersion := map[int]*entry{}
	err := fs.WalkDir(fsys, ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() || !strings.HasSuffix(p, ".sql") {
			return nil
		}
		base := path.Base(p)
		stem := strings.TrimSuffix(base, ".sql")
		dialect := ""
		for _, dn := range []string{"sqlite", "postgres"} {
			if strings.HasSuffix(stem, "."+dn) {
				dialect, stem = dn, strings.TrimSuffix(stem, "."+dn)
			}
		}
		num, name, ok := strings.Cut(stem, "_")
		v, perr := strconv.Atoi(num)
		if !ok || name == "" || perr != nil || v <= 0 || strings.Contains(stem, ".") {
			return fmt.Errorf("%w: %q is not named NNNN_name[.sqlite|.postgres].sql", ErrBadMigration, p)
		}
		text, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		e := byVersion[v]
		if e == nil {
			e = &entry{name: name, per: map[string]string{}}
			byVersion[v] = e
		}
		if e.name != name {
			return fmt.Errorf("%w: version %d has two names, %q and %q", ErrBadMigration, v, e.name, name)
		}
		if dialect == "" {
			if e.common != "" {
				return fmt.Errorf("%w: version %d given twice", ErrBadMigration, v)
			}
			e.common = string(text)
		} else {
			if _, dup := e.per[dialect]; dup {
				return fmt.Errorf("%w: version %d for %s given twice", ErrBadMigration, v, dialect)
			}
			e.per[dialect] = string(text)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrBadMigration) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrBadMigration, err)
	}
	if len(byVersion) == 0 {
		return nil, fmt.Errorf("%w: no *.sql files", ErrBadMigration)
	}
	out := make([]migration, 0, len(byVersion))
	for v, e := range byVersion {
		text := e.common
		switch {
		case e.common != "" && len(e.per) > 0:
			return nil, fmt.Errorf("%w: version %d has both a common and a dialect-specific file", ErrBadMigration, v)
		case e.common == "" && len(e.per) != 2:
			return nil, fmt.Errorf("%w: version %d needs both .sqlite.sql and .postgres.sql", ErrBadMigration, v)
		case e.common == "":
			text = e.per[d.String()]
		}
		if strings.TrimSpace(text) == "" {
			return nil, fmt.Errorf("%w: version %d is empty", ErrBadMigration, v)
		}
		sum := sha256.Sum256([]byte(text))
		out = append(out, migration{version: v, name: e.name, sql: text, checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}
