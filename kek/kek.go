package kek

import (
	"context"
	"database/sql"

	"github.com/egovkit/egovkit/internal/keys"
)

// Size is the length of a key-encryption key in bytes: an AES-256 key.
const Size = 32

// Errors of this package, matched with errors.Is. The packages'
// NewSigningKeys return the same errors.
var (
	// ErrInvalid means what was given is not a key-encryption key: not
	// Size bytes, or not written in base64 or hex. It matches
	// errkind.Invalid.
	ErrInvalid = errInvalid()
	// ErrMismatch means the signing keys stored in the database were
	// encrypted under another key-encryption key, so they cannot be read
	// with this one. Nothing stored is changed. It matches
	// errkind.Unauthorized.
	ErrMismatch = errMismatch()
)

// The errors are those of the code that keeps the keys, so that an error
// from a package's NewSigningKeys matches them too.
func errInvalid() error  { return keys.ErrNoKEK }
func errMismatch() error { return keys.ErrWrongKEK }

// Generate returns a new random key-encryption key of Size bytes. Keep it
// outside the database, for as long as the database lives.
func Generate() ([]byte, error) { return keys.GenerateKEK() }

// Encode returns the standard base64 form of key, which [Parse] reads.
func Encode(key []byte) string { return keys.EncodeKEK(key) }

// Parse reads a key-encryption key written in standard or URL-safe base64
// (with or without padding) or in hex; surrounding white space, such as a
// file's final newline, is ignored. Anything that is not Size bytes fails
// with [ErrInvalid].
func Parse(s string) ([]byte, error) { return keys.ParseKEK(s) }

// Check tells whether key opens every set of signing keys stored in db,
// so that a service started with the wrong key stops at once, naming the
// set, instead of failing when it first signs. It fails with
// [ErrMismatch] when a set was created under another key and with
// [ErrInvalid] when key is not Size bytes. A database that holds no keys
// yet passes (the table that will hold them is created). db is a pool as
// the packages take it (see package sqldb).
func Check(ctx context.Context, db *sql.DB, key []byte) error {
	return keys.CheckKEK(ctx, db, key)
}
