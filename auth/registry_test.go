package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

const tokenEndpoint = "https://id.example.gr/auth/citizen/token"

func webClient() auth.Client {
	return auth.Client{
		ID: "demo-agency", Name: "Demo agency", AuthMethod: auth.AuthSecretBasic,
		GrantTypes:   []string{auth.GrantRefreshToken, auth.GrantAuthorizationCode, auth.GrantClientCredentials},
		RedirectURIs: []string{"http://127.0.0.1:8090/callback", "https://agency.example.gr/callback"},
		Scopes:       []string{"openid", "profile", "openid"}, Audience: []string{"https://agency.example.gr/api"},
		MinACR: auth.LoASubstantial,
	}
}

type jwtClient struct {
	key    *ecdsa.PrivateKey
	client auth.Client
}

func newJWTClient(t testing.TB, id string) jwtClient {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	pub, err := jwk.FromRaw(k.Public())
	require.NoError(t, err)
	require.NoError(t, pub.Set(jwk.KeyIDKey, "k1"))
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(pub))
	raw, err := json.Marshal(set)
	require.NoError(t, err)
	return jwtClient{key: k, client: auth.Client{
		ID: id, Name: "Tax agency system", AuthMethod: auth.AuthPrivateKeyJWT,
		GrantTypes: []string{auth.GrantClientCredentials}, Scopes: []string{"registry:read"},
		Audience: []string{"https://registry.example.gr"}, JWKS: raw,
	}}
}

func (c jwtClient) assertion(t *testing.T, now time.Time, edit func(b *jwt.Builder) *jwt.Builder) string {
	b := jwt.NewBuilder().Issuer(c.client.ID).Subject(c.client.ID).Audience([]string{tokenEndpoint}).
		IssuedAt(now).Expiration(now.Add(time.Minute)).JwtID(fmt.Sprint(now.UnixNano(), "-", randID()))
	if edit != nil {
		b = edit(b)
	}
	tok, err := b.Build()
	require.NoError(t, err)
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, c.key))
	require.NoError(t, err)
	return string(signed)
}

var idCounter atomic.Int64

func randID() string { return fmt.Sprint(idCounter.Add(1)) }

