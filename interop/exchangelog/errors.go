package exchangelog

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/interop/exchangelog/verify"
	"github.com/egovkit/egovkit/problem"
)

// Errors of this package, matched with errors.Is. Errors that mean the
// database could not answer match errkind.Unavailable.
var (
	// ErrInvalid means an entry breaks the limits of its encoding (see
	// verify.Entry.Validate). It matches errkind.Invalid.
	ErrInvalid = verify.ErrMalformed
	// ErrRange means an index or a tree size beyond the log, or sizes
	// that make no proof. It matches errkind.Invalid.
	ErrRange = verify.ErrRange
	// ErrNotFound means no entry has the index, exchange id or leaf hash
	// asked for. It matches errkind.NotFound.
	ErrNotFound = errkind.New(errkind.NotFound, "exchangelog: no such entry")
	// ErrDuplicate means an entry with the same exchange id is in the log
	// already. It matches errkind.Conflict.
	ErrDuplicate = errkind.New(errkind.Conflict, "exchangelog: exchange id already logged")
	// ErrOrigin means the database holds the log of another origin. It
	// matches errkind.Conflict.
	ErrOrigin = errkind.New(errkind.Conflict, "exchangelog: the database holds another log")
	// ErrTampered means what is stored does not agree with itself or with
	// a signed checkpoint: a leaf, a hash or a checkpoint was changed
	// behind the log's back. Audit returns it as a *TamperError. It
	// matches errkind.Conflict.
	ErrTampered = errkind.New(errkind.Conflict, "exchangelog: stored log does not verify")
	// ErrClosed means Append was called after Close. It matches
	// errkind.Unavailable.
	ErrClosed = errkind.New(errkind.Unavailable, "exchangelog: log closed")
	// ErrWrongKEK means the stored signing key cannot be opened with the
	// key-encryption key given. Nothing is changed. It matches
	// errkind.Unauthorized.
	ErrWrongKEK = errkind.New(errkind.Unauthorized, "exchangelog: signing key cannot be decrypted: wrong key-encryption key?")
)

// TamperError is what Audit finds: the first place where the stored log
// does not verify.
type TamperError struct {
	// Index is the leaf, or the tree size of the checkpoint, concerned;
	// -1 when the fault is not tied to one.
	Index int64
	// Detail says what does not verify.
	Detail string
}

func (e *TamperError) Error() string {
	if e.Index < 0 {
		return "exchangelog: stored log does not verify: " + e.Detail
	}
	return fmt.Sprintf("exchangelog: stored log does not verify at %d: %s", e.Index, e.Detail)
}

// Is makes a *TamperError match ErrTampered and errkind.Conflict.
func (e *TamperError) Is(target error) bool {
	return target == ErrTampered || errors.Is(ErrTampered, target)
}

// Problem returns the RFC 9457 problem a handler would answer with.
func (e *TamperError) Problem() *problem.Problem {
	return problem.New(TypeTampered, http.StatusInternalServerError, e.Error())
}
