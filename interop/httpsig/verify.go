package httpsig

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/egovkit/egovkit/errkind"
)

// KeyResolver returns the public key (ed25519.PublicKey or
// *ecdsa.PublicKey on P-256) that keyID names. An error matching
// errkind.Unavailable (a key set that cannot be fetched) is returned as
// is; any other error refuses the signature as [ErrUnknownKey].
type KeyResolver func(ctx context.Context, keyID string) (crypto.PublicKey, error)

// VerifierConfig configures a [Verifier]. Keys is required.
type VerifierConfig struct {
	// Keys finds the public key of a signature's keyid.
	Keys KeyResolver
	// Label, when set, is the only signature label verified. When empty,
	// each signature on the request is tried in turn and the first that
	// verifies is taken.
	Label string
	// Required are the components every signature must cover;
	// GatewayComponents() when nil.
	Required []string
	// IfPresent are header fields a signature must cover whenever the
	// request carries them.
	IfPresent []string
	// Tag, when set, is the "tag" parameter a signature must have.
	Tag string
	// RequireNonce refuses signatures without a "nonce" parameter.
	RequireNonce bool
	// MaxAge is how long after its creation a signature is accepted
	// (5 minutes when zero); Skew is the clock difference allowed in
	// either direction (30 seconds when zero).
	MaxAge time.Duration
	Skew   time.Duration
	// Now is the verifier's clock; time.Now when nil.
	Now func() time.Time
}

// Verifier verifies signed requests. It is safe for concurrent use.
type Verifier struct {
	cfg VerifierConfig
}

// NewVerifier checks the configuration and returns a verifier.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if cfg.Keys == nil {
		return nil, fail(ErrConfig, "a key resolver is required")
	}
	if cfg.Required == nil {
		cfg.Required = GatewayComponents()
	}
	cfg.Required = lowerAll(cfg.Required)
	cfg.IfPresent = lowerAll(cfg.IfPresent)
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 5 * time.Minute
	}
	if cfg.Skew <= 0 {
		cfg.Skew = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Verifier{cfg: cfg}, nil
}

func lowerAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(n)
	}
	return out
}

// Limits on what one request may ask a verifier to do.
const (
	maxSignatures = 8  // signatures tried per request
	maxComponents = 64 // components covered by one signature
)

// Verified describes a signature that verified.
type Verified struct {
	Label      string
	KeyID      string
	Algorithm  Algorithm
	Created    time.Time
	Expires    time.Time // zero when the signature sets none
	Nonce      string
	Tag        string
	Components []string
	// Key is the public key that verified the signature.
	Key crypto.PublicKey
}

