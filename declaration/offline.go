package declaration

import (
	"context"
	"errors"
	"fmt"

	"github.com/egovkit/egovkit/declaration/verify"
)

// Offline verification lives in the subpackage declaration/verify, which
// a verifier imports alone (it compiles none of the PDF, SQL and page
// code); the names below are the same types and values under the names
// this package has always had.

// QRTokenType is the "typ" of the signed summary in the QR code.
const QRTokenType = verify.QRTokenType

// Summary is the signed content of the QR code.
type Summary = verify.Summary

func (s *Service) summary(d *Document, token string) Summary {
	return Summary{Stamp: s.stamp(d), Recipient: d.Draft.Recipient,
		Declarant:   Party{AFM: d.Declarant.AFM, Name: d.Declarant.GivenName + " " + d.Declarant.FamilyName},
		Grantee:     d.Draft.Grantee,
		TokenSHA256: verify.TokenSHA256(token)}
}

func (s *Service) signSummary(ctx context.Context, d *Document, token string) (string, error) {
	return s.signJSON(ctx, s.summary(d, token), QRTokenType)
}

// QRContent is what the QR code on a document holds: the verification URL,
// which any phone opens, with the signed summary after "#" (a fragment, so
// the phone never sends it to the server) for offline checks. The summary
// is signed anew each time; every one verifies.
func (s *Service) QRContent(ctx context.Context, d *Document) (string, error) {
	if d.State == StateDraft || d.Token == "" {
		return "", fail(ErrState, "a draft has no QR code; confirm it first")
	}
	tok, err := s.signSummary(ctx, d, d.Token)
	if err != nil {
		return "", fmt.Errorf("declaration: QR code: %w", err)
	}
	return s.VerifyURL(d.Code) + "#" + tok, nil
}

// ParseQR splits what a QR code holds into the verification code and the
// signed summary (empty when the code carries none). It does not verify
// anything. See verify.ParseQR.
func ParseQR(content string) (code, token string, err error) { return verify.ParseQR(content) }

// NormalizeCode turns a typed or scanned verification code into its
// printed form: case, spaces and dashes do not matter. It reports false
// for anything that cannot be a code (wrong length, a symbol outside the
// alphabet), so such input never reaches the database. See
// verify.NormalizeCode.
func NormalizeCode(s string) (string, bool) { return verify.NormalizeCode(s) }

// Errors of offline verification: the same values as declaration/verify's.
var (
	ErrBadToken   = verify.ErrBadToken
	ErrUnknownKey = verify.ErrUnknownKey
	// ErrTooManyKeys refuses a JWK Set with more keys than the verifier
	// takes (DefaultMaxKeys, or WithMaxKeys); NewOfflineVerifier returns
	// it as an *Error.
	ErrTooManyKeys = verify.ErrTooManyKeys
)

// DefaultMaxKeys is how many keys a JWK Set may hold for
// NewOfflineVerifier unless WithMaxKeys says otherwise.
const DefaultMaxKeys = verify.DefaultMaxKeys

// OfflineVerifier checks signed documents and QR summaries against an
// issuer's published keys alone: verify.Verifier.
type OfflineVerifier = verify.Verifier

// NewOfflineVerifier takes the issuer's URL (Config.BaseURL) and its JWK
// Set as published (the document at the service's jwks.json); it is
// verify.New, with a refusal of too many keys as this package's *Error.
// It takes WithMaxKeys and WithClock.
func NewOfflineVerifier(issuer string, jwks []byte, opts ...Option) (*OfflineVerifier, error) {
	o, err := collect("NewOfflineVerifier", opts, "WithMaxKeys", "WithClock")
	if err != nil {
		return nil, err
	}
	v, err := verify.New(issuer, jwks, verify.WithMaxKeys(o.maxKeys), verify.WithClock(o.now))
	if ve, ok := errors.AsType[*verify.Error](err); ok {
		return nil, &Error{Kind: ve.Kind, Detail: ve.Detail}
	}
	return v, err
}
