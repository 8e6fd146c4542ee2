package httpsig

import (
	"errors"
	"net/http"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/problem"
)

// The reasons a signature is refused. Each matches errkind.Unauthorized with
// errors.Is, except [ErrConfig] (errkind.Invalid). Verification wraps them
// in an [*Error].
var (
	// ErrUnsigned: the request carries no Signature-Input and Signature
	// (or none with the label the verifier expects).
	ErrUnsigned = errkind.New(errkind.Unauthorized, "httpsig: the request is not signed")
	// ErrMalformed: Signature-Input or Signature is not a valid structured
	// field, or names a component that cannot be read.
	ErrMalformed = errkind.New(errkind.Unauthorized, "httpsig: malformed signature fields")
	// ErrUnknownKey: no key is known for the signature's keyid.
	ErrUnknownKey = errkind.New(errkind.Unauthorized, "httpsig: unknown signing key")
	// ErrAlgorithm: the algorithm is not supported, or not the key's.
	ErrAlgorithm = errkind.New(errkind.Unauthorized, "httpsig: unsupported or mismatched algorithm")
	// ErrBadSignature: the signature does not verify over the message.
	ErrBadSignature = errkind.New(errkind.Unauthorized, "httpsig: signature does not verify")
	// ErrMissingComponent: a component the verifier requires is not
	// covered, or a covered component is absent from the message.
	ErrMissingComponent = errkind.New(errkind.Unauthorized, "httpsig: required component not covered")
	// ErrStale: the signature has no creation time, was created too long
	// ago or in the future beyond the allowed skew, or has expired.
	ErrStale = errkind.New(errkind.Unauthorized, "httpsig: signature too old, expired or not yet valid")
	// ErrDigest: Content-Digest is missing, malformed, of no supported
	// algorithm, or does not match the body. A body's mismatch is found
	// when it has been read to the end, and returned by that Read.
	ErrDigest = errkind.New(errkind.Unauthorized, "httpsig: content digest missing or wrong")
	// ErrReplay: the nonce or message id was seen before within the
	// window (returned by replay checks such as the provider's).
	ErrReplay = errkind.New(errkind.Unauthorized, "httpsig: request replayed")
	// ErrConfig: a signer or verifier was configured wrongly, or a request
	// cannot be signed as configured.
	ErrConfig = errkind.New(errkind.Invalid, "httpsig: invalid configuration")
)

// Error is a refused signature: Reason is one of the package's sentinels,
// Detail says what exactly was wrong (never a secret or personal data).
type Error struct {
	Reason error
	Detail string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Reason.Error()
	}
	return e.Reason.Error() + ": " + e.Detail
}

// Unwrap returns the reason, so errors.Is matches the sentinel and its
// kind.
func (e *Error) Unwrap() error { return e.Reason }

// ProblemTypeBase prefixes the problem types of this package: the reason's
// code follows ("unsigned", "malformed", "unknown-key", "algorithm",
// "bad-signature", "missing-component", "stale", "digest", "replay",
// "config").
const ProblemTypeBase = problem.TypeBase + "httpsig/"

// Problem renders the error as a 401 problem (400 for [ErrConfig]) whose
// type names the reason, for the machine that called to read.
func (e *Error) Problem() *problem.Problem {
	status := http.StatusUnauthorized
	if errors.Is(e.Reason, ErrConfig) {
		status = http.StatusBadRequest
	}
	return problem.New(ProblemTypeBase+Code(e), status, e.Error())
}

// Code is the short name of err's reason ("stale", "digest", ...), or
// "invalid" when err is none of the package's.
func Code(err error) string {
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "invalid"
}

var codes = []struct {
	err  error
	code string
}{
	{ErrUnsigned, "unsigned"},
	{ErrMalformed, "malformed"},
	{ErrUnknownKey, "unknown-key"},
	{ErrAlgorithm, "algorithm"},
	{ErrBadSignature, "bad-signature"},
	{ErrMissingComponent, "missing-component"},
	{ErrStale, "stale"},
	{ErrDigest, "digest"},
	{ErrReplay, "replay"},
	{ErrConfig, "config"},
}

func fail(reason error, detail string) error { return &Error{Reason: reason, Detail: detail} }
