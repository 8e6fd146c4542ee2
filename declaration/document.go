package declaration

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/egovkit/egovkit/declaration/verify"
	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/internal/ident"
	"github.com/egovkit/egovkit/internal/jsonschema"
	"github.com/egovkit/egovkit/problem"
)

// Kinds of document.
const (
	// KindSolemn is a solemn declaration (υπεύθυνη δήλωση, Law 1599/1986,
	// article 8): free text addressed to an authority, under the
	// statutory wording.
	KindSolemn = "solemn_declaration"
	// KindAuthorization is an authorization (εξουσιοδότηση): the grantor
	// lets the grantee, identified by tax number, act for them.
	KindAuthorization = "authorization"
	// KindTemplate is a document of an agency-defined template, whose
	// fields its JSON Schema describes.
	KindTemplate = "template"
)

// States of a document.
const (
	StateDraft   = "draft"
	StateIssued  = "issued"
	StateRevoked = "revoked"
)

// Limits on what a declarant writes.
const (
	MaxText      = 10000 // characters of a declaration's or authorization's text
	MaxRecipient = 300
	MaxName      = 200
	MaxFields    = 64 << 10 // bytes of a template's fields
)

// Statutory wording of a solemn declaration (Law 1599/1986, article 8,
// as printed on the official form), which precedes the declarant's text.
var StatutoryWording = Text{
	EL: "Με ατομική μου ευθύνη και γνωρίζοντας τις κυρώσεις που προβλέπονται από τις διατάξεις της παρ. 6 του άρθρου 22 του Ν. 1599/1986, δηλώνω ότι:",
	EN: "On my own responsibility, and aware of the penalties laid down in paragraph 6 of article 22 of Law 1599/1986, I declare that:",
}

// Text is a string in Greek and English.
type Text struct {
	EL string `json:"el"`
	EN string `json:"en"`
}

// In returns the text in lang ("el" or "en"), or the other one when that
// is empty.
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" || t.EL == "" {
		return t.EN
	}
	return t.EL
}

// Person is the declarant as the caller's sign-in knows them. The tax
// number is required and checked; the other fields appear on the document
// as given. Mobile is not part of the document.
type Person = verify.Person

// Party is someone a document names besides the declarant: the grantee of
// an authorization.
type Party = verify.Party

// Draft is what a declarant writes. Template names an agency template
// (KindTemplate), and Fields are its values, checked against the
// template's schema.
type Draft = verify.Draft

// Template is an agency-defined kind of document.
type Template struct {
	Title Text
	// Schema is the JSON Schema (draft-07) of the fields.
	Schema []byte
	// Authorization marks templates that empower a grantee, who must then
	// be named in the draft.
	Authorization bool
}

