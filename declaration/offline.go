package declaration

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/egovkit/egovkit/errkind"
)

// A document's full content can run to pages, more than a QR code holds.
// The QR code carries a summary signed on its own: who declared what kind
// of document, its numbers and dates, and the SHA-256 of the full signed
// token, so that an offline check shows the essentials and can match the
// full token when it has one.

// QRTokenType is the "typ" of the signed summary in the QR code.
const QRTokenType = "egovkit-declaration-qr+jwt"

// Summary is the signed content of the QR code.
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

func (s *Service) summary(d *Document, token string) Summary {
	sum := sha256.Sum256([]byte(token))
	return Summary{Stamp: s.stamp(d), Recipient: d.Draft.Recipient,
		Declarant:   Party{AFM: d.Declarant.AFM, Name: d.Declarant.GivenName + " " + d.Declarant.FamilyName},
		Grantee:     d.Draft.Grantee,
		TokenSHA256: base64.RawURLEncoding.EncodeToString(sum[:])}
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
// anything.
func ParseQR(content string) (code, token string, err error) {
	if len(content) > 8<<10 {
		return "", "", errors.New("declaration: QR content too long")
	}
	raw, fragment, _ := strings.Cut(content, "#")
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("declaration: QR content is not a URL: %w", err)
	}
	code, ok := NormalizeCode(u.Query().Get("code"))
	if !ok {
		return "", "", errors.New("declaration: QR content has no verification code")
	}
	return code, fragment, nil
}

// Errors of offline verification.
var (
	ErrBadToken   = errkind.New(errkind.Invalid, "declaration: the token is malformed or its signature is not valid")
	ErrUnknownKey = errkind.New(errkind.Invalid, "declaration: the token is signed with a key the issuer does not publish")
	// ErrTooManyKeys refuses a JWK Set with more keys than the verifier
	// takes (DefaultMaxKeys, or WithMaxKeys); it comes as an *Error.
	ErrTooManyKeys = errkind.New(errkind.Invalid, "declaration: the JWK Set has more keys than the verifier takes")
)

// DefaultMaxKeys is how many keys a JWK Set may hold for
// NewOfflineVerifier unless WithMaxKeys says otherwise. An issuer
// publishes a few keys at a time (the current one, the next, those
// retired but still verifying); a set with many more is a mistake or an
// attack, and refused before any key in it is read.
const DefaultMaxKeys = 64

// OfflineVerifier checks signed documents and QR summaries against an
// issuer's published keys alone, with no call to the issuer: for an
// office without a connection, or a wallet. It cannot see a revocation;
// when online, verify the code too.
type OfflineVerifier struct {
	issuer  string
	keys    map[string]verifyKey
	now     func() time.Time
	headers sync.Map // encoded header of a verified token -> seenHeader
}

type seenHeader struct {
	key verifyKey
	typ string
}

// verifyKey is a published key, checked once: an ES256 key is a valid
// P-256 point, an EdDSA key 32 bytes.
type verifyKey struct {
	alg jwa.SignatureAlgorithm
	ec  *ecdsa.PublicKey
	ed  ed25519.PublicKey
}

// NewOfflineVerifier takes the issuer's URL (Config.BaseURL) and its JWK
// Set as published (the document at the service's jwks.json), fetched
// beforehand and refreshed now and then. A set with more keys than
// DefaultMaxKeys (or WithMaxKeys) is refused with ErrTooManyKeys before
// any key is parsed. The verifier keeps the ES256 and EdDSA keys that
// carry a "kid" and an "alg", and checks signatures with crypto/ecdsa
// and crypto/ed25519. It is safe for concurrent use: make one for a key
// set and share it. It takes WithMaxKeys and WithClock.
func NewOfflineVerifier(issuer string, jwks []byte, opts ...Option) (*OfflineVerifier, error) {
	o, err := collect("NewOfflineVerifier", opts, "WithMaxKeys", "WithClock")
	if err != nil {
		return nil, err
	}
	if o.maxKeys <= 0 {
		o.maxKeys = DefaultMaxKeys
	}
	if err := countKeys(jwks, o.maxKeys); err != nil {
		return nil, err
	}
	set, err := jwk.Parse(jwks)
	if err != nil {
		return nil, fmt.Errorf("declaration: JWK Set: %w", err)
	}
	if set.Len() > o.maxKeys {
		// countKeys reads the set as jwk.Parse does; this holds if the two
		// ever part.
		return nil, &Error{Kind: ErrTooManyKeys, Detail: fmt.Sprintf("%d keys, at most %d", set.Len(), o.maxKeys)}
	}
	v := &OfflineVerifier{issuer: strings.TrimSuffix(issuer, "/"), keys: map[string]verifyKey{}, now: o.now}
	for i := range set.Len() {
		k, _ := set.Key(i)
		alg := jwa.SignatureAlgorithm(k.Algorithm().String())
		if alg != jwa.ES256 && alg != jwa.EdDSA || k.KeyID() == "" {
			continue
		}
		var raw any
		if err := k.Raw(&raw); err != nil {
			return nil, fmt.Errorf("declaration: JWK %q: %w", k.KeyID(), err)
		}
		switch pub := raw.(type) {
		case *ecdsa.PublicKey:
			if alg != jwa.ES256 || pub.Curve != elliptic.P256() {
				continue
			}
			// Bytes refuses a point off the curve, once here rather than
			// as a failed check of every signature.
			if _, err := pub.Bytes(); err != nil {
				return nil, fmt.Errorf("declaration: JWK %q: %w", k.KeyID(), err)
			}
			v.keys[k.KeyID()] = verifyKey{alg: alg, ec: pub}
		case ed25519.PublicKey:
			if alg != jwa.EdDSA || len(pub) != ed25519.PublicKeySize {
				continue
			}
			v.keys[k.KeyID()] = verifyKey{alg: alg, ed: pub}
		}
	}
	if len(v.keys) == 0 {
		return nil, errors.New("declaration: the JWK Set has no ES256 or EdDSA key")
	}
	return v, nil
}

