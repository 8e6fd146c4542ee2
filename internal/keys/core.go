package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Alg is a JWS signature algorithm egovkit signs with.
type Alg = jwa.SignatureAlgorithm

// The algorithms supported. ES256 is the default because every OpenID
// Connect relying party and JOSE library verifies it; EdDSA (Ed25519) is
// smaller and faster but not yet accepted everywhere.
const (
	ES256 = jwa.ES256
	EdDSA = jwa.EdDSA
)

// KeySet is what a package needs of its signing keys. [Manager] (keys kept
// in the database, rotated) and [Static] (one key held elsewhere, such as an
// HSM) both provide it.
type KeySet interface {
	// Sign returns a compact JWS of payload, signed with the active key.
	Sign(ctx context.Context, payload []byte, opts ...SignOption) ([]byte, error)
	// SignJWT returns tok as a signed compact JWT.
	SignJWT(ctx context.Context, tok jwt.Token, opts ...SignOption) ([]byte, error)
	// Verify checks a compact JWS against the published keys and returns
	// its payload.
	Verify(ctx context.Context, compact []byte) ([]byte, error)
	// ParseJWT verifies a compact JWT and validates its time claims.
	ParseJWT(ctx context.Context, compact []byte, opts ...jwt.ParseOption) (jwt.Token, error)
	// PublicSet returns the public keys verifiers should accept now.
	PublicSet(ctx context.Context) (jwk.Set, error)
	// JWKSHandler serves PublicSet as a JWK Set document.
	JWKSHandler() http.Handler
}

// SignOption adds protected headers to a signature. It is an alias, so
// that the public packages can declare the methods of a KeySet they call
// in their own interfaces (auth.SigningKeys, declaration.SigningKeys)
// without naming this package.
type SignOption = func(jws.Headers) error

// WithType sets the "typ" header, such as "at+jwt" (RFC 9068) or
// "dc+sd-jwt".
func WithType(typ string) SignOption {
	return func(h jws.Headers) error { return h.Set(jws.TypeKey, typ) }
}

// WithHeader sets any other protected header.
func WithHeader(name string, value any) SignOption {
	return func(h jws.Headers) error { return h.Set(name, value) }
}

// entry is one key as the hot paths use it.
type entry struct {
	kid        string
	alg        Alg
	public     any // *ecdsa.PublicKey or ed25519.PublicKey, for verification
	publicJWK  jwk.Key
	signer     crypto.Signer // nil when only the public half is known
	activeFrom time.Time
	// publishedUntil is when the key leaves the JWKS; zero means not
	// decided yet (the key is active or about to be).
	publishedUntil time.Time
}

// snapshot is an immutable view of a set, swapped atomically on reload.
type snapshot struct {
	entries []*entry // in creation order
	byKid   map[string]*entry
	jwks    []byte
	etag    string
	// expires is when the view must be rebuilt even without a refresh
	// interval elapsing: the next activation or retirement.
	expires time.Time
	loaded  time.Time
}

// active returns the newest entry that may sign at t.
func (s *snapshot) active(t time.Time) *entry {
	for i := len(s.entries) - 1; i >= 0; i-- {
		e := s.entries[i]
		if e.signer != nil && !e.activeFrom.After(t) {
			return e
		}
	}
	return nil
}

// published reports whether verifiers should accept e at t.
func (e *entry) published(t time.Time) bool {
	return e.publishedUntil.IsZero() || t.Before(e.publishedUntil)
}

func newSnapshot(entries []*entry, now time.Time) (*snapshot, error) {
	s := &snapshot{entries: entries, byKid: map[string]*entry{}, loaded: now}
	set := jwk.NewSet()
	for _, e := range entries {
		if !e.published(now) {
			continue
		}
		s.byKid[e.kid] = e
		if err := set.AddKey(e.publicJWK); err != nil {
			return nil, err
		}
		for _, b := range []time.Time{e.activeFrom, e.publishedUntil} {
			if b.After(now) && (s.expires.IsZero() || b.Before(s.expires)) {
				s.expires = b
			}
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	s.jwks, s.etag = b, `"`+hex.EncodeToString(sum[:12])+`"`
	return s, nil
}

// publicJWK builds the published form of a public key: kid, alg and use set.
func publicJWK(pub any, alg Alg) (jwk.Key, string, error) {
	k, err := jwk.FromRaw(pub)
	if err != nil {
		return nil, "", err
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, "", err
	}
	kid := base64.RawURLEncoding.EncodeToString(tp)
	for name, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: alg, jwk.KeyUsageKey: jwk.ForSignature} {
		if err := k.Set(name, v); err != nil {
			return nil, "", err
		}
	}
	return k, kid, nil
}

// algFor returns the algorithm for a public key, or ErrUnsupportedKey.
func algFor(pub crypto.PublicKey) (Alg, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return ES256, nil
		}
	case ed25519.PublicKey:
		return EdDSA, nil
	}
	return "", fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
}

