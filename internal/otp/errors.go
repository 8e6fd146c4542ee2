package otp

import (
	"errors"
	"fmt"
	"time"

	"github.com/egovkit/egovkit/errkind"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrInvalidCode means the code does not match: wrong digits, or a
	// challenge of another subject or another purpose, or no such challenge.
	ErrInvalidCode = errkind.New(errkind.Unauthorized, "otp: invalid code")
	// ErrExpired means the code's lifetime has passed.
	ErrExpired = errkind.New(errkind.Unauthorized, "otp: code expired")
	// ErrUsed means the right code was presented again after it had been
	// used, or after a newer code replaced it.
	ErrUsed = errkind.New(errkind.Unauthorized, "otp: code already used")
	// ErrTooManyAttempts means the code took its three wrong tries and can
	// no longer be used, even with the right digits.
	ErrTooManyAttempts = errkind.New(errkind.Unauthorized, "otp: too many wrong attempts for this code")
	// ErrLockedOut means the subject failed too often in a row; see
	// Error.RetryAfter.
	ErrLockedOut = errkind.New(errkind.RateLimited, "otp: too many failures; locked out for a while")
	// ErrTooSoon means a code was sent to the subject for this purpose a
	// moment ago; see Error.RetryAfter.
	ErrTooSoon = errkind.New(errkind.RateLimited, "otp: a code was sent a moment ago")
	// ErrSendFailed means the sender could not deliver the code.
	ErrSendFailed = errkind.New(errkind.Unavailable, "otp: sending the code failed")
	// ErrBadRequest means the request itself is malformed (empty subject
	// or purpose, a code that is not six digits).
	ErrBadRequest = errkind.New(errkind.Invalid, "otp: bad request")
	// ErrWeakSecret means the server secret is missing or shorter than 32
	// bytes.
	ErrWeakSecret = errors.New("otp: server secret must be at least 32 random bytes")
)

// Error carries one of the sentinels and, for ErrLockedOut and ErrTooSoon,
// how long to wait.
type Error struct {
	Kind       error
	RetryAfter time.Duration
	Detail     string
}

func (e *Error) Error() string {
	s := e.Kind.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter.Round(time.Second))
	}
	return s
}

// Is matches the error's kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the kind, so errors.Is sees through wrapping.
func (e *Error) Unwrap() error { return e.Kind }

func failure(kind error) error { return &Error{Kind: kind} }

func wait(kind error, d time.Duration) error {
	if d < time.Second {
		d = time.Second
	}
	return &Error{Kind: kind, RetryAfter: d}
}
