// Package consent records the citizen's consent for once-only data
// exchange: agency A fetches what registry B already holds about a
// citizen only with the citizen's prior, explicit and specific consent,
// which the citizen can see, prove with a signed receipt, and withdraw;
// and the citizen sees who used their data, newest first.
//
// # Records
//
// A Record carries the fields of an ISO/IEC TS 27560 consent record: id
// and schema version; the subject (the citizen, kept as a keyed
// pseudonym, HMAC-SHA-256 under a key derived from Config.SubjectKey,
// with the tax number sealed by AES-256-GCM under another key derived
// from it, so that only the key recovers it: Service.TaxNumber); the
// requester (organisation, client and, for a civil servant, the person);
// the source (registry and service); the data items; the purpose (a code
// and its text in Greek and English) and legal basis; the notice shown
// (its SHA-256 and language); the evidence of the decision (sign-in
// session, level of assurance, time, client address); the validity
// window; the use limit (one use by default, n uses, or Unlimited within
// the window); the recipients; how to withdraw; the state; and an
// append-only list of events.
//
// # States
//
// After UK Open Banking's consent lifecycle:
//
//	AwaitingAuthorisation ──approved──▶ Authorised ──withdrawn──▶ Revoked
//	        │ refused                     │ expired ──▶ Expired
//	        ▼                             │ consumed (last use) ──▶ Consumed
//	     Rejected        (unanswered past RequestExpires ──▶ Expired)
//
// Transition is the table. A change the state does not allow is a
// *StateError (ErrState, errkind.Conflict); bad input is an
// *InvalidError (ErrInvalid, errkind.Invalid); another citizen's consent
// is ErrNotFound (errkind.NotFound); a sign-in below LoA substantial is
// ErrAssurance. Expiry needs no background job: a record past its
// deadline reads as Expired (Record.StateAt) and refuses every change but
// expiry, which Maintain writes down.
//
// # Flows
//
//	svc, err := consent.New(ctx, consent.Config{Store: store, SubjectKey: key, Keys: receiptKeys, Issuer: "https://consent.example.gr"})
//	r, err := svc.Request(ctx, requester, consent.Draft{TaxNumber: afm, Source: src, Items: items, Purpose: p, …})
//	r, err = svc.Approve(ctx, citizen, r.ID, consent.NoticeOf(shownText, "el")) // or Refuse
//	r, err = svc.Give(ctx, citizen, requester, draft, notice)                   // a standing consent
//	r, err = svc.Withdraw(ctx, citizen, r.ID)
//	token, err := svc.Receipt(ctx, citizen, r.ID)                              // signed, Kantara CR v1.1
//
// The requester is whoever the caller authenticated (a portal wires its
// OpenID Connect relying party); the citizen's tax number, session and
// level of assurance come from the caller's sign-in. Approving, refusing,
// giving and withdrawing take LoA substantial or high.
//
// # Check
//
// Check is the gateway's question: may this requester (organisation and
// client) fetch these items about this citizen from this source for this
// purpose now? The answer is a Decision: allowed, with the consent it was
// counted against, or refused with a Reason (ReasonNone, ReasonExpired,
// ReasonWithdrawn, ReasonUsedUp, ReasonWrongPurpose,
// ReasonItemsNotCovered). An allowed exchange is found and counted by one
// conditional UPDATE (uses = uses + 1 on the consent of this citizen,
// requester, source and purpose that covers the items, is authorised, in
// its window and below its limit, the one whose window ends first) and
// written to the citizen's access log in the same transaction, so a
// single-use consent allows one exchange however many instances ask at
// once; nothing is cached, so a withdrawal refuses the very next Check on
// every instance. Only a refusal reads the consents, to give its reason.
// Errors are kept for bad input and an unavailable database
// (errkind.Unavailable). An exchange counts once: asking again with the
// same exchange id, as a gateway retrying a lost answer does, is answered
// with the consent it was counted against, without a second use, while
// that consent is neither withdrawn nor out of its window.
//
// On SQLite, which writes one transaction at a time, the store's writer
// goroutine commits the checks that wait for it together (at most
// DefaultMaxBatch in a transaction, WithMaxBatch), each still counted and
// logged by its own statements and answered on its own once committed;
// PostgreSQL gives each its own transaction.
//
// The exchange layer does not import this package: it declares the small
// interface it needs, in its own words, and an adapter where the packages
// are wired together calls Check:
//
//	// in the exchange layer
//	type ConsentChecker interface {
//		CheckConsent(ctx context.Context, q ConsentQuery) (ConsentDecision, error)
//	}
//
// # Access log
//
// Service.AccessLog pages the citizen's log newest first, optionally of
// one requester, by offset and limit (the shape of Estonia's usage query)
// or after the previous page (LogQuery.Before, the LogPage.Next of the
// previous page). Entries are numbered densely per citizen and per
// citizen and requester as they are written, so every page, at any
// offset, is found through the key and costs the same at the 100,000th
// entry as at the first.
//
// # The requester's flow and the citizen's pages
//
// APIHandler serves the JSON API. A requester, authenticated by the
// importer's APIConfig.Requester (the portal wires client-credentials
// access tokens of its OpenID Connect provider), POSTs /requests and gets
// the request's id and the URL to send the citizen to; it reads the
// state at GET /requests/{id}. A request may carry a return URL, which
// APIConfig.ReturnURLAllowed must accept as registered to that requester
// (the API never redirects anywhere else), and a state value. The
// citizen's endpoints (APIConfig.Citizen) list their consents, withdraw
// one, and page the access log at GET /usage in the shape of Estonia's
// Data Tracker usage query (offset, limit; time, action, receiver, data
// used). Every refusal is problem+json.
//
// PagesHandler serves the citizen's pages in Greek and English, without
// JavaScript, to a citizen signed in at LoA substantial or high
// (PagesConfig.Citizen; others are sent to SignInURL): the request, in
// plain words (who asks for what, from whom, why, until when, how many
// times), with a preview of the data where the source offers one
// (PagesConfig.Preview, a PreviewFetcher), and buttons to approve or
// refuse, after which the citizen returns to the requester's return URL
// with consent_id, or error=access_denied, and state, as in OAuth and the
// Once-Only Technical System; my consents, active and past, each with its
// receipt as a page and signed for download, and withdrawal after one
// confirmation; who used my data, newest first, paged and filtered by
// requester, each use with the gateway's exchange id and, given a
// PagesConfig.Proofs (a ProofChecker the importer supplies from its
// exchange log), whether its inclusion proof verifies and where to fetch
// it; and standing consents chosen from PagesConfig.Offers. The
// words the citizen read when deciding are hashed into the record's
// Notice. Forms posted from other sites are refused. The pages serve their
// stylesheet at Prefix + "/static/", or link a site's own
// (PagesConfig.StaticPrefix).
//
//	pages, err := consent.PagesHandler(consent.PagesConfig{Service: svc, Prefix: "/consent", Citizen: citizenOf, SignInURL: "/signin"})
//	api, err := consent.APIHandler(consent.APIConfig{Service: svc, PagesURL: "https://portal.example.gr/consent",
//		Requester: requesterOf, Citizen: citizenFromToken, ReturnURLAllowed: registered})
//	mux.Handle("/consent/", http.StripPrefix("/consent", pages))
//	mux.Handle("/consent/api/", http.StripPrefix("/consent/api", api))
//
// # Maintenance
//
// Maintain, run every few minutes from any number of instances, writes
// down the expiries that have come (ExpireDue): unanswered requests and
// consents whose window closed become Expired, with an event by the
// system. Nothing waits for it, since a record past its deadline reads as
// Expired already; it keeps the stored state and the history truthful.
// Stores find what is due through the optional DueLister, which both
// stores here have.
//
// # Storage
//
// Store is the seam: NewSQLStore keeps records on SQLite or PostgreSQL
// (the caller opens the *sql.DB, see package sqldb; this package imports
// no driver) and NewMemoryStore in memory. Package consenttest is the
// conformance suite any Store passes. Every database call has a deadline
// (WithDBTimeout, 5 s by default). The SQL store's lifecycle: NewSQLStore
// starts its writer on SQLite; SQLStore.Close answers the checks the
// writer holds, stops it and releases the prepared statements; close the
// store before the pool, and the service needs no closing of its own.
//
// # Receipts
//
// Service.Receipt signs, with the keys of NewSigningKeys (or any
// SigningKeys), a compact JWS of type ReceiptType whose payload is a
// Receipt: the Kantara Consent Receipt v1.1 fields. Anyone verifies it
// against the JWK Set Service.JWKSHandler serves. The principal in it is
// the pseudonym, not the tax number.
//
// # Counting
//
// Every Check is reported to Config.Counter, which has the shape of every
// egovkit counter, Count(kind string, labels ...string): kind CountKind,
// labels CountLabels (the requester's organisation and the outcome,
// OutcomeAllowed or the Reason). Declared to metrics:
//
//	metrics.Kind{Name: consent.CountKind, Labels: consent.CountLabels()}
package consent
