package apicheck_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/declaration/verify"
	"github.com/egovkit/egovkit/errkind"
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
	}
	for _, c := range []struct {
		kind string
		errs []error
	}{
		{"not found", []error{auth.ErrNoSuchAccount, auth.ErrClientNotFound, auth.ErrContactNotFound,
			auth.ErrNoAuthenticator, declaration.ErrNotFound, procedures.ErrNotFound,
			procedures.ErrNoApplicationForm, &declaration.Error{Kind: declaration.ErrNotFound},
			&procedures.Error{Kind: procedures.ErrNotFound}}},
		{"conflict", []error{auth.ErrAccountExists, auth.ErrClientExists, declaration.ErrState,
			declaration.ErrExpired, procedures.ErrExists, procedures.ErrTransition,
			&procedures.Error{Kind: procedures.ErrExists}}},
		{"invalid", []error{auth.ErrAccountInvalid, auth.ErrInvalidClientMetadata, auth.ErrInvalidPhone,
			auth.ErrInvalidEmail, auth.ErrTOTPConfig, &auth.InvalidClientError{},
			declaration.ErrBadToken, declaration.ErrUnknownKey, declaration.ErrTooManyKeys,
			verify.ErrBadToken, &verify.Error{Kind: verify.ErrTooManyKeys},
			&declaration.InvalidError{}, &procedures.QueryError{}, &procedures.SuggestionError{},
			&procedures.ValidationError{}, problem.ErrInvalidDocument,
			metrics.ErrBadPeriod, &metrics.PeriodError{}, &metrics.ImportError{},
			&rp.Error{Code: rp.CodeInvalidRequest}}},
		{"forbidden", []error{declaration.ErrForbidden, procedures.ErrForbidden,
			&declaration.Error{Kind: declaration.ErrForbidden}, &rp.Error{Code: rp.CodeInsufficientScope}}},
		{"unauthorized", []error{auth.ErrBadCredentials, auth.ErrInvalidGrant, auth.ErrCodeReused,
			auth.ErrRefreshReused, auth.ErrAuthenticatorCode, &auth.ReusedCodeError{},
			declaration.ErrCode, &rp.Error{Code: rp.CodeInvalidToken},
			&rp.Error{Code: rp.CodeInsufficientUserAuthentication}}},
		{"unavailable", []error{auth.ErrPasswordBusy}},
	} {
		for i, err := range c.errs {
			wrapped := fmt.Errorf("op: %w", err)
			for name, kind := range kinds {
				assert.Equal(t, name == c.kind, errors.Is(wrapped, kind), "%s #%d (%v) is %s", c.kind, i, err, name)
			}
		}
	}
}
