package provider

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/interop/httpsig"
	"github.com/egovkit/egovkit/problem"
)

// Config configures a [Provider]. At least one of Keys and JWKSURL is
// required.
type Config struct {
	// Keys are the gateway's public keys (ed25519.PublicKey or
	// *ecdsa.PublicKey on P-256) by key id.
	Keys map[string]crypto.PublicKey
	// JWKSURL is where the gateway publishes its keys as a JWK set. It is
	// fetched on first use, again after KeysMaxAge (10 minutes when
	// zero), and again when a signature names an unknown key, at most once
	// per KeysCooldown (30 seconds when zero). Keys take precedence.
	JWKSURL      string
	KeysMaxAge   time.Duration
	KeysCooldown time.Duration
	// HTTPClient fetches JWKSURL; a client with a 10-second timeout when
	// nil.
	HTTPClient *http.Client
	// Label, when set, is the only signature label accepted.
	Label string
	// Required are the components the gateway's signature must cover
	// (httpsig.GatewayComponents() when nil); Optional the headers it
	// must cover whenever present (httpsig.GatewayOptionalComponents()
	// when nil).
	Required []string
	Optional []string
	// MaxAge is how long after its creation a signature is accepted
	// (5 minutes when zero), Skew the clock difference allowed (30
	// seconds when zero). Nonces are remembered for MaxAge plus twice
	// Skew, past which the signature is refused as stale anyway.
	MaxAge time.Duration
	Skew   time.Duration
	// Replay remembers the signatures' nonces; one map in this instance's
	// memory when nil, so several instances of a provider need a shared
	// guard to refuse a request replayed to another instance.
	Replay ReplayGuard
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger logs refusals (never the user id or citizen); none when nil.
	Logger *zap.Logger
}

// Provider verifies that requests come from the gateway, unchanged and
// once, and tells the handler who asks. It is safe for concurrent use and
// starts no goroutine.
type Provider struct {
	verifier *httpsig.Verifier
	keys     *keySet
	replay   ReplayGuard
	window   time.Duration
	now      func() time.Time
	log      *zap.Logger
}

// ErrConfig is a configuration New refuses.
var ErrConfig = errkind.New(errkind.Invalid, "provider: invalid configuration")

