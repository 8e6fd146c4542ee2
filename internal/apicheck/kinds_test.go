package apicheck_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/declaration/verify"
	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/consumer"
	"github.com/egovkit/egovkit/interop/exchangelog"
	logverify "github.com/egovkit/egovkit/interop/exchangelog/verify"
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
			auth.ErrNoAuthenticator, consent.ErrNotFound, declaration.ErrNotFound, procedures.ErrNotFound,
			procedures.ErrNoApplicationForm, &declaration.Error{Kind: declaration.ErrNotFound},
			&procedures.Error{Kind: procedures.ErrNotFound}, interop.ErrNotFound,
			&interop.Error{Kind: interop.ErrNotFound}, &interop.Refusal{Kind: interop.ErrNotFound}, exchangelog.ErrNotFound,
			&consumer.Error{Status: 404}}},
		{"conflict", []error{auth.ErrAccountExists, auth.ErrClientExists, consent.ErrState, consent.ErrExists,
			&consent.StateError{State: consent.StateRevoked}, declaration.ErrState,
			declaration.ErrExpired, procedures.ErrExists, procedures.ErrTransition,
			&procedures.Error{Kind: procedures.ErrExists}, interop.ErrExists, interop.ErrStale,
			&interop.Error{Kind: interop.ErrStale}, exchangelog.ErrDuplicate, exchangelog.ErrOrigin,
			exchangelog.ErrTampered, &exchangelog.TamperError{}, &consumer.Error{Status: 409}}},
		{"invalid", []error{auth.ErrAccountInvalid, auth.ErrInvalidClientMetadata, auth.ErrInvalidPhone,
			auth.ErrInvalidEmail, auth.ErrTOTPConfig, &auth.InvalidClientError{}, auth.ErrNoEmailSender,
			auth.ErrBadPasswordHash, auth.ErrPasswordTooShort, auth.ErrPasswordTooLong,
			consent.ErrInvalid, consent.ErrNoKeys, &consent.InvalidError{},
			declaration.ErrBadToken, declaration.ErrUnknownKey, declaration.ErrTooManyKeys,
			verify.ErrBadToken, &verify.Error{Kind: verify.ErrTooManyKeys},
			&declaration.InvalidError{}, &procedures.QueryError{}, &procedures.SuggestionError{},
			&procedures.ValidationError{}, problem.ErrInvalidDocument, kek.ErrInvalid,
			auth.ErrOption, declaration.ErrOption, metrics.ErrBadPeriod, &metrics.PeriodError{}, &metrics.ImportError{},
			&rp.Error{Code: rp.CodeInvalidRequest}, interop.ErrInvalidID, interop.ErrInvalid, interop.ErrOption,
			&interop.Error{Kind: interop.ErrInvalidID}, (&interop.Service{}).Validate(), (&interop.Right{}).Validate(),
			exchangelog.ErrInvalid, exchangelog.ErrRange,
			logverify.ErrMalformed, logverify.ErrSignature, logverify.ErrProof, logverify.ErrRange,
			consumer.ErrConfig, consumer.ErrCall, &consumer.Error{Status: 400}, &consumer.Error{Status: 413},
			&consumer.Error{Status: 422}, &consumer.TokenError{Status: 400, Code: "invalid_scope"}}},
		{"forbidden", []error{consent.ErrAssurance, consent.ErrRefused, &consent.RefusedError{Reason: consent.ReasonNone},
			declaration.ErrForbidden, procedures.ErrForbidden,
			&declaration.Error{Kind: declaration.ErrForbidden}, &rp.Error{Code: rp.CodeInsufficientScope},
			interop.ErrForbidden, &interop.Refusal{Kind: interop.ErrForbidden}, &consumer.Error{Status: 403}}},
		{"unauthorized", []error{auth.ErrBadCredentials, auth.ErrInvalidGrant, auth.ErrCodeReused,
			auth.ErrRefreshReused, auth.ErrAuthenticatorCode, &auth.ReusedCodeError{}, auth.ErrCodeRejected,
			declaration.ErrCode, kek.ErrMismatch, &rp.Error{Code: rp.CodeInvalidToken},
			&rp.Error{Code: rp.CodeInsufficientUserAuthentication}, exchangelog.ErrWrongKEK,
			&consumer.Error{Status: 401}, &consumer.TokenError{Status: 401, Code: "invalid_client"}}},
		{"unavailable", []error{auth.ErrPasswordBusy, rp.ErrKeysUnavailable,
			&rp.Error{Code: rp.CodeTemporarilyUnavailable}, interop.ErrServiceDisabled, interop.ErrRegistryStale,
			&interop.Refusal{Kind: interop.ErrServiceDisabled}, exchangelog.ErrClosed,
			consumer.ErrUnavailable, &consumer.Error{Status: 502}, &consumer.Error{Status: 503}, &consumer.Error{Status: 504},
			&consumer.TokenError{Status: 503}}},
		{"rate-limited", []error{auth.ErrCodeTooSoon, auth.ErrCodeLockedOut, auth.ErrAuthenticatorLocked,
			&auth.RateLimitError{Kind: auth.ErrCodeTooSoon, RetryAfter: time.Minute}, &auth.RateLimitError{},
			declaration.ErrRateLimited, &declaration.RateLimitError{}, procedures.ErrRateLimited,
			&procedures.RateLimitError{}, &consumer.Error{Status: 429, RetryAfter: time.Second},
			&consumer.TokenError{Status: 429}}},
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
