// Package rp is the relying-party side of egovkit's sign-in: what an
// agency's own service imports to accept the access tokens that the citizen
// or civil-servant provider issues, without running any log-in itself.
//
// # Protecting an API
//
//	v, err := rp.NewVerifier(rp.Config{
//		Issuer:   "https://id.example.gr/auth/citizen", // exact "iss"
//		Audience: "https://tax.example.gr/api",         // must be in "aud"
//	})
//	…
//	mux.Handle("GET /api/declarations", v.Middleware(
//		rp.RequireScopes("declarations:read"),
//		rp.RequireACR(rp.LoASubstantial), // password and a one-time code
//	)(listDeclarations))
//
//	func listDeclarations(w http.ResponseWriter, r *http.Request) {
//		id, _ := rp.FromContext(r.Context())
//		… id.Subject, id.ClientID, id.Scopes, id.ACR …
//	}
//
// # What is checked
//
// Tokens are JWT access tokens (RFC 9068): the "typ" header must be at+jwt,
// so an ID token cannot be used as an access token. The signature is checked
// with the issuer's published key named by "kid", with that key's own
// algorithm only (no "none", no HMAC). "iss" must equal the issuer, "aud"
// must contain the audience, "exp" is required, and exp, nbf and iat are
// checked with 30 seconds of leeway.
//
// Keys are found through the issuer's discovery document (or Config.JWKSURL),
// cached, and fetched again when a token names an unknown key, at most once
// every 30 seconds, so forged tokens cannot make the service hammer the
// provider. Keys already known keep working while the provider is down.
// A service that runs in the provider's own process hands the keys over
// with Config.KeySource instead, and nothing goes over HTTP.
//
// # Refusals
//
// Requests without a valid token get 401 with WWW-Authenticate as RFC 6750
// describes; a missing scope gets 403 insufficient_scope; a level of
// assurance below the one required gets 401 insufficient_user_authentication
// with acr_values (RFC 9470), which tells the client to send the person back
// to the provider to step up. Bodies are RFC 9457 problem details. Tokens are
// read from the Authorization header only, never from the URL.
//
// # Signing people in to a site
//
// A server-rendered site lets people sign in with [WebLogin]: the
// authorization code flow with PKCE (S256), state and nonce, the issuer
// checked in the answer (RFC 9207: required when the provider announces
// it, so that an answer from another provider is refused before its code
// goes anywhere) and in the ID token, a return path that stays on the
// site, and a session in a
// cookie sealed with AES-256-GCM, so that any instance of the site serves
// any request and nothing is stored on the server.
//
//	login, err := rp.NewWebLogin(rp.LoginConfig{
//		Issuer:        "https://id.example.gr/auth/citizen",
//		ClientID:      "permits", ClientSecret: secret,
//		RedirectURL:   "https://permits.example.gr/auth/callback",
//		PostLogoutURL: "https://permits.example.gr/",
//		ACR:           rp.LoASubstantial, // password and SMS code
//		CookieKey:     cookieKey,         // 32 random bytes, shared by the site's instances
//	})
//	mux.Handle("GET /auth/login", login.LoginHandler())
//	mux.Handle("GET /auth/callback", login.CallbackHandler())
//	mux.Handle("POST /auth/logout", login.LogoutHandler())
//	mux.Handle("/applications/", login.Require(applications))
//
// Inside applications, [SessionFromContext] gives the person's subject,
// level of assurance and access token. Logout ends the site's session and
// the provider's. A sealed session cannot be withdrawn before it expires
// (SessionLifetime), so keep that short where back-channel logout matters.
//
// # Examples
//
// In the repository, examples/rp-api is an agency's JSON API that takes
// tokens for its audience with scopes and a level of assurance, and
// examples/declaration-only a site that signs citizens in with WebLogin;
// neither runs any part of the provider. Run them from a checkout with
// go run ./examples/rp-api -issuer URL.
package rp
