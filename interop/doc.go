// Package interop is the exchange layer between agencies' systems: the
// registry of the services providers offer, the access rights of the
// consumers who call them, and the decision the gateway asks for on every
// call. It speaks the identifiers and the paths of X-Road's message
// protocol for REST, so an existing X-Road REST client addresses a
// service here as it would through a security server.
//
// # The whole picture
//
// A consumer (an agency's system, say the employment service) calls
//
//	GET /r1/GR/GOV/EL-AADE/REGISTRY/address/persons/123/address
//	X-Road-Client: GR/GOV/DYPA/APP
//
// on the gateway. The gateway authenticates the consumer, asks the
// [Authorizer] whether that client may make that call, asks a
// [ConsentChecker] when the service needs the citizen's consent, forwards
// the call to the provider's upstream with a signed request (subpackage
// interop/httpsig; the provider checks it with interop/provider), records
// the exchange's metadata in a Merkle log (interop/exchangelog), and counts
// it through a [Counter] (kind [KindCall], labels consumer, service,
// outcome). [Gateway] is that handler; consumers call it with the client
// of interop/consumer.
//
// # Identifiers
//
// [ServiceID] is INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE, [ClientID]
// INSTANCE/CLASS/MEMBER[/SUBSYSTEM], as in the X-Road-Client header; each
// part is percent-encoded on its own and holds only what X-Road allows
// (letters, digits and '()+,-.=?). [ParsePath] reads a request's escaped
// path into the service and the rest of the path, refusing dot segments so
// that the path a right is checked against is the path the provider
// serves. Member classes (GOV, COM, ORG, NGO, …) are whatever the
// instance defines.
//
// # Registry
//
// A [Service] is registered by identifier with its owner (the member in
// the identifier), titles in Greek and English, the provider's upstream
// URL (http or https only), its OpenAPI 3 document, the [DataItem]s it
// offers (typed codes with Greek and English labels), whether each call
// needs consent or which legal basis allows it, and [Limits] (request and
// response size, timeout, calls per second per consumer with a burst).
// A service can be disabled without losing its rights. Updates name the
// revision they start from, so two operators never overwrite each other.
//
// # Rights
//
// Nothing is allowed by default. A [Right] lets one consumer client call
// one service with one method (or every method) on the paths one pattern
// matches ("*" for one segment, a final "**" for the rest, the other
// segments literally), optionally within a validity window.
//
// # Decisions
//
// [Authorizer.Authorize] answers from an in-memory snapshot, without a
// database read and without allocating when the call is allowed: a
// [Decision] with the upstream, the limits and the consent requirement,
// or a *[Refusal] that says not found, forbidden or disabled. Every change
// of the registry moves a generation counter in the same transaction, and
// each Authorizer reads it every PollInterval (1 s by default) and
// reloads when it moved: a right revoked on one instance is refused by
// every instance within about one interval, without a restart. When the
// registry cannot be read for longer than MaxStale (1 minute), decisions
// are suspended rather than made on rights that may have been revoked.
//
//	store, err := interop.NewSQLStore(ctx, db) // SQLite or PostgreSQL, opened by sqldb
//	authz, err := interop.New(ctx, interop.Config{Store: store})
//	defer authz.Close()
//	id, rest, err := interop.ParsePath(r.URL.EscapedPath())
//	client, err := interop.ParseClientID(r.Header.Get("X-Road-Client"))
//	d, err := authz.Authorize(ctx, client, id, r.Method, rest)
//
// # Gateway
//
// [NewGateway] returns the http.Handler consumers call; mount it at
// "/r1/" and its key set where providers fetch it:
//
//	tokens, err := interop.NewJWTVerifier(interop.JWTConfig{
//		Issuer: "https://login.example.gov", Audience: "https://gateway.example.gov",
//		JWKSURL: "https://login.example.gov/jwks",
//	})
//	gw, err := interop.NewGateway(interop.GatewayConfig{
//		Authorizer: authz, Tokens: tokens, Consent: checker, Log: exchangeLog,
//		Key: gatewayKey, KeyID: "gateway-2026-12", Name: "gw-1",
//		Pseudonym: pseudonymOfUserID, Counter: metrics,
//	})
//	defer gw.Close() // after the server's Shutdown: waits for pending log entries
//	mux.Handle("/r1/", gw)
//	mux.Handle("/interop/keys", gw.KeysHandler())
//
// Each call goes through, in this order, and the first that fails
// answers:
//
//  1. The path /r1/{instance}/{class}/{member}/{subsystem}/{service}/… is
//     parsed ([ParsePath]); X-Road-Id is kept, or made when absent. A
//     protocol upgrade (Upgrade header) is refused: its bytes could be
//     neither limited nor logged.
//  2. The Bearer access token is checked by the [TokenVerifier]
//     ([JWTVerifier]: jwx against the issuer's cached JWK set, RFC 9068
//     at+jwt only, the client claim mapped to a [ClientID]), and the
//     X-Road-Client header must name the token's client: no client calls
//     as another.
//  3. [Authorizer.Authorize] decides from its snapshot, then the
//     consumer's token bucket for the service (golang.org/x/time/rate,
//     per process) takes one call.
//  4. The body: a Content-Length over the service's MaxRequestBytes is
//     refused at once. A request carrying its own Content-Digest streams:
//     the body is checked against it while it is forwarded (a mismatch
//     breaks the forwarded request, and the provider, which checks the
//     digest too, never acts on it). A request without one is read into
//     memory, within MaxRequestBytes, to compute its digest before it is
//     signed. Bodies never touch the disk.
//  5. For a service that needs consent, the [ConsentChecker] is asked with
//     the consumer, the service's data items, the X-Road-UserId as the
//     subject, the X-Road-Issue as the purpose, the consent id of the
//     Egovkit-Consent-Id header and the exchange id, so the use it
//     records names the log entry.
//  6. The request is forwarded with httputil.ReverseProxy to the service's
//     upstream plus the rest of the path and the query, within the
//     service's Timeout: the consumer's Authorization, cookies and
//     signatures stay behind; X-Road-Client, X-Road-Id, Content-Digest,
//     the consent id and the citizen's pseudonym are set by the gateway
//     and signed with RFC 9421 (interop/httpsig, [httpsig.GatewayComponents]
//     and the optional ones present), which interop/provider verifies.
//     The response streams back; one announced larger than
//     MaxResponseBytes is refused, one that grows past it while it
//     streams is cut off (its status was already sent) and logged as a
//     failure. With GatewayConfig.LogBeforeRelease it is read whole
//     first, so one that grows past the limit is refused, and it is sent
//     only once its entry is in the exchange log (below).
//
// The answer carries X-Road-Request-Id (the exchange id, a time-ordered
// UUIDv7), X-Road-Id, X-Road-Client, X-Road-Service and, once the request
// body has been read, X-Road-Request-Hash: base64 of
// SHA-512(SHA-512(head) ‖ SHA-512(body)), or of SHA-512(head) without a
// body, as X-Road's REST protocol defines it, where the head is the
// method and the path as the consumer sent them and the X-Road headers
// forwarded (X-Road-Client, X-Road-Id, X-Road-UserId, X-Road-Issue), each
// line "name: value" lower-cased and ended by CR LF.
//
// # Refusals
//
// Every answer of the gateway's own is problem+json with a stable type,
// the exchange id as its instance, and the X-Road-Error header (also the
// "xroad_error" member): 400 [TypeInvalidRequest] and
// [TypeDigestMismatch], 401 [TypeUnauthenticated] (with
// WWW-Authenticate), 403 [TypeClientMismatch], [TypeAccessDenied] and
// [TypeConsentRefused] (with "consent_reason"), 404 [TypeServiceNotFound],
// 413 [TypeRequestTooLarge], 429 [TypeRateLimited] (with Retry-After),
// 502 [TypeUpstreamUnavailable] and [TypeResponseTooLarge], 503
// [TypeServiceDisabled] and [TypeGatewayUnavailable] (keys, consent, log or
// registry unavailable, with Retry-After), 504 [TypeUpstreamTimeout]. The
// provider's own answers, errors included, pass unchanged.
//
// # Exchange log, counts and latency
//
// Every call, refused or not, is appended to the [ExchangeLog]
// (interop/exchangelog): the exchange id, the time, the gateway's name,
// the consumer and the service ("-" when unknown), the method, the
// consent id, the citizen's pseudonym (from GatewayConfig.Pseudonym, or
// the consumer's Egovkit-Citizen-Pseudonym header; the user id itself
// never), the SHA-256 and sizes of both bodies computed while they
// streamed, the status, the X-Road-Error, and the whole and upstream
// durations. By default the entry is appended once the answer is sent,
// and the call does not wait for the commit (GatewayConfig.WaitForLog),
// so an entry can be lost if the process dies in the few milliseconds
// between answer and commit; Close waits for those pending. With
// GatewayConfig.LogBeforeRelease the provider's answer is read whole
// (within the service's MaxResponseBytes, in memory) and its entry
// committed before any of it is sent: an answer the log cannot take is
// held back (503, X-Road-Error Server.ClientProxy.LogUnavailable), so
// every answer that reached a consumer is in the log, at the cost of the
// commit in each call's latency. A failed append is not tried again (it
// may have been committed all the same), so the log can hold an answer
// the consumer never had, never the reverse. Refusals release nothing
// and are logged as WaitForLog says. Each call is
// counted through the [Counter] (kind [KindCall]; labels consumer,
// service, outcome) and its duration given to the [Observer] (kind
// [KindCallSeconds]), for a Prometheus histogram.
//
// # Storage
//
// [Store] is the seam: [NewSQLStore] keeps the registry in the caller's
// *sql.DB (SQLite or PostgreSQL, migrations of its own, every call under
// a deadline, an unavailable database answered 503), [NewMemoryStore] in
// memory for tests and demonstrations; interoptest.RunStoreTests checks
// any implementation.
//
// # Operators' API
//
// [APIHandler] serves the registry as JSON to the operators of the
// centre: list, get, register, update, disable and enable services; grant,
// list and revoke rights. Who may call it comes from the importer's
// [APIConfig].Caller ([RoleOperator] changes, [RoleAuditor] reads); every
// refusal is problem+json.
//
// # Operators' pages
//
// [PagesHandler] serves the same registry as pages, in Greek and English,
// without JavaScript, for the centre's people: the services with a search
// by identifier, owner or title and a filter by state; a service's page
// (identifier, titles, owner, upstream, data items, consent or legal
// basis, limits, revision, who changed it last, and its rights); forms to
// register and change a service and to grant a right (consumer, method,
// path pattern, first and last day), with every error beside its field
// in the operator's language and what was typed kept; confirmations
// before a service is disabled or enabled and before a right is revoked;
// and the rights of every consumer or of one. Auditors see every page and
// are offered no change; operators change. A change that starts from a
// revision someone else saved meanwhile is refused, says who and when,
// and keeps the form as typed. Form posts from other sites are refused.
// The handler serves its stylesheet itself, below Prefix + "/static/".
//
//	pages, err := interop.PagesHandler(interop.PagesConfig{Store: store, Caller: operatorFromSession,
//		Prefix: "/interop/registry", SignInURL: "/signin", SignOutURL: "/signout"})
//	mux.Handle("/interop/registry/", http.StripPrefix("/interop/registry", pages))
//
// The registry keeps who made each service's last change and who granted
// each right, not a history: earlier changes and revocations are only in
// the log (the SQL store logs each change of a service as "service
// updated", the pages and the API each revocation as "right revoked",
// with the operator's identifier), and the pages say so.
package interop
