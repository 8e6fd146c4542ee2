package auth

import "sync"

// tokenCache remembers tokens whose signature has verified, by the
// SHA-256 of their text, so that a token a resource server introspects
// again and again is verified once. It holds at most max entries in two
// generations: entries go into the young one; when it is full, the old
// generation is dropped and the young one becomes old. An entry found in
// the old generation moves back to the young one, so tokens still in use
// stay and only those unseen for a generation go, half the cache at a
// time at most, never all of it at once. Only what the signature proves
// is kept: whether a token is revoked or expired is checked on every use.
type tokenCache struct {
	mu    sync.Mutex
	max   int // both generations together
	young map[[32]byte]*ownToken
	old   map[[32]byte]*ownToken
}

func newTokenCache(max int) *tokenCache {
	if max < 2 {
		max = 2
	}
	return &tokenCache{max: max, young: make(map[[32]byte]*ownToken, max/2)}
}

// get returns the token remembered under key.
func (c *tokenCache) get(key [32]byte) (*ownToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.young[key]; ok {
		return t, true
	}
	t, ok := c.old[key]
	if ok {
		delete(c.old, key)
		c.putLocked(key, t)
	}
	return t, ok
}

// put remembers t under key.
func (c *tokenCache) put(key [32]byte, t *ownToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(key, t)
}

func (c *tokenCache) putLocked(key [32]byte, t *ownToken) {
	if _, ok := c.young[key]; !ok && len(c.young) >= c.max/2 {
		c.old, c.young = c.young, make(map[[32]byte]*ownToken, c.max/2)
	}
	c.young[key] = t
}

// len returns how many tokens are remembered.
func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.young) + len(c.old)
}
