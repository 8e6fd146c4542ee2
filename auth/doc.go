// Package auth is egovkit's sign-in: one set of credentials for every public
// service, separate credentials for civil servants, one-time codes that
// raise the level of assurance, and federation with other identity
// providers. Agencies' own services use the relying-party side in package
// [github.com/egovkit/egovkit/auth/rp].
//
// This package is being built. What it holds today are the pieces the
// provider stands on:
//
//   - Passwords hashed with argon2id in the PHC string format
//     ([HashPassword], [VerifyPassword]) with OWASP's recommended cost, a
//     rehash signal when the cost is raised, length rules after NIST SP
//     800-63B ([CheckPasswordRules]), and [VerifyDummyPassword] so that an
//     unknown account takes as long to refuse as a known one.
//
//   - Time-based one-time passwords (RFC 6238) for authenticator apps
//     ([TOTP]), checked against the RFC's own test vectors, with the
//     otpauth:// URI for enrolment.
//
//   - The registry of clients of a realm ([ClientRegistry]), stored in the
//     shared database: validated registrations (exact redirect URIs with the
//     loopback exception of RFC 8252, no implicit or password grant), secrets
//     returned once and stored hashed, rotation and disabling that take
//     effect on every instance at once; and client authentication at the
//     token endpoint with HTTP Basic or private_key_jwt (RFC 7523), each
//     assertion accepted once across instances, failures answered with
//     RFC 6749 error bodies ([OAuthError]).
//
//   - Accounts ([Accounts]): citizens who sign in with a user name and are
//     known by their tax number (AFM and AMKA validated where they enter,
//     one account per tax number), civil servants with separate work
//     credentials, and the authorizations agencies grant servants (agency,
//     service, role, validity), which follow the servant and drop out at
//     once when revoked. Every failed password check is the same
//     [ErrBadCredentials] and takes as long, whether the account exists or
//     not; hashes are upgraded when the cost is raised.
//
//   - The contact registry ([ContactRegistry]): the mobile number at which
//     each subject gets codes, proven with a one-time code bound to that very
//     number; a change tells the old number and is recorded (masked) as
//     binding a new authenticator.
//
//   - The authorization request parser ([ParseAuthorizeRequest]) for the
//     coming authorization endpoint, with RFC 9700's rules: response type
//     code only, exact redirect URIs, PKCE with S256 mandatory, PAR when the
//     client requires it, and errors sent to the redirect URI only when
//     client and URI are trusted.
//
//   - Authorization codes ([CodeStore]): stored as hashes, single use
//     even when two instances redeem at once, 60 seconds, bound to the
//     client, the redirect URI and the PKCE challenge (S256); a replayed
//     code reports the tokens issued from it so they can be revoked.
//
//   - A [Provider] per realm serving discovery, the JWKS (keys from
//     internal/keys, rotated with overlap) and the token endpoint. With a
//     [CodeStore] configured it exchanges authorization codes for an access
//     token carrying acr and auth_time and an ID token with nonce, acr, amr,
//     auth_time and azp; a replayed code revokes the access token issued
//     from it. Clients allowed refresh tokens get one: every use rotates it,
//     one retry within 30 seconds is forgiven, and any other reuse revokes
//     the whole family with the access tokens issued in it (RFC 9700). For
//     the client_credentials grant it issues RFC 9068 access tokens (typ at+jwt) for
//     agency-to-agency calls, audience-restricted by registration or by an
//     RFC 8707 resource parameter, which package rp verifies; token
//     introspection (RFC 7662), which shows a token only to the resource
//     server it was issued for or to its own client, and revocation
//     (RFC 7009), seen at once by every instance. Discovery announces only
//     what is implemented.
//
// Wiring a realm:
//
//	clients, err := auth.NewClientRegistry(ctx, db, "citizen")
//	signing, err := keys.New(ctx, db, "auth/citizen", kek)
//	p, err := auth.NewProvider(auth.ProviderConfig{
//		Issuer: "https://id.example.gr/auth/citizen", Keys: signing, Clients: clients,
//	})
//	mux.Handle("/auth/citizen/", http.StripPrefix("/auth/citizen", p.Handler()))
//
// With [Accounts] configured the provider also serves UserInfo: a citizen's
// names and birth date with "profile", tax and social-security numbers with
// "gr_identity"; for the servant realm, the servant's authorizations valid
// at that moment as authorization_details (RFC 9396 shape), so a revoked
// one is absent from the next answer.
//
// Not written yet: the authorization endpoint that signs people in and
// creates the codes (with PAR), the servant's authorizations inside the
// tokens themselves, logout,
// sign-in throttling, e-mail in the contact registry, federation and the
// sign-in pages; see the README.
package auth
