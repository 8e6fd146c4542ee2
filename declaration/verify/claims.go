package verify

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"
)

// Token types: the "typ" header of what an issuer signs.
const (
	// TokenType is the "typ" of a document's full signed token.
	TokenType = "egovkit-declaration+jwt"
	// QRTokenType is the "typ" of the signed summary in a QR code.
	QRTokenType = "egovkit-declaration-qr+jwt"
)

// Status of a verified document, as an offline check sees it.
const (
	StatusValid   = "valid"
	StatusExpired = "expired"
)

// Stamp is what every signed form of a document begins with: who issued
// it where, when, until when, and its kind, protocol number and
// verification code.
type Stamp struct {
	Issuer     string `json:"iss"`
	ID         string `json:"jti"`
	IssuedAt   int64  `json:"iat"`
	Expiry     int64  `json:"exp,omitempty"`
	IssuerName string `json:"issuer_name"`
	Kind       string `json:"kind"`
	Protocol   string `json:"protocol"`
	Code       string `json:"code"`
}

// Person is the declarant as the issuer's sign-in knows them. The tax
// number is required and checked; the other fields appear on the document
// as given.
type Person struct {
	AFM        string `json:"afm"`
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
	FatherName string `json:"father_name,omitempty"`
	MotherName string `json:"mother_name,omitempty"`
	BirthDate  string `json:"birth_date,omitempty"` // YYYY-MM-DD
	IDCard     string `json:"id_card,omitempty"`    // identity card number, where needed
	// Mobile is the registered mobile number the one-time code goes to,
	// from the contact registry; it is not part of the document. Empty
	// means none: a code is then never delivered.
	Mobile string `json:"-"`
}

// Party is someone a document names besides the declarant: the grantee of
// an authorization.
type Party struct {
	AFM  string `json:"afm"`
	Name string `json:"name"`
}

// Draft is what a declarant writes.
type Draft struct {
	Kind string `json:"kind"`
	// Lang is the language of the document: "el" (the default) or "en".
	Lang string `json:"lang,omitempty"`
	// Recipient is the authority a solemn declaration is addressed to
	// ("Προς"); for an authorization, where it will be shown, if known.
	Recipient string `json:"recipient,omitempty"`
	// Text is the declaration, or what the grantee may do.
	Text string `json:"text,omitempty"`
	// Grantee is who an authorization empowers.
	Grantee *Party `json:"grantee,omitempty"`
	// ValidUntil ends an authorization (required for one) or, optionally,
	// any document: verification then says "expired".
	ValidUntil time.Time `json:"valid_until,omitzero"`
	// Template names an agency template, and Fields are its values,
	// checked against the template's schema when issued.
	Template string          `json:"template,omitempty"`
	Fields   json.RawMessage `json:"fields,omitempty"`
}

// Claims are the signed content of an issued document: what its token
// carries, and what Verifier.Verify returns.
type Claims struct {
	Stamp
	Declarant Person `json:"declarant"`
	Content   Draft  `json:"content"`
	Statutory string `json:"statutory,omitempty"`
	StatusURL string `json:"status_url"`
}

// A document's full content can run to pages, more than a QR code holds.
// The QR code carries a summary signed on its own: who declared what kind
// of document, its numbers and dates, and the SHA-256 of the full signed
// token, so that an offline check shows the essentials and can match the
// full token when it has one.

// Summary is the signed content of the QR code, what Verifier.VerifyQR
// returns.
type Summary struct {
	Stamp
	// Declarant is the declarant's name and tax number.
	Declarant Party `json:"declarant"`
	// Grantee is an authorization's grantee.
	Grantee *Party `json:"grantee,omitempty"`
	// Recipient is the authority the document is addressed to.
	Recipient string `json:"recipient,omitempty"`
	// TokenSHA256 is the base64url SHA-256 of the full signed token.
	TokenSHA256 string `json:"token_sha256"`
}

// Matches reports whether a full token is the one a summary was signed
// with.
func (s *Summary) Matches(token string) bool {
	return s.TokenSHA256 == TokenSHA256(token)
}

// TokenSHA256 is the base64url SHA-256 of a full token, as a Summary
// carries it.
func TokenSHA256(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
