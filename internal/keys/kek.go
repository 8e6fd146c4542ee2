package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// KEKSize is the length of a key-encryption key: AES-256.
const KEKSize = 32

// GenerateKEK returns a new random key-encryption key.
func GenerateKEK() ([]byte, error) {
	k := make([]byte, KEKSize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return k, nil
}

// EncodeKEK returns the standard base64 form that ParseKEK reads.
func EncodeKEK(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// ParseKEK reads a key-encryption key written as standard or URL-safe
// base64 (with or without padding) or as hex, surrounding white space
// ignored.
func ParseKEK(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, dec := range []func(string) ([]byte, error){
		hex.DecodeString,
		base64.StdEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString,
		base64.RawURLEncoding.DecodeString,
	} {
		if b, err := dec(s); err == nil && len(b) == KEKSize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%w: expected %d bytes as base64 or hex", ErrNoKEK, KEKSize)
}

// sealer encrypts and decrypts with AES-256-GCM under the KEK. The
// additional data binds a ciphertext to where it is stored, so rows cannot
// be swapped between sets or keys.
type sealer struct{ aead cipher.AEAD }

func newSealer(kek []byte) (*sealer, error) {
	if len(kek) != KEKSize {
		return nil, ErrNoKEK
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(plain, aad []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return s.aead.Seal(nonce, nonce, plain, aad)
}

func (s *sealer) open(sealed, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, ErrWrongKEK
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrWrongKEK
	}
	return plain, nil
}

func aad(parts ...string) []byte {
	return []byte("egovkit/keys/v1\x00" + strings.Join(parts, "\x00"))
}
