// Package httpsig signs and verifies HTTP requests with RFC 9421 HTTP
// Message Signatures, and checks bodies against their RFC 9530
// Content-Digest while they stream.
//
// The interop gateway signs every request it forwards to a provider, so
// that the provider knows the request passed the gateway's checks (the
// consumer's token, its access right, the citizen's consent) and was not
// changed on the way. The provider verifies with the gateway's public key;
// package interop/provider wraps that in a middleware.
//
// # Signing
//
//	signer, err := httpsig.NewSigner(httpsig.SignerConfig{
//		Key:       gatewayKey, // ed25519.PrivateKey, *ecdsa.PrivateKey (P-256) or any crypto.Signer
//		KeyID:     "gateway-2026-11",
//		IfPresent: httpsig.GatewayOptionalComponents(),
//	})
//	client := &http.Client{Transport: signer.Transport(nil)}
//
// A signature covers [GatewayComponents] (the method, @authority, @path,
// @query, Content-Digest, X-Road-Client and X-Road-Id) unless
// SignerConfig.Components says otherwise, plus each header of IfPresent
// the request carries. Its parameters are created (from SignerConfig.Now),
// keyid, alg, a random nonce, and expires and tag when configured. When
// Content-Digest is covered and absent, Sign computes it from a body it
// can read again (http.NewRequest's in-memory bodies); a streamed body's
// digest comes from the caller, for instance from a [DigestReader] or from
// the consumer's own Content-Digest, which the gateway then checks with a
// [VerifyingBody] as it forwards.
//
// # Verifying
//
//	verifier, err := httpsig.NewVerifier(httpsig.VerifierConfig{
//		Keys:         func(ctx context.Context, keyID string) (crypto.PublicKey, error) { ... },
//		IfPresent:    httpsig.GatewayOptionalComponents(),
//		RequireNonce: true,
//	})
//	got, err := verifier.Verify(r) // r.Body now checks itself against Content-Digest
//
// Verify refuses a request whose signature is missing or malformed, does
// not cover a required component (or a present IfPresent header), was
// created more than MaxAge ago or in the future (both with Skew of
// tolerance), has expired, names an unknown key or an algorithm that is
// not the key's, or does not verify. The body is checked as it is read:
// the Read that reaches its end returns [ErrDigest] instead of io.EOF
// when it does not match, so a handler acts on a body only once it has
// read it to the end. Replays within the window are for the caller to
// refuse by the nonce (interop/provider does); not by the message id,
// which a retried call repeats under a fresh signature.
//
// # What is implemented
//
// Derived components @method, @target-uri, @authority, @scheme,
// @request-target, @path and @query of requests; header fields by
// lower-cased name, several field lines joined with ", " and trimmed;
// the parameters created, expires, keyid, alg, nonce and tag (others are
// signed through but not read). Component parameters (sf, key, bs, req,
// tr, name) and @query-param are refused as malformed. Algorithms: ed25519
// and ecdsa-p256-sha256 (r||s, 64 bytes); others are refused. The
// Signature-Input and Signature fields are read and written with the part
// of RFC 8941 they need. The tests pass the RFC's Appendix B vectors B.2.4,
// B.2.6 and B.3, and cross-check with the npm http-message-signatures
// library in both directions when Node.js is present.
//
// # Headers
//
// [HeaderClient], [HeaderMessageID], [HeaderUserID] and [HeaderIssue] are
// X-Road's REST message headers; [HeaderConsentID] and [HeaderCitizen]
// carry the consent and the citizen's pseudonym of consent-bound calls.
// The gateway and the provider take the names from here.
//
// # Errors
//
// Refusals are [*Error] values whose Reason is one of the sentinels
// ([ErrUnsigned], [ErrMalformed], [ErrUnknownKey], [ErrAlgorithm],
// [ErrBadSignature], [ErrMissingComponent], [ErrStale], [ErrDigest],
// [ErrReplay]); all match errkind.Unauthorized, and Problem renders them
// as a 401 problem whose type ends in [Code]. A key resolver's error of
// kind errkind.Unavailable is returned unchanged (answer 503). [ErrConfig]
// (errkind.Invalid) is a signer or verifier set up wrongly.
package httpsig