// Document is a draft, issued or revoked document.
type Document struct {
	ID        string    `json:"id"`
	Issuer    string    `json:"issuer"`
	State     string    `json:"state"`
	Declarant Person    `json:"declarant"`
	Draft     Draft     `json:"draft"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when an unconfirmed draft is no longer confirmed.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	IssuedAt  time.Time `json:"issued_at,omitzero"`
	// Protocol is the protocol number, "2026/000123".
	Protocol string `json:"protocol,omitempty"`
	// Code is the verification code printed on the document.
	Code string `json:"code,omitempty"`
	// Token is the content signed as a compact JWS.
	Token string `json:"token,omitempty"`
	// SDJWT is the document as an SD-JWT VC with all its disclosures, for
	// the citizen's wallet (see SDJWTType).
	SDJWT        string    `json:"sd_jwt,omitempty"`
	RevokedAt    time.Time `json:"revoked_at,omitzero"`
	RevokeReason string    `json:"revoke_reason,omitempty"`
}

// Errors, matched with errors.Is.
var (
	ErrNotFound  = errkind.New(errkind.NotFound, "declaration: no such document")
	ErrForbidden = errkind.New(errkind.Forbidden, "declaration: the document is not the caller's")
	ErrState     = errkind.New(errkind.Conflict, "declaration: the document's state does not allow this")
	ErrExpired   = errkind.New(errkind.Conflict, "declaration: the draft has expired")
	ErrCode      = errkind.New(errkind.Unauthorized, "declaration: the one-time code was not accepted")
)

// Error carries one of the sentinels with the reason, and renders as a
// problem over HTTP.
type Error struct {
	Kind   error
	Detail string
	// RetryAfter, for ErrCode, says how long to wait before another try.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Detail }
func (e *Error) Unwrap() error { return e.Kind }

// Is makes a refusal that asks for a wait (ErrCode with RetryAfter: codes
// asked for too soon, or too many wrong ones) match errkind.RateLimited
// as well as its Kind.
func (e *Error) Is(target error) bool { return target == errkind.RateLimited && e.RetryAfter > 0 }

// Problem renders the error as problem details.
func (e *Error) Problem() *problem.Problem {
	switch e.Kind {
	case ErrNotFound:
		return httpx.NotFound(e.Detail)
	case ErrForbidden:
		return httpx.Forbidden(e.Detail)
	case ErrState, ErrExpired:
		return httpx.Conflict(e.Detail)
	case ErrCode:
		if e.RetryAfter > 0 {
			p := httpx.RateLimited(int(e.RetryAfter.Seconds()) + 1)
			p.Detail = e.Detail
			return p
		}
		return httpx.Validation(e.Detail, problem.FieldError{Field: "code", Detail: e.Detail})
	}
	return httpx.BadRequest(e.Detail)
}

func fail(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// InvalidError lists what is wrong with a draft or a person, by field
// (JSON Pointers into the draft, such as "/grantee/afm").
type InvalidError struct {
	Fields []problem.FieldError
}

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Pointer + ": " + f.Detail
	}
	return "declaration: invalid document: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, errkind.Invalid) hold.
func (e *InvalidError) Is(target error) bool { return target == errkind.Invalid }

// Problem renders the error as a 422 with one field error per problem.
func (e *InvalidError) Problem() *problem.Problem {
	return httpx.Validation("the document is not valid", e.Fields...)
}

type checker struct {
	fields []problem.FieldError
	// anyScript accepts characters the document's font lacks: a person's
	// name comes from a registry and is taken as it is.
	anyScript bool
}

func (c *checker) add(ptr, detail string) {
	c.fields = append(c.fields, problem.FieldError{Pointer: ptr, Detail: detail})
}

func (c *checker) text(ptr, s string, required bool, max int) {
	switch {
	case required && strings.TrimSpace(s) == "":
		c.add(ptr, "is required")
	case !utf8.ValidString(s):
		c.add(ptr, "is not valid text")
	case utf8.RuneCountInString(s) > max:
		c.add(ptr, fmt.Sprintf("must be at most %d characters long", max))
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\r' && r != '\t' }):
		c.add(ptr, "must not contain control characters")
	case !c.anyScript && strings.ContainsFunc(s, func(r rune) bool { return r >= 0x20 && !printable(r) }):
		c.add(ptr, "has characters a document cannot print; use Greek or Latin letters, digits and punctuation")
	}
}

// printable reports whether the document's font draws r: the ranges its
// fonts were reduced to (fonts/LICENSE).
func printable(r rune) bool {
	switch {
	case r >= 0x20 && r <= 0x7E, r >= 0xA0 && r <= 0x17F, r >= 0x370 && r <= 0x3FF, r >= 0x1F00 && r <= 0x1FFF,
		r >= 0x2010 && r <= 0x2027, r >= 0x2030 && r <= 0x203A, r == 0x20AC, r == 0x2116, r == 0x2122:
		return true
	}
	return false
}

func (c *checker) err() error {
	if len(c.fields) == 0 {
		return nil
	}
	return &InvalidError{Fields: c.fields}
}

// checkPerson validates the declarant and returns them normalised.
func checkPerson(p Person) (Person, error) {
	c := checker{anyScript: true}
	afm, err := ident.AFM{}.Normalize(p.AFM)
	if err != nil {
		c.add("/declarant/afm", afmDetail(err))
	}
	p.AFM = afm
	p.GivenName, p.FamilyName = strings.TrimSpace(p.GivenName), strings.TrimSpace(p.FamilyName)
	c.text("/declarant/given_name", p.GivenName, true, MaxName)
	c.text("/declarant/family_name", p.FamilyName, true, MaxName)
	c.text("/declarant/father_name", p.FatherName, false, MaxName)
	c.text("/declarant/mother_name", p.MotherName, false, MaxName)
	c.text("/declarant/id_card", p.IDCard, false, 20)
	if p.BirthDate != "" {
		if _, err := time.Parse(time.DateOnly, p.BirthDate); err != nil {
			c.add("/declarant/birth_date", "must be a date, YYYY-MM-DD")
		}
	}
	return p, c.err()
}

// checkDraft validates a draft against its kind and returns it normalised.
func (s *Service) checkDraft(d Draft, declarant Person, now time.Time) (Draft, error) {
	var c checker
	if d.Lang == "" {
		d.Lang = "el"
	}
	if d.Lang != "el" && d.Lang != "en" {
		c.add("/lang", `must be "el" or "en"`)
	}
	d.Recipient, d.Text = strings.TrimSpace(d.Recipient), strings.TrimSpace(d.Text)
	c.text("/recipient", d.Recipient, d.Kind == KindSolemn, MaxRecipient)
	if !d.ValidUntil.IsZero() {
		d.ValidUntil = d.ValidUntil.UTC().Truncate(time.Second)
		if !d.ValidUntil.After(now) {
			c.add("/valid_until", "must be in the future")
		}
	}
	grantee := false
	switch d.Kind {
	case KindSolemn:
		c.text("/text", d.Text, true, MaxText)
		if d.Template != "" || len(d.Fields) > 0 {
			c.add("/template", "only template documents have a template")
		}
	case KindAuthorization:
		c.text("/text", d.Text, true, MaxText)
		if d.ValidUntil.IsZero() {
			c.add("/valid_until", "an authorization needs an end date")
		}
		if d.Template != "" || len(d.Fields) > 0 {
			c.add("/template", "only template documents have a template")
		}
		grantee = true
	case KindTemplate:
		c.text("/text", d.Text, false, MaxText)
		t, ok := s.templates[d.Template]
		switch {
		case !ok:
			c.add("/template", "is not a template of this service")
		case len(d.Fields) > MaxFields:
			c.add("/fields", "is too large")
		default:
			fields := d.Fields
			if len(bytes.TrimSpace(fields)) == 0 {
				fields = []byte("{}")
			}
			var ve *jsonschema.ValidationError
			if err := t.schema.Validate(fields); errors.As(err, &ve) {
				for _, v := range ve.Violations {
					c.add("/fields"+v.Pointer, v.Message)
				}
			} else if err != nil {
				c.add("/fields", "is not JSON")
			}
			var compact bytes.Buffer
			if json.Compact(&compact, fields) == nil {
				d.Fields = compact.Bytes()
			}
			grantee = t.Authorization
		}
	default:
		c.add("/kind", `must be "solemn_declaration", "authorization" or "template"`)
	}
	if grantee {
		if d.Grantee == nil {
			c.add("/grantee", "is required")
		} else {
			g := *d.Grantee
			afm, err := ident.AFM{}.Normalize(g.AFM)
			switch {
			case err != nil:
				c.add("/grantee/afm", afmDetail(err))
			case afm == declarant.AFM:
				c.add("/grantee/afm", "must not be the declarant's own")
			}
			g.AFM, g.Name = afm, strings.TrimSpace(g.Name)
			c.text("/grantee/name", g.Name, true, MaxName)
			d.Grantee = &g
		}
	} else if d.Grantee != nil {
		c.add("/grantee", "only authorizations name a grantee")
	}
	return d, c.err()
}

// Verification codes have 20 symbols of an alphabet of 30 with none that
// people confuse: about 98 bits, printed in five groups of four.
const (
	codeAlphabet = verify.CodeAlphabet
	codeLen      = verify.CodeLen
	codeGroup    = verify.CodeGroup
)

// newCode draws a verification code uniformly from crypto/rand.
func newCode() string {
	var b strings.Builder
	buf := make([]byte, 1)
	for n := 0; n < codeLen; {
		if _, err := rand.Read(buf); err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		// 256 = 8×30 + 16: rejecting the top 16 values keeps it uniform.
		if buf[0] >= 240 {
			continue
		}
		if n > 0 && n%codeGroup == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(codeAlphabet[int(buf[0])%len(codeAlphabet)])
		n++
	}
	return b.String()
}

// afmDetail says why a tax number was refused: a number whose check
// digit does not match is most often mistyped, and saying so helps.
func afmDetail(err error) string {
	var ie *ident.Error
	if errors.As(err, &ie) && ie.Reason == "check digit does not match" {
		return "is not a valid tax number: its check digit does not match"
	}
	return "is not a valid tax number"
}
