// Package verify checks the documents a declaration.Service issues,
// offline: a document's full signed token, or the signed summary in the
// QR code printed on its PDF, against the issuer's published keys alone,
// with no call to the issuer. It is for an office without a connection, a
// wallet, or a kiosk that scans paper.
//
// It is a package of its own so that such a program stays small: it
// imports neither its parent package declaration nor anything that
// package compiles for issuing (the PDF and CMS libraries, the QR drawing,
// the SQL store, the page templates); a test checks its dependencies. The
// parent package uses the types defined here (Claims, Summary, Stamp,
// Person, Party, Draft) under its own names, and its NewOfflineVerifier
// is New.
//
// # Wiring
//
// Fetch the issuer's JWK Set (its jwks.json) beforehand and now and then,
// make one Verifier per key set and share it; it is safe for concurrent
// use:
//
//	v, err := verify.New("https://docs.example.gr", jwks)
//	summary, status, err := v.VerifyQR(scanned) // StatusValid or StatusExpired
//	claims, status, err := v.Verify(token)      // a document's full token
//	ok := summary.Matches(token)                // the summary is of this token
//
// An offline check cannot see a revocation; online, verify the code at
// the issuer (ParseQR splits it from the summary).
//
// # What is checked
//
// The token's protected header names a published key (ErrUnknownKey
// otherwise), whose algorithm, ES256 or EdDSA, must be the header's, and
// the type (TokenType or QRTokenType) must be the one asked for; critical
// header extensions are refused. The signature is checked by crypto/ecdsa
// or crypto/ed25519, inside Go's FIPS 140-3 module, and only then is the
// payload read: its issuer must be the one the Verifier was made for, and
// its expiry decides between StatusValid and StatusExpired (WithClock
// sets the clock). A QR code must lead to the issuer's own verification
// page and its summary must be of the code beside it. Every refusal
// matches ErrBadToken or ErrUnknownKey with errors.Is.
//
// A JWK Set of more than DefaultMaxKeys keys is refused (ErrTooManyKeys,
// as an *Error) before any key in it is read, unless WithMaxKeys allows
// more.
//
// # Speed
//
// The verifier reads the compact form once, remembers each protected
// header it has seen signed (a header is few bytes and an issuer signs
// with few), and decodes the claims into structs. BENCHMARKS.md compares
// it with the bare signature check of the standard library.
package verify
