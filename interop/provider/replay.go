package provider

import (
	"context"
	"sync"
	"time"
)

// ReplayGuard remembers the nonces of the gateway's signatures (with the
// key id that signed). Instances of a provider that share one guard refuse
// a replay whichever instance it reaches.
type ReplayGuard interface {
	// Seen records key until the given time and reports whether it was
	// already recorded and not yet expired. It must be atomic: of two
	// concurrent calls with one key, one reports false.
	Seen(ctx context.Context, key string, until time.Time) (bool, error)
}

// memoryGuard is the default guard: one map per instance, swept of
// expired entries at most once a minute. Behind a load balancer, a
// request replayed to another instance is not caught by it; configure a
// shared ReplayGuard there.
type memoryGuard struct {
	now func() time.Time

	mu        sync.Mutex
	seen      map[string]time.Time
	nextSweep time.Time
}

func newMemoryGuard(now func() time.Time) *memoryGuard {
	return &memoryGuard{now: now, seen: map[string]time.Time{}}
}

func (g *memoryGuard) Seen(_ context.Context, key string, until time.Time) (bool, error) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.After(g.nextSweep) {
		for k, exp := range g.seen {
			if now.After(exp) {
				delete(g.seen, k)
			}
		}
		g.nextSweep = now.Add(time.Minute)
	}
	if exp, ok := g.seen[key]; ok && !now.After(exp) {
		return true, nil
	}
	g.seen[key] = until
	return false, nil
}
