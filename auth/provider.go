package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/web"
)

// TransactionCounter is where the provider reports the transactions it
// completes, so that a statistics package can count them: one call per
// successful sign-in, of kind CountSignIn with the label values in the
// order CountLabels names them (realm, client, level of assurance,
// channel). Refusals, tokens, logouts and other protocol traffic are
// logged, not counted: they are not services rendered. *metrics.Metrics
// fits as it is; nil counts nothing.
type TransactionCounter interface {
	Count(kind string, labels ...string)
}

// What the provider counts: the kind, the names of its labels, and the
// channel value it reports. A statistics package declares the kind with
// these label names in this order; see the package documentation.
const (
	// CountSignIn is a successful sign-in: with a password, with a code
	// as a second factor, with an upstream identity provider, or with a
	// session that already met the client's requirements.
	CountSignIn = "authentication"
	// CountLabelRealm is the realm signed in to ("citizen", "servant").
	CountLabelRealm = "realm"
	// CountLabelClient is the client the person signed in for.
	CountLabelClient = "client"
	// CountLabelLoA is the level of assurance reached (LoALow,
	// LoASubstantial, LoAHigh), as in the tokens' "acr" claim.
	CountLabelLoA = "acr"
	// CountLabelChannel is the channel; a sign-in is always ChannelDigital.
	CountLabelChannel = "channel"
	// ChannelDigital is the channel of everything the provider counts.
	ChannelDigital = "digital"
)

// CountLabels returns the label names of CountSignIn in the order the
// provider reports their values.
func CountLabels() []string {
	return []string{CountLabelRealm, CountLabelClient, CountLabelLoA, CountLabelChannel}
}

// ProviderConfig describes one realm's provider.
type ProviderConfig struct {
	// Issuer is the realm's issuer URL, such as
	// "https://id.example.gr/auth/citizen"; endpoints live below it.
	Issuer string
	// Realm names the realm in logs and counts ("citizen", "servant").
	Realm string
	// Keys sign the realm's tokens; its JWKS is published.
	Keys SigningKeys
	// Clients is the realm's client registry.
	Clients *ClientRegistry
	// Codes holds authorization codes; nil leaves the authorization_code
	// grant unsupported.
	Codes *CodeStore
	// IDTokenLifetime is how long ID tokens live; zero means 5 minutes.
	IDTokenLifetime time.Duration
	// Accounts answers the UserInfo endpoint; nil leaves it out.
	Accounts *Accounts
	// Servants makes this the civil servants' realm: subjects are servants
	// and their authorizations are released.
	Servants bool
	// AccessTokenLifetime is how long access tokens live; zero means
	// 10 minutes.
	AccessTokenLifetime time.Duration

	// With Accounts and Codes set the provider serves the authorization
	// endpoint and its sign-in pages, pushed authorization requests and
	// logout. A password alone reaches LoALow. OneTimeCodes and Contacts
	// together add a code sent by SMS to the number in the contact
	// registry, which reaches LoASubstantial.
	OneTimeCodes *OneTimeCodes
	Contacts     *ContactRegistry
	// Authenticators, when set, lets people with an authenticator app
	// bound (TOTP) reach LoASubstantial with its code instead of an SMS.
	Authenticators *TOTPStore
	// DemoOutboxURL, in a demonstration only, is a page where the codes
	// that would go by SMS can be read; the sign-in and code pages link
	// it. Leave it empty wherever real people sign in.
	DemoOutboxURL string
	// Upstreams are other identity providers citizens may sign in with
	// (a bank's log-in, a legacy service); the tax number they vouch for
	// links the citizen account. Citizens' realm only.
	Upstreams []Upstream
	// PairwiseSecret (32 bytes or more, kept for as long as the
	// identifiers must stay the same) derives pairwise subject identifiers
	// for clients registered with SubjectType "pairwise".
	PairwiseSecret []byte
	// SessionLifetime is how long a single sign-on session lasts; zero
	// means DefaultSessionLifetime.
	SessionLifetime time.Duration
	// ClientIP gives the address failed sign-ins are counted against; nil
	// uses the connection's address. Set it when behind a reverse proxy.
	ClientIP func(*http.Request) string
	// HTTPClient delivers back-channel logout tokens; nil means a client
	// with a 5-second timeout.
	HTTPClient *http.Client

	// Now replaces time.Now, for tests; nil means time.Now.
	Now func() time.Time
	// Logger logs sign-ins, refusals and protocol errors, subjects and
	// numbers masked; nil logs nothing.
	Logger *zap.Logger
	// Counter counts completed sign-ins; nil counts nothing.
	Counter TransactionCounter
}

// Provider serves one realm's OAuth 2.0 / OpenID Connect endpoints. So far:
// discovery, the JWKS, the token endpoint with the client_credentials grant,
// introspection (RFC 7662) and revocation (RFC 7009).
type Provider struct {
	cfg       ProviderConfig
	log       *zap.Logger
	tokenURL  string
	discovery []byte
	algs      []string // the algorithms of the keys published at start; never empty

	verified *tokenCache // sha256 of a token → its verified claims

	// Sign-in, when enabled.
	pages  *web.Renderer
	store  *signinStore
	base   string // the issuer's path
	secure bool   // cookies only over https
}