func tokenRequest(form url.Values, basicID, basicSecret string) *http.Request {
	r := httptest.NewRequest("POST", "/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		r.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	_ = r.ParseForm()
	return r
}

func oauthCode(t *testing.T, err error) string {
	t.Helper()
	var oe *auth.OAuthError
	require.ErrorAs(t, err, &oe)
	return oe.Code
}

func TestClientValidation(t *testing.T) {
	ok := webClient()
	require.NoError(t, ok.Validate())
	assert.Equal(t, []string{"openid", "profile"}, ok.Scopes, "scopes sorted and deduplicated")

	tests := map[string]func(c *auth.Client){
		"short id":              func(c *auth.Client) { c.ID = "ab" },
		"id with space":         func(c *auth.Client) { c.ID = "demo agency" },
		"no name":               func(c *auth.Client) { c.Name = " " },
		"unknown method":        func(c *auth.Client) { c.AuthMethod = "client_secret_post" },
		"implicit grant":        func(c *auth.Client) { c.GrantTypes = []string{"implicit"} },
		"password grant":        func(c *auth.Client) { c.GrantTypes = []string{"password"} },
		"no grants":             func(c *auth.Client) { c.GrantTypes = nil },
		"refresh alone":         func(c *auth.Client) { c.GrantTypes = []string{auth.GrantRefreshToken} },
		"code without redirect": func(c *auth.Client) { c.RedirectURIs = nil },
		"http redirect":         func(c *auth.Client) { c.RedirectURIs = []string{"http://agency.example.gr/cb"} },
		"fragment":              func(c *auth.Client) { c.RedirectURIs = []string{"https://agency.example.gr/cb#x"} },
		"empty fragment":        func(c *auth.Client) { c.RedirectURIs = []string{"https://agency.example.gr/cb#"} },
		"user information":      func(c *auth.Client) { c.RedirectURIs = []string{"https://someone@agency.example.gr/cb"} },
		"user and password":     func(c *auth.Client) { c.RedirectURIs = []string{"https://agency.example.gr:443@evil.example/cb"} },
		"loopback user":         func(c *auth.Client) { c.RedirectURIs = []string{"http://127.0.0.1@evil.example/cb"} },
		"backslash":             func(c *auth.Client) { c.RedirectURIs = []string{"https://agency.example.gr\\evil.example/cb"} },
		"logout fragment":       func(c *auth.Client) { c.PostLogoutRedirectURIs = []string{"https://agency.example.gr/bye#x"} },
		"logout user":           func(c *auth.Client) { c.PostLogoutRedirectURIs = []string{"https://u@agency.example.gr/bye"} },
		"relative redirect":     func(c *auth.Client) { c.RedirectURIs = []string{"/cb"} },
		"custom scheme":         func(c *auth.Client) { c.RedirectURIs = []string{"javascript://x/alert(1)"} },
		"bad scope":             func(c *auth.Client) { c.Scopes = []string{"a b"} },
		"bad acr":               func(c *auth.Client) { c.MinACR = "high" },
		"credentials no aud":    func(c *auth.Client) { c.Audience = nil },
		"public with creds":     func(c *auth.Client) { c.AuthMethod = auth.AuthNone },
		"jwks for basic":        func(c *auth.Client) { c.JWKS = json.RawMessage(`{"keys":[]}`) },
		"bad logout uri":        func(c *auth.Client) { c.BackchannelLogoutURI = "http://agency.example.gr/logout" },
	}
	for name, edit := range tests {
		t.Run(name, func(t *testing.T) {
			c := webClient()
			edit(&c)
			err := c.Validate()
			assert.ErrorIs(t, err, auth.ErrInvalidClientMetadata)
			var ie *auth.InvalidClientError
			assert.ErrorAs(t, err, &ie)
		})
	}

	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	privJWK, _ := jwk.FromRaw(priv)
	privSet := jwk.NewSet()
	_ = privSet.AddKey(privJWK)
	privRaw, _ := json.Marshal(privSet)
	for name, jwks := range map[string]string{"missing": "", "not a set": `{"x":1}`, "empty": `{"keys":[]}`,
		"symmetric": `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`, "private key": string(privRaw)} {
		c := newJWTClient(t, "jwt-client").client
		c.JWKS = json.RawMessage(jwks)
		assert.ErrorIs(t, c.Validate(), auth.ErrInvalidClientMetadata, name)
	}
}

func TestRedirectURIMatching(t *testing.T) {
	c := webClient()
	require.NoError(t, c.Validate())
	assert.True(t, c.RedirectURIAllowed("https://agency.example.gr/callback"))
	assert.False(t, c.RedirectURIAllowed("https://agency.example.gr/callback/"), "exact match only")
	assert.False(t, c.RedirectURIAllowed("https://agency.example.gr/callback?x=1"))
	assert.False(t, c.RedirectURIAllowed("https://AGENCY.example.gr/callback"))
	assert.True(t, c.RedirectURIAllowed("http://127.0.0.1:8090/callback"))
	assert.False(t, c.RedirectURIAllowed("http://127.0.0.1:51234/callback"), "a confidential client's loopback URI matches exactly")
	assert.False(t, c.RedirectURIAllowed("http://127.0.0.1/callback"))

	// A URI stored before the rules refused it is not used.
	old := auth.Client{ID: "old-agency", AuthMethod: auth.AuthSecretBasic,
		RedirectURIs: []string{"https://someone@agency.example.gr/cb", "https://agency.example.gr/cb#x"}}
	for _, uri := range old.RedirectURIs {
		assert.False(t, old.RedirectURIAllowed(uri), uri)
	}

	// A public (native) client: any port on a registered loopback address
	// (RFC 8252 section 7.3), nothing else loosened.
	n := auth.Client{ID: "native-app", Name: "Native app", AuthMethod: auth.AuthNone,
		GrantTypes:   []string{auth.GrantAuthorizationCode},
		RedirectURIs: []string{"http://127.0.0.1:8090/callback", "http://[::1]/callback", "https://agency.example.gr/callback"}}
	require.NoError(t, n.Validate())
	for uri, want := range map[string]bool{
		"http://127.0.0.1:8090/callback":          true,
		"http://127.0.0.1:51234/callback":         true,
		"http://127.0.0.1/callback":               true,
		"http://[::1]:40000/callback":             true,
		"http://127.0.0.1:51234/other":            false,
		"http://127.0.0.1:51234/callback?x=1":     false,
		"http://127.0.0.1:51234/callback#x":       false,
		"http://u@127.0.0.1:51234/callback":       false,
		"http://localhost:8090/callback":          false, // names are not loopback addresses
		"https://127.0.0.1:8090/callback":         false,
		"http://[::1]:40000/other":                false,
		"https://agency.example.gr:8443/callback": false,
		"http://127.0.0.2:8090/callback":          false,
	} {
		assert.Equal(t, want, n.RedirectURIAllowed(uri), uri)
	}
}

func TestRegistryLifecycle(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		reg, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen", auth.WithClock(clock.Now))
		require.NoError(t, err)

		created, secret, err := reg.Create(ctx, webClient())
		require.NoError(t, err)
		assert.Len(t, secret, 43, "256 random bits, base64url")
		assert.Equal(t, testclock.Start, created.CreatedAt)
		for _, row := range db.Dump(t, "SELECT * FROM auth_clients") {
			assert.NotContains(t, row, secret, "only the hash is stored")
		}

		_, _, err = reg.Create(ctx, webClient())
		assert.ErrorIs(t, err, auth.ErrClientExists)
		bad := webClient()
		bad.ID = "x"
		_, _, err = reg.Create(ctx, bad)
		assert.ErrorIs(t, err, auth.ErrInvalidClientMetadata)

		got, err := reg.Get(ctx, "demo-agency")
		require.NoError(t, err)
		assert.Equal(t, created, got)
		_, err = reg.Get(ctx, "nobody")
		assert.ErrorIs(t, err, auth.ErrClientNotFound)

		// The same id in another realm is another client.
		servants, err := auth.NewClientRegistry(ctx, db.DB.DB, "servant")
		require.NoError(t, err)
		_, err = servants.Get(ctx, "demo-agency")
		assert.ErrorIs(t, err, auth.ErrClientNotFound)

		clock.Advance(time.Hour)
		upd := got
		upd.Name = "Demo agency (renamed)"
		upd.CreatedAt = time.Time{}
		saved, err := reg.Update(ctx, upd)
		require.NoError(t, err)
		assert.Equal(t, testclock.Start, saved.CreatedAt, "creation time kept")
		assert.Equal(t, testclock.Start.Add(time.Hour), saved.UpdatedAt)
		sw := got
		sw.AuthMethod = auth.AuthNone
		sw.GrantTypes = []string{auth.GrantAuthorizationCode}
		_, err = reg.Update(ctx, sw)
		assert.ErrorIs(t, err, auth.ErrInvalidClientMetadata)
		ghost := webClient()
		ghost.ID = "ghost-client"
		_, err = reg.Update(ctx, ghost)
		assert.ErrorIs(t, err, auth.ErrClientNotFound)

		list, err := reg.List(ctx)
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, "Demo agency (renamed)", list[0].Name)

		// Basic authentication, secret rotation, disabling.
		basic := func(id, secret string) error {
			_, err := reg.Authenticate(ctx, tokenRequest(url.Values{"grant_type": {"client_credentials"}}, id, secret), []string{tokenEndpoint})
			return err
		}
		require.NoError(t, basic("demo-agency", secret))
		assert.Equal(t, "invalid_client", oauthCode(t, basic("demo-agency", secret+"x")))
		assert.Equal(t, "invalid_client", oauthCode(t, basic("nobody", secret)))

		newSecret, err := reg.RotateSecret(ctx, "demo-agency")
		require.NoError(t, err)
		assert.NotEqual(t, secret, newSecret)
		assert.Equal(t, "invalid_client", oauthCode(t, basic("demo-agency", secret)), "the old secret stops at once")
		require.NoError(t, basic("demo-agency", newSecret))

		require.NoError(t, reg.SetDisabled(ctx, "demo-agency", true))
		assert.Equal(t, "invalid_client", oauthCode(t, basic("demo-agency", newSecret)))
		other, err := auth.NewClientRegistry(ctx, db.OpenAnother(t), "citizen")
		require.NoError(t, err)
		_, err = other.Authenticate(ctx, tokenRequest(url.Values{}, "demo-agency", newSecret), []string{tokenEndpoint})
		assert.Error(t, err, "disabled on every instance")
		require.NoError(t, reg.SetDisabled(ctx, "demo-agency", false))
		require.NoError(t, basic("demo-agency", newSecret))
		assert.ErrorIs(t, reg.SetDisabled(ctx, "nobody", true), auth.ErrClientNotFound)
	})
}

