package verify

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Verifier checks signed documents and QR summaries against an issuer's
// published keys alone, with no call to the issuer: for an office without
// a connection, or a wallet. It cannot see a revocation; when online,
// verify the code too. It is safe for concurrent use: make one for a key
// set and share it.
type Verifier struct {
	issuer  string
	keys    map[string]verifyKey
	now     func() time.Time
	headers sync.Map // encoded header of a verified token -> seenHeader
}

type seenHeader struct {
	key verifyKey
	typ string
}

// Option configures New.
type Option func(*options)

type options struct {
	maxKeys int
	now     func() time.Time
}

// WithMaxKeys sets how many keys the JWK Set may hold; zero or less
// means DefaultMaxKeys. Every key counts, also those the verifier does
// not use (RSA keys, keys without a "kid").
func WithMaxKeys(n int) Option {
	return func(o *options) { o.maxKeys = n }
}

// WithClock sets the clock expiry is judged by (time.Now when nil).
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// New takes the issuer's URL (the service's base URL, where its
// verification page is) and its JWK Set as published (the document at
// the service's jwks.json), fetched beforehand and refreshed now and
// then. A set with more keys than DefaultMaxKeys (or WithMaxKeys) is
// refused with ErrTooManyKeys, as an *Error, before any key is parsed.
// The verifier keeps the ES256 and EdDSA keys that carry a "kid" and an
// "alg", and checks signatures with crypto/ecdsa and crypto/ed25519.
func New(issuer string, jwks []byte, opts ...Option) (*Verifier, error) {
	o := options{maxKeys: DefaultMaxKeys}
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxKeys <= 0 {
		o.maxKeys = DefaultMaxKeys
	}
	if o.now == nil {
		o.now = time.Now
	}
	keys, err := parseKeys(jwks, o.maxKeys)
	if err != nil {
		return nil, err
	}
	return &Verifier{issuer: strings.TrimSuffix(issuer, "/"), keys: keys, now: o.now}, nil
}

// b64 is base64url without padding, refusing non-zero trailing bits, so
// that one signature has one encoding.
var b64 = base64.RawURLEncoding.Strict()

// maxToken is the longest token the verifier reads.
const maxToken = 1 << 20

// buffers holds the verifier's scratch space: a copy of the token, then
// its decoded payload. The claims are copied out of it (the decoder
// copies every string and raw value), so one buffer serves one check
// after another.
var buffers = sync.Pool{New: func() any { return new([]byte) }}

// verify checks a compact JWS and decodes its payload into claims. This is
// the hot path of every offline check, so it splits the compact form
// once, reads each distinct header once, and allocates only what the
// standard library's verification and the decoded claims do.
func (v *Verifier) verify(token, typ string, claims any) error {
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
	if !k.verify(input, &sig) {
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
	if err := decode(buf[len(token):], claims); err != nil {
		return fmt.Errorf("%w: payload: %v", ErrBadToken, err)
	}
	return nil
}

// header reads a token's protected header: it names the key (kid), whose
// own algorithm must be the header's (no "none", no confusion), the type
// must be typ, and critical extensions, which egovkit never emits, are
// refused.
func (v *Verifier) header(h64, typ string) (verifyKey, error) {
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
	case h.Alg != k.alg:
		return verifyKey{}, fmt.Errorf("%w: algorithm %q is not the key's", ErrBadToken, h.Alg)
	case h.Typ != typ:
		return verifyKey{}, fmt.Errorf("%w: not a %s", ErrBadToken, typ)
	case h.Crit != nil:
		return verifyKey{}, fmt.Errorf("%w: unknown critical header", ErrBadToken)
	}
	return k, nil
}

// status judges a verified token's issuer and expiry.
func (v *Verifier) status(st *Stamp) (string, error) {
	if st.Issuer != v.issuer {
		return "", fmt.Errorf("%w: issued by %q, not %q", ErrBadToken, st.Issuer, v.issuer)
	}
	if st.Expiry != 0 && !v.now().Before(time.Unix(st.Expiry, 0)) {
		return StatusExpired, nil
	}
	return StatusValid, nil
}

// Verify checks a document's full signed token and returns its content
// with StatusValid or StatusExpired.
func (v *Verifier) Verify(token string) (*Claims, string, error) {
	c := new(Claims)
	if err := v.verify(token, TokenType, c); err != nil {
		return nil, "", err
	}
	st, err := v.status(&c.Stamp)
	if err != nil {
		return nil, "", err
	}
	return c, st, nil
}

// VerifyQR checks what a QR code holds (the issuer's verification URL
// with the signed summary after "#"): the signed summary, that it belongs
// to the verification code beside it, and that the URL a phone would open
// is the issuer's own, not a look-alike site's.
func (v *Verifier) VerifyQR(content string) (*Summary, string, error) {
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
	s := new(Summary)
	if err := v.verify(token, QRTokenType, s); err != nil {
		return nil, "", err
	}
	if s.Code != code {
		return nil, "", fmt.Errorf("%w: the summary is another document's", ErrBadToken)
	}
	st, err := v.status(&s.Stamp)
	if err != nil {
		return nil, "", err
	}
	return s, st, nil
}
