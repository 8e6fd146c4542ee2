package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Errors for URLs that cannot be opened, matched with errors.Is.
var (
	// ErrBadURL means the URL is malformed or names a file that cannot be.
	ErrBadURL = errors.New("sqldb: malformed database URL")
	// ErrUnknownScheme means the URL's scheme is neither sqlite nor postgres.
	ErrUnknownScheme = errors.New("sqldb: unknown database URL scheme")
)

// DefaultBusyTimeout is how long a SQLite writer waits for another's lock
// unless Options say otherwise: below the stores' 5 s deadline, so a lock
// held too long fails a call as unavailable.
const DefaultBusyTimeout = 4 * time.Second

// Options tune the pool. The zero value gives the defaults described on each
// field.
type Options struct {
	// MaxOpenConns caps the pool. Zero means 4 per CPU (at least 8) for
	// SQLite files and 20 for PostgreSQL.
	MaxOpenConns int
	// BusyTimeout is how long a SQLite writer waits for the lock. Zero
	// means DefaultBusyTimeout. SQLite waits this long whatever the caller's context says,
	// so keep it below the deadline of the stores' calls
	// (sqlstore.DefaultTimeout, 5 s, unless configured).
	BusyTimeout time.Duration
}

// Open opens and pings the database the URL names (see the package
// documentation for the URLs). Errors never include the URL's password.
func Open(ctx context.Context, rawURL string, opts *Options) (*sql.DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	scheme, rest, ok := strings.Cut(rawURL, ":")
	if !ok || scheme == "" {
		return nil, fmt.Errorf("%w: want sqlite:PATH, sqlite::memory: or postgres://…", ErrBadURL)
	}
	var (
		db  *sql.DB
		err error
	)
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		if strings.HasPrefix(rest, "//") {
			rest = strings.TrimPrefix(rest, "//")
			if !strings.HasPrefix(rest, "/") {
				return nil, fmt.Errorf("%w: sqlite://HOST is not a path; write sqlite:relative/path or sqlite:///absolute/path", ErrBadURL)
			}
		}
		db, err = openSQLite(rest, o)
	case "postgres", "postgresql":
		db, err = openPostgres(rawURL, o)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownScheme, scheme)
	}
	if err != nil {
		return nil, err
	}
	return ping(ctx, db, Redact(rawURL))
}

// OpenSQLite opens and pings the SQLite database in the file at path, with
// the settings described in the package documentation; the file is created
// with mode 0600 if missing, and its directory must exist. The path
// ":memory:" opens a private in-memory database. It is Open with the URL
// "sqlite:"+path, for a caller that holds a path.
func OpenSQLite(ctx context.Context, path string, opts *Options) (*sql.DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	db, err := openSQLite(path, o)
	if err != nil {
		return nil, err
	}
	return ping(ctx, db, "sqlite:"+path)
}

func ping(ctx context.Context, db *sql.DB, redacted string) (*sql.DB, error) {
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqldb: connect to %s: %w", redacted, err)
	}
	return db, nil
}

func openSQLite(p string, o Options) (*sql.DB, error) {
	busy := o.BusyTimeout
	if busy <= 0 {
		busy = DefaultBusyTimeout
	}
	if p == ":memory:" {
		q := url.Values{}
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
		q.Set("_txlock", "immediate")
		db, err := sql.Open("sqlite", ":memory:?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("sqldb: sqlite: %w", err)
		}
		// Every connection would be a different empty database.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		return db, nil
	}
	switch {
	case p == "":
		return nil, fmt.Errorf("%w: sqlite: empty path", ErrBadURL)
	case strings.ContainsAny(p, "?#\x00"):
		return nil, fmt.Errorf("%w: sqlite: the path may not contain '?', '#' or NUL; settings are fixed by egovkit", ErrBadURL)
	case strings.Contains(filepath.Base(p), ":"):
		return nil, fmt.Errorf("%w: sqlite: file name %q contains ':' (did you mean sqlite::memory:?)", ErrBadURL, filepath.Base(p))
	}
	if dir := filepath.Dir(p); dir != "" {
		fi, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("%w: sqlite: directory %q: %w", ErrBadURL, dir, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("%w: sqlite: %q is not a directory", ErrBadURL, dir)
		}
	}
	// A new database file is readable by its owner only: it will hold
	// personal data. SQLite gives its -wal and -shm files the same mode.
	if f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w: sqlite: %w", ErrBadURL, err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", p+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqldb: sqlite: %w", err)
	}
	n := o.MaxOpenConns
	if n <= 0 {
		n = max(8, 4*runtime.NumCPU())
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

func openPostgres(rawURL string, o Options) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		// pgx's message may quote the URL; say what is wrong without it.
		return nil, fmt.Errorf("%w: postgres URL %s cannot be parsed", ErrBadURL, Redact(rawURL))
	}
	db := stdlib.OpenDB(*cfg)
	n := o.MaxOpenConns
	if n <= 0 {
		n = 20
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	return db, nil
}

// Redact returns the URL with any password replaced by "xxxxx", for logs and
// error messages. A string that does not parse as a URL is reduced to its
// scheme.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		scheme, _, _ := strings.Cut(rawURL, ":")
		return scheme + ":…"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
