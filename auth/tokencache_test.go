package auth

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func cacheKey(i int) [32]byte { return sha256.Sum256(fmt.Append(nil, "token-", i)) }

// TestTokenCacheBounded: however many tokens pass, the cache holds at most
// its bound, and it never empties at once: after the bound is passed, the
// most recent half stays.
func TestTokenCacheBounded(t *testing.T) {
	c := newTokenCache(100)
	for i := range 1000 {
		c.put(cacheKey(i), &ownToken{JTI: fmt.Sprint(i)})
		require.LessOrEqual(t, c.len(), 100, "after %d tokens", i+1)
		if i >= 100 {
			require.GreaterOrEqual(t, c.len(), 50, "after %d tokens", i+1)
		}
	}
	for i := 950; i < 1000; i++ {
		got, ok := c.get(cacheKey(i))
		require.True(t, ok, "recent token %d", i)
		assert.Equal(t, fmt.Sprint(i), got.JTI)
	}
	_, ok := c.get(cacheKey(0))
	assert.False(t, ok, "the oldest token is gone")
}

// TestTokenCacheKeepsTokensInUse: a token looked up again survives the
// turnover of tokens seen once, as a resource server's busy token should.
func TestTokenCacheKeepsTokensInUse(t *testing.T) {
	c := newTokenCache(10)
	busy := cacheKey(-1)
	c.put(busy, &ownToken{JTI: "busy"})
	for i := range 200 {
		c.put(cacheKey(i), &ownToken{})
		got, ok := c.get(busy)
		require.True(t, ok, "the busy token is still there after %d others", i+1)
		require.Equal(t, "busy", got.JTI)
	}
	// Tokens unseen for a whole generation go.
	for i := range 190 {
		_, ok := c.get(cacheKey(i))
		require.False(t, ok, "token %d", i)
	}
}

// TestTokenCacheConcurrent runs lookups and insertions at once (for -race).
func TestTokenCacheConcurrent(t *testing.T) {
	c := newTokenCache(64)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				k := cacheKey(w*1000 + i%80)
				if _, ok := c.get(k); !ok {
					c.put(k, &ownToken{})
				}
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, c.len(), 64)
}
