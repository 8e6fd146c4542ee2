// Package consumer is the consumer's side of the interop gateway: a
// client that calls a service by its X-Road identifier, with an access
// token it obtains itself, and retries only where that is safe.
//
// The calling system is registered with the agencies' OpenID provider
// (package auth, or any provider that does RFC 7523) as a client allowed
// the client_credentials grant, authenticating with private_key_jwt: it
// holds a private key and the provider holds only the public half, so
// there is no shared secret to leak.
//
//	c, err := consumer.New(consumer.Config{
//		Gateway:  "https://gateway.example.gov",
//		Consumer: interop.ClientID{Instance: "GR", Class: "GOV", Member: "DYPA", Subsystem: "APP"},
//		Issuer:   "https://id.example.gov/auth/agencies", // or TokenURL
//		ClientID: "dypa-app",
//		Key:      key, KeyID: "dypa-app-1", // ECDSA P-256 or Ed25519, any crypto.Signer
//		Resource: "https://gateway.example.gov", // the audience the gateway checks
//	})
//	resp, err := c.Do(ctx, consumer.Call{
//		Service:   interop.ServiceID{Instance: "GR", Class: "GOV", Member: "EL-AADE", Subsystem: "REGISTRY", Service: "address"},
//		Method:    http.MethodPost,
//		Path:      "/persons/find",
//		Body:      bytes.NewReader(query),
//		Header:    http.Header{"Content-Type": {"application/json"}},
//		ConsentID: consentID, Citizen: pseudonym,
//	})
//	var refusal *consumer.Error
//	switch {
//	case errors.As(err, &refusal): // refusal.Status, .Type, .Detail, .XRoadError, .RetryAfter
//	case err != nil:               // not reached, or not sent
//	}
//
// # The token
//
// The first call asks the token endpoint (found in the issuer's
// discovery document when only Issuer is given) for a token with a
// client assertion: a JWT signed with Key, whose iss and sub are
// ClientID, aud the token endpoint's URL, a random jti and a lifetime of
// one minute. The token is kept and used by every call until a tenth of
// its lifetime (between 5 and 60 seconds) before it expires; calls that
// need a new one while it is being fetched wait for that one fetch.
// Tokens are never logged.
//
// # The request
//
// A call goes to Gateway + "/r1/" + the service's identifier + Path, with
// X-Road-Client (the Consumer), a random X-Road-Id per call (the same for
// every attempt of it), X-Road-UserId, X-Road-Issue, the consent id and
// the citizen's pseudonym when given, the Bearer token, and for a body its
// RFC 9530 Content-Digest (SHA-256), which the gateway covers with its
// signature to the provider. The digest must be known before the body is
// sent: an io.ReadSeeker is read twice, a body with GetBody is produced
// twice, and another io.Reader is held in memory (up to MaxBufferedBody).
//
// # Retries
//
// A call is made again only when repeating it cannot do harm:
//
//   - its method is idempotent (GET, HEAD, PUT, DELETE, OPTIONS), or it
//     carries an IdempotencyKey (sent as Idempotency-Key, with the same
//     X-Road-Id, so that the provider recognises the repetition);
//   - no answer came (the connection failed), or the answer was 429, 502,
//     503 or 504;
//   - its body can be read again;
//   - MaxAttempts (4) is not reached, and the wait fits in the context's
//     deadline.
//
// The wait doubles from MinBackoff (100 ms) up to MaxBackoff (5 s), less
// a random part of up to half, and is at least the Retry-After asked for;
// a Retry-After over MaxRetryWait (30 s) is not waited but returned in
// the error. A 401 that is the gateway's refusal of the token (it carries
// X-Road-Error, and no challenge or a Bearer challenge with
// invalid_token) drops the token and makes the call once more with a new
// one, whatever the method: the refused request was not served. A 401
// the gateway relays from the provider has no X-Road-Error (the gateway
// sets it on its own answers only) and is returned as an [*Error]
// without touching the token.
//
// # Errors
//
// Refusals, answers that are problem+json (RFC 9457) or carry X-Road's
// X-Road-Error header with a status of 400 or more, and every 429, 502,
// 503 and 504, are returned as [*Error], which matches an errkind kind by
// its status (401 Unauthorized, 403 Forbidden, 404 NotFound, 409
// Conflict, other 4xx Invalid, 429 RateLimited, 502 to 504 Unavailable)
// and carries the problem's members, the X-Road error code and the wait
// asked for. Other answers, 4xx included, are the provider's own and are
// returned as the *http.Response. The token endpoint's refusals are
// [*TokenError]; a gateway or token endpoint that cannot be reached is
// [ErrUnavailable], a call that cannot be made as given [ErrCall].
//
// # Example
//
// examples/agency is an agency's service that fetches a certificate
// through the gateway with this client, under a consent the citizen
// gave at the portal, with its key generated on first run.
package consumer
