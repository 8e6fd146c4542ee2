package interop

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/problem"
)

// Errors of the package, matched with errors.Is. Each matches one kind of
// package errkind.
var (
	// ErrInvalidID: an identifier or a REST path that X-Road's rules
	// refuse (errkind.Invalid).
	ErrInvalidID = errkind.New(errkind.Invalid, "interop: invalid identifier")
	// ErrInvalid: a service or a right that cannot be registered as given
	// (errkind.Invalid); the *problem.ValidationError in the chain lists
	// every field.
	ErrInvalid = errkind.New(errkind.Invalid, "interop: invalid registration")
	// ErrNotFound: no such service or right (errkind.NotFound).
	ErrNotFound = errkind.New(errkind.NotFound, "interop: no such service or right")
	// ErrExists: a service with this identifier, or the same right, is
	// registered already (errkind.Conflict).
	ErrExists = errkind.New(errkind.Conflict, "interop: already registered")
	// ErrStale: the service was changed since the revision the update
	// started from (errkind.Conflict).
	ErrStale = errkind.New(errkind.Conflict, "interop: the service was changed meanwhile")
	// ErrForbidden: the consumer has no right to this call, or the
	// operator's role does not allow the change (errkind.Forbidden).
	ErrForbidden = errkind.New(errkind.Forbidden, "interop: not allowed")
	// ErrServiceDisabled: the service is registered but switched off by
	// its operators (errkind.Unavailable).
	ErrServiceDisabled = errkind.New(errkind.Unavailable, "interop: the service is disabled")
	// ErrRegistryStale: the registry could not be read for longer than
	// Config.MaxStale, so decisions are suspended (errkind.Unavailable).
	ErrRegistryStale = errkind.New(errkind.Unavailable, "interop: the registry could not be read lately; decisions are suspended")
	// ErrOption: a constructor was given an option it does not take
	// (errkind.Invalid).
	ErrOption = errkind.New(errkind.Invalid, "interop: option not taken by this constructor")
)

// Problem types of the refusals that are specific to the exchange layer;
// the others use package problem's shared types.
const (
	TypeServiceNotFound = problem.TypeBase + "interop/service-not-found"
	TypeAccessDenied    = problem.TypeBase + "interop/access-denied"
	TypeServiceDisabled = problem.TypeBase + "interop/service-disabled"
)

// Error carries one of the sentinels with what it is about, and renders
// as a problem over HTTP.
type Error struct {
	Kind   error
	Detail string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Detail }

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Kind }

// Problem renders the error as problem+json.
func (e *Error) Problem() *problem.Problem {
	switch e.Kind {
	case ErrNotFound:
		return problem.New(problem.TypeNotFound, http.StatusNotFound, e.Detail)
	case ErrExists, ErrStale:
		return problem.New(problem.TypeConflict, http.StatusConflict, e.Detail)
	case ErrForbidden:
		return problem.New(problem.TypeForbidden, http.StatusForbidden, e.Detail)
	case ErrServiceDisabled:
		return disabledProblem(e.Detail)
	case ErrRegistryStale:
		return problem.Unavailable(e.Detail, retryAfterStale)
	case ErrInvalid:
		p := problem.New(problem.TypeValidation, http.StatusUnprocessableEntity, e.Detail)
		p.Title = "Validation failed"
		return p
	}
	return problem.New(problem.TypeBadRequest, http.StatusBadRequest, e.Detail)
}

// Retry-After of the 503 answers: a disabled service is switched on by
// its operators, which takes a while; a registry that could not be read
// comes back with the database.
const (
	retryAfterDisabled = 300
	retryAfterStale    = 5
)

func disabledProblem(detail string) *problem.Problem {
	p := problem.New(TypeServiceDisabled, http.StatusServiceUnavailable, detail)
	p.Extensions = map[string]any{"retry_after": retryAfterDisabled}
	return p
}

func fail(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

func invalidID(format string, args ...any) error { return fail(ErrInvalidID, format, args...) }

// Refusal is the answer of [Authorizer.Authorize] when the call is not
// allowed: Kind is [ErrNotFound] (no such service), [ErrForbidden] (no
// right matches the consumer, method and path) or [ErrServiceDisabled].
// It names what was asked, so the gateway can log and count it.
type Refusal struct {
	Kind     error
	Consumer ClientID
	Service  ServiceID
	Method   string
	Path     string
}

func (r *Refusal) Error() string {
	switch r.Kind {
	case ErrNotFound:
		return "interop: no service " + r.Service.String()
	case ErrServiceDisabled:
		return "interop: service " + r.Service.String() + " is disabled"
	}
	return "interop: " + r.Consumer.String() + " may not call " + r.Method + " " + r.Path + " of " + r.Service.String()
}

// Unwrap returns the kind.
func (r *Refusal) Unwrap() error { return r.Kind }

// Problem renders the refusal as problem+json, with the X-Road error code
// in the "xroad_error" member.
func (r *Refusal) Problem() *problem.Problem {
	var p *problem.Problem
	switch r.Kind {
	case ErrNotFound:
		p = problem.New(TypeServiceNotFound, http.StatusNotFound, "no such service: "+r.Service.String())
	case ErrServiceDisabled:
		p = disabledProblem("the service is disabled: " + r.Service.String())
	default:
		p = problem.New(TypeAccessDenied, http.StatusForbidden, "the client has no right to this call")
	}
	if p.Extensions == nil {
		p.Extensions = map[string]any{}
	}
	p.Extensions["xroad_error"] = r.XRoadError()
	return p
}

// XRoadError is the value of the X-Road-Error header that answers the
// refusal, as an X-Road security server would send it.
func (r *Refusal) XRoadError() string {
	switch r.Kind {
	case ErrNotFound:
		return "Server.ServerProxy.UnknownService"
	case ErrServiceDisabled:
		return "Server.ServerProxy.ServiceDisabled"
	}
	return "Server.ServerProxy.AccessDenied"
}

// Outcome returns the "outcome" label of the interop_call count for a
// refusal or another error of this package, and "ok" for nil.
func Outcome(err error) string {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, ErrServiceDisabled):
		return OutcomeDisabled
	case errors.Is(err, ErrNotFound):
		return OutcomeNotFound
	case errors.Is(err, ErrForbidden):
		return OutcomeForbidden
	}
	return OutcomeError
}
