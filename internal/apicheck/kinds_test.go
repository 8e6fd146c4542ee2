package apicheck_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/interop/exchangelog"
	"github.com/egovkit/egovkit/interop/exchangelog/verify"
	"github.com/egovkit/egovkit/kek"
	"github.com/egovkit/egovkit/metrics"
	"github.com/egovkit/egovkit/problem"
	"github.com/egovkit/egovkit/procedures"
)

// TestErrorsMatchTheirKind: every package's sentinels and typed errors
// match one errkind with errors.Is, wrapped as the packages return them,
// and no other kind: importers handle all packages' errors with one
// vocabulary.
func TestErrorsMatchTheirKind(t *testing.T) {
	kinds := map[string]error{
		"not found": errkind.NotFound, "conflict": errkind.Conflict, "invalid": errkind.Invalid,
		"forbidden": errkind.Forbidden, "unauthorized": errkind.Unauthorized, "unavailable": errkind.Unavailable,
		"rate-limited": errkind.RateLimited,
	}
	for _, c := range []struct {
		kind string
		errs []error
	}{
		{"not found", []error{auth.ErrNoSuchAccount, auth.ErrClientNotFound, auth.ErrContactNotFound,
			auth.ErrNoAuthenticator, declaration.ErrNotFound, procedures.ErrNotFound,
			procedures.ErrNoApplicationForm, &declaration.Error{Kind: declaration.ErrNotFound},
			&procedures.Error{Kind: procedures.ErrNotFound}, exchangelog.ErrNotFound}},
		{"conflict", []error{auth.ErrAccountExists, auth.ErrClientExists, declaration.ErrState,
			declaration.ErrExpired, procedures.ErrExists, procedures.ErrTransition,
			&procedures.Error{Kind: procedures.ErrExists}, exchangelog.ErrDuplicate, exchangelog.ErrOrigin,
			exchangelog.ErrTampered, &exchangelog.TamperError{}}},
		{"invalid", []error{auth.ErrAccountInvalid, auth.ErrInvalidClientMetadata, auth.ErrInvalidPhone,
			auth.ErrInvalidEmail, auth.ErrTOTPConfig, &auth.InvalidClientError{},
			declaration.ErrBadToken, declaration.ErrUnknownKey, declaration.ErrTooManyKeys,
			&declaration.InvalidError{}, &procedures.QueryError{}, &procedures.SuggestionError{},
			&procedures.ValidationError{}, problem.ErrInvalidDocument, kek.ErrInvalid,
			auth.ErrOption, declaration.ErrOption, metrics.ErrBadPeriod, &metrics.PeriodError{}, &metrics.ImportError{},
			&rp.Error{Code: rp.CodeInvalidRequest}, exchangelog.ErrInvalid, exchangelog.ErrRange,
			verify.ErrMalformed, verify.ErrSignature, verify.ErrProof, verify.ErrRange}},
		{"forbidden", []error{declaration.ErrForbidden, procedures.ErrForbidden,
			&declaration.Error{Kind: declaration.ErrForbidden}, &rp.Error{Code: rp.CodeInsufficientScope}}},
		{"unauthorized", []error{auth.ErrBadCredentials, auth.ErrInvalidGrant, auth.ErrCodeReused,
			auth.ErrRefreshReused, auth.ErrAuthenticatorCode, &auth.ReusedCodeError{}, auth.ErrCodeRejected,
			declaration.ErrCode, kek.ErrMismatch, &rp.Error{Code: rp.CodeInvalidToken},
			&rp.Error{Code: rp.CodeInsufficientUserAuthentication}, exchangelog.ErrWrongKEK}},
		{"unavailable", []error{auth.ErrPasswordBusy, rp.ErrKeysUnavailable,
			&rp.Error{Code: rp.CodeTemporarilyUnavailable}, exchangelog.ErrClosed}},
		{"rate-limited", []error{auth.ErrCodeTooSoon, auth.ErrCodeLockedOut, auth.ErrAuthenticatorLocked,
			&auth.RateLimitError{Kind: auth.ErrCodeTooSoon, RetryAfter: time.Minute}, &auth.RateLimitError{},
			declaration.ErrRateLimited, &declaration.RateLimitError{}, procedures.ErrRateLimited,
			&procedures.RateLimitError{}}},
	} {
		for i, err := range c.errs {
			wrapped := fmt.Errorf("op: %w", err)
			for name, kind := range kinds {
				assert.Equal(t, name == c.kind, errors.Is(wrapped, kind), "%s #%d (%v) is %s", c.kind, i, err, name)
			}
		}
	}
}

// TestCodeWaitIsAlsoRateLimited: a declaration code refused for a wait is
// an ErrCode (Unauthorized) that also matches RateLimited, so a caller
// that tests either finds it.
func TestCodeWaitIsAlsoRateLimited(t *testing.T) {
	err := fmt.Errorf("op: %w", &declaration.Error{Kind: declaration.ErrCode, RetryAfter: time.Minute})
	assert.ErrorIs(t, err, errkind.RateLimited)
	assert.ErrorIs(t, err, errkind.Unauthorized)
	assert.NotErrorIs(t, fmt.Errorf("op: %w", &declaration.Error{Kind: declaration.ErrCode}), errkind.RateLimited)
}
