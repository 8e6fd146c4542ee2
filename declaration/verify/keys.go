package verify

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// DefaultMaxKeys is how many keys a JWK Set may hold for New unless
// WithMaxKeys says otherwise. An issuer publishes a few keys at a time
// (the current one, the next, those retired but still verifying); a set
// with many more is a mistake or an attack, and refused before any key in
// it is read.
const DefaultMaxKeys = 64

// verifyKey is a published key, checked once: an ES256 key is a valid
// P-256 point, an EdDSA key 32 bytes.
type verifyKey struct {
	alg string
	ec  *ecdsa.PublicKey
	ed  ed25519.PublicKey
}

// verify checks sig over input: SHA-256 and crypto/ecdsa for ES256,
// crypto/ed25519 for EdDSA.
func (k verifyKey) verify(input []byte, sig *[64]byte) bool {
	if k.ec != nil {
		digest := sha256.Sum256(input)
		var der [72]byte
		return ecdsa.VerifyASN1(k.ec, digest[:], asn1Signature(der[:0], sig[:32], sig[32:]))
	}
	return ed25519.Verify(k.ed, input, sig[:])
}

// parseKeys reads the ES256 and EdDSA keys of a JWK Set that carry a
// "kid" and an "alg", by key ID, and refuses a set of more than maxKeys.
func parseKeys(jwks []byte, maxKeys int) (map[string]verifyKey, error) {
	if err := countKeys(jwks, maxKeys); err != nil {
		return nil, err
	}
	set, err := jwk.Parse(jwks)
	if err != nil {
		return nil, fmt.Errorf("declaration: JWK Set: %w", err)
	}
	if set.Len() > maxKeys {
		// countKeys reads the set as jwk.Parse does; this holds if the two
		// ever part.
		return nil, &Error{Kind: ErrTooManyKeys, Detail: fmt.Sprintf("%d keys, at most %d", set.Len(), maxKeys)}
	}
	keys := map[string]verifyKey{}
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
			keys[k.KeyID()] = verifyKey{alg: alg.String(), ec: pub}
		case ed25519.PublicKey:
			if alg != jwa.EdDSA || len(pub) != ed25519.PublicKeySize {
				continue
			}
			keys[k.KeyID()] = verifyKey{alg: alg.String(), ed: pub}
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("declaration: the JWK Set has no ES256 or EdDSA key")
	}
	return keys, nil
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