func TestAuthenticateRequests(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx := t.Context()
	clock := testclock.New()
	reg, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen", auth.WithClock(clock.Now))
	require.NoError(t, err)
	_, secret, err := reg.Create(ctx, webClient())
	require.NoError(t, err)
	public := auth.Client{ID: "mobile-app", Name: "App", AuthMethod: auth.AuthNone,
		GrantTypes: []string{auth.GrantAuthorizationCode}, RedirectURIs: []string{"http://127.0.0.1/cb"}}
	_, noSecret, err := reg.Create(ctx, public)
	require.NoError(t, err)
	assert.Empty(t, noSecret)

	auds := []string{tokenEndpoint}
	c, err := reg.Authenticate(ctx, tokenRequest(url.Values{"client_id": {"mobile-app"}}, "", ""), auds)
	require.NoError(t, err)
	assert.Equal(t, "mobile-app", c.ID)

	cases := map[string]struct {
		req  *http.Request
		code string
	}{
		"nothing":                  {tokenRequest(url.Values{}, "", ""), "invalid_client"},
		"confidential by id alone": {tokenRequest(url.Values{"client_id": {"demo-agency"}}, "", ""), "invalid_client"},
		"client_secret_post":       {tokenRequest(url.Values{"client_id": {"demo-agency"}, "client_secret": {secret}}, "", ""), "invalid_client"},
		"mismatched client_id":     {tokenRequest(url.Values{"client_id": {"mobile-app"}}, "demo-agency", secret), "invalid_request"},
		"two methods":              {tokenRequest(url.Values{"client_assertion": {"x"}, "client_assertion_type": {auth.ClientAssertionType}}, "demo-agency", secret), "invalid_request"},
		"bad assertion type":       {tokenRequest(url.Values{"client_assertion": {"x"}, "client_assertion_type": {"saml"}}, "", ""), "invalid_request"},
		"garbage assertion":        {tokenRequest(url.Values{"client_assertion": {"x.y.z"}, "client_assertion_type": {auth.ClientAssertionType}}, "", ""), "invalid_client"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := reg.Authenticate(ctx, tc.req, auds)
			assert.Equal(t, tc.code, oauthCode(t, err))
		})
	}

	// The error response follows RFC 6749 and asks for Basic when Basic
	// failed.
	_, err = reg.Authenticate(ctx, tokenRequest(url.Values{}, "demo-agency", "wrong"), auds)
	var oe *auth.OAuthError
	require.ErrorAs(t, err, &oe)
	w := httptest.NewRecorder()
	oe.Write(w)
	assert.Equal(t, 401, w.Code)
	assert.Equal(t, `Basic realm="token", charset="UTF-8"`, w.Header().Get("WWW-Authenticate"))
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	assert.JSONEq(t, `{"error":"invalid_client","error_description":"client authentication failed"}`, w.Body.String())
}

