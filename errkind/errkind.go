// Package errkind is the vocabulary of errors every egovkit package shares.
//
// Each package keeps its own sentinels and typed errors, with names in its
// own words (declaration.ErrNotFound, auth.ErrClientNotFound,
// procedures.ErrExists). Each of them also matches one of the kinds below
// with errors.Is, so a caller that imports several packages handles them
// all alike without knowing every name:
//
//	switch {
//	case errors.Is(err, errkind.NotFound):
//		http.Error(w, "no such thing", http.StatusNotFound)
//	case errors.Is(err, errkind.Unavailable):
//		w.Header().Set("Retry-After", "5")
//		http.Error(w, "try again shortly", http.StatusServiceUnavailable)
//	}
//
// The package-specific sentinel stays the precise test
// (errors.Is(err, declaration.ErrExpired)); the kind is the coarse one.
//
// # Kinds
//
//   - [NotFound]: the thing asked for does not exist (or is not the caller's
//     to see).
//   - [Conflict]: the request contradicts what is stored: a duplicate, or a
//     state that does not allow the change (an expired draft, a published
//     version edited).
//   - [Invalid]: the input itself is wrong, whatever is stored.
//   - [Forbidden]: the caller is known but not allowed to do this.
//   - [Unauthorized]: the caller's credentials (password, code, token) were
//     not accepted.
//   - [Unavailable]: a dependency, usually the database, could not serve
//     the request now; the same request may succeed later.
//   - [RateLimited]: the caller asked too often (codes sent, wrong codes
//     typed, unknown verification codes, suggestions); the same request
//     succeeds after a wait. The packages' typed errors of this kind carry
//     the wait as RetryAfter, and their handlers answer 429 with
//     Retry-After.
//
// # Defining errors of a kind
//
// A package declares its sentinels with [New], or gives its typed error an
// Is method that compares the target with a kind:
//
//	var ErrNotFound = errkind.New(errkind.NotFound, "consent: no such consent")
package errkind

import "errors"

// The kinds. Compare with errors.Is; never with ==, since the errors the
// packages return are their own sentinels or wrap them.
var (
	NotFound     = errors.New("not found")
	Conflict     = errors.New("conflict")
	Invalid      = errors.New("invalid")
	Forbidden    = errors.New("forbidden")
	Unauthorized = errors.New("unauthorized")
	Unavailable  = errors.New("unavailable")
	RateLimited  = errors.New("rate limited")
)

// New returns an error with the message text that matches kind with
// errors.Is (and itself, as any sentinel does). kind is one of this
// package's kinds.
func New(kind error, text string) error {
	return &kindError{text: text, kind: kind}
}

type kindError struct {
	text string
	kind error
}

func (e *kindError) Error() string { return e.text }

// Is reports whether target is the error's kind.
func (e *kindError) Is(target error) bool { return target == e.kind }