// Paths of the endpoints, below the issuer.
const (
	PathDiscovery     = "/.well-known/openid-configuration"
	PathOAuthMetadata = "/.well-known/oauth-authorization-server"
	PathJWKS          = "/jwks"
	PathToken         = "/token"
)

// NewProvider checks cfg and returns the provider. ctx bounds the reading
// of the keys it announces.
func NewProvider(ctx context.Context, cfg ProviderConfig) (*Provider, error) {
	switch {
	case cfg.Issuer == "" || !strings.HasPrefix(cfg.Issuer, "http"):
		return nil, errors.New("auth: provider needs an http(s) Issuer URL")
	case strings.HasSuffix(cfg.Issuer, "/"):
		return nil, errors.New("auth: Issuer must not end with /")
	case cfg.Keys == nil || cfg.Clients == nil:
		return nil, errors.New("auth: provider needs Keys and Clients")
	}
	if cfg.Realm == "" {
		cfg.Realm = cfg.Clients.realm
	}
	if cfg.AccessTokenLifetime == 0 {
		cfg.AccessTokenLifetime = 10 * time.Minute
	}
	if cfg.IDTokenLifetime == 0 {
		cfg.IDTokenLifetime = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	p := &Provider{cfg: cfg, log: log, tokenURL: cfg.Issuer + PathToken, verified: newTokenCache(maxVerifiedTokens)}
	p.algs = p.signingAlgs(ctx)
	seen := map[string]bool{}
	for _, u := range cfg.Upstreams {
		if u == nil || seen[u.ID()] || !upstreamIDPattern.MatchString(u.ID()) {
			return nil, errors.New("auth: upstreams need distinct IDs of a-z, 0-9 and -")
		}
		seen[u.ID()] = true
	}
	if len(cfg.Upstreams) > 0 && (cfg.Servants || cfg.Accounts == nil || cfg.Codes == nil) {
		return nil, errors.New("auth: upstreams sign citizens in: they need Accounts and Codes, and not the servants' realm")
	}
	if (cfg.OneTimeCodes == nil) != (cfg.Contacts == nil) {
		return nil, errors.New("auth: OneTimeCodes and Contacts go together")
	}
	if p.signinEnabled() {
		if err := p.setupSignin(ctx); err != nil {
			return nil, err
		}
	}
	// Only what is implemented is announced.
	doc := map[string]any{
		"issuer":                                cfg.Issuer,
		"jwks_uri":                              cfg.Issuer + PathJWKS,
		"token_endpoint":                        p.tokenURL,
		"grant_types_supported":                 []string{GrantClientCredentials},
		"token_endpoint_auth_methods_supported": []string{AuthSecretBasic, AuthPrivateKeyJWT},
		"token_endpoint_auth_signing_alg_values_supported": []string{"ES256", "ES384", "ES512", "EdDSA", "PS256", "RS256"},
		"introspection_endpoint":                           cfg.Issuer + PathIntrospect,
		"introspection_endpoint_auth_methods_supported":    []string{AuthSecretBasic, AuthPrivateKeyJWT},
		"revocation_endpoint":                              cfg.Issuer + PathRevoke,
		"revocation_endpoint_auth_methods_supported":       []string{AuthSecretBasic, AuthPrivateKeyJWT},
	}
	if cfg.Accounts != nil {
		doc["userinfo_endpoint"] = cfg.Issuer + PathUserInfo
	}
	if cfg.Codes != nil {
		doc["grant_types_supported"] = []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials}
	}
	if p.signinEnabled() {
		p.announceSignin(doc)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	p.discovery = b
	return p, nil
}

// Handler serves the endpoints at their paths below the issuer's path;
// mount it with http.StripPrefix of that path.
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	meta := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(p.discovery)
	}
	mux.HandleFunc("GET "+PathDiscovery, meta)
	mux.HandleFunc("GET "+PathOAuthMetadata, meta)
	mux.Handle("GET "+PathJWKS, p.cfg.Keys.JWKSHandler())
	mux.HandleFunc("POST "+PathToken, p.token)
	mux.HandleFunc("POST "+PathIntrospect, p.introspect)
	mux.HandleFunc("POST "+PathRevoke, p.revoke)
	if p.signinEnabled() {
		p.mountSignin(mux)
	}
	if p.cfg.Accounts != nil {
		mux.HandleFunc("GET "+PathUserInfo, p.userinfo)
		mux.HandleFunc("POST "+PathUserInfo, p.userinfo)
	}
	mux.HandleFunc(PathToken, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "POST")
		(&OAuthError{Code: ErrCodeInvalidRequest, Description: "the token endpoint takes POST", Status: http.StatusMethodNotAllowed}).Write(w)
	})
	return mux
}

