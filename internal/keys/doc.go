// Package keys holds the signing keys of egovkit's packages: tokens of the
// identity provider, signed documents, consent receipts. Relying parties
// and offices verify what was signed against the published JWK Set, so
// keys must be safe at rest, rotate without breaking anything already
// signed, and look the same from every instance of a service.
//
// # Key sets in the database
//
// [New] opens a named set (one per purpose, such as "auth/citizen" or
// "declaration") in the shared database. Private keys are stored encrypted
// with AES-256-GCM under a 32-byte key-encryption key (KEK) that the caller
// supplies from outside the database: an environment variable, a file
// readable only by the service, a secrets manager. The KEK is checked when
// the set is opened; a wrong one fails with [ErrWrongKEK] and changes
// nothing.
//
//	kek, err := keys.ParseKEK(os.Getenv("EGOVKIT_KEK"))
//	set, err := keys.New(ctx, db, "declaration", kek)
//	mux.Handle("GET /.well-known/jwks.json", set.JWKSHandler())
//	token, err := set.Sign(ctx, payload, keys.WithType("example+jws"))
//	payload, err := set.Verify(ctx, token)
//
// # Rotation
//
// Keys rotate with overlap. [Manager.Rotate] creates a key that is
// published at once and signs only after the publish lead (10 minutes by
// default), when every verifier has refreshed its copy of the JWKS; the
// previous key then stops signing and stays published for the longest token
// lifetime (24 hours by default) before it is dropped. [Manager.Maintain]
// rotates by age (30 days by default) and may be called from every
// instance: however many call it, one key results. Rows of dropped keys are
// kept in the table as a record; they are no longer loaded for signing or
// published.
//
// # Keys held elsewhere
//
// [NewStatic] wraps any crypto.Signer holding a P-256 or Ed25519 key, such
// as an HSM or a cloud KMS key, behind the same [KeySet] interface.
//
// # Algorithms
//
// ES256 is the default: every OpenID Connect relying party supports it.
// EdDSA (Ed25519) can be chosen per set. Verification takes the algorithm
// from the key, never from the token, so "none" and algorithm confusion are
// refused.
package keys
