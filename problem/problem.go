package problem

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/egovkit/egovkit/errkind"
)

// TypeBase is the prefix of every problem type URI egovkit defines. The URIs
// are identifiers: stable, documented in each package, not necessarily
// resolvable.
const TypeBase = "https://egovkit.dev/problems/"

// Problem types shared by every package. Packages add their own under
// TypeBase + "<package>/".
const (
	TypeValidation       = TypeBase + "validation"
	TypeBadRequest       = TypeBase + "bad-request"
	TypeNotFound         = TypeBase + "not-found"
	TypeConflict         = TypeBase + "conflict"
	TypeUnauthorized     = TypeBase + "unauthorized"
	TypeForbidden        = TypeBase + "forbidden"
	TypeRateLimited      = TypeBase + "rate-limited"
	TypePayloadTooLarge  = TypeBase + "payload-too-large"
	TypeUnsupportedMedia = TypeBase + "unsupported-media-type"
	TypeMethodNotAllowed = TypeBase + "method-not-allowed"
	TypeUnavailable      = TypeBase + "unavailable"
	TypeInternal         = TypeBase + "internal"
)

// ContentType is the media type of RFC 9457 problem details.
const ContentType = "application/problem+json"

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Instance identifies this occurrence; egovkit's handlers set it to
	// "urn:request:<request id>" when empty.
	Instance string `json:"instance,omitempty"`
	// Errors lists what is wrong with each field of a rejected input.
	Errors []FieldError `json:"errors,omitempty"`
	// Extensions are further members written at the top level of the
	// object (RFC 9457 section 3.2), such as "retry_after" in seconds.
	Extensions map[string]any `json:"-"`
}

// FieldError is one invalid input field. Pointer is a JSON Pointer (RFC 6901)
// into the request body, such as "/title/el"; for form or query input,
// Field names the parameter instead.
type FieldError struct {
	Pointer string `json:"pointer,omitempty"`
	Field   string `json:"field,omitempty"`
	Detail  string `json:"detail"`
}

// New returns a problem of the given type and status whose title is the
// status text.
func New(typ string, status int, detail string) *Problem {
	return &Problem{Type: typ, Title: http.StatusText(status), Status: status, Detail: detail}
}

// Error makes a Problem usable as an error that renders as itself.
func (p *Problem) Error() string {
	if p.Detail != "" {
		return p.Title + ": " + p.Detail
	}
	return p.Title
}

// Problem returns p; see [Problemer].
func (p *Problem) Problem() *Problem { return p }

// MarshalJSON writes the standard members and the extensions side by side.
// Extensions never replace a standard member.
func (p *Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	b, err := json.Marshal((*plain)(p))
	if err != nil || len(p.Extensions) == 0 {
		return b, err
	}
	m := make(map[string]any, len(p.Extensions)+6)
	for k, v := range p.Extensions {
		m[k] = v
	}
	var std map[string]json.RawMessage
	if err := json.Unmarshal(b, &std); err != nil {
		return nil, err
	}
	for k, v := range std {
		m[k] = v
	}
	return json.Marshal(m)
}

// Problemer is implemented by errors that know how they are shown over HTTP.
// Every egovkit package gives its typed errors a Problem method; find it
// anywhere in an error chain with errors.As.
type Problemer interface {
	Problem() *Problem
}

// ErrInvalidDocument is matched (errors.Is) by every *ValidationError, and
// wraps documents that are not JSON at all.
var ErrInvalidDocument = errkind.New(errkind.Invalid, "document does not match the schema")

// Violation is one way a document fails its schema.
type Violation struct {
	// Pointer is the RFC 6901 JSON Pointer of the offending value ("" for
	// the whole document). For a missing property it points at where the
	// property should be.
	Pointer string `json:"pointer"`
	// Kind is the failed rule: "required", "invalid_type", "format", …
	Kind string `json:"kind"`
	// Message and MessageEL say what is wrong, in English and in Greek.
	Message   string `json:"message"`
	MessageEL string `json:"message_el"`
}

// ValidationError lists every way a document fails its JSON Schema (and
// the rules a schema cannot state), ordered by pointer. Over HTTP it is a
// 422 problem with one field error per violation.
type ValidationError struct {
	Violations []Violation
}

func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Violations))
	for _, v := range e.Violations {
		p := v.Pointer
		if p == "" {
			p = "/"
		}
		parts = append(parts, p+": "+v.Message)
	}
	return "jsonschema: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalidDocument) and errors.Is(err,
// errkind.Invalid) hold.
func (e *ValidationError) Is(target error) bool {
	return target == ErrInvalidDocument || target == errkind.Invalid
}

// Problem renders the error as a 422 problem; each field error carries the
// pointer and the English message, and the "errors_el" member the Greek
// ones.
func (e *ValidationError) Problem() *Problem {
	fields := make([]FieldError, len(e.Violations))
	el := make([]map[string]string, len(e.Violations))
	for i, v := range e.Violations {
		fields[i] = FieldError{Pointer: v.Pointer, Detail: v.Message}
		el[i] = map[string]string{"pointer": v.Pointer, "detail": v.MessageEL}
	}
	p := New(TypeValidation, http.StatusUnprocessableEntity, "the document does not match its schema")
	p.Title = "Validation failed"
	p.Errors = fields
	p.Extensions = map[string]any{"errors_el": el}
	return p
}
