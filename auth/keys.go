package auth

import (
	"context"
	"crypto"
	"database/sql"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/keys"
)

// SigningKeys sign a realm's tokens and publish its JWKS.
type SigningKeys = keys.KeySet

// GenerateKEK returns a new random key-encryption key for
// NewSigningKeys. Keep it outside the database, for as long as the
// database lives.
func GenerateKEK() ([]byte, error) { return keys.GenerateKEK() }

// NewSigningKeys keeps the signing keys named set (such as "auth/citizen")
// in db, their private halves encrypted with kek (AES-256-GCM). A key is
// created on first use and rotated every 30 days by Provider.Maintain; a
// new key is published ten minutes before it signs, and an old one stays
// published until every token it signed has expired. Instances sharing the
// database agree on the keys. log may be nil.
func NewSigningKeys(ctx context.Context, db *sql.DB, set string, kek []byte, log *zap.Logger) (SigningKeys, error) {
	var opts []keys.Option
	if log != nil {
		opts = append(opts, keys.WithLogger(log))
	}
	return keys.New(ctx, db, set, kek, opts...)
}

// NewExternalSigningKeys signs with a key held elsewhere, such as in a
// hardware security module or a cloud KMS, through its crypto.Signer
// (ECDSA P-256 or Ed25519). previous lists the public keys of
// earlier signers whose tokens must still verify.
func NewExternalSigningKeys(signer crypto.Signer, previous ...crypto.PublicKey) (SigningKeys, error) {
	return keys.NewStatic(signer, keys.WithPrevious(previous...))
}
