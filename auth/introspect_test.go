package auth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

// registryAPI is the resource server tax-system's tokens are meant for.
func registryAPI() auth.Client {
	return auth.Client{ID: "registry-api", Name: "Civil registry API", AuthMethod: auth.AuthSecretBasic,
		GrantTypes: []string{auth.GrantClientCredentials}, Audience: []string{"https://other.example.gr"},
		ResourceServer: "https://registry.example.gr"}
}

func (f *providerFixture) form(t *testing.T, path string, form url.Values, id, secret string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", f.issuer+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&b)
	return resp.StatusCode, b
}

func TestIntrospectionAndRevocation(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newProvider(t, db)
		_, apiSecret, err := f.reg.Create(t.Context(), registryAPI())
		require.NoError(t, err)

		status, body := f.post(t, f.assertionForm(t, nil), "", "")
		require.Equal(t, 200, status, body)
		token := body["access_token"].(string)

		introspect := func(id, secret string) auth.Introspection {
			t.Helper()
			status, raw := f.form(t, "/introspect", url.Values{"token": {token}}, id, secret)
			require.Equal(t, 200, status, string(raw))
			var in auth.Introspection
			require.NoError(t, json.Unmarshal(raw, &in))
			return in
		}
		in := introspect("registry-api", apiSecret)
		assert.True(t, in.Active)
		assert.Equal(t, "tax-system", in.ClientID)
		assert.Equal(t, "registry:read", in.Scope)
		assert.Equal(t, []string{"https://registry.example.gr"}, in.Audience)
		assert.Equal(t, f.issuer, in.Issuer)
		assert.Equal(t, "Bearer", in.TokenType)
		assert.NotEmpty(t, in.JTI)

		assert.False(t, introspect("demo-agency", f.basic).Active, "a client the token does not concern learns nothing")

		status, raw := f.form(t, "/introspect", url.Values{"token": {"not-a-token"}}, "registry-api", apiSecret)
		assert.Equal(t, 200, status)
		assert.JSONEq(t, `{"active":false}`, string(raw))
		status, raw = f.form(t, "/introspect", url.Values{}, "registry-api", apiSecret)
		assert.Equal(t, 400, status, string(raw))
		status, _ = f.form(t, "/introspect", url.Values{"token": {token}}, "", "")
		assert.Equal(t, 401, status, "introspection needs client authentication")

		// Another client cannot revoke the token; the answer does not say so.
		status, _ = f.form(t, "/revoke", url.Values{"token": {token}}, "demo-agency", f.basic)
		assert.Equal(t, 200, status)
		assert.True(t, introspect("registry-api", apiSecret).Active)

		// Its own client can, with an assertion.
		status, raw = f.form(t, "/revoke", f.assertionForm(t, url.Values{"token": {token}, "grant_type": nil}), "", "")
		assert.Equal(t, 200, status, string(raw))
		assert.False(t, introspect("registry-api", apiSecret).Active)

		// Another instance, on another pool with the same keys, sees the
		// revocation at once, and still sees other tokens as active.
		pool2 := db.OpenAnother(t)
		reg2, err := auth.NewClientRegistry(t.Context(), pool2, "citizen")
		require.NoError(t, err)
		ks2, err := keys.New(t.Context(), pool2, "auth/citizen", f.kek)
		require.NoError(t, err)
		p2, err := auth.NewProvider(t.Context(), auth.ProviderConfig{Issuer: f.issuer, Keys: ks2, Clients: reg2})
		require.NoError(t, err)
		api, err := reg2.Get(t.Context(), "registry-api")
		require.NoError(t, err)
		in2, err := p2.Introspect(t.Context(), api, token)
		require.NoError(t, err)
		assert.False(t, in2.Active, "revoked")
		_, fresh := f.post(t, f.assertionForm(t, nil), "", "")
		in2, err = p2.Introspect(t.Context(), api, fresh["access_token"].(string))
		require.NoError(t, err)
		assert.True(t, in2.Active, "a token not revoked is active on the other instance")

		// A key set without a Verify method of its own (any SigningKeys)
		// reads tokens through ParseJWT, to the same answer.
		p3, err := auth.NewProvider(t.Context(), auth.ProviderConfig{Issuer: f.issuer, Keys: parseOnlyKeys{ks2}, Clients: reg2})
		require.NoError(t, err)
		in3, err := p3.Introspect(t.Context(), api, fresh["access_token"].(string))
		require.NoError(t, err)
		assert.Equal(t, in2, in3)
		in3, err = p3.Introspect(t.Context(), api, token)
		require.NoError(t, err)
		assert.False(t, in3.Active, "revoked")

		status, _ = f.form(t, "/revoke", url.Values{"token": {"garbage"}}, "demo-agency", f.basic)
		assert.Equal(t, 200, status, "RFC 7009: invalid tokens are not an error")
	})
}

func TestIntrospectionOfExpiredToken(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx := t.Context()
	reg, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen")
	require.NoError(t, err)
	_, secret, err := reg.Create(ctx, webClient())
	require.NoError(t, err)
	api, _, err := reg.Create(ctx, registryAPI())
	require.NoError(t, err)
	clock := testclock.New()
	ks, err := keys.NewStatic(mustKey(t), keys.WithStaticClock(clock.Now))
	require.NoError(t, err)
	const issuer = "https://id.example.gr/auth/citizen"
	p, err := auth.NewProvider(ctx, auth.ProviderConfig{Issuer: issuer, Keys: ks, Clients: reg, Now: clock.Now,
		AccessTokenLifetime: 10 * time.Minute})
	require.NoError(t, err)

	r := httptest.NewRequest("POST", "/token", strings.NewReader("grant_type=client_credentials&resource=https%3A%2F%2Fagency.example.gr%2Fapi"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("demo-agency", secret)
	w := httptest.NewRecorder()
	p.Handler().ServeHTTP(w, r)
	require.Equal(t, 200, w.Code, w.Body.String())
	var tr auth.TokenResponse
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &tr))

	owner, _ := reg.Get(ctx, "demo-agency")
	in, err := p.Introspect(ctx, owner, tr.AccessToken)
	require.NoError(t, err)
	assert.True(t, in.Active, "the client it was issued to may introspect it")
	in, err = p.Introspect(ctx, api, tr.AccessToken)
	require.NoError(t, err)
	assert.False(t, in.Active, "not issued for the registry")

	clock.Advance(10 * time.Minute)
	in, err = p.Introspect(ctx, owner, tr.AccessToken)
	require.NoError(t, err)
	assert.False(t, in.Active, "expired")

	// Revoking an expired token records nothing; purging finds nothing.
	require.NoError(t, p.Revoke(ctx, owner, tr.AccessToken))
	n, err := p.PurgeRevocations(ctx, clock.Now().Add(time.Hour))
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestResourceServerValidation(t *testing.T) {
	c := registryAPI()
	c.ResourceServer = "registry"
	assert.ErrorIs(t, c.Validate(), auth.ErrInvalidClientMetadata)
}

// parseOnlyKeys hides every method of a key set but SigningKeys'.
type parseOnlyKeys struct{ auth.SigningKeys }