func TestPrivateKeyJWT(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		reg, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen", auth.WithClock(clock.Now))
		require.NoError(t, err)
		jc := newJWTClient(t, "tax-system")
		_, secret, err := reg.Create(ctx, jc.client)
		require.NoError(t, err)
		assert.Empty(t, secret)
		auds := []string{tokenEndpoint, "https://id.example.gr/auth/citizen"}
		authn := func(assertion string) error {
			_, err := reg.Authenticate(ctx, tokenRequest(url.Values{
				"client_assertion": {assertion}, "client_assertion_type": {auth.ClientAssertionType},
			}, "", ""), auds)
			return err
		}
		good := jc.assertion(t, clock.Now(), nil)
		require.NoError(t, authn(good))
		assert.Equal(t, "invalid_client", oauthCode(t, authn(good)), "an assertion is used once")

		other := newJWTClient(t, "tax-system")
		bad := map[string]string{
			"other key":       other.assertion(t, clock.Now(), nil),
			"wrong audience":  jc.assertion(t, clock.Now(), func(b *jwt.Builder) *jwt.Builder { return b.Audience([]string{"https://evil.example"}) }),
			"issuer audience": "",
			"audience with an extra": jc.assertion(t, clock.Now(), func(b *jwt.Builder) *jwt.Builder {
				return b.Audience([]string{tokenEndpoint, "https://evil.example"})
			}),
			"extra before audience": jc.assertion(t, clock.Now(), func(b *jwt.Builder) *jwt.Builder {
				return b.Audience([]string{"https://evil.example", "https://id.example.gr/auth/citizen"})
			}),
			"both audiences at once": jc.assertion(t, clock.Now(), func(b *jwt.Builder) *jwt.Builder {
				return b.Audience([]string{tokenEndpoint, "https://id.example.gr/auth/citizen"})
			}),
			"sub differs":     jc.assertion(t, clock.Now(), func(b *jwt.Builder) *jwt.Builder { return b.Subject("someone-else") }),
			"expired":         jc.assertion(t, clock.Now().Add(-time.Hour), nil),
			"lives too long":  jc.assertion(t, clock.Now(), func(b *jwt.Builder) *jwt.Builder { return b.Expiration(clock.Now().Add(time.Hour)) }),
			"no jti":          jc.assertion(t, clock.Now(), func(b *jwt.Builder) *jwt.Builder { return b.JwtID("") }),
			"unknown issuer":  jc.assertion(t, clock.Now(), func(b *jwt.Builder) *jwt.Builder { return b.Issuer("nobody").Subject("nobody") }),
			"unsigned (none)": unsigned(t, jc, clock.Now()),
		}
		delete(bad, "issuer audience")
		for name, a := range bad {
			t.Run(name, func(t *testing.T) { assert.Equal(t, "invalid_client", oauthCode(t, authn(a))) })
		}
		// The issuer URL is an accepted audience too, and so is "aud" as a
		// single string rather than an array of one.
		require.NoError(t, authn(jc.assertion(t, clock.Now(), func(b *jwt.Builder) *jwt.Builder {
			return b.Audience([]string{"https://id.example.gr/auth/citizen"})
		})))
		require.NoError(t, authn(jc.assertion(t, clock.Now(), func(b *jwt.Builder) *jwt.Builder {
			return b.Claim(jwt.AudienceKey, tokenEndpoint)
		})))

		// Purge forgets expired ids only.
		clock.Advance(2 * time.Minute)
		n, err := reg.PurgeAssertions(ctx, clock.Now())
		require.NoError(t, err)
		assert.Equal(t, int64(3), n)
	})
}

