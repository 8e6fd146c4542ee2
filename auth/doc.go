// Package auth is egovkit's sign-in: one set of credentials for every public
// service, separate credentials for civil servants, one-time codes that
// raise the level of assurance, and federation with other identity
// providers. Agencies' own services use the relying-party side in package
// [github.com/egovkit/egovkit/auth/rp].
//
// This package is being built. What it holds today are the authenticators
// the provider will use:
//
//   - Passwords hashed with argon2id in the PHC string format
//     ([HashPassword], [VerifyPassword]) with OWASP's recommended cost, a
//     rehash signal when the cost is raised, length rules after NIST SP
//     800-63B ([CheckPasswordRules]), and [VerifyDummyPassword] so that an
//     unknown account takes as long to refuse as a known one.
//   - Time-based one-time passwords (RFC 6238) for authenticator apps
//     ([TOTP]), checked against the RFC's own test vectors, with the
//     otpauth:// URI for enrolment.
//
// The OpenID Connect provider, the realms, the contact registry and the
// sign-in pages are not written yet; see the README.
package auth
