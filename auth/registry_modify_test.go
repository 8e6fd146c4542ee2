package auth_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// TestModifyMergesConcurrentChanges adds redirect URIs to one client from
// two registries on two pools at once, as instances of a site reached at
// different addresses do at start: none is lost.
func TestModifyMergesConcurrentChanges(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		a, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen")
		require.NoError(t, err)
		b, err := auth.NewClientRegistry(ctx, db.OpenAnother(t), "citizen")
		require.NoError(t, err)
		_, _, err = a.Create(ctx, webClient())
		require.NoError(t, err)

		const n = 12
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				uri := fmt.Sprintf("https://site%d.example.gr/callback", i)
				_, err := []*auth.ClientRegistry{a, b}[i%2].Modify(t.Context(), "demo-agency", func(c *auth.Client) error {
					if !slices.Contains(c.RedirectURIs, uri) {
						c.RedirectURIs = append(c.RedirectURIs, uri)
					}
					return nil
				})
				assert.NoError(t, err)
			}()
		}
		wg.Wait()
		c, err := b.Get(ctx, "demo-agency")
		require.NoError(t, err)
		for i := 0; i < n; i++ {
			assert.Contains(t, c.RedirectURIs, fmt.Sprintf("https://site%d.example.gr/callback", i))
		}
		assert.Len(t, c.RedirectURIs, len(webClient().RedirectURIs)+n)

		// What fn refuses, or what the registration would not accept, is
		// not stored.
		stop := errors.New("unchanged")
		_, err = a.Modify(ctx, "demo-agency", func(c *auth.Client) error { c.Name = "changed"; return stop })
		assert.ErrorIs(t, err, stop)
		_, err = a.Modify(ctx, "demo-agency", func(c *auth.Client) error { c.RedirectURIs = []string{"not a URL"}; return nil })
		assert.ErrorIs(t, err, auth.ErrInvalidClientMetadata)
		_, err = a.Modify(ctx, "demo-agency", func(c *auth.Client) error { c.AuthMethod = auth.AuthPrivateKeyJWT; return nil })
		assert.ErrorIs(t, err, auth.ErrInvalidClientMetadata)
		again, err := a.Get(ctx, "demo-agency")
		require.NoError(t, err)
		assert.Equal(t, c.RedirectURIs, again.RedirectURIs)
		assert.Equal(t, c.Name, again.Name)
		_, err = a.Modify(ctx, "no-such-client", func(*auth.Client) error { return nil })
		assert.ErrorIs(t, err, auth.ErrClientNotFound)
	})
}
