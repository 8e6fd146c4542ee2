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
// outcome). The gateway handler and the consumer's client are not part of
// this package yet; the registry, the rights and the decision are.
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