func unsigned(t *testing.T, jc jwtClient, now time.Time) string {
	tok, err := jwt.NewBuilder().Issuer(jc.client.ID).Subject(jc.client.ID).Audience([]string{tokenEndpoint}).
		Expiration(now.Add(time.Minute)).JwtID("none-1").Build()
	require.NoError(t, err)
	b, err := jwt.Sign(tok, jwt.WithInsecureNoSignature())
	require.NoError(t, err)
	return string(b)
}

// TestAssertionReplayAcrossInstances presents one assertion to two
// registries on two pools at once, many times over: exactly one succeeds.
func TestAssertionReplayAcrossInstances(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		a, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen")
		require.NoError(t, err)
		b, err := auth.NewClientRegistry(ctx, db.OpenAnother(t), "citizen")
		require.NoError(t, err)
		jc := newJWTClient(t, "tax-system")
		_, _, err = a.Create(ctx, jc.client)
		require.NoError(t, err)
		assertion := jc.assertion(t, time.Now(), nil)
		var ok, refused atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				reg := []*auth.ClientRegistry{a, b}[i%2]
				_, err := reg.Authenticate(context.Background(), tokenRequest(url.Values{
					"client_assertion": {assertion}, "client_assertion_type": {auth.ClientAssertionType},
				}, "", ""), []string{tokenEndpoint})
				var oe *auth.OAuthError
				switch {
				case err == nil:
					ok.Add(1)
				case errors.As(err, &oe) && oe.Code == "invalid_client":
					refused.Add(1)
				default:
					t.Errorf("unexpected: %v", err)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(1), ok.Load())
		assert.Equal(t, int32(15), refused.Load())
	})
}

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

