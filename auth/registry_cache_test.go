package auth_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// TestClientChangesSeenAtOnce: registrations are decoded once per stored
// version, but every lookup reads the row, so a client changed, disabled
// or given a new secret through one instance is seen so by another at its
// next request, with nothing cached in between.
func TestClientChangesSeenAtOnce(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		serving, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen")
		require.NoError(t, err)
		admin, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen")
		require.NoError(t, err)
		_, secret, err := admin.Create(ctx, lowClient("low-agency"))
		require.NoError(t, err)

		auds := []string{tokenEndpoint}
		authenticate := func(secret string) error {
			_, err := serving.Authenticate(ctx, tokenRequest(url.Values{}, "low-agency", secret), auds)
			return err
		}
		authorize := func() error {
			_, err := auth.ParseAuthorizeRequest(ctx, authorizeParams("low-agency"), serving.Get, true)
			return err
		}
		// Looked up twice, so that the second lookup meets the decoded
		// registration.
		for range 2 {
			require.NoError(t, authenticate(secret))
			require.NoError(t, authorize())
		}

		// A changed registration: the redirect URI and a scope withdrawn.
		_, err = admin.Modify(ctx, "low-agency", func(c *auth.Client) error {
			c.RedirectURIs = []string{"https://agency.example.gr/elsewhere"}
			c.Scopes = []string{"openid"}
			return nil
		})
		require.NoError(t, err)
		var ae *auth.AuthorizeError
		require.ErrorAs(t, authorize(), &ae)
		assert.Equal(t, "invalid_request", ae.Code, "the withdrawn redirect URI is refused at once")
		c, err := serving.Get(ctx, "low-agency")
		require.NoError(t, err)
		assert.Equal(t, []string{"openid"}, c.Scopes)
		assert.Equal(t, []string{"https://agency.example.gr/elsewhere"}, c.RedirectURIs)

		// Disabled, then enabled again.
		require.NoError(t, admin.SetDisabled(ctx, "low-agency", true))
		assert.Equal(t, "invalid_client", oauthCode(t, authenticate(secret)), "a disabled client is refused at once")
		c, err = serving.Get(ctx, "low-agency")
		require.NoError(t, err)
		assert.True(t, c.Disabled)
		params := authorizeParams("low-agency")
		params.Set("redirect_uri", "https://agency.example.gr/elsewhere")
		params.Set("scope", "openid")
		_, err = auth.ParseAuthorizeRequest(ctx, params, serving.Get, true)
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, "invalid_client", ae.Code)
		require.NoError(t, admin.SetDisabled(ctx, "low-agency", false))
		require.NoError(t, authenticate(secret))
		_, err = auth.ParseAuthorizeRequest(ctx, params, serving.Get, true)
		require.NoError(t, err)

		// A new secret: the old one fails at once.
		fresh, err := admin.RotateSecret(ctx, "low-agency")
		require.NoError(t, err)
		assert.Equal(t, "invalid_client", oauthCode(t, authenticate(secret)))
		require.NoError(t, authenticate(fresh))
	})
}

// TestClientLookupsDoNotShare: what one caller does to the registration it
// was given is not what the next caller gets.
func TestClientLookupsDoNotShare(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx := t.Context()
	reg, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen")
	require.NoError(t, err)
	c := lowClient("low-agency")
	c.Names = map[string]string{"el": "Φορέας", "en": "Agency"}
	want, _, err := reg.Create(ctx, c)
	require.NoError(t, err)

	_, err = reg.Get(ctx, "low-agency") // decoded and kept
	require.NoError(t, err)
	got, err := reg.Get(ctx, "low-agency") // from what was kept
	require.NoError(t, err)
	got.Scopes[0] = "changed"
	got.RedirectURIs[0] = "https://evil.example/cb"
	got.GrantTypes = append(got.GrantTypes[:0], auth.GrantClientCredentials)
	got.Names["el"] = "άλλο"
	got.PostLogoutRedirectURIs[0] = "https://evil.example/bye"

	again, err := reg.Get(ctx, "low-agency")
	require.NoError(t, err)
	assert.Equal(t, want.Scopes, again.Scopes)
	assert.Equal(t, want.RedirectURIs, again.RedirectURIs)
	assert.Equal(t, want.GrantTypes, again.GrantTypes)
	assert.Equal(t, want.Names, again.Names)
	assert.Equal(t, want.PostLogoutRedirectURIs, again.PostLogoutRedirectURIs)
}
