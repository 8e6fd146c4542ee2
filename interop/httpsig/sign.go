package httpsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Algorithm is an RFC 9421 signature algorithm name (the "alg" parameter).
type Algorithm string

// The algorithms this package signs and verifies with.
const (
	Ed25519         Algorithm = "ed25519"
	ECDSAP256SHA256 Algorithm = "ecdsa-p256-sha256"
)

// keyAlgorithm is the algorithm a public key signs with.
func keyAlgorithm(pub crypto.PublicKey) (Algorithm, bool) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return Ed25519, len(k) == ed25519.PublicKeySize
	case *ecdsa.PublicKey:
		return ECDSAP256SHA256, k.Curve == elliptic.P256()
	}
	return "", false
}

// SignerConfig configures a [Signer]. Key and KeyID are required.
type SignerConfig struct {
	// Key signs: an ed25519.PrivateKey, an *ecdsa.PrivateKey on P-256, or
	// any crypto.Signer (HSM, KMS) whose public key is one of those.
	Key crypto.Signer
	// KeyID is the "keyid" parameter, by which the verifier finds the
	// public key.
	KeyID string
	// Label names the signature in Signature-Input and Signature; "sig1"
	// when empty. A signature of the same label already on the request is
	// replaced; others are kept.
	Label string
	// Components are covered in every request, in this order; a missing
	// header field makes Sign fail. GatewayComponents() when nil.
	Components []string
	// IfPresent are header fields covered when the request carries them,
	// after Components.
	IfPresent []string
	// Tag is the "tag" parameter, naming the application; none when empty.
	Tag string
	// Expires, when positive, sets the "expires" parameter that long after
	// the creation time.
	Expires time.Duration
	// Nonce returns the "nonce" parameter for each signature; when nil, a
	// random 128-bit value. A Nonce that returns "" leaves it out.
	Nonce func() string
	// OmitAlg leaves the "alg" parameter out (the verifier then takes the
	// algorithm from the key).
	OmitAlg bool
	// Digest is the algorithm of the Content-Digest that Sign adds when
	// "content-digest" is covered and the request has none: DigestSHA256
	// (the default) or DigestSHA512.
	Digest string
	// Now is the clock of the "created" parameter; time.Now when nil.
	Now func() time.Time
	// Rand is the randomness of nonces and ECDSA signatures; crypto/rand
	// when nil.
	Rand io.Reader
}

// Signer signs requests. It is safe for concurrent use.
type Signer struct {
	cfg          SignerConfig
	alg          Algorithm
	components   []component
	ifPresent    []component
	coversDigest bool
	// fixedParams are the serialized parameters that never change
	// (keyid, alg), written after created and expires; tagParam is the
	// serialized tag, written last.
	fixedParams string
	tagParam    string
}

// component is a covered component as the signer writes it: its name,
// its serialization as a structured-field string, and for a header field
// the canonical key it is looked up by.
type component struct {
	name   string
	quoted string
	key    string
}

func newComponent(name string) component {
	var b strings.Builder
	writeBare(&b, name)
	c := component{name: name, quoted: b.String()}
	if name[0] != '@' {
		c.key = http.CanonicalHeaderKey(name)
	}
	return c
}

