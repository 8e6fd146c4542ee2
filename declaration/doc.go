// Package declaration issues solemn declarations and authorizations
// digitally, the way a citizen signs one at a counter: written online,
// confirmed with a one-time code sent to their registered mobile, numbered,
// signed, and checkable by any office from its verification code.
//
// # Documents
//
// Three kinds: a solemn declaration (Law 1599/1986, article 8: the
// recipient authority and the declarant's text under the statutory
// wording), an authorization (the grantee named by tax number, what they
// may do, and until when), and the agency's own templates, whose fields a
// JSON Schema describes. The declarant is a Person that the caller takes
// from its sign-in; their tax number is checked, and every field the
// declarant writes is checked and refused by JSON Pointer (InvalidError)
// before anything is stored.
//
// # Issue
//
//	svc, err := declaration.New(ctx, declaration.Config{
//		DB: db, Issuer: "gov.gr", BaseURL: "https://docs.example.gr",
//		Keys: keys, CodeSecret: secret, SMS: gateway,
//	})
//	d, err := svc.Create(ctx, person, declaration.Draft{Kind: declaration.KindSolemn, Recipient: "…", Text: "…"})
//	_, err = svc.RequestCode(ctx, person, d.ID) // SMS to person.Mobile
//	doc, err := svc.Confirm(ctx, person, d.ID, code)
//	// doc.Protocol "2026/000123", doc.Code "7KQM-…", doc.Token (JWS)
//
// The code is bound to the document: it confirms this draft and no other,
// lives two minutes, is used once and dies after three wrong tries. It is
// used up in the transaction that issues the draft, so that an issue that
// fails (or a process that dies before it commits) leaves it usable. A
// draft left unconfirmed expires (Config.DraftLifetime); run
// Service.Maintain every few minutes, from any instance, to delete
// expired drafts, spent codes and past rate-limit windows. A code asked
// for too soon, or refused after too many wrong ones, comes as an *Error
// with RetryAfter that matches errkind.RateLimited as well as ErrCode.
//
// On issue the document gets a protocol number that is unique and without
// gaps per issuer and year, even with several instances on one PostgreSQL
// database: the number is taken in the transaction that issues the
// document, so a failed issue gives it back. Confirmations that arrive
// together are issued in one transaction, their numbers taken in one step
// and their signatures made on every core. It gets a verification code
// of twenty symbols from an alphabet without look-alike characters (about
// 98 bits, so it cannot be guessed), printed in groups of four. The
// content is signed as a compact JWS of type TokenType with the keys of
// NewSigningKeys, whose public half verifiers fetch as a JWK Set.
//
// Each issued document is also an SD-JWT VC (Document.SDJWT, typ
// dc+sd-jwt, with iss, vct and a status reference): every claim is a
// separate disclosure, so the citizen's wallet can show a verifier the
// protocol number and the names without the text. Its status is published
// in a Token Status List (Service.StatusList, served by the API at
// /statuslist), one bit per document, set when it is revoked.
//
// # Verification and revocation
//
// Verify takes a code as typed or scanned and answers valid, revoked,
// expired (past the document's end date) or unknown, with the content as
// issued so that an office can read it, and nothing else about the
// citizen. Nothing is cached: a revocation (by the declarant, who for an
// authorization is the grantor) is seen by the next verification on any
// instance.
//
// A revocation is confirmed with a one-time code as an issue is, bound to
// revoking this document (a code for issuing it, or for revoking another,
// does not serve), and used up in the transaction that revokes:
//
//	_, err = svc.RequestRevokeCode(ctx, person, doc.ID)
//	doc, err = svc.Revoke(ctx, person, doc.ID, code, "written by mistake")
//
// Each SMS says what its code confirms, in the document's language: for
// an issue the kind of document and whom it is addressed to (for an
// authorization, the grantee), for a revocation the kind and protocol
// number, so that a person who did not ask for it knows what it would
// sign. GrantedTo lists the authorizations that name a person.
// VerifyFrom, which the page and the API use, also refuses a client
// address that asked for too many unknown codes (VerifyFailuresPerWindow
// in VerifyWindow), counted in the database for every instance.
//
// # Counting
//
// Every document issued is reported to Config.Counter, which has the
// shape of every egovkit counter, Count(kind string, labels ...string),
// so a *metrics.Metrics is wired with one line (Counter: m). An issued
// document is counted once, when it is stored, even if the client that
// confirmed it went away meanwhile (the pages and the API log such a
// request at info and answer it 499, not as an internal error); two
// instances sharing a database count each document once between them.
// Drafts, verifications and revocations are not counted. The kinds and
// labels:
//
//	kind                 labels (CountLabels)       counted
//	CountDeclaration     issuer, channel            a solemn declaration issued, or a
//	                                                template document that is not an authorization
//	CountAuthorization   issuer, channel            an authorization issued (KindAuthorization,
//	                                                or a template marked Authorization)
//
// The issuer is Config.Issuer and the channel ChannelDigital. Declared to
// metrics, they are:
//
//	metrics.Config{Kinds: []metrics.Kind{
//		{Name: declaration.CountDeclaration, Labels: declaration.CountLabels(), ReplacesVisit: true},
//		{Name: declaration.CountAuthorization, Labels: declaration.CountLabels(), ReplacesVisit: true},
//	}}
//
// # PDF and QR code
//
// PDF renders an issued document as an A4 page in its language with its
// protocol number, verification code and a QR code drawn as vector
// squares. It is drawn and signed on its first download and stored: every
// later download, from any instance, gets the same bytes (the pages and
// the API serve them with a strong ETag and answer If-None-Match), and two
// instances racing for the first store one form. A revoked document gets
// a second form, marked revoked. Most documents are never printed, so
// nothing is drawn at issue. The QR code holds QRContent: the
// verification URL, which any phone opens, and after "#" a summary signed
// when the PDF is first drawn (a full document can be longer than a QR
// code holds), which the subpackage declaration/verify checks against
// the published keys with no call to the issuer; a verifier imports it
// alone and compiles none of this package's PDF, SQL and page code:
//
//	v, err := verify.New("https://docs.example.gr", jwks)
//	summary, status, err := v.VerifyQR(scanned) // StatusValid or StatusExpired
//
// This package's NewOfflineVerifier, OfflineVerifier, Claims and Summary
// are the same verifier and types. An offline check cannot see a
// revocation; online, verify the code. The signatures are checked by
// crypto/ecdsa and crypto/ed25519, inside Go's FIPS 140-3 module
// (BENCHMARKS.md compares the verifier with the bare signature check). A
// JWK Set of more than DefaultMaxKeys keys is refused (ErrTooManyKeys)
// unless WithMaxKeys allows more; make one verifier for a key set and
// keep it.
//
// The text is set in DejaVu Sans, embedded, in forms prepared once at
// build time that every PDF copies as they are: a document whose text
// fits the Greek code page Windows-1253 (Greek and English text, the
// usual punctuation) takes the font reduced to that code page; other text
// (accented Latin letters beyond it, polytonic Greek) takes the whole
// font with an encoding of the characters the document uses. Only a
// document with more than 128 different characters beyond ASCII takes a
// Unicode font parsed for that PDF alone, several times slower.
//
// With Config.PDFSigner (the agency's certificate for electronic seals and
// its key: any crypto.Signer with an ECDSA or RSA public key, in memory or
// in a hardware security module or on a smart card) every PDF is also
// signed the PAdES way: an incremental update
// adds an invisible signature field and a detached CMS signature
// (ETSI.CAdES.detached, SHA-256, with the signing-certificate-v2
// attribute) over the whole file but the signature itself, which PDF
// readers and poppler's pdfsig check. The CMS library also adds a
// signing-time attribute, which PAdES baseline B-B leaves out.
//
// # Protocol book
//
// Book is an agency's register of incoming, outgoing and internal
// documents (subject, sender, recipient, date, content hash, optional
// signature). Each registration takes the next protocol number of the
// issuer's year, shared with the documents a Service of the same issuer
// issues, so that one agency has one numbering. Entries are append-only
// (the database refuses changes) and hash-chained; Book.Verify walks the
// chain and names any entry changed, inserted or deleted behind the
// database's back.
//
// # Pages and API
//
// PagesHandler serves the citizen's pages, VerifyHandler the public
// verification page (where QR codes lead), and APIHandler the same as
// JSON. They take the signed-in person from a function the service
// supplies.
//
// Each page handler serves its pages' stylesheet itself, under a name that
// changes with its content (text/css, cached for a year): PagesHandler at
// PagesConfig.Prefix + "/static/egovkit.<hash>.css", VerifyHandler below
// the verification path (/verify/static/…; mount it at "/verify" and
// "/verify/"). A service that mounts them alone gets styled pages; a site
// that serves one shared stylesheet points PagesConfig.StaticPrefix at it.
//
// Every database call has a deadline (Config.DBTimeout, 5 s by default).
// A database that is down, does not answer in time or cannot write is
// answered 503 with Retry-After (problem+json, or a "temporarily
// unavailable" page), also when it is the person function that met it
// (a context deadline or a refused connection in its error): the person is
// not sent to sign in again.
//
// # Opening the database
//
// New, NewSigningKeys and NewBook keep their state in the *sql.DB they are
// handed, SQLite or PostgreSQL; the package imports no driver. Open the pool with
// [github.com/egovkit/egovkit/sqldb], sqldb.Open(ctx, "sqlite:PATH", nil) or
// a postgres:// URL, which gives it the settings the stores need. A service
// that opens its own SQLite pool with modernc.org/sqlite (driver name
// "sqlite") gives every connection foreign keys, a busy timeout and WAL mode
// in the data source name, sql.Open("sqlite", path+"?"+sqlcheck.DSNSettings)
// (package [github.com/egovkit/egovkit/sqldb/sqlcheck]); a SQLite pool
// without them is refused with a *sqlcheck.SettingsError that says what to
// change. A PostgreSQL pool (github.com/jackc/pgx/v5/stdlib, driver name
// "pgx") is taken as it is.
//
// # A service that imports only this package
//
// examples/declaration-only in the repository issues and verifies documents
// with this package and signs citizens in with auth/rp against an OpenID
// provider it is given: the verification page, the citizen's pages and the
// JSON API; run it from a checkout with go run ./examples/declaration-only
// -issuer URL.
package declaration
