package keys

import (
	"errors"

	"github.com/egovkit/egovkit/errkind"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrNoKEK means no usable key-encryption key was given: it must be 32
	// bytes (AES-256). It matches errkind.Invalid.
	ErrNoKEK = errkind.New(errkind.Invalid, "keys: a 32-byte key-encryption key is required")
	// ErrWrongKEK means the stored keys cannot be decrypted with the
	// key-encryption key given. Nothing is changed or replaced. It matches
	// errkind.Unauthorized: the key is the secret that opens them, and it
	// was not accepted.
	ErrWrongKEK = errkind.New(errkind.Unauthorized, "keys: stored keys cannot be decrypted: wrong key-encryption key?")
	// ErrUnknownKey means a token names a key (kid) the set does not
	// publish: never issued here, or retired long enough ago.
	ErrUnknownKey = errors.New("keys: unknown signing key")
	// ErrInvalidSignature means the signature, the algorithm or the token's
	// form is wrong.
	ErrInvalidSignature = errors.New("keys: invalid signature")
	// ErrUnsupportedKey means a crypto.Signer holds a key type other than
	// ECDSA P-256 or Ed25519.
	ErrUnsupportedKey = errors.New("keys: unsupported key type")
)
