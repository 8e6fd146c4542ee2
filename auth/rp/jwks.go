package rp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/egovkit/egovkit/errkind"
)

// verifyKey is one published key as verification uses it.
type verifyKey struct {
	alg jwa.SignatureAlgorithm
	raw any
}

type keySnapshot struct {
	byKid   map[string]verifyKey
	fetched time.Time
}

// keyCache holds the issuer's JWKS. It is fetched on first use, again when a
// token names an unknown kid (at most once per cooldown), and again when it
// is older than maxAge.
type keyCache struct {
	client   *http.Client
	now      func() time.Time
	cooldown time.Duration
	maxAge   time.Duration

	jwksURL   string                                // from Config, or discovered
	discovery string                                // the issuer's discovery document, when jwksURL is empty
	source    func(context.Context) ([]byte, error) // in process, instead of HTTP

	snap     atomic.Pointer[keySnapshot]
	mu       sync.Mutex
	lastTry  time.Time
	fetchErr error
	fetches  atomic.Int64
}

// ErrKeysUnavailable means the provider's key set could not be had (the
// provider or the key source did not answer, or answered something that is
// not a key set), and none was known before: a token cannot be judged, so
// it is answered 503 with Retry-After, never as an invalid token.
var ErrKeysUnavailable = errkind.New(errkind.Unavailable, "rp: the provider's keys are unavailable")

// errUnknownKid means the JWKS, even freshly fetched, has no such key.
var errUnknownKid = errors.New("rp: token signed with an unknown key")

// key returns the key for kid, refreshing the set when needed.
func (c *keyCache) key(ctx context.Context, kid string) (verifyKey, error) {
	s := c.snap.Load()
	if s != nil {
		if k, ok := s.byKid[kid]; ok && c.now().Sub(s.fetched) < c.maxAge {
			return k, nil
		}
	}
	s, err := c.refresh(ctx, s)
	if err != nil {
		return verifyKey{}, err
	}
	if k, ok := s.byKid[kid]; ok {
		return k, nil
	}
	return verifyKey{}, errUnknownKid
}

// provide gives the verifier the key the signature names by kid, with
// that key's own algorithm only.
func (c *keyCache) provide(ctx context.Context, sink jws.KeySink, sig *jws.Signature) error {
	h := sig.ProtectedHeaders()
	k, err := c.key(ctx, h.KeyID())
	if err != nil {
		return err
	}
	if h.Algorithm() != k.alg {
		return fmt.Errorf("rp: algorithm %q is not the key's %q", h.Algorithm(), k.alg)
	}
	sink.Key(k.alg, k.raw)
	return nil
}

// refresh fetches the JWKS unless another caller just did, or the last
// attempt was less than the cooldown ago; seen is the snapshot the caller
// found wanting.
func (c *keyCache) refresh(ctx context.Context, seen *keySnapshot) (*keySnapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.snap.Load(); cur != seen && cur != nil {
		return cur, nil // another caller refreshed meanwhile
	}
	now := c.now()
	if !c.lastTry.IsZero() && now.Sub(c.lastTry) < c.cooldown {
		if cur := c.snap.Load(); cur != nil {
			return cur, nil
		}
		return nil, c.fetchErr
	}
	c.lastTry = now
	s, err := c.fetch(ctx)
	c.fetchErr = err
	if err != nil {
		if cur := c.snap.Load(); cur != nil {
			return cur, nil // keep verifying with what we have
		}
		return nil, err
	}
	s.fetched = now
	c.snap.Store(s)
	return s, nil
}

func (c *keyCache) fetch(ctx context.Context) (*keySnapshot, error) {
	c.fetches.Add(1)
	var body []byte
	var err error
	if c.source != nil {
		body, err = c.source(ctx)
	} else {
		if c.jwksURL == "" {
			u, err := c.discover(ctx)
			if err != nil {
				return nil, err
			}
			c.jwksURL = u
		}
		body, err = c.get(ctx, c.jwksURL)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	s := &keySnapshot{byKid: map[string]verifyKey{}}
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		if k.KeyID() == "" || (k.KeyUsage() != "" && k.KeyUsage() != string(jwk.ForSignature)) {
			continue
		}
		alg, ok := keyAlgorithm(k)
		if !ok {
			continue
		}
		var raw any
		if err := k.Raw(&raw); err != nil {
			continue
		}
		s.byKid[k.KeyID()] = verifyKey{alg: alg, raw: raw}
	}
	return s, nil
}

// keyAlgorithm is the algorithm a key verifies: its "alg" when published,
// otherwise the usual one for its type. Symmetric keys are never accepted.
func keyAlgorithm(k jwk.Key) (jwa.SignatureAlgorithm, bool) {
	if a := k.Algorithm().String(); a != "" {
		var alg jwa.SignatureAlgorithm
		if err := alg.Accept(a); err != nil || alg == jwa.NoSignature || alg == jwa.HS256 || alg == jwa.HS384 || alg == jwa.HS512 {
			return "", false
		}
		return alg, true
	}
	switch k.KeyType() {
	case "EC":
		if crv, ok := k.Get("crv"); ok {
			switch fmt.Sprint(crv) {
			case "P-256":
				return jwa.ES256, true
			case "P-384":
				return jwa.ES384, true
			case "P-521":
				return jwa.ES512, true
			}
		}
	case "OKP":
		return jwa.EdDSA, true
	case "RSA":
		return jwa.RS256, true
	}
	return "", false
}

func (c *keyCache) discover(ctx context.Context) (string, error) {
	body, err := c.get(ctx, c.discovery)
	if err != nil {
		return "", fmt.Errorf("rp: discovery: %w", err)
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.JWKSURI == "" {
		return "", fmt.Errorf("rp: discovery document at %s has no jwks_uri", c.discovery)
	}
	return doc.JWKSURI, nil
}

func (c *keyCache) get(ctx context.Context, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered HTTP %d", u, resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}
