package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/egovkit/egovkit/errkind"
)

// PasswordParams are argon2id's cost settings.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultPasswordParams is the first argon2id setting the OWASP Password
// Storage Cheat Sheet recommends: 19 MiB of memory, 2 passes, 1 thread.
var DefaultPasswordParams = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Password rules, after NIST SP 800-63B: at least 8 characters, and long
// passphrases allowed. The upper bound only keeps hashing from being used
// to waste the server's time.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 256
)

// Password errors, matched with errors.Is.
var (
	ErrPasswordTooShort = errkind.New(errkind.Invalid, fmt.Sprintf("auth: the password must have at least %d characters", MinPasswordLength))
	ErrPasswordTooLong  = errkind.New(errkind.Invalid, fmt.Sprintf("auth: the password must have at most %d characters", MaxPasswordLength))
	// ErrBadPasswordHash: the encoded hash given to VerifyPassword is not
	// an argon2id PHC string with parameters in range.
	ErrBadPasswordHash = errkind.New(errkind.Invalid, "auth: stored password hash is malformed")
)

// CheckPasswordRules applies the length rules to a new password. Whatever
// characters people choose (Greek, spaces, symbols) are accepted.
func CheckPasswordRules(pw string) error {
	switch n := utf8.RuneCountInString(pw); {
	case n < MinPasswordLength:
		return ErrPasswordTooShort
	case n > MaxPasswordLength:
		return ErrPasswordTooLong
	}
	return nil
}

// HashPassword returns the argon2id hash of pw in the PHC string format,
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, with a fresh random salt.
func HashPassword(pw string, p PasswordParams) (string, error) {
	if len(pw) > 4*MaxPasswordLength {
		return "", ErrPasswordTooLong
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword checks pw against a stored hash in constant time.
// needsRehash reports that the hash was made with weaker settings than
// want, so the caller should store a new hash now that it knows the
// password.
func VerifyPassword(pw, encoded string, want PasswordParams) (ok, needsRehash bool, err error) {
	p, salt, key, err := parsePasswordHash(encoded)
	if err != nil {
		return false, false, err
	}
	if len(pw) > 4*MaxPasswordLength {
		return false, false, nil
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	weaker := p.Memory < want.Memory || p.Time < want.Time || uint32(len(key)) < want.KeyLen || uint32(len(salt)) < want.SaltLen
	return true, weaker, nil
}

// dummyHash is verified against when the account does not exist, so that
// the answer takes as long as for a real account.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword("not a real password", DefaultPasswordParams)
	if err != nil {
		panic(err)
	}
	return h
})

// VerifyDummyPassword spends the time a real verification takes, for
// sign-in attempts on accounts that do not exist: the answer then does not
// reveal whether an account exists.
func VerifyDummyPassword(pw string) {
	_, _, _ = VerifyPassword(pw, dummyHash(), DefaultPasswordParams)
}

func parsePasswordHash(s string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, ErrBadPasswordHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, ErrBadPasswordHash
	}
	var threads uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); err != nil || n != 3 ||
		p.Memory < 8 || p.Memory > 4*1024*1024 || p.Time < 1 || p.Time > 100 || threads < 1 || threads > 255 {
		return p, nil, nil, ErrBadPasswordHash
	}
	p.Threads = uint8(threads)
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, ErrBadPasswordHash
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, ErrBadPasswordHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
