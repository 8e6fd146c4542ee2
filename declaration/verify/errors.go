package verify

import (
	"net/http"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/problem"
)

// Errors of offline verification, matched with errors.Is; all are of the
// kind errkind.Invalid.
var (
	ErrBadToken   = errkind.New(errkind.Invalid, "declaration: the token is malformed or its signature is not valid")
	ErrUnknownKey = errkind.New(errkind.Invalid, "declaration: the token is signed with a key the issuer does not publish")
	// ErrTooManyKeys refuses a JWK Set with more keys than the verifier
	// takes (DefaultMaxKeys, or WithMaxKeys); it comes as an *Error.
	ErrTooManyKeys = errkind.New(errkind.Invalid, "declaration: the JWK Set has more keys than the verifier takes")
)

// Error carries one of the sentinels with the reason.
type Error struct {
	Kind   error
	Detail string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Detail }
func (e *Error) Unwrap() error { return e.Kind }

// Problem renders the error as problem details: a bad request.
func (e *Error) Problem() *problem.Problem {
	return problem.New(problem.TypeBadRequest, http.StatusBadRequest, e.Detail)
}
