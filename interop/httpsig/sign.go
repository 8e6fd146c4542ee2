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
	"strings"
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
	cfg        SignerConfig
	alg        Algorithm
	components []sfItem
	ifPresent  []string
	prefix     string // the serialized parameters that never change
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
		s.components = append(s.components, sfItem{val: strings.ToLower(c)})
	}
	for _, c := range cfg.IfPresent {
		if c = strings.ToLower(c); c[0] == '@' {
			return nil, fail(ErrConfig, "only header fields can be covered when present: "+c)
		}
		s.ifPresent = append(s.ifPresent, c)
	}
	return s, nil
}

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
	covered := s.components
	for _, name := range s.ifPresent {
		if len((&message{header: r.Header}).lines(name)) > 0 {
			if len(covered) == len(s.components) {
				covered = append([]sfItem(nil), s.components...)
			}
			covered = append(covered, sfItem{val: name})
		}
	}
	created := s.cfg.Now().Unix()
	params := []sfParam{{key: "created", val: created}}
	if s.cfg.Expires > 0 {
		params = append(params, sfParam{key: "expires", val: created + int64(s.cfg.Expires/time.Second)})
	}
	params = append(params, sfParam{key: "keyid", val: s.cfg.KeyID})
	if !s.cfg.OmitAlg {
		params = append(params, sfParam{key: "alg", val: string(s.alg)})
	}
	nonce, err := s.nonce()
	if err != nil {
		return err
	}
	if nonce != "" {
		params = append(params, sfParam{key: "nonce", val: nonce})
	}
	if s.cfg.Tag != "" {
		params = append(params, sfParam{key: "tag", val: s.cfg.Tag})
	}
	base, _, err := signatureBase(requestMessage(r), covered, params)
	if err != nil {
		if e, ok := err.(*Error); ok {
			e.Reason = ErrConfig
		}
		return err
	}
	sig, err := s.sign(base)
	if err != nil {
		return err
	}
	setMember(r.Header, HeaderSignatureInput, sfMember{key: s.cfg.Label, isInner: true, inner: covered, params: params})
	setMember(r.Header, HeaderSignature, sfMember{key: s.cfg.Label, item: sfItem{val: sig}})
	return nil
}

func (s *Signer) nonce() (string, error) {
	if s.cfg.Nonce != nil {
		n := s.cfg.Nonce()
		if !validString(n) {
			return "", fail(ErrConfig, "the nonce must be printable ASCII")
		}
		return n, nil
	}
	var b [16]byte
	if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
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
	covers := false
	for _, c := range s.components {
		if c.val == "content-digest" {
			covers = true
		}
	}
	if !covers || r.Header.Get(HeaderContentDigest) != "" {
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
	d, _ := NewDigestReader(body, s.cfg.Digest)
	if _, err := io.Copy(io.Discard, d); err != nil {
		return err
	}
	v, _ := d.Value()
	r.Header.Set(HeaderContentDigest, v)
	return nil
}

// setMember puts m into the dictionary field name of h, replacing a
// member of the same key and keeping the others. A field that does not
// parse is replaced whole.
func setMember(h http.Header, name string, m sfMember) {
	var members []sfMember
	if old := h.Values(name); len(old) > 0 {
		members, _ = parseDictionary(strings.Join(old, ", ")) // nil when malformed
	}
	replaced := false
	for i := range members {
		if members[i].key == m.key {
			members[i] = m
			replaced = true
		}
	}
	if !replaced {
		members = append(members, m)
	}
	var b strings.Builder
	writeDictionary(&b, members)
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
