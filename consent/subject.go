package consent

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/egovkit/egovkit/internal/ident"
)

// SubjectKeySize is the length of the subject key: 32 random bytes, the
// same on every instance sharing a store, kept outside the database.
const SubjectKeySize = 32

// subjects turns tax numbers into pseudonyms and sealed copies under the
// subject key. Two keys are derived from it with HKDF: one for the HMAC
// of the pseudonym, one for AES-256-GCM.
type subjects struct {
	macKey []byte
	aead   cipher.AEAD
	macs   sync.Pool
}

func newSubjects(key []byte) (*subjects, error) {
	if len(key) != SubjectKeySize {
		return nil, fmt.Errorf("consent: the subject key must be %d bytes", SubjectKeySize)
	}
	macKey, err := hkdf.Key(sha256.New, key, nil, "egovkit/consent/subject/pseudonym", 32)
	if err != nil {
		return nil, err
	}
	encKey, err := hkdf.Key(sha256.New, key, nil, "egovkit/consent/subject/seal", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	s := &subjects{macKey: macKey, aead: aead}
	s.macs.New = func() any { return hmac.New(sha256.New, s.macKey) }
	return s, nil
}

// normalise checks a Greek tax number (AFM) and returns its nine digits.
func normaliseTaxNumber(taxNumber string) (string, error) {
	afm, err := ident.AFM{}.Normalize(taxNumber)
	if err != nil {
		return "", invalid("tax number", "not a valid tax number (AFM)")
	}
	return afm, nil
}

// pseudonym returns the keyed pseudonym of a normalised tax number.
func (s *subjects) pseudonym(afm string) string {
	m := s.macs.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(afm))
	var sum [sha256.Size]byte
	out := base64.RawURLEncoding.EncodeToString(m.Sum(sum[:0]))
	s.macs.Put(m)
	return out
}

// seal encrypts the tax number, bound to its pseudonym.
func (s *subjects) seal(afm, pseudonym string) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(afm)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return s.aead.Seal(nonce, nonce, []byte(afm), []byte(pseudonym))
}

// errSealed means a sealed subject does not open under the key.
var errSealed = errors.New("consent: the sealed subject does not open with this subject key")

// open recovers the tax number sealed for pseudonym.
func (s *subjects) open(sealed []byte, pseudonym string) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return "", errSealed
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(pseudonym))
	if err != nil {
		return "", errSealed
	}
	return string(plain), nil
}
