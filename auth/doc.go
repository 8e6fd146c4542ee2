// Package auth is egovkit's sign-in: one set of credentials for every public
// service, separate credentials for civil servants, one-time codes by SMS
// that raise the level of assurance, and an OpenID Connect provider per
// realm that agencies' sites and systems rely on. Agencies' own services
// use the relying-party side in package [github.com/egovkit/egovkit/auth/rp]
// (API middleware, and WebLogin for server-rendered sites).
//
// # Wiring a realm
//
//	clients, err := auth.NewClientRegistry(ctx, db, "citizen")
//	signing, err := auth.NewSigningKeys(ctx, db, "auth/citizen", kek, auth.WithLogger(log)) // or NewExternalSigningKeys (HSM)
//	accounts, err := auth.NewAccounts(ctx, db)
//	codes, err := auth.NewCodeStore(ctx, db, "citizen")
//	gateway := &sms.Webhook{URL: smsGatewayURL, Secret: smsGatewayKey}
//	otps, err := auth.NewOneTimeCodes(ctx, db, otpSecret, gateway, auth.WithLogger(log))
//	contacts, err := auth.NewContactRegistry(ctx, db, otps, gateway)
//	p, err := auth.NewProvider(ctx, auth.ProviderConfig{
//		Issuer: "https://id.example.gr/auth/citizen", Realm: "citizen",
//		Keys: signing, Clients: clients, Codes: codes, Accounts: accounts,
//		OneTimeCodes: otps, Contacts: contacts, Logger: log, Counter: stats,
//	})
//	mux.Handle("/auth/citizen/", http.StripPrefix("/auth/citizen", p.Handler()))
//	go func() { for range time.Tick(5 * time.Minute) { p.Maintain(ctx) } }()
//
// A second provider with Servants set, its own issuer, keys and clients,
// is the civil servants' realm. examples/portal wires both;
// examples/auth-provider is one realm's provider alone, as an agency that
// runs its own sign-in would serve it (SQLite or PostgreSQL, the key from
// package kek, codes to an SMS gateway, clients and people registered
// from files), with nothing from internal/, so that it can be copied.
//
// # Options and errors
//
// The stores take options of one type, [Option]. WithLogger, WithClock
// and WithDBTimeout go to every store, so one list serves them all; the
// others belong to one constructor (WithPasswordParams and
// WithPasswordConcurrency to NewAccounts, WithEmail to
// NewContactRegistry), and any other constructor given one fails with
// ErrOption instead of ignoring it:
//
//	common := []auth.Option{auth.WithLogger(log), auth.WithDBTimeout(3 * time.Second)}
//	clients, err := auth.NewClientRegistry(ctx, db, "citizen", common...)
//	accounts, err := auth.NewAccounts(ctx, db, append(common, auth.WithPasswordConcurrency(8, 0))...)
//
// The Provider, which takes several collaborators, takes a ProviderConfig
// instead, with Logger and Now. Every error matches a kind of package
// [github.com/egovkit/egovkit/errkind] with errors.Is. A one-time code
// not accepted is ErrCodeRejected (errkind.Unauthorized); a refusal that
// asks for a wait (a code asked for again too soon, too many wrong codes
// or authenticator codes) is a *RateLimitError whose RetryAfter says how
// long, matching errkind.RateLimited.
//
// # What the provider serves
//
//   - Discovery and the JWKS; keys from NewSigningKeys, rotated with
//     overlap, so tokens signed before a rotation verify until their key
//     retires. Discovery announces only what is implemented.
//   - The authorization endpoint (code flow only, PKCE with S256
//     mandatory, exact redirect URIs without fragment or user information,
//     any port on loopback for public clients only (RFC 8252), state,
//     nonce, the iss parameter of RFC 9207) with sign-in
//     pages in Greek and English that work without JavaScript: password,
//     then, when the client's registered minimum, acr_values or a step-up
//     ask for LoA substantial, a six-digit code sent by SMS to the number
//     in the contact registry. A single sign-on session answers later
//     requests without a page; prompt=login, max_age and prompt=none are
//     honoured. Codes live two minutes, one a minute at most; the newest
//     is the one to type, in whichever tab, and each is single use across
//     instances.
//   - Pushed authorization requests (RFC 9126), mandatory for clients
//     registered with RequirePAR; a request_uri is used once, by its client.
//   - The token endpoint: authorization_code (a replayed code revokes what
//     it issued, the refresh token family started from it included),
//     refresh_token (rotated on every use; a retry within 30 seconds,
//     while the next token is unused, gets that same next token back, so a
//     family never forks; any other reuse revokes the family) and
//     client_credentials for agency-to-agency calls; clients authenticate
//     with client_secret_basic (secrets stored hashed) or private_key_jwt
//     (RFC 7523, each assertion accepted once, its aud the token endpoint
//     or the issuer alone). Access tokens are RFC 9068
//     JWTs with client_id, scope, acr, auth_time and a public or pairwise
//     subject; a civil servant's also lists what their agencies authorize
//     now (RFC 9396 authorization_details). ID tokens carry acr (eIDAS
//     levels), amr (RFC 8176), auth_time, nonce, sid and at_hash.
//   - UserInfo (names and birth date with "profile", tax and social-security
//     numbers with "gr_identity", the mobile number in the contact registry
//     with "phone", as phone_number in E.164 and phone_number_verified, only
//     once proven with a code; a servant's authorizations), introspection
//     (RFC 7662, shown only to the resource server or the client a token
//     concerns; a servant's authorizations read afresh) and revocation
//     (RFC 7009) of access tokens and of refresh tokens (a refresh token
//     ends its family, with the access tokens issued in it), seen at once
//     by every instance.
//   - RP-initiated logout, which asks the person to confirm unless given an
//     ID token of this provider as hint, and back-channel logout: a signed
//     logout token (typ logout+jwt) posted to every client the session
//     signed in to. A session that ends (logout, or another person signing
//     in in the same browser) ends the refresh tokens issued in it; a
//     step-up keeps them.
//   - The sign-in pages' stylesheet, below the issuer's path at
//     /static/egovkit.<hash>.css (text/css, cached for a year since its
//     name changes with its content): the handler alone gives styled
//     pages, with nothing else mounted.
//
// # Security rules
//
// Password attempts are counted per user name typed (whether an account
// has it or not) and per client address, in the database and before the
// password is checked, so parallel guesses on any number of instances
// cannot outrun the count: at most five in an hour reach the check, then
// the name is locked for a minute, twice as long at each further failure,
// at most an hour. A successful attempt is given back. Unknown and known
// accounts get the same page and take as long (argon2id with OWASP's
// parameters is run for both). The hashing itself runs in a bounded
// number of slots ([WithPasswordConcurrency], by default sized from the
// processors and the memory limit), so a burst cannot exhaust memory; a
// sign-in that finds no slot in time is answered 503 with Retry-After and
// a page asking to try again, and is not counted. A sign-in in progress
// is bound to the browser that started it by a cookie, so its id alone is
// useless; a successful sign-in always gets a new session cookie. Codes,
// sessions, sign-ins, refresh tokens and pushed requests are stored only as
// hashes (a used refresh token's successor, kept for the retry, is sealed
// under a key derived from the used token). Logs name accounts by their
// random identifier and mask user names
// and client addresses. Every decision is logged (realm, client, subject,
// acr, outcome); see Counting for what is counted.
//
// A database that fails is never a credential error. Every call has a
// deadline (5 s, or [WithDBTimeout] given to each store); when the
// database is down, does not answer in
// time or cannot write, the token, introspection, revocation and userinfo
// endpoints answer 503 problem+json with Retry-After (the OAuth endpoints
// add "error": "temporarily_unavailable") and the sign-in pages a
// "temporarily unavailable" page, where they would otherwise have said
// invalid_client, invalid_grant or invalid_token.
//
// # Counting
//
// ProviderConfig.Counter is told of every successful sign-in: with a
// password, with a second factor, through an upstream identity provider,
// or by a session that already met the client's requirements. Its shape
// is that of every egovkit counter, Count(kind string, labels ...string),
// so a *metrics.Metrics is wired with one line (Counter: m). Refused or
// abandoned sign-ins, tokens, revocations and logouts are logged, not
// counted: they are not services rendered. The kind and labels:
//
//	kind          labels (CountLabels)            counted
//	CountSignIn   realm, client, acr, channel     a successful sign-in, at the level of
//	                                              assurance it reached (LoALow, …)
//
// The channel is ChannelDigital. Declared to metrics:
//
//	metrics.Config{Kinds: []metrics.Kind{{Name: auth.CountSignIn, Labels: auth.CountLabels()}}}
//
// # Building blocks
//
// [HashPassword] and [VerifyPassword] (argon2id, PHC strings, rehash when
// the cost is raised); [TOTP] (RFC 6238, checked against the RFC's
// vectors); [ClientRegistry] (a client has a name in each language,
// client_names, that the sign-in pages show by the page's language, and
// client_name where a language has none); [Accounts] for citizens (one account per tax
// number, AFM and AMKA validated) and servants with their agencies'
// authorizations; [ContactRegistry] (a mobile number and, with
// [WithEmail], an e-mail address, each proven with a code sent to it; a
// change tells the old number or address and is recorded); [ParseAuthorizeRequest];
// [CodeStore] and its [RefreshStore]; [NewClientAdmin], the JSON API
// administrators register, update, rotate and disable clients with.
//
// # Federation
//
// Citizens may sign in through another identity provider listed in
// ProviderConfig.Upstreams: an OpenID Connect provider such as a bank's
// ([NewOIDCUpstream]: discovered from its issuer, code flow with PKCE and
// nonce, its acr mapped to ours) or a legacy OAuth2 service with an XML
// user document in the shape of TAXISnet's ([NewLegacyUpstream]). The tax
// number the upstream vouches for links the citizen account; when the
// client needs a higher level than the upstream gives, the SMS code
// follows. The sign-in page offers each upstream as a button.
//
// # Authenticator apps
//
// With ProviderConfig.Authenticators (a [TOTPStore]), a person who has
// bound an authenticator app reaches LoA substantial with its code instead
// of an SMS, which stays on offer. Binding is [TOTPStore.Enroll] (an
// otpauth:// URI to show as a QR code) then [TOTPStore.Confirm] with a
// first code; secrets are sealed with AES-256-GCM, each time step is
// accepted once, and repeated wrong codes lock the app for a while.
// [AuthenticatorPages] is the person's account page that does it: a QR
// code and the key to type by hand, a first code to confirm, and removal
// after a confirmation that takes a code from the app. Mount it behind
// the sign-in of the site it belongs to:
//
//	pages, err := auth.AuthenticatorPages(auth.AuthenticatorPagesConfig{
//		Store: totp, Prefix: "/account", SignInURL: "/account/signin",
//		Holder: func(r *http.Request) (auth.AuthenticatorHolder, error) { … },
//	})
//	mux.Handle("/account/", login.Require(http.StripPrefix("/account", pages)))
//
// # Pairwise identifiers
//
// A client registered with SubjectType "pairwise" knows each person by an
// identifier derived from ProviderConfig.PairwiseSecret and its sector (its
// SectorIdentifier, or the host of its redirect URIs), so services of
// different sectors cannot link people by it (OpenID Connect Core 8.1).
// UserInfo and introspection map it back to the account.
//
// # Opening the database
//
// Every constructor that takes a *sql.DB (NewAccounts, NewClientRegistry,
// NewCodeStore, …) keeps its state there, SQLite or PostgreSQL; the package
// imports no driver. Open the pool with
// [github.com/egovkit/egovkit/sqldb], sqldb.Open(ctx, "sqlite:PATH", nil) or
// a postgres:// URL, which gives it the settings the stores need. A service
// that opens its own SQLite pool with modernc.org/sqlite (driver name
// "sqlite") gives every connection foreign keys, a busy timeout and WAL mode
// in the data source name, sql.Open("sqlite", path+"?"+sqlcheck.DSNSettings)
// (package [github.com/egovkit/egovkit/sqldb/sqlcheck]); a SQLite pool
// without them is refused with a *sqlcheck.SettingsError that says what to
// change. A PostgreSQL pool (github.com/jackc/pgx/v5/stdlib, driver name
// "pgx") is taken as it is.
package auth