// NewSigner checks the configuration and returns a signer.
func NewSigner(cfg SignerConfig) (*Signer, error) {
	if cfg.Key == nil || cfg.KeyID == "" {
		return nil, fail(ErrConfig, "a key and a key id are required")
	}
	alg, ok := keyAlgorithm(cfg.Key.Public())
	if !ok {
		return nil, fail(ErrConfig, "the key is neither Ed25519 nor ECDSA P-256")
	}
	if cfg.Label == "" {
		cfg.Label = "sig1"
	}
	if !validKey(cfg.Label) {
		return nil, fail(ErrConfig, "the label is not a structured-field key")
	}
	if !validString(cfg.KeyID) || !validString(cfg.Tag) {
		return nil, fail(ErrConfig, "the key id and tag must be printable ASCII")
	}
	if cfg.Components == nil {
		cfg.Components = GatewayComponents()
	}
	if cfg.Digest == "" {
		cfg.Digest = DigestSHA256
	}
	if newHash(cfg.Digest) == nil {
		return nil, fail(ErrConfig, "unsupported digest algorithm "+cfg.Digest)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	s := &Signer{cfg: cfg, alg: alg}
	seen := map[string]bool{}
	for _, c := range append(append([]string(nil), cfg.Components...), cfg.IfPresent...) {
		c = strings.ToLower(c)
		if seen[c] || c == "" || !validString(c) {
			return nil, fail(ErrConfig, "component empty or repeated: "+c)
		}
		seen[c] = true
		if c[0] == '@' {
			if _, ok := (&message{}).derived(c); !ok {
				return nil, fail(ErrConfig, "unsupported derived component "+c)
			}
		}
	}
	for _, c := range cfg.Components {
		c = strings.ToLower(c)
		s.components = append(s.components, newComponent(c))
		s.coversDigest = s.coversDigest || c == "content-digest"
	}
	for _, c := range cfg.IfPresent {
		if c = strings.ToLower(c); c[0] == '@' {
			return nil, fail(ErrConfig, "only header fields can be covered when present: "+c)
		}
		s.ifPresent = append(s.ifPresent, newComponent(c))
	}
	var b strings.Builder
	fixed := []sfParam{{key: "keyid", val: cfg.KeyID}}
	if !cfg.OmitAlg {
		fixed = append(fixed, sfParam{key: "alg", val: string(alg)})
	}
	writeParams(&b, fixed)
	s.fixedParams = b.String()
	if cfg.Tag != "" {
		b.Reset()
		writeParams(&b, []sfParam{{key: "tag", val: cfg.Tag}})
		s.tagParam = b.String()
	}
	return s, nil
}

// maxCovered is how many components a signature base is built for
// without allocating the list of those covered.
const maxCovered = 16

// bases lends Sign the buffer it builds a signature base in. A buffer is
// written from its start by each Sign and is only returned to the pool
// once the signature and the header values built from it are made.
var bases = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledBase is the largest buffer kept for reuse; a request with
// larger covered fields makes a buffer of its own.
const maxPooledBase = 64 << 10

// Sign adds Signature-Input and Signature to r (and Content-Digest, when
// covered and absent). The body is read to compute the digest only
// through r.GetBody, which http.NewRequest sets for in-memory bodies;
// a streamed body needs its Content-Digest set by the caller (see
// [DigestReader] and [ContentDigest]).
func (s *Signer) Sign(r *http.Request) error {
	if r.Header == nil {
		r.Header = http.Header{}
	}
	if err := s.ensureDigest(r); err != nil {
		return err
	}
	var coveredArr [maxCovered]*component
	covered := coveredArr[:0]
	for i := range s.components {
		covered = append(covered, &s.components[i])
	}
	for i := range s.ifPresent {
		if c := &s.ifPresent[i]; len(fieldLines(r.Header, c.key, c.name)) > 0 {
			covered = append(covered, c)
		}
	}
	msg := requestMessage(r)

	bp := bases.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledBase {
			bases.Put(bp)
		}
	}()
	// RFC 9421 section 2.5: one line per covered component, then the
	// signature parameters, which are also the Signature-Input member.
	b := (*bp)[:0]
	for _, c := range covered {
		b = append(b, c.quoted...)
		b = append(b, ": "...)
		if c.key == "" {
			b, _ = msg.appendDerived(b, c.name) // checked by NewSigner
		} else {
			lines := fieldLines(r.Header, c.key, c.name)
			if len(lines) == 0 {
				return fail(ErrConfig, "covered field absent: "+c.name)
			}
			for i, l := range lines {
				if i > 0 {
					b = append(b, ", "...)
				}
				b = append(b, canonicalFieldLine(l)...)
			}
		}
		b = append(b, '\n')
	}
	b = append(b, `"@signature-params": `...)
	start := len(b)
	b = append(b, '(')
	for i, c := range covered {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, c.quoted...)
	}
	b = append(b, ')')
	created := s.cfg.Now().Unix()
	b = append(b, ";created="...)
	b = strconv.AppendInt(b, created, 10)
	if s.cfg.Expires > 0 {
		b = append(b, ";expires="...)
		b = strconv.AppendInt(b, created+int64(s.cfg.Expires/time.Second), 10)
	}
	b = append(b, s.fixedParams...)
	b, err := s.appendNonce(b)
	if err != nil {
		return err
	}
	b = append(b, s.tagParam...)
	*bp = b

	sig, err := s.sign(b)
	if err != nil {
		return err
	}
	var input, signature strings.Builder
	input.Grow(len(s.cfg.Label) + 1 + len(b) - start)
	input.WriteString(s.cfg.Label)
	input.WriteByte('=')
	input.Write(b[start:])
	signature.Grow(len(s.cfg.Label) + 3 + base64.StdEncoding.EncodedLen(len(sig)))
	signature.WriteString(s.cfg.Label)
	signature.WriteString("=:")
	var enc [128]byte
	signature.Write(base64.StdEncoding.AppendEncode(enc[:0], sig))
	signature.WriteByte(':')
	setMember(r.Header, HeaderSignatureInput, s.cfg.Label, input.String())
	setMember(r.Header, HeaderSignature, s.cfg.Label, signature.String())
	return nil
}

