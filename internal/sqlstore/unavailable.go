package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/egovkit/egovkit/errkind"
)

// ErrUnavailable means the database could not serve the request now: it
// refused or dropped the connection, did not answer within the deadline,
// was shut down, is out of space or read-only, or SQLite's write lock stayed
// taken beyond its busy timeout. The request may succeed later; it says
// nothing about the data or the caller's credentials. HTTP handlers answer
// it with 503 and Retry-After.
var ErrUnavailable = errkind.New(errkind.Unavailable, "database unavailable")

// DefaultTimeout bounds every database call of a [DB] whose timeout was not
// set with [DB.WithTimeout].
const DefaultTimeout = 5 * time.Second

// IsUnavailable reports whether err, anywhere in its chain, means the
// database is unavailable (see [ErrUnavailable]): it is ErrUnavailable, or a
// driver or network error that means the same. Errors are recognised by
// value, type and code, never by message text, so raw errors from
// database/sql (a Row's Scan, a statement inside a transaction) are
// recognised as well as mapped ones.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	kind, _ := classify(err)
	return kind == ErrUnavailable
}

// errDBClosed is the unexported error database/sql returns once a pool is
// closed, obtained once from a closed pool so that it is matched by
// identity.
var errDBClosed = func() error {
	db := sql.OpenDB(noConnector{})
	db.Close()
	_, err := db.Conn(context.Background())
	return err
}()

type noConnector struct{}

func (noConnector) Connect(context.Context) (driver.Conn, error) { return nil, driver.ErrBadConn }
func (noConnector) Driver() driver.Driver                        { return nil }

// unavailableOther recognises the errors below the driver that mean the
// database cannot be reached or did not answer in time.
func unavailableOther(err error) bool {
	var ne net.Error
	var op *net.OpError
	var retry safeToRetry
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, errDBClosed),
		errors.Is(err, sql.ErrConnDone),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ENOSPC),
		errors.Is(err, syscall.EROFS),
		// pgx reports a connection the server dropped mid-answer so.
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed):
		return true
	case errors.As(err, &op):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	case errors.As(err, &retry) && retry.SafeToRetry() && !errors.Is(err, context.Canceled):
		// pgx: the statement never reached the server (a connection it
		// had closed, as when the server went away, or one it could not
		// open); a caller that went away is not a database fault.
		return true
	}
	return false
}

// safeToRetry is what pgx's errors say when a request failed before it
// reached the server, matched by behaviour so that this package needs no
// driver.
type safeToRetry interface{ SafeToRetry() bool }

// pgUnavailable reports whether a SQLSTATE means the server cannot serve
// the request now: connection exceptions (class 08), insufficient
// resources (53: disk full, out of memory, too many connections),
// operator intervention (57: query canceled by statement_timeout, shutdown,
// cannot connect now), system errors (58) and a read-only transaction
// (25006, as on a standby or with default_transaction_read_only).
func pgUnavailable(state string) bool {
	if len(state) != 5 {
		return false
	}
	switch state[:2] {
	case "08", "53", "57", "58":
		return true
	}
	return state == "25006"
}

// SQLite primary result codes that mean the database cannot serve now.
const (
	sqliteNoMem     = 7
	sqliteReadOnly  = 8
	sqliteInterrupt = 9
	sqliteIOErr     = 10
	sqliteFull      = 13
	sqliteCantOpen  = 14
)

func sqliteUnavailable(code int) bool {
	switch code & 0xff {
	case sqliteBusy, sqliteLocked, sqliteNoMem, sqliteReadOnly, sqliteInterrupt, sqliteIOErr, sqliteFull, sqliteCantOpen:
		return true
	}
	return false
}

// unavailable wraps err in an *Error of kind ErrUnavailable when it means
// the database is unavailable, and returns it unchanged otherwise.
func unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	if kind, code := classify(err); kind == ErrUnavailable {
		return &Error{Kind: ErrUnavailable, Code: code, Err: err}
	}
	return err
}
