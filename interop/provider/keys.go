package provider

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/interop/httpsig"
)

// ErrKeysUnavailable means the gateway's key set could not be fetched and
// none was known before: the request cannot be judged, and is answered
// 503 with Retry-After, never as a bad signature.
var ErrKeysUnavailable = errkind.New(errkind.Unavailable, "provider: the gateway's keys are unavailable")

// maxJWKS bounds the key set document read.
const maxJWKS = 1 << 20

// keySet is the gateway's keys: the configured ones, and those of the
// JWKS URL, fetched on first use, when older than maxAge, and when a
// signature names an unknown key (at most once per cooldown).
type keySet struct {
	static   map[string]crypto.PublicKey
	url      string
	client   *http.Client
	now      func() time.Time
	maxAge   time.Duration
	cooldown time.Duration

	snap    atomic.Pointer[fetchedKeys]
	mu      sync.Mutex
	lastTry time.Time
	lastErr error
}

type fetchedKeys struct {
	byID    map[string]crypto.PublicKey
	fetched time.Time
}

// resolve is an httpsig.KeyResolver.
func (s *keySet) resolve(ctx context.Context, keyID string) (crypto.PublicKey, error) {
	if k, ok := s.static[keyID]; ok {
		return k, nil
	}
	if s.url == "" {
		return nil, httpsig.ErrUnknownKey
	}
	cur := s.snap.Load()
	if cur != nil && s.now().Sub(cur.fetched) < s.maxAge {
		if k, ok := cur.byID[keyID]; ok {
			return k, nil
		}
	}
	cur, err := s.refresh(ctx, cur)
	if err != nil {
		return nil, err
	}
	if k, ok := cur.byID[keyID]; ok {
		return k, nil
	}
	return nil, httpsig.ErrUnknownKey
}

// refresh fetches the set unless another caller did since seen was
// loaded, or the last attempt is more recent than the cooldown. A failed
// fetch keeps the keys known before.
func (s *keySet) refresh(ctx context.Context, seen *fetchedKeys) (*fetchedKeys, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.snap.Load()
	if cur != nil && cur != seen {
		return cur, nil
	}
	now := s.now()
	if !s.lastTry.IsZero() && now.Sub(s.lastTry) < s.cooldown {
		if cur != nil {
			return cur, nil
		}
		return nil, s.lastErr
	}
	s.lastTry = now
	next, err := s.fetch(ctx)
	s.lastErr = err
	if err != nil {
		if cur != nil {
			return cur, nil
		}
		return nil, err
	}
	next.fetched = now
	s.snap.Store(next)
	return next, nil
}

func (s *keySet) fetch(ctx context.Context) (*fetchedKeys, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered %d", ErrKeysUnavailable, s.url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKS+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	if len(body) > maxJWKS {
		return nil, fmt.Errorf("%w: the key set is larger than %d bytes", ErrKeysUnavailable, maxJWKS)
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
	}
	out := &fetchedKeys{byID: map[string]crypto.PublicKey{}}
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		if k.KeyID() == "" || (k.KeyUsage() != "" && k.KeyUsage() != string(jwk.ForSignature)) {
			continue
		}
		var raw any
		if err := k.Raw(&raw); err != nil {
			continue
		}
		// Only public keys of the two algorithms; a private or symmetric
		// key published by mistake is ignored.
		if usableKey(raw) {
			out.byID[k.KeyID()] = raw
		}
	}
	return out, nil
}