// appendNonce appends the nonce parameter, if any.
func (s *Signer) appendNonce(b []byte) ([]byte, error) {
	if s.cfg.Nonce != nil {
		n := s.cfg.Nonce()
		if !validString(n) {
			return b, fail(ErrConfig, "the nonce must be printable ASCII")
		}
		if n == "" {
			return b, nil
		}
		b = append(b, ";nonce="...)
		return appendString(b, n), nil
	}
	var rnd [16]byte
	if _, err := io.ReadFull(s.cfg.Rand, rnd[:]); err != nil {
		return b, err
	}
	b = append(b, `;nonce="`...)
	b = base64.RawURLEncoding.AppendEncode(b, rnd[:])
	return append(b, '"'), nil
}

// appendString appends s serialized as a structured-field string
// (RFC 8941 section 4.1.6); s is printable ASCII.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for k := 0; k < len(s); k++ {
		if s[k] == '"' || s[k] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[k])
	}
	return append(b, '"')
}

func (s *Signer) sign(base []byte) ([]byte, error) {
	if s.alg == Ed25519 {
		return s.cfg.Key.Sign(s.cfg.Rand, base, crypto.Hash(0))
	}
	sum := sha256.Sum256(base)
	der, err := s.cfg.Key.Sign(s.cfg.Rand, sum[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	// RFC 9421 section 3.3.4: r and s as two 32-byte big-endian integers.
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) > 0 {
		return nil, fail(ErrConfig, "the ECDSA signer did not return an ASN.1 signature")
	}
	out := make([]byte, 64)
	rs.R.FillBytes(out[:32])
	rs.S.FillBytes(out[32:])
	return out, nil
}

// ensureDigest sets Content-Digest when it is covered and absent.
func (s *Signer) ensureDigest(r *http.Request) error {
	if !s.coversDigest || r.Header.Get(HeaderContentDigest) != "" {
		return nil
	}
	var body io.Reader
	switch {
	case r.Body == nil || r.Body == http.NoBody:
		body = strings.NewReader("")
	case r.GetBody != nil:
		rc, err := r.GetBody()
		if err != nil {
			return err
		}
		defer rc.Close()
		body = rc
	default:
		return fail(ErrConfig, "content-digest is covered but the request has no Content-Digest and its body cannot be read twice")
	}
	h := newHash(s.cfg.Digest)
	if _, err := io.Copy(h, body); err != nil {
		return err
	}
	r.Header.Set(HeaderContentDigest, digestValue(s.cfg.Digest, h.Sum(nil)))
	return nil
}

// setMember puts the serialized dictionary member (key=value) into the
// field name of h, replacing a member of the same key and keeping the
// others. A field that does not parse is replaced whole.
func setMember(h http.Header, name, key, member string) {
	old := h.Values(name)
	if len(old) == 0 {
		h[name] = []string{member} // name is canonical
		return
	}
	members, _ := parseDictionary(strings.Join(old, ", ")) // nil when malformed
	var b strings.Builder
	replaced := false
	for _, m := range members {
		if m.key == key && replaced {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		if m.key == key {
			b.WriteString(member)
			replaced = true
			continue
		}
		writeDictionary(&b, []sfMember{m})
	}
	if !replaced {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(member)
	}
	h.Set(name, b.String())
}

// Transport returns a round tripper that signs a copy of each request
// before passing it to base (http.DefaultTransport when nil); the
// caller's request is left unchanged.
func (s *Signer) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &signingTransport{s: s, base: base}
}

type signingTransport struct {
	s    *Signer
	base http.RoundTripper
}

func (t *signingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c := r.Clone(r.Context())
	if err := t.s.Sign(c); err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	return t.base.RoundTrip(c)
}
