package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/egovkit/egovkit/errkind"
)

// Sentinel errors that stores return, wrapped with their context. Callers test
// them with errors.Is.
var (
	// ErrNotFound means no row matched.
	ErrNotFound = errkind.New(errkind.NotFound, "not found")
	// ErrConflict means a unique or primary-key constraint was violated:
	// the thing already exists.
	ErrConflict = errkind.New(errkind.Conflict, "conflict")
	// ErrConstraint means another integrity constraint was violated
	// (foreign key, check, not null).
	ErrConstraint = errkind.New(errkind.Invalid, "constraint violated")
)

// ErrUnavailable, the fourth kind, is declared with the classification of
// unavailable databases in unavailable.go.

// Error is a driver error mapped to one of the sentinels. It keeps the
// driver's error, its code and its message for logs and errors.As.
type Error struct {
	Kind error  // ErrNotFound, ErrConflict, ErrConstraint or ErrUnavailable
	Code string // SQLSTATE on PostgreSQL, the extended result code on SQLite
	Err  error  // the driver's error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Kind.Error()
	}
	return fmt.Sprintf("%v (%s): %v", e.Kind, e.Code, e.Err)
}

// Is reports whether target is the error's kind, or the errkind the kind
// matches (errkind.Unavailable for ErrUnavailable...).
func (e *Error) Is(target error) bool { return target == e.Kind || errors.Is(e.Kind, target) }

// Unwrap returns the driver's error.
func (e *Error) Unwrap() error { return e.Err }

// The two drivers' errors are recognised by method, so this package needs
// neither driver: pgconn.PgError has SQLState, modernc's sqlite.Error has Code.
type sqlStater interface{ SQLState() string }
type sqliteCoder interface{ Code() int }

// SQLite extended result codes (https://sqlite.org/rescode.html).
const (
	sqliteBusy                 = 5
	sqliteLocked               = 6
	sqliteConstraint           = 19
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

// MapError translates a driver error into an *Error carrying the matching
// sentinel. sql.ErrNoRows becomes ErrNotFound; errors for which
// [IsUnavailable] holds become ErrUnavailable. Errors that match no sentinel,
// and nil, are returned unchanged.
func MapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &Error{Kind: ErrNotFound, Err: err}
	}
	if kind, code := classify(err); kind != nil {
		return &Error{Kind: kind, Code: code, Err: err}
	}
	return err
}

func classify(err error) (kind error, code string) {
	var pe sqlStater
	if errors.As(err, &pe) {
		state := pe.SQLState()
		switch {
		case state == "23505":
			return ErrConflict, state
		case len(state) == 5 && state[:2] == "23":
			return ErrConstraint, state
		case pgUnavailable(state):
			return ErrUnavailable, state
		}
		if unavailableOther(err) {
			return ErrUnavailable, state
		}
		return nil, state
	}
	var se sqliteCoder
	if errors.As(err, &se) {
		c := se.Code()
		switch {
		case c == sqliteConstraintUnique || c == sqliteConstraintPrimaryKey:
			return ErrConflict, fmt.Sprint(c)
		case c&0xff == sqliteConstraint:
			return ErrConstraint, fmt.Sprint(c)
		case sqliteUnavailable(c):
			return ErrUnavailable, fmt.Sprint(c)
		}
		return nil, fmt.Sprint(c)
	}
	if unavailableOther(err) {
		return ErrUnavailable, ""
	}
	return nil, ""
}

// IsRetryable reports whether err is a transient conflict that a fresh
// attempt of the whole transaction may not meet: SQLite BUSY or LOCKED
// (with any extended code), PostgreSQL serialization_failure (40001) or
// deadlock_detected (40P01).
func IsRetryable(err error) bool {
	var pe sqlStater
	if errors.As(err, &pe) {
		s := pe.SQLState()
		return s == "40001" || s == "40P01"
	}
	var se sqliteCoder
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqliteBusy || c == sqliteLocked
	}
	return false
}