func TestImportWithAgreedSecret(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx := t.Context()
	reg, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen")
	require.NoError(t, err)
	_, err = reg.Import(ctx, webClient(), "short")
	assert.ErrorIs(t, err, auth.ErrInvalidClientMetadata)
	_, err = reg.Import(ctx, newJWTClient(t, "jwt-client").client, "a-long-enough-secret")
	assert.ErrorIs(t, err, auth.ErrInvalidClientMetadata)

	_, err = reg.Import(ctx, webClient(), "demo-agency-secret")
	require.NoError(t, err)
	_, err = reg.Authenticate(ctx, tokenRequest(url.Values{}, "demo-agency", "demo-agency-secret"), []string{tokenEndpoint})
	assert.NoError(t, err)
	_, err = reg.Import(ctx, webClient(), "demo-agency-secret")
	assert.ErrorIs(t, err, auth.ErrClientExists)
}

// TestAssertionsRecordedTogether: assertions presented at once are recorded
// in groups; each new one is accepted, and one presented by several
// requests of the same group or of different groups is accepted once.
func TestAssertionsRecordedTogether(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		reg, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen")
		require.NoError(t, err)
		jc := newJWTClient(t, "tax-system")
		_, _, err = reg.Create(ctx, jc.client)
		require.NoError(t, err)
		shared := jc.assertion(t, time.Now(), nil)
		own := make([]string, 100)
		for i := range own {
			own[i] = jc.assertion(t, time.Now(), nil)
		}
		authenticate := func(assertion string) error {
			_, err := reg.Authenticate(context.Background(), tokenRequest(url.Values{
				"client_assertion": {assertion}, "client_assertion_type": {auth.ClientAssertionType},
			}, "", ""), []string{tokenEndpoint})
			return err
		}
		var sharedOK atomic.Int32
		var wg sync.WaitGroup
		for i := range own {
			wg.Go(func() {
				assert.NoError(t, authenticate(own[i]), "a new assertion is accepted")
			})
			wg.Go(func() {
				if err := authenticate(shared); err == nil {
					sharedOK.Add(1)
				} else {
					var oe *auth.OAuthError
					assert.True(t, errors.As(err, &oe) && oe.Code == "invalid_client", "%v", err)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), sharedOK.Load(), "the shared assertion is accepted once")
		for _, a := range own[:5] {
			assert.Error(t, authenticate(a), "replayed later")
		}
	})
}