// Verify checks r's signature: its fields, the covered components, the
// creation and expiry window, the key and the signature itself. When
// "content-digest" is covered it replaces r.Body with a [*VerifyingBody]
// that checks the body as it is read (an empty body is checked at once).
// Errors are [*Error] values matching a sentinel and errkind.Unauthorized,
// or the key resolver's errkind.Unavailable error.
func (v *Verifier) Verify(r *http.Request) (*Verified, error) {
	inputs := r.Header.Values(HeaderSignatureInput)
	sigs := r.Header.Values(HeaderSignature)
	if len(inputs) == 0 || len(sigs) == 0 {
		return nil, fail(ErrUnsigned, "")
	}
	in, err := parseDictionary(strings.Join(inputs, ", "))
	if err != nil {
		return nil, fail(ErrMalformed, "Signature-Input is not a structured dictionary")
	}
	sg, err := parseDictionary(strings.Join(sigs, ", "))
	if err != nil {
		return nil, fail(ErrMalformed, "Signature is not a structured dictionary")
	}
	if len(in) > maxSignatures {
		return nil, fail(ErrMalformed, "too many signatures")
	}
	var first error
	for _, m := range in {
		if v.cfg.Label != "" && m.key != v.cfg.Label {
			continue
		}
		got, err := v.verifyOne(r, m, sg)
		if err == nil {
			return got, v.checkDigest(r, got)
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		return nil, fail(ErrUnsigned, "no signature labelled "+strconv.Quote(v.cfg.Label))
	}
	return nil, first
}

func (v *Verifier) verifyOne(r *http.Request, m sfMember, sg []sfMember) (*Verified, error) {
	if !m.isInner {
		return nil, fail(ErrMalformed, "signature "+m.key+" has no component list")
	}
	var sig []byte
	for _, s := range sg {
		if s.key == m.key && !s.isInner {
			sig, _ = s.item.val.([]byte)
		}
	}
	if sig == nil {
		return nil, fail(ErrMalformed, "no Signature value for "+m.key)
	}
	if len(m.inner) > maxComponents {
		return nil, fail(ErrMalformed, "too many components")
	}
	out := &Verified{Label: m.key}
	for _, c := range m.inner {
		name, ok := c.val.(string)
		if !ok {
			return nil, fail(ErrMalformed, "a component identifier is not a string")
		}
		out.Components = append(out.Components, name)
	}
	var created, expires int64
	var hasCreated, hasExpires bool
	var alg string
	for _, p := range m.params {
		var ok bool
		switch p.key {
		case "created":
			created, ok = p.val.(int64)
			hasCreated = true
		case "expires":
			expires, ok = p.val.(int64)
			hasExpires = true
		case "keyid":
			out.KeyID, ok = p.val.(string)
		case "alg":
			alg, ok = p.val.(string)
		case "nonce":
			out.Nonce, ok = p.val.(string)
		case "tag":
			out.Tag, ok = p.val.(string)
		default:
			ok = true // parameters of other extensions are signed, not read
		}
		if !ok {
			return nil, fail(ErrMalformed, "parameter "+p.key+" has the wrong type")
		}
	}
	if !hasCreated {
		return nil, fail(ErrStale, "no created parameter")
	}
	now := v.cfg.Now()
	out.Created = time.Unix(created, 0)
	if out.Created.After(now.Add(v.cfg.Skew)) {
		return nil, fail(ErrStale, "created in the future")
	}
	if now.Sub(out.Created) > v.cfg.MaxAge+v.cfg.Skew {
		return nil, fail(ErrStale, "created too long ago")
	}
	if hasExpires {
		out.Expires = time.Unix(expires, 0)
		if now.After(out.Expires.Add(v.cfg.Skew)) {
			return nil, fail(ErrStale, "expired")
		}
	}
	if v.cfg.Tag != "" && out.Tag != v.cfg.Tag {
		return nil, fail(ErrMissingComponent, "tag is not "+strconv.Quote(v.cfg.Tag))
	}
	if v.cfg.RequireNonce && out.Nonce == "" {
		return nil, fail(ErrMissingComponent, "no nonce parameter")
	}
	for _, c := range v.cfg.Required {
		if !slices.Contains(out.Components, c) {
			return nil, fail(ErrMissingComponent, c+" is not covered")
		}
	}
	msg := requestMessage(r)
	for _, c := range v.cfg.IfPresent {
		if len(msg.lines(c)) > 0 && !slices.Contains(out.Components, c) {
			return nil, fail(ErrMissingComponent, c+" is present but not covered")
		}
	}
	if out.KeyID == "" {
		return nil, fail(ErrUnknownKey, "no keyid parameter")
	}
	base, _, err := signatureBase(&msg, m.inner, m.params)
	if err != nil {
		return nil, err
	}
	key, err := v.cfg.Keys(r.Context(), out.KeyID)
	if err != nil {
		if errors.Is(err, errkind.Unavailable) {
			return nil, err
		}
		return nil, &Error{Reason: ErrUnknownKey, Detail: "keyid " + strconv.Quote(out.KeyID)}
	}
	keyAlg, ok := keyAlgorithm(key)
	if !ok || (alg != "" && Algorithm(alg) != keyAlg) {
		return nil, fail(ErrAlgorithm, "algorithm "+strconv.Quote(alg)+" with a key for "+string(keyAlg))
	}
	out.Algorithm, out.Key = keyAlg, key
	if !verifySignature(key, base, sig) {
		return nil, fail(ErrBadSignature, "signature "+m.key)
	}
	return out, nil
}

func verifySignature(key crypto.PublicKey, base, sig []byte) bool {
	switch k := key.(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(k, base, sig)
	case *ecdsa.PublicKey:
		if len(sig) != 64 {
			return false
		}
		sum := sha256.Sum256(base)
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(k, sum[:], r, s)
	}
	return false
}

// checkDigest wraps the body when content-digest is covered.
func (v *Verifier) checkDigest(r *http.Request, got *Verified) error {
	if !slices.Contains(got.Components, "content-digest") {
		return nil
	}
	body := r.Body
	if body == http.NoBody {
		body = nil
	}
	vb, err := NewVerifyingBody(body, strings.Join(r.Header.Values(HeaderContentDigest), ", "))
	if err != nil {
		return err
	}
	if body == nil {
		if _, err := vb.Read(nil); err != nil && !vb.Verified() {
			return err
		}
		return nil
	}
	r.Body = vb
	return nil
}