// core holds the signing and verification logic shared by Manager and
// Static; view returns the current snapshot and refresh reloads it when a
// token names an unknown key.
type core struct {
	now     func() time.Time
	view    func(ctx context.Context) (*snapshot, error)
	refresh func(ctx context.Context) (*snapshot, error)
	maxAge  time.Duration // Cache-Control max-age of the JWKS document
}

func (c *core) headers(e *entry, opts []SignOption) (jws.Headers, error) {
	h := jws.NewHeaders()
	if err := h.Set(jws.KeyIDKey, e.kid); err != nil {
		return nil, err
	}
	for _, o := range opts {
		if err := o(h); err != nil {
			return nil, fmt.Errorf("keys: header: %w", err)
		}
	}
	return h, nil
}

func (c *core) signing(ctx context.Context) (*entry, error) {
	s, err := c.view(ctx)
	if err != nil {
		return nil, err
	}
	e := s.active(c.now())
	if e == nil {
		return nil, fmt.Errorf("keys: no active signing key")
	}
	return e, nil
}

// prepare returns the active key and the protected headers to sign with:
// its kid and the caller's.
func (c *core) prepare(ctx context.Context, opts []SignOption) (*entry, jws.Headers, error) {
	e, err := c.signing(ctx)
	if err != nil {
		return nil, nil, err
	}
	h, err := c.headers(e, opts)
	if err != nil {
		return nil, nil, err
	}
	return e, h, nil
}

// Sign implements KeySet.
func (c *core) Sign(ctx context.Context, payload []byte, opts ...SignOption) ([]byte, error) {
	e, h, err := c.prepare(ctx, opts)
	if err != nil {
		return nil, err
	}
	out, err := signCompact(e, h, payload)
	if err != nil {
		return nil, fmt.Errorf("keys: sign: %w", err)
	}
	return out, nil
}

// b64 is the base64url encoding of JWS, without padding.
var b64 = base64.RawURLEncoding

// signCompact writes the compact JWS of payload under headers h. It does
// what jws.Sign does for the two algorithms, with a third less work per
// signature, which counts where every issued document is signed twice.
func signCompact(e *entry, h jws.Headers, payload []byte) ([]byte, error) {
	if err := h.Set(jws.AlgorithmKey, e.alg); err != nil {
		return nil, err
	}
	header, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	sigLen := ed25519.SignatureSize
	if e.alg == ES256 {
		sigLen = 64
	}
	hl, pl := b64.EncodedLen(len(header)), b64.EncodedLen(len(payload))
	out := make([]byte, hl+1+pl, hl+1+pl+1+b64.EncodedLen(sigLen))
	b64.Encode(out, header)
	out[hl] = '.'
	b64.Encode(out[hl+1:], payload)
	var sig []byte
	switch e.alg {
	case ES256:
		digest := sha256.Sum256(out)
		der, err := e.signer.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			return nil, err
		}
		if sig, err = fixedECDSA(der, 32); err != nil {
			return nil, err
		}
	case EdDSA:
		if sig, err = e.signer.Sign(rand.Reader, out, crypto.Hash(0)); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unsupported algorithm %s", e.alg)
	}
	out = append(out, '.')
	return b64.AppendEncode(out, sig), nil
}

// fixedECDSA turns an ASN.1 ECDSA signature, as crypto.Signer returns
// it, into the fixed-size r||s form of JWS (RFC 7518, section 3.4).
func fixedECDSA(der []byte, size int) ([]byte, error) {
	var seq cryptobyte.String
	var r, s []byte
	in := cryptobyte.String(der)
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Bytes(&r, asn1.INTEGER) || !seq.ReadASN1Bytes(&s, asn1.INTEGER) || !seq.Empty() {
		return nil, errors.New("malformed ECDSA signature")
	}
	out := make([]byte, 2*size)
	for i, v := range [][]byte{r, s} {
		if len(v) == 0 || v[0]&0x80 != 0 {
			return nil, errors.New("malformed ECDSA signature")
		}
		v = bytes.TrimLeft(v, "\x00")
		if len(v) > size {
			return nil, errors.New("malformed ECDSA signature")
		}
		copy(out[(i+1)*size-len(v):], v)
	}
	return out, nil
}

