package interop

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/egovkit/egovkit/errkind"
)

// TokenVerifier authenticates the consumer of a call from its access
// token (the Bearer token of the Authorization header) and says which
// X-Road client the token speaks for. [NewJWTVerifier] checks JWT access
// tokens against an issuer's published keys; any type with the method
// will do (an introspection client, the portal's own verifier).
//
// An error that matches errkind.Unavailable means the token could not be
// judged (the issuer's keys cannot be fetched): the gateway answers 503.
// Any other error refuses the token: 401.
type TokenVerifier interface {
	VerifyToken(ctx context.Context, token string) (ClientID, error)
}

// ErrToken is an access token refused (errkind.Unauthorized): missing,
// malformed, expired, for another audience or signed with an unknown key.
var ErrToken = errkind.New(errkind.Unauthorized, "interop: invalid access token")

// ErrTokenKeys means the issuer's keys could not be fetched and none were
// known before (errkind.Unavailable).
var ErrTokenKeys = errkind.New(errkind.Unavailable, "interop: the token issuer's keys are unavailable")

// JWTConfig configures [NewJWTVerifier]. Issuer, Audience and JWKSURL are
// required.
type JWTConfig struct {
	// Issuer is the "iss" every token must carry.
	Issuer string
	// Audience is the gateway's name in the tokens' "aud".
	Audience string
	// JWKSURL is the issuer's JWK set. It is fetched on first use and
	// cached by jwx, refreshed at least every KeysMaxAge (15 minutes when
	// zero), and again when a token names an unknown key, at most once per
	// KeysCooldown (30 seconds when zero).
	JWKSURL      string
	KeysMaxAge   time.Duration
	KeysCooldown time.Duration
	// HTTPClient fetches the keys; a client with a 10-second timeout when
	// nil.
	HTTPClient *http.Client
	// ClientClaim is the claim that names the calling client; "client_id"
	// when empty (RFC 9068).
	ClientClaim string
	// MapClient turns the claim's value into an X-Road client identifier.
	// When nil, the value itself must be one ("GR/GOV/DYPA/APP").
	MapClient func(claim string) (ClientID, error)
	// AllowAnyType accepts tokens whose "typ" header is not at+jwt; by
	// default only RFC 9068 access tokens are accepted, so an ID token
	// cannot be used as an access token.
	AllowAnyType bool
	// Leeway is the clock skew tolerated on exp, nbf and iat (30 seconds
	// when zero).
	Leeway time.Duration
	// CacheSize bounds the verified tokens remembered (10,000 when zero; a
	// negative value remembers none). A token seen before is accepted
	// again without a signature check until it expires or CacheFor (1
	// minute when zero) has passed.
	CacheSize int
	CacheFor  time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// JWTVerifier is a [TokenVerifier] for JWT access tokens, verified with
// jwx against the issuer's JWK set. It is safe for concurrent use; Close
// stops the key cache's refresh goroutine.
type JWTVerifier struct {
	cfg    JWTConfig
	cache  *jwk.Cache
	cancel context.CancelFunc
	parse  []jwt.ParseOption

	refreshMu   sync.Mutex
	lastRefresh time.Time

	mu     sync.RWMutex
	tokens map[[32]byte]cachedToken
}

type cachedToken struct {
	client ClientID
	until  time.Time
}

// NewJWTVerifier checks cfg and registers the key set with jwx's cache;
// the keys are fetched on first use, so the gateway can start while the
// issuer is briefly unreachable.
func NewJWTVerifier(cfg JWTConfig) (*JWTVerifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" || cfg.JWKSURL == "" {
		return nil, errors.New("interop: the JWT verifier needs Issuer, Audience and JWKSURL")
	}
	if cfg.KeysMaxAge <= 0 {
		cfg.KeysMaxAge = 15 * time.Minute
	}
	if cfg.KeysCooldown <= 0 {
		cfg.KeysCooldown = 30 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.ClientClaim == "" {
		cfg.ClientClaim = "client_id"
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 10000
	}
	if cfg.CacheFor <= 0 {
		cfg.CacheFor = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	v := &JWTVerifier{cfg: cfg, cache: jwk.NewCache(ctx), cancel: cancel, tokens: map[[32]byte]cachedToken{}}
	if err := v.cache.Register(cfg.JWKSURL, jwk.WithHTTPClient(cfg.HTTPClient),
		jwk.WithRefreshInterval(cfg.KeysMaxAge)); err != nil {
		cancel()
		return nil, fmt.Errorf("interop: JWKS URL: %w", err)
	}
	v.parse = []jwt.ParseOption{
		jwt.WithKeyProvider(jws.KeyProviderFunc(v.provideKey)),
		jwt.WithValidate(true),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithAcceptableSkew(cfg.Leeway),
		jwt.WithClock(jwt.ClockFunc(cfg.Now)),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
	}
	return v, nil
}

// Close stops refreshing the key set.
func (v *JWTVerifier) Close() error {
	v.cancel()
	return nil
}

// VerifyToken checks the token's signature, issuer, audience, type and
// validity, and maps its client claim to a [ClientID]. Refusals match
// [ErrToken]; keys that cannot be fetched, [ErrTokenKeys].
func (v *JWTVerifier) VerifyToken(ctx context.Context, raw string) (ClientID, error) {
	if raw == "" {
		return ClientID{}, fmt.Errorf("%w: no access token", ErrToken)
	}
	now := v.cfg.Now()
	var sum [32]byte
	if v.cfg.CacheSize > 0 {
		sum = sha256.Sum256([]byte(raw))
		v.mu.RLock()
		c, ok := v.tokens[sum]
		v.mu.RUnlock()
		if ok && now.Before(c.until) {
			return c.client, nil
		}
	}
	tok, err := jwt.ParseString(raw, append(v.parse, jwt.WithContext(ctx))...)
	if errors.Is(err, ErrTokenKeys) {
		return ClientID{}, err
	}
	if err != nil {
		return ClientID{}, fmt.Errorf("%w: %w", ErrToken, err)
	}
	claim, _ := tok.Get(v.cfg.ClientClaim)
	s, _ := claim.(string)
	if s == "" {
		return ClientID{}, fmt.Errorf("%w: the token names no client (%s)", ErrToken, v.cfg.ClientClaim)
	}
	var client ClientID
	if v.cfg.MapClient != nil {
		client, err = v.cfg.MapClient(s)
	} else {
		client, err = ParseClientID(s)
	}
	if err != nil {
		return ClientID{}, fmt.Errorf("%w: the token's client is not an X-Road client: %w", ErrToken, err)
	}
	if v.cfg.CacheSize > 0 {
		until := now.Add(v.cfg.CacheFor)
		if exp := tok.Expiration(); exp.Before(until) {
			until = exp
		}
		v.mu.Lock()
		if len(v.tokens) >= v.cfg.CacheSize {
			clear(v.tokens)
		}
		v.tokens[sum] = cachedToken{client: client, until: until}
		v.mu.Unlock()
	}
	return client, nil
}

// provideKey finds the key the token names by kid, refreshing the set
// once per cooldown when it is unknown, and insists on the key's own
// algorithm.
func (v *JWTVerifier) provideKey(ctx context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
	h := sig.ProtectedHeaders()
	if typ := strings.ToLower(h.Type()); !v.cfg.AllowAnyType && typ != "at+jwt" && typ != "application/at+jwt" {
		return fmt.Errorf("token type %q is not an access token (at+jwt)", h.Type())
	}
	set, err := v.cache.Get(ctx, v.cfg.JWKSURL)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTokenKeys, err)
	}
	k, ok := set.LookupKeyID(h.KeyID())
	if !ok && v.mayRefresh() {
		if set, err = v.cache.Refresh(ctx, v.cfg.JWKSURL); err == nil {
			k, ok = set.LookupKeyID(h.KeyID())
		}
	}
	if !ok || h.KeyID() == "" {
		return errors.New("the token is signed with an unknown key")
	}
	if k.KeyUsage() != "" && k.KeyUsage() != string(jwk.ForSignature) {
		return errors.New("the key is not for signatures")
	}
	alg := jwa.SignatureAlgorithm(k.Algorithm().String())
	if alg == "" {
		algs, err := jws.AlgorithmsForKey(k)
		if err != nil || len(algs) == 0 {
			return errors.New("no algorithm for the key")
		}
		alg = algs[0]
	}
	if alg == jwa.NoSignature || alg == jwa.HS256 || alg == jwa.HS384 || alg == jwa.HS512 || h.Algorithm() != alg {
		return fmt.Errorf("algorithm %q is not the key's", h.Algorithm())
	}
	sink.Key(alg, k)
	return nil
}

func (v *JWTVerifier) mayRefresh() bool {
	v.refreshMu.Lock()
	defer v.refreshMu.Unlock()
	now := v.cfg.Now()
	if now.Sub(v.lastRefresh) < v.cfg.KeysCooldown {
		return false
	}
	v.lastRefresh = now
	return true
}
