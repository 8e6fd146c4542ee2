// Package provider is the provider's side of the interop gateway: a
// middleware for the service (registry B) that answers the calls the
// gateway forwards.
//
// The gateway checks the consumer's token, its access right and, when the
// service needs one, the citizen's consent, then signs the request it
// forwards with RFC 9421 HTTP Message Signatures (package
// interop/httpsig). The middleware admits a request only when that
// signature verifies with one of the gateway's keys, covers what it must,
// is fresh, and was not seen before; the handler then reads who asks from
// the context.
//
//	p, err := provider.New(ctx, provider.Config{
//		JWKSURL: "https://gateway.example.gov/interop/keys", // or Keys: map[string]crypto.PublicKey{...}
//	})
//	mux.Handle("POST /persons/find", p.Middleware(findPerson))
//
//	func findPerson(w http.ResponseWriter, r *http.Request) {
//		body, err := io.ReadAll(r.Body) // fails with httpsig.ErrDigest when the body was changed
//		...
//		caller, _ := provider.FromContext(r.Context())
//		// caller.Client, caller.MessageID, caller.UserID, caller.Issue,
//		// caller.ConsentID, caller.Citizen
//	}
//
// # What is checked
//
//   - The signature covers httpsig.GatewayComponents() (method, authority,
//     path, query, Content-Digest, X-Road-Client, X-Road-Id), and each of
//     httpsig.GatewayOptionalComponents() (X-Road-UserId, X-Road-Issue,
//     the consent id and the citizen's pseudonym) the request carries, so
//     none of the headers the handler reads can be added or changed on
//     the way.
//   - It was created at most MaxAge ago (5 minutes), not in the future,
//     and has not expired, with Skew (30 seconds) of tolerance.
//   - Its nonce was not seen within MaxAge plus twice Skew. By default
//     nonces are remembered in this instance's memory only: several
//     instances behind a load balancer need a [ReplayGuard] they share (a
//     table with a unique key will do).
//
// # Retries and the message id
//
// The X-Road-Id is not a replay key. A consumer retries a call that timed
// out or met a 502, 503 or 504 with the same X-Road-Id, and the gateway
// signs each attempt it forwards with a fresh nonce: the retry is a new
// request, not a replay, and is served. The handler reads the id as
// Caller.MessageID: it is the message's identity, for the log and for
// deduplication, and a handler whose effect must happen once (a POST
// with an Idempotency-Key) keys on Caller.Client and Caller.MessageID.
//   - The key is one of Config.Keys, or of the gateway's JWKS
//     (fetched with jwx, cached for KeysMaxAge, fetched again when a
//     signature names an unknown key at most once per KeysCooldown).
//   - The body matches Content-Digest. It is checked as it streams to
//     the handler, never held whole in memory: the Read that reaches its
//     end fails when it does not match, so the handler must read the body
//     to its end before acting on it.
//
// # Refusals
//
// A refused request is answered 401 application/problem+json whose type
// is httpsig.ProblemTypeBase plus the reason ("unsigned", "stale",
// "replay", "bad-signature", "missing-component", "unknown-key",
// "digest", ...). A gateway key set that cannot be fetched, or a replay
// guard that fails, is a 503 with Retry-After. Refusals are logged with
// the reason, client and message id; the user id and the citizen never.
//
// # Behind a reverse proxy
//
// The signature covers the authority, path and query the gateway sent
// to; a proxy in front of the provider must pass the Host header and the
// path unchanged (or the provider must restore them before the
// middleware).
//
// # Example
//
// examples/registry is a registry's system behind this middleware: it
// answers a certificate and its preview to the gateway alone, and finds
// the citizen by the X-Road-UserId the gateway vouches for.
package provider