// SignJWT implements KeySet. The token's claims are its JSON, as
// jwt.Sign writes them, and its header names the type JWT unless the
// caller names another (RFC 7519, section 5.1); the compact form is
// written by signCompact, which does jws.Sign's work with less around it.
func (c *core) SignJWT(ctx context.Context, tok jwt.Token, opts ...SignOption) ([]byte, error) {
	e, h, err := c.prepare(ctx, opts)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(tok)
	if err != nil {
		return nil, fmt.Errorf("keys: sign JWT: %w", err)
	}
	if _, ok := h.Get(jws.TypeKey); !ok {
		if err := h.Set(jws.TypeKey, "JWT"); err != nil {
			return nil, fmt.Errorf("keys: sign JWT: %w", err)
		}
	}
	out, err := signCompact(e, h, payload)
	if err != nil {
		return nil, fmt.Errorf("keys: sign JWT: %w", err)
	}
	return out, nil
}

// keyProvider finds the key a signature names. An unknown kid reloads the
// set once (a key created by another instance may be new here); the
// algorithm in the header must be the key's own, which rules out "none" and
// algorithm confusion.
func (c *core) keyProvider(snap *snapshot) jws.KeyProvider {
	return jws.KeyProviderFunc(func(ctx context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
		h := sig.ProtectedHeaders()
		kid := h.KeyID()
		e := snap.byKid[kid]
		if e == nil && kid != "" && c.refresh != nil {
			fresh, err := c.refresh(ctx)
			if err != nil {
				return err
			}
			e = fresh.byKid[kid]
		}
		if e == nil || !e.published(c.now()) {
			return ErrUnknownKey
		}
		if h.Algorithm() != e.alg {
			return fmt.Errorf("%w: algorithm %q is not the key's %q", ErrInvalidSignature, h.Algorithm(), e.alg)
		}
		sink.Key(e.alg, e.public)
		return nil
	})
}

// Verify implements KeySet.
func (c *core) Verify(ctx context.Context, compact []byte) ([]byte, error) {
	snap, err := c.view(ctx)
	if err != nil {
		return nil, err
	}
	payload, err := jws.Verify(compact, jws.WithKeyProvider(c.keyProvider(snap)), jws.WithContext(ctx))
	if err != nil {
		return nil, verifyError(err)
	}
	return payload, nil
}

// ParseJWT implements KeySet. exp, nbf and iat are checked against the
// set's clock with 30 seconds of leeway; callers add the checks of their
// own (issuer, audience) as options.
func (c *core) ParseJWT(ctx context.Context, compact []byte, opts ...jwt.ParseOption) (jwt.Token, error) {
	snap, err := c.view(ctx)
	if err != nil {
		return nil, err
	}
	all := append([]jwt.ParseOption{
		jwt.WithKeyProvider(c.keyProvider(snap)),
		jwt.WithContext(ctx),
		jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(c.now)),
		jwt.WithAcceptableSkew(30 * time.Second),
	}, opts...)
	tok, err := jwt.Parse(compact, all...)
	if err != nil {
		return nil, verifyError(err)
	}
	return tok, nil
}

func verifyError(err error) error {
	if isUnknownKey(err) {
		return fmt.Errorf("%w (%v)", ErrUnknownKey, err)
	}
	return fmt.Errorf("%w: %v", ErrInvalidSignature, err)
}

// isUnknownKey reports whether the key provider refused the kid; jwx wraps
// what a provider returns.
func isUnknownKey(err error) bool {
	return errors.Is(err, ErrUnknownKey)
}

// PublicSet implements KeySet.
func (c *core) PublicSet(ctx context.Context) (jwk.Set, error) {
	snap, err := c.view(ctx)
	if err != nil {
		return nil, err
	}
	return jwk.Parse(snap.jwks)
}

// JWKSHandler implements KeySet: GET and HEAD answer the JWK Set with a
// strong ETag (If-None-Match gives 304) and a max-age shorter than the lead
// time with which new keys are published, so verifiers always know a key
// before it signs.
func (c *core) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		snap, err := c.view(r.Context())
		if err != nil {
			http.Error(w, "signing keys unavailable", http.StatusServiceUnavailable)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/jwk-set+json")
		h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(c.maxAge/time.Second)))
		h.Set("ETag", snap.etag)
		if match := r.Header.Get("If-None-Match"); match != "" && match == snap.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method == http.MethodHead {
			return
		}
		w.Write(snap.jwks)
	})
}
