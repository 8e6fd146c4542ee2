package auth

import (
	"context"
	"crypto"
	"database/sql"
	"net/http"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/egovkit/egovkit/internal/keys"
)

// SigningKeys sign a realm's tokens and publish its JWKS. NewSigningKeys
// and NewExternalSigningKeys return them; the methods are those a
// Provider calls, so a key service of your own can stand in. Keys from
// NewSigningKeys rotate when Provider.Maintain runs (any SigningKeys with
// a Maintain(context.Context) error method is maintained there).
type SigningKeys interface {
	// SignJWT returns tok as a compact JWT signed with the active key;
	// headers add protected headers, such as "typ".
	SignJWT(ctx context.Context, tok jwt.Token, headers ...func(jws.Headers) error) ([]byte, error)
	// ParseJWT verifies a compact JWT against the published keys and
	// validates its time claims as opts say.
	ParseJWT(ctx context.Context, compact []byte, opts ...jwt.ParseOption) (jwt.Token, error)
	// PublicSet returns the public keys verifiers should accept now.
	PublicSet(ctx context.Context) (jwk.Set, error)
	// JWKSHandler serves PublicSet as a JWK Set document.
	JWKSHandler() http.Handler
}

// NewSigningKeys keeps the signing keys named set (such as "auth/citizen")
// in db, their private halves encrypted with kek (AES-256-GCM), the
// 32-byte key-encryption key that package
// [github.com/egovkit/egovkit/kek] generates and checks. A key is
// created on first use and rotated every 30 days by Provider.Maintain; a
// new key is published ten minutes before it signs, and an old one stays
// published until every token it signed has expired. Instances sharing the
// database agree on the keys. It takes WithLogger (keys created and
// rotated are logged), WithClock and WithDBTimeout.
func NewSigningKeys(ctx context.Context, db *sql.DB, set string, kek []byte, opts ...Option) (SigningKeys, error) {
	o, err := collect("NewSigningKeys", opts)
	if err != nil {
		return nil, err
	}
	return keys.New(ctx, db, set, kek,
		keys.WithLogger(o.log), keys.WithClock(o.now), keys.WithDBTimeout(o.dbTimeout))
}

// NewExternalSigningKeys signs with a key held elsewhere, such as in a
// hardware security module or a cloud KMS, through its crypto.Signer
// (ECDSA P-256 or Ed25519). previous lists the public keys of
// earlier signers whose tokens must still verify.
func NewExternalSigningKeys(signer crypto.Signer, previous ...crypto.PublicKey) (SigningKeys, error) {
	return keys.NewStatic(signer, keys.WithPrevious(previous...))
}
