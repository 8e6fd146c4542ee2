package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// AuthorizeRequest is a checked authorization request (OpenID Connect
// authorization code flow with PKCE).
type AuthorizeRequest struct {
	Client              Client
	RedirectURI         string
	Scopes              []string
	State               string
	Nonce               string
	CodeChallenge       string // S256 only
	ACRValues           []string
	MaxAge              int // seconds; -1 when not given
	Prompt              []string
	UILocales           []string
	LoginHint           string
	CodeChallengeMethod string
}

// AuthorizeError is why an authorization request was refused. When
// Redirect is false the error must be shown to the person and never sent to
// the redirect URI: the client or the redirect URI itself is in doubt
// (RFC 6749 section 4.1.2.1).
type AuthorizeError struct {
	Code        string // invalid_request, unauthorized_client, invalid_scope, unsupported_response_type, …
	Description string
	Redirect    bool
	RedirectURI string
	State       string
}

func (e *AuthorizeError) Error() string { return "auth: authorize: " + e.Code + ": " + e.Description }

// ErrorURI returns where to send the person with the error, carrying state
// and the issuer (RFC 9207), or "" when the error must not be redirected.
func (e *AuthorizeError) ErrorURI(issuer string) string {
	if !e.Redirect || e.RedirectURI == "" {
		return ""
	}
	u, err := url.Parse(e.RedirectURI)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("error", e.Code)
	q.Set("error_description", e.Description)
	if e.State != "" {
		q.Set("state", e.State)
	}
	q.Set("iss", issuer)
	u.RawQuery = q.Encode()
	return u.String()
}

// ClientLookup finds a registered client by id.
type ClientLookup func(ctx context.Context, id string) (Client, error)