// countKeys refuses a JWK Set with more than limit keys, reading it the
// way jwk.Parse does (the keys of every member named "keys" of the
// top-level object), and stops at the first key over: a set of thousands
// of keys costs no more than limit keys' worth of reading. Malformed JSON
// is left to jwk.Parse to report.
func countKeys(jwks []byte, limit int) error {
	dec := json.NewDecoder(bytes.NewReader(jwks))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	n := 0
	for dec.More() {
		name, err := dec.Token()
		if err != nil {
			return nil
		}
		if name != "keys" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil
			}
			continue
		}
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		if t != json.Delim('[') {
			if _, ok := t.(json.Delim); ok {
				return nil // an object, which jwk.Parse refuses
			}
			continue // null, which jwk.Parse reads as no keys, or a scalar
		}
		for dec.More() {
			if n++; n > limit {
				return &Error{Kind: ErrTooManyKeys, Detail: fmt.Sprintf("more than %d keys", limit)}
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil
		}
	}
	return nil
}

// b64 is base64url without padding, refusing non-zero trailing bits, so
// that one signature has one encoding.
var b64 = base64.RawURLEncoding.Strict()

// maxToken is the longest token the verifier reads.
const maxToken = 1 << 20

// buffers holds the verifier's scratch space: a copy of the token, then
// its decoded payload. The claims are copied out of it (encoding/json
// copies every string), so one buffer serves one check after another.
var buffers = sync.Pool{New: func() any { return new([]byte) }}

// verify checks a compact JWS and decodes its payload into claims. This is
// the hot path of every offline check, so it splits the compact form
// once, reads each distinct header once, and allocates only what the
// standard library's verification and the decoded claims do.
func (v *OfflineVerifier) verify(token, typ string, claims any) error {
	if len(token) > maxToken {
		return fmt.Errorf("%w: too long", ErrBadToken)
	}
	h64, rest, ok1 := strings.Cut(token, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(s64, '.') >= 0 {
		return fmt.Errorf("%w: not a compact JWS", ErrBadToken)
	}
	var k verifyKey
	c, cached := v.headers.Load(h64)
	if cached = cached && c.(seenHeader).typ == typ; cached {
		k = c.(seenHeader).key
	} else {
		var err error
		if k, err = v.header(h64, typ); err != nil {
			return err
		}
	}
	// Both algorithms sign with 64 bytes: r||s for ES256 (RFC 7518,
	// section 3.4), R||S for Ed25519.
	var sig [64]byte
	if b64.DecodedLen(len(s64)) != len(sig) {
		return fmt.Errorf("%w: the signature is not %d bytes", ErrBadToken, len(sig))
	}
	bp := buffers.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			buffers.Put(bp)
		}
	}()
	// One copy of the token as bytes, which the signature check, the
	// signature's and the payload's decoding all read.
	buf := append((*bp)[:0], token...)
	*bp = buf
	input := buf[:len(h64)+1+len(p64)]
	if _, err := b64.Decode(sig[:], buf[len(input)+1:]); err != nil {
		return fmt.Errorf("%w: signature: %v", ErrBadToken, err)
	}
	valid := false
	if k.ec != nil {
		digest := sha256.Sum256(input)
		var der [72]byte
		valid = ecdsa.VerifyASN1(k.ec, digest[:], asn1Signature(der[:0], sig[:32], sig[32:]))
	} else {
		valid = ed25519.Verify(k.ed, input, sig[:])
	}
	if !valid {
		return fmt.Errorf("%w: the signature does not match", ErrBadToken)
	}
	if !cached {
		// Only a header the issuer signed is kept: they are few (one
		// per key and type), and nobody else can add one. It is copied
		// so as not to keep the whole token.
		v.headers.Store(strings.Clone(h64), seenHeader{key: k, typ: typ})
	}
	// The payload is decoded after the token's copy, in the same buffer.
	buf, err := b64.AppendDecode(buf, input[len(h64)+1:])
	*bp = buf
	if err != nil {
		return fmt.Errorf("%w: payload: %v", ErrBadToken, err)
	}
	if err := json.Unmarshal(buf[len(token):], claims); err != nil {
		return fmt.Errorf("%w: payload: %v", ErrBadToken, err)
	}
	return nil
}