// maxTokenRequest bounds a token request's body.
const maxTokenRequest = 64 << 10

// TokenResponse is the token endpoint's successful answer (RFC 6749 5.1).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	// One database deadline bounds the grant, the statements inside the
	// stores' transactions included: they run on this context.
	ctx, cancel := p.cfg.Clients.db.Bound(r.Context())
	defer cancel()
	resp, err := p.tokenRequest(ctx, w, r)
	if err != nil {
		p.writeOAuthError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	_ = json.NewEncoder(w).Encode(resp)
}

func (p *Provider) tokenRequest(ctx context.Context, w http.ResponseWriter, r *http.Request) (*TokenResponse, error) {
	client, err := p.formRequest(w, r)
	if err != nil {
		return nil, err
	}
	switch grant := r.PostForm.Get("grant_type"); grant {
	case GrantClientCredentials:
		return p.clientCredentials(ctx, client, r)
	case GrantAuthorizationCode:
		if p.cfg.Codes != nil {
			return p.authorizationCode(ctx, client, r)
		}
		return nil, &OAuthError{Code: ErrCodeUnsupportedGrantType, Description: "grant_type \"authorization_code\" is not supported here", Status: http.StatusBadRequest}
	case GrantRefreshToken:
		if p.cfg.Codes != nil {
			return p.refreshToken(ctx, client, r)
		}
		return nil, &OAuthError{Code: ErrCodeUnsupportedGrantType, Description: "grant_type \"refresh_token\" is not supported here", Status: http.StatusBadRequest}
	case "":
		return nil, invalidRequest("grant_type is required")
	default:
		return nil, &OAuthError{Code: ErrCodeUnsupportedGrantType, Description: fmt.Sprintf("grant_type %q is not supported here", grant), Status: http.StatusBadRequest}
	}
}

// readForm parses a form POST body with the rules every OAuth endpoint
// here applies: form content type, bounded size, nothing in the URL, each
// parameter at most once.
func (p *Provider) readForm(w http.ResponseWriter, r *http.Request) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return invalidRequest("Content-Type must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenRequest)
	if err := r.ParseForm(); err != nil {
		return invalidRequest("malformed or too large form body")
	}
	if len(r.URL.RawQuery) > 0 {
		return invalidRequest("parameters go in the body, not the URL")
	}
	for k, vs := range r.PostForm {
		if len(vs) > 1 {
			return invalidRequest(fmt.Sprintf("parameter %q given more than once", k))
		}
	}
	return nil
}

func (p *Provider) clientCredentials(ctx context.Context, c Client, r *http.Request) (*TokenResponse, error) {
	if !c.AllowsGrant(GrantClientCredentials) {
		return nil, &OAuthError{Code: ErrCodeUnauthorizedClient, Description: "the client may not use client_credentials", Status: http.StatusBadRequest}
	}
	scopes := c.Scopes
	if s := r.PostForm.Get("scope"); s != "" {
		scopes = strings.Fields(s)
		for _, sc := range scopes {
			if !slices.Contains(c.Scopes, sc) {
				return nil, &OAuthError{Code: ErrCodeInvalidScope, Description: fmt.Sprintf("scope %q is not allowed for this client", sc), Status: http.StatusBadRequest}
			}
		}
		slices.Sort(scopes)
		scopes = slices.Compact(scopes)
	}
	aud := c.Audience
	if res := r.PostForm.Get("resource"); res != "" { // RFC 8707
		if !slices.Contains(c.Audience, res) {
			return nil, &OAuthError{Code: "invalid_target", Description: "the resource is not one this client may call", Status: http.StatusBadRequest}
		}
		aud = []string{res}
	}
	now := p.cfg.Now().Truncate(time.Second)
	exp := now.Add(p.cfg.AccessTokenLifetime)
	tok, err := jwt.NewBuilder().
		Issuer(p.cfg.Issuer).Subject(c.ID).Audience(aud).
		IssuedAt(now).Expiration(exp).JwtID(newTokenID()).
		Claim("client_id", c.ID).Claim("scope", strings.Join(scopes, " ")).
		Build()
	if err != nil {
		return nil, err
	}
	signed, err := p.cfg.Keys.SignJWT(ctx, tok, keys.WithType("at+jwt"))
	if err != nil {
		return nil, err
	}
	p.log.Info("access token issued", zap.String("realm", p.cfg.Realm), zap.String("grant", GrantClientCredentials),
		zap.String("client_id", c.ID), zap.Strings("aud", aud), zap.Strings("scope", scopes))
	return &TokenResponse{AccessToken: string(signed), TokenType: "Bearer", ExpiresIn: int(exp.Sub(now) / time.Second), Scope: strings.Join(scopes, " ")}, nil
}

func (p *Provider) count(kind string, labels ...string) {
	if p.cfg.Counter != nil {
		p.cfg.Counter.Count(kind, labels...)
	}
}

func newTokenID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
