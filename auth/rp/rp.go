package rp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"go.uber.org/zap"

	"github.com/egovkit/egovkit/errkind"
)

// Levels of assurance, as eIDAS acr values, from lowest to highest.
const (
	LoALow         = "http://eidas.europa.eu/LoA/low"
	LoASubstantial = "http://eidas.europa.eu/LoA/substantial"
	LoAHigh        = "http://eidas.europa.eu/LoA/high"
)

var loaRank = map[string]int{LoALow: 1, LoASubstantial: 2, LoAHigh: 3}

// Config says which tokens a service accepts.
type Config struct {
	// Issuer is the provider's issuer URL, matched exactly against "iss".
	Issuer string
	// Audience is this service's identifier, which "aud" must contain.
	Audience string
	// JWKSURL is where the provider publishes its keys. Empty means the
	// jwks_uri of Issuer + "/.well-known/openid-configuration".
	JWKSURL string
	// KeySource, when set, gives the provider's JWK Set (its JSON) instead
	// of fetching it over HTTP: for a service that runs in the same
	// process as the provider. JWKSURL and HTTPClient are then unused;
	// the keys are cached and asked for again as when fetched.
	KeySource func(ctx context.Context) ([]byte, error)
	// HTTPClient fetches the keys; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// Leeway tolerates clock skew on exp, nbf and iat; zero means 30 s.
	Leeway time.Duration
	// RefetchCooldown bounds how often an unknown kid makes the keys be
	// fetched again; zero means 30 s.
	RefetchCooldown time.Duration
	// KeysMaxAge is how long fetched keys are used without asking again;
	// zero means one hour.
	KeysMaxAge time.Duration
	// Now replaces time.Now, for tests; nil means time.Now.
	Now func() time.Time
	// Logger logs rejected tokens (never the token itself) and key
	// fetches; nil logs nothing.
	Logger *zap.Logger
}

// Verifier checks access tokens of one issuer for one audience. It is safe
// for concurrent use; build one per service and share it.
type Verifier struct {
	cfg   Config
	keys  *keyCache
	log   *zap.Logger
	parse []jwt.ParseOption
}

// NewVerifier checks cfg and returns a verifier. Keys are fetched on first
// use, so a service can start while the provider is briefly unreachable.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("rp: Issuer and Audience are required")
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.RefetchCooldown == 0 {
		cfg.RefetchCooldown = 30 * time.Second
	}
	if cfg.KeysMaxAge == 0 {
		cfg.KeysMaxAge = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	v := &Verifier{
		cfg: cfg,
		log: log,
		keys: &keyCache{
			client: cfg.HTTPClient, now: cfg.Now, cooldown: cfg.RefetchCooldown, maxAge: cfg.KeysMaxAge,
			jwksURL:   cfg.JWKSURL,
			source:    cfg.KeySource,
			discovery: strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/openid-configuration",
		},
	}
	v.parse = []jwt.ParseOption{
		jwt.WithKeyProvider(jws.KeyProviderFunc(v.provideKey)),
		jwt.WithValidate(true),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithAcceptableSkew(cfg.Leeway),
		jwt.WithClock(jwt.ClockFunc(cfg.Now)),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.SubjectKey),
	}
	return v, nil
}

// provideKey picks the key by kid, insists on the key's own algorithm and on
// the access-token type of RFC 9068.
func (v *Verifier) provideKey(ctx context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
	if typ := strings.ToLower(sig.ProtectedHeaders().Type()); typ != "at+jwt" && typ != "application/at+jwt" {
		return fmt.Errorf("rp: token type %q is not an access token (at+jwt)", typ)
	}
	return v.keys.provide(ctx, sink, sig)
}

// Identity is who an accepted token speaks for.
type Identity struct {
	Subject  string
	ClientID string
	Scopes   []string
	ACR      string
	AuthTime time.Time
	Expiry   time.Time
	// Token gives access to every claim, including the provider's own
	// (such as authorization_details).
	Token jwt.Token
}

// HasScope reports whether the token grants scope s.
func (id *Identity) HasScope(s string) bool { return slices.Contains(id.Scopes, s) }

// Verify checks a raw access token and returns its identity, or an *Error.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Identity, error) {
	if raw == "" {
		return nil, &Error{Code: CodeMissingToken, Description: "no access token"}
	}
	tok, err := jwt.ParseString(raw, append(v.parse, jwt.WithContext(ctx))...)
	if errors.Is(err, ErrKeysUnavailable) {
		return nil, &Error{Code: CodeTemporarilyUnavailable, Description: "the provider's keys cannot be had right now", Err: err}
	}
	if err != nil {
		return nil, &Error{Code: CodeInvalidToken, Description: "the access token is invalid or expired", Err: err}
	}
	id := &Identity{Subject: tok.Subject(), Expiry: tok.Expiration(), Token: tok}
	if s, ok := tok.Get("scope"); ok {
		if str, ok := s.(string); ok {
			id.Scopes = strings.Fields(str)
		}
	}
	if c, ok := tok.Get("client_id"); ok {
		id.ClientID, _ = c.(string)
	}
	if a, ok := tok.Get("acr"); ok {
		id.ACR, _ = a.(string)
	}
	if at, ok := tok.Get("auth_time"); ok {
		if f, ok := at.(float64); ok {
			id.AuthTime = time.Unix(int64(f), 0).UTC()
		}
	}
	return id, nil
}

// Error codes of RFC 6750 and RFC 9470.
const (
	CodeMissingToken                   = ""
	CodeInvalidRequest                 = "invalid_request"
	CodeInvalidToken                   = "invalid_token"
	CodeInsufficientScope              = "insufficient_scope"
	CodeInsufficientUserAuthentication = "insufficient_user_authentication"
	// CodeTemporarilyUnavailable is no verdict on the token: the provider's
	// keys could not be had (ErrKeysUnavailable). It answers 503 with
	// Retry-After.
	CodeTemporarilyUnavailable = "temporarily_unavailable"
)

// Error is why a request was refused. It answers as RFC 6750 (and RFC 9470
// for step-up) in the WWW-Authenticate header, with a problem+json body.
type Error struct {
	Code        string
	Description string
	Scope       string // for insufficient_scope: what was needed
	ACRValues   string // for insufficient_user_authentication: what is needed
	MaxAge      int    // for insufficient_user_authentication, when recent authentication is needed
	Err         error
}

func (e *Error) Error() string {
	s := "rp: " + e.Description
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches the error's kind: errkind.Unavailable for
// temporarily_unavailable, errkind.Invalid for invalid_request,
// errkind.Forbidden for insufficient_scope, errkind.Unauthorized for the
// rest (no token, a token not accepted, a stronger sign-in needed).
func (e *Error) Is(target error) bool {
	switch e.Code {
	case CodeTemporarilyUnavailable:
		return target == errkind.Unavailable
	case CodeInvalidRequest:
		return target == errkind.Invalid
	case CodeInsufficientScope:
		return target == errkind.Forbidden
	}
	return target == errkind.Unauthorized
}

// Status is 401, or 403 for insufficient_scope, 400 for invalid_request,
// 503 for temporarily_unavailable.
func (e *Error) Status() int {
	switch e.Code {
	case CodeTemporarilyUnavailable:
		return http.StatusServiceUnavailable
	case CodeInsufficientScope:
		return http.StatusForbidden
	case CodeInvalidRequest:
		return http.StatusBadRequest
	}
	return http.StatusUnauthorized
}