// asn1Signature appends to b the DER form crypto/ecdsa.VerifyASN1 reads,
// SEQUENCE { INTEGER r, INTEGER s }, of a signature's two 32-byte halves,
// as crypto/ecdsa.Verify makes it from the two numbers. A zero half is
// written as the INTEGER 0, which VerifyASN1 refuses like any r or s out
// of range.
func asn1Signature(b, r, s []byte) []byte {
	r, s = minimal(r), minimal(s)
	lr, ls := len(r)+int(r[0]>>7), len(s)+int(s[0]>>7)
	b = append(b, 0x30, byte(4+lr+ls))
	for _, n := range [2][]byte{r, s} {
		b = append(b, 0x02, byte(len(n)+int(n[0]>>7)))
		if n[0]&0x80 != 0 {
			b = append(b, 0)
		}
		b = append(b, n...)
	}
	return b
}

// minimal strips the leading zeros of a big-endian number and keeps one
// byte at least.
func minimal(n []byte) []byte {
	for len(n) > 1 && n[0] == 0 {
		n = n[1:]
	}
	return n
}

// header reads a token's protected header: it names the key (kid), whose
// own algorithm must be the header's (no "none", no confusion), the type
// must be typ, and critical extensions, which egovkit never emits, are
// refused.
func (v *OfflineVerifier) header(h64, typ string) (verifyKey, error) {
	hb, err := b64.DecodeString(h64)
	if err != nil {
		return verifyKey{}, fmt.Errorf("%w: header: %v", ErrBadToken, err)
	}
	var h struct {
		Alg  string          `json:"alg"`
		Kid  string          `json:"kid"`
		Typ  string          `json:"typ"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return verifyKey{}, fmt.Errorf("%w: header: %v", ErrBadToken, err)
	}
	k, ok := v.keys[h.Kid]
	switch {
	case !ok:
		return verifyKey{}, ErrUnknownKey
	case h.Alg != string(k.alg):
		return verifyKey{}, fmt.Errorf("%w: algorithm %q is not the key's", ErrBadToken, h.Alg)
	case h.Typ != typ:
		return verifyKey{}, fmt.Errorf("%w: not a %s", ErrBadToken, typ)
	case h.Crit != nil:
		return verifyKey{}, fmt.Errorf("%w: unknown critical header", ErrBadToken)
	}
	return k, nil
}

// status judges a verified token's issuer and expiry.
func (v *OfflineVerifier) status(st Stamp) (string, error) {
	if st.Issuer != v.issuer {
		return "", fmt.Errorf("%w: issued by %q, not %q", ErrBadToken, st.Issuer, v.issuer)
	}
	if st.Expiry != 0 && !v.now().Before(time.Unix(st.Expiry, 0)) {
		return StatusExpired, nil
	}
	return StatusValid, nil
}

// Verify checks a document's full signed token (Document.Token) and
// returns its content with StatusValid or StatusExpired.
func (v *OfflineVerifier) Verify(token string) (*Claims, string, error) {
	var c Claims
	if err := v.verify(token, TokenType, &c); err != nil {
		return nil, "", err
	}
	st, err := v.status(c.Stamp)
	if err != nil {
		return nil, "", err
	}
	return &c, st, nil
}

// VerifyQR checks what a QR code holds (QRContent): the signed summary,
// that it belongs to the verification code beside it, and that the URL a
// phone would open is the issuer's own, not a look-alike site's.
func (v *OfflineVerifier) VerifyQR(content string) (*Summary, string, error) {
	if !strings.HasPrefix(content, v.issuer+"/verify?") {
		return nil, "", fmt.Errorf("%w: the QR code leads to another site than the issuer's", ErrBadToken)
	}
	code, token, err := ParseQR(content)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	if token == "" {
		return nil, "", fmt.Errorf("%w: the QR code carries no signed summary; verify the code online", ErrBadToken)
	}
	var s Summary
	if err := v.verify(token, QRTokenType, &s); err != nil {
		return nil, "", err
	}
	if s.Code != code {
		return nil, "", fmt.Errorf("%w: the summary is another document's", ErrBadToken)
	}
	st, err := v.status(s.Stamp)
	if err != nil {
		return nil, "", err
	}
	return &s, st, nil
}

// Matches reports whether a full token is the one a summary was signed
// with.
func (s *Summary) Matches(token string) bool {
	sum := sha256.Sum256([]byte(token))
	return s.TokenSHA256 == base64.RawURLEncoding.EncodeToString(sum[:])
}