var (
	pkceChallenge = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`) // base64url of a SHA-256 digest
	printable     = regexp.MustCompile(`^[\x20-\x7e]*$`)
)

// Limits on parameter sizes, so that a request cannot grow the stored
// authorization state without bound.
const (
	maxStateLength = 512
	maxNonceLength = 512
	maxParamLength = 2048
)

// ParseAuthorizeRequest checks the parameters of an authorization request
// against the client's registration and the rules of RFC 9700: response
// type "code" only, the redirect URI exactly as registered (any port on
// loopback), PKCE with S256 mandatory, "openid" scope, each parameter at
// most once, nothing oversized. A client registered as requiring pushed
// authorization requests must use them (requirePAR is false only for
// requests read back from the PAR store).
func ParseAuthorizeRequest(ctx context.Context, q url.Values, lookup ClientLookup, requirePAR bool) (*AuthorizeRequest, error) {
	noRedirect := func(code, desc string) error { return &AuthorizeError{Code: code, Description: desc} }
	for k, vs := range q {
		if len(vs) > 1 {
			return nil, noRedirect(ErrCodeInvalidRequest, fmt.Sprintf("parameter %q given more than once", k))
		}
		if len(vs[0]) > maxParamLength {
			return nil, noRedirect(ErrCodeInvalidRequest, fmt.Sprintf("parameter %q is too long", k))
		}
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		return nil, noRedirect(ErrCodeInvalidRequest, "client_id is required")
	}
	client, err := lookup(ctx, clientID)
	if err != nil || client.Disabled {
		if err != nil && !errors.Is(err, ErrClientNotFound) {
			return nil, err
		}
		return nil, noRedirect("invalid_client", "unknown client")
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" || !client.RedirectURIAllowed(redirect) {
		return nil, noRedirect(ErrCodeInvalidRequest, "redirect_uri is missing or not registered for this client")
	}
	state := q.Get("state")
	// From here on the redirect URI is trusted: errors go back to the client.
	fail := func(code, desc string) error {
		if len(state) > maxStateLength || !printable.MatchString(state) {
			state = ""
		}
		return &AuthorizeError{Code: code, Description: desc, Redirect: true, RedirectURI: redirect, State: state}
	}
	if requirePAR && client.RequirePAR && q.Get("request_uri") == "" {
		return nil, fail(ErrCodeInvalidRequest, "this client must use pushed authorization requests")
	}
	if q.Has("request") {
		return nil, fail("request_not_supported", "request objects are not supported; use pushed authorization requests")
	}
	switch rt := q.Get("response_type"); rt {
	case "code":
	case "":
		return nil, fail(ErrCodeInvalidRequest, "response_type is required")
	default:
		return nil, fail("unsupported_response_type", "only response_type=code is supported")
	}
	if rm := q.Get("response_mode"); rm != "" && rm != "query" {
		return nil, fail(ErrCodeInvalidRequest, "only response_mode=query is supported")
	}
	if !client.AllowsGrant(GrantAuthorizationCode) {
		return nil, fail(ErrCodeUnauthorizedClient, "the client may not use the authorization code flow")
	}
	if len(state) > maxStateLength || !printable.MatchString(state) {
		return nil, fail(ErrCodeInvalidRequest, "state is too long or not printable")
	}
	nonce := q.Get("nonce")
	if len(nonce) > maxNonceLength || !printable.MatchString(nonce) {
		return nil, fail(ErrCodeInvalidRequest, "nonce is too long or not printable")
	}
	method := q.Get("code_challenge_method")
	challenge := q.Get("code_challenge")
	switch {
	case challenge == "":
		return nil, fail(ErrCodeInvalidRequest, "code_challenge is required (PKCE)")
	case method != "S256":
		return nil, fail(ErrCodeInvalidRequest, "code_challenge_method must be S256")
	case !pkceChallenge.MatchString(challenge):
		return nil, fail(ErrCodeInvalidRequest, "code_challenge must be the base64url SHA-256 of the verifier")
	}
	scopes := strings.Fields(q.Get("scope"))
	if !slices.Contains(scopes, "openid") {
		return nil, fail(ErrCodeInvalidScope, "the openid scope is required")
	}
	for _, s := range scopes {
		if s != "openid" && !slices.Contains(client.Scopes, s) {
			return nil, fail(ErrCodeInvalidScope, fmt.Sprintf("scope %q is not allowed for this client", s))
		}
	}
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)
	acr := strings.Fields(q.Get("acr_values"))
	for _, a := range acr {
		if _, ok := loaRank[a]; !ok {
			return nil, fail(ErrCodeInvalidRequest, fmt.Sprintf("acr value %q is not a level this provider knows", a))
		}
	}
	maxAge := -1
	if v := q.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10*365*24*3600 {
			return nil, fail(ErrCodeInvalidRequest, "max_age must be a number of seconds")
		}
		maxAge = n
	}
	prompt := strings.Fields(q.Get("prompt"))
	for _, p := range prompt {
		switch p {
		case "none", "login", "consent", "select_account":
		default:
			return nil, fail(ErrCodeInvalidRequest, fmt.Sprintf("prompt %q is not supported", p))
		}
	}
	if slices.Contains(prompt, "none") && len(prompt) > 1 {
		return nil, fail(ErrCodeInvalidRequest, "prompt=none cannot be combined with other values")
	}
	return &AuthorizeRequest{
		Client: client, RedirectURI: redirect, Scopes: scopes, State: state, Nonce: nonce,
		CodeChallenge: challenge, CodeChallengeMethod: method, ACRValues: acr, MaxAge: maxAge,
		Prompt: prompt, UILocales: strings.Fields(q.Get("ui_locales")), LoginHint: q.Get("login_hint"),
	}, nil
}

// RequiredACR is the level a sign-in for this request must reach. The
// acr_values are acceptable levels and, on eIDAS's ordered scale, any of
// them will do, so the lowest one listed counts; it is raised to the
// client's registered minimum. LoALow when neither says.
func (r *AuthorizeRequest) RequiredACR() string {
	req := ""
	for _, a := range r.ACRValues {
		if req == "" || loaRank[a] < loaRank[req] {
			req = a
		}
	}
	if loaRank[r.Client.MinACR] > loaRank[req] {
		req = r.Client.MinACR
	}
	if req == "" {
		req = LoALow
	}
	return req
}

var loaRank = map[string]int{LoALow: 1, LoASubstantial: 2, LoAHigh: 3}
