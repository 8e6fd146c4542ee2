// Package procedures is the registry of administrative procedures: the one
// place where every procedure of the public sector is recorded and kept
// current, and from which every channel that describes a procedure takes
// its information.
//
// # Schema
//
// A procedure is a JSON document checked against the embedded JSON Schema
// (draft-07, [Schema]): identifier, title and description in Greek and
// English, competent authority, type, categories, life and business events
// (EU codelist URIs), legal basis (ELI or URL), conditions, ordered steps
// (who acts, through which channel, maximum duration as an ISO 8601
// duration, the URL of a digital step), evidence (with the
// interoperability service that can supply it, which makes it a once-only
// candidate), costs, outputs, channels, processing time, contact, FAQs and
// links. [Validate] checks a document and [Parse] checks and decodes it;
// both report every violation with its JSON Pointer and a
// message in Greek and English (a 422 problem over HTTP), including the
// rules a schema cannot state: a cost's minimum is not above its maximum,
// an application form is itself a valid schema, against which
// [Procedure.ValidateApplication] checks a citizen's submission, and every
// address is safe to republish. A link people follow (a step's page, a
// channel, the authority's site, the contact page, a law's text, a useful
// link) must be https; an identifier (an ELI, an event of the EU code
// lists) http or https; javascript:, data: and every other scheme are
// refused, so the JSON API and the CPSV-AP export never pass one on. A
// registry made with [WithLoopbackHTTP], for a demonstration or for
// development, also takes http links to this machine.
//
// # Registry and workflow
//
// [Registry] keeps every version with its history in SQLite or
// PostgreSQL. A version goes draft → pending approval → approved →
// published → withdrawn; a published version is replaced (superseded) by
// the next one published. Editors create, edit drafts and submit;
// approvers send back with a reason, approve (never their own work),
// publish and withdraw; the caller's identity and roles come in as a
// [Caller]. Only published versions are public. A published version never
// changes, and the SHA-256 of its document is its ETag. A revision starts
// as a draft beside the published version; there is at most one version
// being worked on, and one published, per procedure, on every instance.
//
// # Suggestions and burden
//
// Anyone may send a suggestion on a published procedure (wrong
// information, a way to simplify it, other), at most SuggestionsPerHour
// from one client address, whose keyed hash alone is stored; editors list
// and close them. [BurdenOf] computes what a procedure asks of people
// (steps, documents, visits in person, cost range, maximum duration, the
// share of digital steps, documents another agency could supply), and
// [Registry.BurdenReport] ranks the published procedures most worth
// simplifying.
//
// # Search
//
// The catalogue pages and the API search through a [Searcher]: words and
// filters in a [Query], a page of [Results] back. This package holds no
// search engine, so a program that imports it for the registry alone stays
// small; the subpackage procedures/search is the full-text index that
// understands Greek (bleve), and any other type with the method will do.
//
//	idx, err := search.New(ctx, reg, search.WithLogger(log))
//	if err != nil { ... }
//	idx.StartRefresh(5 * time.Second) // other instances' publications
//	defer idx.Close()
//	pages, err := procedures.PagesHandler(procedures.PagesConfig{Registry: reg, Index: idx, Prefix: "/procedures"})
//
// Without one, the pages show no search box: the catalogue lists every
// published procedure by title in the reader's language, and the filters
// by category, channel and life event still narrow it, which is how a
// citizen finds a procedure in a small registry. The API then leaves
// /search out (404); GET /procedures lists the published procedures.
//
// # HTTP
//
// [APIHandler] serves the registry as JSON: the published procedures with
// ETags and conditional GET, the burden report, suggestions, and
// for editors and approvers (identified by the caller function it is
// given) drafts, If-Match updates, revisions, workflow transitions and the
// history; search when APIConfig.Index is set. Errors are RFC 9457
// problems; a refused request stores nothing.
//
// Every database call has a deadline ([WithDBTimeout], 5 s by default). A
// database that is down, does not answer in time or cannot write is
// answered 503 with Retry-After (problem+json, or a "temporarily
// unavailable" page), also when the caller function met it: an editor is
// not asked to sign in again because their identity could not be looked up.
//
// # CPSV-AP
//
// [ExportCPSVAP] and [Registry.ExportCatalogue] write procedures as JSON-LD
// in the EU's Core Public Service Vocabulary Application Profile 3.2.0,
// with codelist concepts and events typed so that the profile's official
// SHACL shapes find no violation (tested with rdf-validate-shacl against
// the shapes vendored in testdata).
//
// # Pages
//
// [PagesHandler] serves the public catalogue in Greek and English without
// JavaScript: search with filters by category, channel and life event
// (without a Searcher, the list with the same filters), and a page per
// published procedure (what is needed, the steps, where and how,
// cost and time, what one receives, the legal basis, questions) with the
// suggestion form. The pages pass axe-core's WCAG 2.1 AA rules.
//
// The handler serves everything its pages need: their stylesheet is at
// PagesConfig.Prefix + "/static/egovkit.<hash>.css" (text/css, cached for
// a year since its name changes with its content), and the editors'
// form's script beside it (groups.<hash>.js), so a service that
// mounts the handler alone, at the root or below Prefix with
// http.StripPrefix, gets styled pages. A site that serves one shared
// stylesheet for all its pages points PagesConfig.StaticPrefix at it;
// the shared handler (page.Static) serves the script there too.
//
// With PagesConfig.Caller set, editors and approvers get a workspace below
// /edit/: the versions being worked on, the open suggestions, and the
// published procedures with a search (by the Index when there is one),
// each with a button to revise it. A procedure is written in a form built
// from the schema: titles and texts in Greek and English, and groups for
// conditions, steps, documents, costs, channels, legal references and
// questions, whose items are added, removed and moved up or down by
// buttons. The form works without JavaScript: each button posts it and
// the server shows it again with every value kept. A small script, a file
// the handler serves beside the stylesheet (the only script of the pages,
// which the pages' Content-Security-Policy, script-src 'self', lets run),
// does the same in the page without a round trip: it renumbers the items'
// field names as the server would, so the form sends the same document,
// moves the focus to the new item, to the item that took a removed one's
// place or with the moved one, and says each change in a status region
// for screen readers. The form's fields are named by the JSON Pointer of the
// value they hold, so each violation of the schema is said beside its
// field, in the editor's language, and in a summary in the form's words
// ("Step 1: Where the step is taken online: Fill this in."); nothing is
// stored until the document passes. Members the form does not show (life
// events, outputs, links, the application form) travel through it
// unchanged, and a JSON view edits the whole document. A saved version is
// previewed with the citizen's page's own template; an approver sees what
// changed since the published version field by field, side by side, each
// change named in words (added, removed, changed) besides <del> and <ins>.
// A signed-in editor finds a button to revise a procedure on its public
// page (which is then not cached). The workspace and the history show
// people by their [Caller].Name. Form posts from other sites are refused.
// The catalogue links to the workspace, and with PagesConfig.SignOutURL
// the workspace shows a sign-out button.
// Signing editors in is the site's part: the portal in examples/portal
// does it with auth/rp's WebLogin against its civil servants' provider and
// takes the roles from the servant's authorizations for the service
// "procedures".
//
// # Opening the database
//
// NewRegistry keeps its state in the *sql.DB it is handed, SQLite or
// PostgreSQL; the package imports no driver. Open the pool with
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
// examples/procedures-only in the repository is a registry of procedures with
// its catalogue pages and JSON API, seeded with Samples, built on this package
// (and, unless -search=false, procedures/search) and nothing else of egovkit;
// run it from a checkout with go run ./examples/procedures-only.
package procedures
