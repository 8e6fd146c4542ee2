package httpx

import (
	"encoding/json"
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/problem"

	"github.com/egovkit/egovkit/internal/sqlstore"
)

// The problem type, its field errors and the type URIs are the public
// package problem's: importers name them there.
type (
	Problem    = problem.Problem
	FieldError = problem.FieldError
	Problemer  = problem.Problemer
)

// TypeBase and the shared problem types; see package problem.
const (
	TypeBase             = problem.TypeBase
	TypeValidation       = problem.TypeValidation
	TypeBadRequest       = problem.TypeBadRequest
	TypeNotFound         = problem.TypeNotFound
	TypeConflict         = problem.TypeConflict
	TypeUnauthorized     = problem.TypeUnauthorized
	TypeForbidden        = problem.TypeForbidden
	TypeRateLimited      = problem.TypeRateLimited
	TypePayloadTooLarge  = problem.TypePayloadTooLarge
	TypeUnsupportedMedia = problem.TypeUnsupportedMedia
	TypeMethodNotAllowed = problem.TypeMethodNotAllowed
	TypeUnavailable      = problem.TypeUnavailable
	TypeInternal         = problem.TypeInternal
)

// ContentTypeProblem is the media type of RFC 9457 problem details.
const ContentTypeProblem = problem.ContentType

// NewProblem returns a problem of the given type and status whose title is
// the status text.
func NewProblem(typ string, status int, detail string) *Problem {
	return problem.New(typ, status, detail)
}

// BadRequest is a 400 problem.
func BadRequest(detail string) *Problem {
	return NewProblem(TypeBadRequest, http.StatusBadRequest, detail)
}

// NotFound is a 404 problem.
func NotFound(detail string) *Problem { return NewProblem(TypeNotFound, http.StatusNotFound, detail) }

// Conflict is a 409 problem.
func Conflict(detail string) *Problem { return NewProblem(TypeConflict, http.StatusConflict, detail) }

// Forbidden is a 403 problem.
func Forbidden(detail string) *Problem {
	return NewProblem(TypeForbidden, http.StatusForbidden, detail)
}

// Validation is a 422 problem listing what is wrong with each field.
func Validation(detail string, fields ...FieldError) *Problem {
	p := NewProblem(TypeValidation, http.StatusUnprocessableEntity, detail)
	p.Title = "Validation failed"
	p.Errors = fields
	return p
}

// RateLimited is a 429 problem; the writer adds Retry-After when
// retryAfterSeconds is positive.
func RateLimited(retryAfterSeconds int) *Problem {
	p := NewProblem(TypeRateLimited, http.StatusTooManyRequests, "too many requests; try again later")
	if retryAfterSeconds > 0 {
		p.Extensions = map[string]any{"retry_after": retryAfterSeconds}
	}
	return p
}

// RetryAfterUnavailable is the Retry-After, in seconds, of the answers to
// requests that met an unavailable database.
const RetryAfterUnavailable = 5

// Unavailable is a 503 problem; the writer adds Retry-After when
// retryAfterSeconds is positive. See problem.Unavailable.
func Unavailable(detail string, retryAfterSeconds int) *Problem {
	return problem.Unavailable(detail, retryAfterSeconds)
}

// UnavailableProblem returns the 503 problem that answers err when err
// means the database is unavailable (see sqlstore.IsUnavailable: refused
// connection, deadline, closed pool, SQLite busy, full or read-only
// storage), and nil for any other error. It is the one place where that
// class of error meets HTTP: [WriteError] uses it, and handlers that answer
// in another format (OAuth error bodies, pages) ask it first.
func UnavailableProblem(err error) *Problem {
	if !sqlstore.IsUnavailable(err) {
		return nil
	}
	return Unavailable("the service's database is temporarily unavailable; try again shortly", RetryAfterUnavailable)
}

// ServerErrorStatus is the status of an error a handler cannot answer in
// its own terms: 503 when the database is unavailable (see
// [UnavailableProblem]), 500 otherwise. Pages render their error page with
// it; the renderer adds Retry-After to a 503.
func ServerErrorStatus(err error) int {
	if sqlstore.IsUnavailable(err) {
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// WriteProblem writes p as application/problem+json; see problem.Write.
func WriteProblem(w http.ResponseWriter, r *http.Request, p *Problem) { problem.Write(w, r, p) }

// WriteError writes err as a problem. An error that has a [Problemer] in
// its chain is shown as that problem, except that a server-side problem
// wrapping an unavailable database yields to the 503: an error that means
// the database is unavailable is a 503 with Retry-After (see
// [UnavailableProblem]), logged as a warning. Any other error becomes a 500 whose detail reveals
// nothing, and is logged with the request id on log (which may be nil).
func WriteError(w http.ResponseWriter, r *http.Request, log *zap.Logger, err error) {
	var pe Problemer
	if errors.As(err, &pe) {
		// A refusal the package decided on stands, whatever it wraps.
		if p := pe.Problem(); p != nil && p.Status > 0 && p.Status < 500 {
			cp := *p
			WriteProblem(w, r, &cp)
			return
		}
	}
	if p := UnavailableProblem(err); p != nil {
		if log != nil {
			id := ""
			if r != nil {
				id = RequestIDFromContext(r.Context())
			}
			log.Warn("database unavailable", zap.String("request_id", id), zap.Error(err))
		}
		WriteProblem(w, r, p)
		return
	}
	if pe != nil {
		if p := pe.Problem(); p != nil {
			cp := *p
			WriteProblem(w, r, &cp)
			return
		}
	}
	if log != nil {
		id := ""
		if r != nil {
			id = RequestIDFromContext(r.Context())
		}
		log.Error("internal error", zap.String("request_id", id), zap.Error(err))
	}
	WriteProblem(w, r, NewProblem(TypeInternal, http.StatusInternalServerError, "an internal error occurred; quote the request id when reporting it"))
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteProblem(w, nil, NewProblem(TypeInternal, http.StatusInternalServerError, ""))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
