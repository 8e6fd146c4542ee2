package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/problem"
)

// One-time code and authenticator errors, matched with errors.Is. The
// three that ask for a wait match errkind.RateLimited and come as a
// *RateLimitError, which says how long.
var (
	// ErrCodeRejected means a one-time code was not accepted: wrong,
	// expired, used already or replaced by a newer one, or mistyped too
	// often.
	ErrCodeRejected = errkind.New(errkind.Unauthorized, "auth: one-time code not accepted")
	// ErrCodeTooSoon means a code was sent to the subject for the same
	// purpose a moment ago; ask again after RetryAfter.
	ErrCodeTooSoon = errkind.New(errkind.RateLimited, "auth: a code was sent a moment ago; wait before asking again")
	// ErrCodeLockedOut means the subject typed too many wrong codes in a
	// row; no code is accepted or sent until RetryAfter has passed.
	ErrCodeLockedOut = errkind.New(errkind.RateLimited, "auth: too many wrong codes; locked out for a while")
	// ErrAuthenticatorLocked means too many wrong authenticator-app codes
	// in a row; none is accepted until RetryAfter has passed.
	ErrAuthenticatorLocked = errkind.New(errkind.RateLimited, "auth: too many wrong authenticator codes; wait")
)

// RateLimitError is a refusal that lasts a while: Kind is ErrCodeTooSoon,
// ErrCodeLockedOut or ErrAuthenticatorLocked, and RetryAfter how long to
// wait. It matches its Kind and errkind.RateLimited with errors.Is, and
// renders as a 429 problem with Retry-After.
type RateLimitError struct {
	Kind       error
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	msg := "auth: too many requests"
	if e.Kind != nil {
		msg = e.Kind.Error()
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter.Round(time.Second))
	}
	return msg
}

// Unwrap returns the Kind.
func (e *RateLimitError) Unwrap() error { return e.Kind }

// Is matches errkind.RateLimited, whatever the Kind.
func (e *RateLimitError) Is(target error) bool { return target == errkind.RateLimited }

// Problem renders the error as a 429 with Retry-After in whole seconds.
func (e *RateLimitError) Problem() *problem.Problem {
	p := httpx.RateLimited(retryAfterSeconds(e.RetryAfter))
	if e.Kind != nil {
		p.Detail = e.Kind.Error()
	}
	return p
}

// retryAfterSeconds rounds a wait up to whole seconds, at least one.
func retryAfterSeconds(d time.Duration) int { return int(d.Seconds()) + 1 }

// codeError turns what the one-time code service answered into the
// package's own errors, so importers can read the wait.
func codeError(err error) error {
	var oe *otp.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, otp.ErrTooSoon) && errors.As(err, &oe):
		return &RateLimitError{Kind: ErrCodeTooSoon, RetryAfter: oe.RetryAfter}
	case errors.Is(err, otp.ErrLockedOut) && errors.As(err, &oe):
		return &RateLimitError{Kind: ErrCodeLockedOut, RetryAfter: oe.RetryAfter}
	case errors.Is(err, errkind.Unauthorized):
		return fmt.Errorf("%w: %w", ErrCodeRejected, err)
	}
	return err
}