// New checks cfg and returns a provider. When JWKSURL is set it fetches
// the key set once with ctx, and logs (without failing) when it cannot:
// the gateway may start later, and the set is fetched again on first use.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if len(cfg.Keys) == 0 && cfg.JWKSURL == "" {
		return nil, fmt.Errorf("%w: the gateway's keys or JWKS URL are required", ErrConfig)
	}
	for id, k := range cfg.Keys {
		if !usableKey(k) {
			return nil, fmt.Errorf("%w: key %q is neither an Ed25519 nor a P-256 public key", ErrConfig, id)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.KeysMaxAge <= 0 {
		cfg.KeysMaxAge = 10 * time.Minute
	}
	if cfg.KeysCooldown <= 0 {
		cfg.KeysCooldown = 30 * time.Second
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 5 * time.Minute
	}
	if cfg.Skew <= 0 {
		cfg.Skew = 30 * time.Second
	}
	if cfg.Optional == nil {
		cfg.Optional = httpsig.GatewayOptionalComponents()
	}
	if cfg.Replay == nil {
		cfg.Replay = newMemoryGuard(cfg.Now)
	}
	ks := &keySet{
		static: cfg.Keys, url: cfg.JWKSURL, client: cfg.HTTPClient, now: cfg.Now,
		maxAge: cfg.KeysMaxAge, cooldown: cfg.KeysCooldown,
	}
	v, err := httpsig.NewVerifier(httpsig.VerifierConfig{
		Keys:         ks.resolve,
		Label:        cfg.Label,
		Required:     cfg.Required,
		IfPresent:    cfg.Optional,
		RequireNonce: true,
		MaxAge:       cfg.MaxAge,
		Skew:         cfg.Skew,
		Now:          cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	p := &Provider{verifier: v, keys: ks, replay: cfg.Replay, window: cfg.MaxAge + 2*cfg.Skew, now: cfg.Now, log: cfg.Logger}
	if cfg.JWKSURL != "" {
		if _, err := ks.refresh(ctx, nil); err != nil {
			p.log.Warn("provider: the gateway's key set could not be fetched yet", zap.String("url", cfg.JWKSURL), zap.Error(err))
		}
	}
	return p, nil
}

// usableKey reports whether k is a public key httpsig verifies with.
func usableKey(k crypto.PublicKey) bool {
	switch k := k.(type) {
	case ed25519.PublicKey:
		return len(k) == ed25519.PublicKeySize
	case *ecdsa.PublicKey:
		return k.Curve == elliptic.P256()
	}
	return false
}

// Caller is who asks, as the gateway vouches for it.
type Caller struct {
	// Client is the X-Road client subsystem: INSTANCE/CLASS/MEMBER/SUBSYSTEM.
	Client string
	// MessageID is X-Road-Id, unique per message and the same on every
	// attempt of it: a consumer retrying a call after a timeout or a 5xx
	// sends it again, and the gateway forwards each attempt with a fresh
	// signature. The middleware therefore admits a repeated MessageID; a
	// handler whose effect must happen once (a POST, a PATCH) keys its
	// deduplication on Client and MessageID, or on the Idempotency-Key
	// header the consumer sends with it.
	MessageID string
	// UserID is X-Road-UserId, the end user; personal data, never log it.
	UserID string
	// Issue is X-Road-Issue, the case the call is part of.
	Issue string
	// ConsentID is the consent the call is made under, when the service
	// needs one.
	ConsentID string
	// Citizen is the pseudonym of the citizen the call is about.
	Citizen string
	// KeyID names the gateway key that signed; Signed is when.
	KeyID  string
	Signed time.Time
}

type callerKey struct{}

// NewContext returns ctx carrying c.
func NewContext(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// FromContext returns the caller the middleware verified, and whether
// there is one.
func FromContext(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// Verify checks r as the middleware does, and returns the caller. It
// replaces r.Body with one that checks itself against Content-Digest as
// it is read. Errors match httpsig's sentinels (ErrReplay for a replay)
// and errkind.Unauthorized, or errkind.Unavailable when the key set
// cannot be fetched.
func (p *Provider) Verify(r *http.Request) (Caller, error) {
	got, err := p.verifier.Verify(r)
	if err != nil {
		return Caller{}, err
	}
	c := Caller{
		Client:    r.Header.Get(httpsig.HeaderClient),
		MessageID: r.Header.Get(httpsig.HeaderMessageID),
		UserID:    r.Header.Get(httpsig.HeaderUserID),
		Issue:     r.Header.Get(httpsig.HeaderIssue),
		ConsentID: r.Header.Get(httpsig.HeaderConsentID),
		Citizen:   r.Header.Get(httpsig.HeaderCitizen),
		KeyID:     got.KeyID,
		Signed:    got.Created,
	}
	// The replay guard keys on the nonce: the gateway signs every attempt
	// it forwards afresh, so a request copied off the wire is refused,
	// while a call retried by its consumer (same X-Road-Id, new nonce) is
	// served.
	seen, err := p.replay.Seen(r.Context(), got.KeyID+"\x00"+got.Nonce, p.now().Add(p.window))
	if err != nil {
		return Caller{}, err
	}
	if seen {
		return Caller{}, &httpsig.Error{Reason: httpsig.ErrReplay, Detail: "the signature's nonce was seen before"}
	}
	return c, nil
}

// Middleware refuses requests the gateway did not sign, signed too long
// ago or in the future, or already seen, with a 401 problem+json whose
// type names the reason (httpsig.ProblemTypeBase + code); a key set that
// cannot be fetched is a 503 with Retry-After. Accepted requests reach
// next with the [Caller] in their context and a body that checks itself
// against Content-Digest: the Read that reaches its end fails with
// httpsig.ErrDigest when the body was changed, so next must read the body
// to its end before acting on it.
func (p *Provider) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := p.Verify(r)
		if err != nil {
			p.refuse(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), c)))
	})
}

func (p *Provider) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var pe problem.Problemer
	switch {
	case errors.Is(err, errkind.Unavailable):
		p.log.Warn("provider: cannot verify the gateway's signature", zap.Error(err))
		problem.Write(w, r, problem.Unavailable("the gateway's keys cannot be fetched now", 5))
	case errors.As(err, &pe):
		p.log.Info("provider: request refused",
			zap.String("reason", httpsig.Code(err)),
			zap.String("client", r.Header.Get(httpsig.HeaderClient)),
			zap.String("message_id", r.Header.Get(httpsig.HeaderMessageID)),
			zap.Error(err))
		problem.Write(w, r, pe.Problem())
	default:
		p.log.Error("provider: replay guard failed", zap.Error(err))
		problem.Write(w, r, problem.Unavailable("the request cannot be checked now", 5))
	}
}
