package rp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/testclock"
)

const audience = "https://agency.example.gr/api"

// issuer is a stand-in provider: discovery, a JWKS that can be swapped, and
// a signer for tokens.
type issuer struct {
	srv       *httptest.Server
	set       atomic.Pointer[keys.Static]
	jwksHits  atomic.Int32
	discovery atomic.Int32
	down      atomic.Bool
	clock     *testclock.Clock
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	is := &issuer{clock: testclock.New()}
	is.rotate(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		is.discovery.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"issuer":"` + is.srv.URL + `","jwks_uri":"` + is.srv.URL + `/jwks"}`))
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		is.jwksHits.Add(1)
		if is.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		is.set.Load().JWKSHandler().ServeHTTP(w, r)
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

// rotate replaces the signing key; the old one is no longer published.
func (is *issuer) rotate(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	s, err := keys.NewStatic(k, keys.WithStaticClock(is.clock.Now))
	require.NoError(t, err)
	is.set.Store(s)
}

type claims map[string]any

func (is *issuer) token(t testing.TB, extra claims, opts ...keys.SignOption) string {
	t.Helper()
	now := is.clock.Now()
	b := jwt.NewBuilder().Issuer(is.srv.URL).Subject("citizen-7f3a").Audience([]string{audience}).
		IssuedAt(now).Expiration(now.Add(5*time.Minute)).
		Claim("client_id", "demo-agency").Claim("scope", "openid declarations:read").
		Claim("acr", rp.LoASubstantial).Claim("auth_time", now.Add(-time.Minute).Unix())
	for k, v := range extra {
		b = b.Claim(k, v)
	}
	tok, err := b.Build()
	require.NoError(t, err)
	if len(opts) == 0 {
		opts = []keys.SignOption{keys.WithType("at+jwt")}
	}
	signed, err := is.set.Load().SignJWT(context.Background(), tok, opts...)
	require.NoError(t, err)
	return string(signed)
}

func (is *issuer) verifier(t *testing.T) *rp.Verifier {
	t.Helper()
	v, err := rp.NewVerifier(rp.Config{Issuer: is.srv.URL, Audience: audience, Now: is.clock.Now, HTTPClient: is.srv.Client()})
	require.NoError(t, err)
	return v
}

func TestVerifyValidToken(t *testing.T) {
	is := newIssuer(t)
	v := is.verifier(t)
	id, err := v.Verify(t.Context(), is.token(t, nil))
	require.NoError(t, err)
	assert.Equal(t, "citizen-7f3a", id.Subject)
	assert.Equal(t, "demo-agency", id.ClientID)
	assert.Equal(t, []string{"openid", "declarations:read"}, id.Scopes)
	assert.True(t, id.HasScope("declarations:read"))
	assert.Equal(t, rp.LoASubstantial, id.ACR)
	assert.Equal(t, is.clock.Now().Add(-time.Minute).Unix(), id.AuthTime.Unix())
	assert.Equal(t, int32(1), is.discovery.Load(), "the JWKS location came from discovery")

	for i := 0; i < 5; i++ {
		_, err := v.Verify(t.Context(), is.token(t, nil))
		require.NoError(t, err)
	}
	assert.Equal(t, int32(1), is.jwksHits.Load(), "keys are cached")
}

func TestVerifyRejects(t *testing.T) {
	is := newIssuer(t)
	v := is.verifier(t)
	good := is.token(t, nil)
	parts := strings.Split(good, ".")
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	foreignSet, _ := keys.NewStatic(other)
	foreignTok, _ := jwt.NewBuilder().Issuer(is.srv.URL).Subject("x").Audience([]string{audience}).Expiration(is.clock.Now().Add(time.Minute)).Build()
	foreign, _ := foreignSet.SignJWT(t.Context(), foreignTok, keys.WithType("at+jwt"))
	hdr := func(h string) string { return base64.RawURLEncoding.EncodeToString([]byte(h)) }

	tests := map[string]string{
		"wrong issuer":         is.token(t, claims{"iss": "https://evil.example"}),
		"wrong audience":       is.token(t, claims{"aud": "https://other.example"}),
		"expired":              is.token(t, claims{"exp": is.clock.Now().Add(-31 * time.Second).Unix()}),
		"not yet valid":        is.token(t, claims{"nbf": is.clock.Now().Add(time.Minute).Unix()}),
		"ID token, not at+jwt": is.token(t, nil, keys.WithType("JWT")),
		"no type":              is.token(t, nil, keys.WithHeader("x", "y")),
		"tampered":             parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin"}`)) + "." + parts[2],
		"alg none":             hdr(`{"alg":"none","typ":"at+jwt"}`) + "." + parts[1] + ".",
		"unknown key":          string(foreign),
		"garbage":              "abc",
		"empty":                "",
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), tok)
			var e *rp.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, http.StatusUnauthorized, e.Status())
		})
	}
	// Within the leeway an expired token still passes.
	_, err := v.Verify(t.Context(), is.token(t, claims{"exp": is.clock.Now().Add(-29 * time.Second).Unix()}))
	assert.NoError(t, err)

	// HS256 signed with the published key as the secret is refused.
	pub, _ := is.set.Load().PublicSet(t.Context())
	k, _ := pub.Key(0)
	h := jws.NewHeaders()
	_ = h.Set(jws.KeyIDKey, k.KeyID())
	_ = h.Set(jws.TypeKey, "at+jwt")
	tok, _ := jwt.NewBuilder().Issuer(is.srv.URL).Subject("x").Audience([]string{audience}).Expiration(is.clock.Now().Add(time.Minute)).Build()
	hs, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256, []byte(k.KeyID()), jws.WithProtectedHeaders(h)))
	require.NoError(t, err)
	_, err = v.Verify(t.Context(), string(hs))
	assert.Error(t, err)
}

func TestKeyRotationAndRefetchCooldown(t *testing.T) {
	is := newIssuer(t)
	v := is.verifier(t)
	_, err := v.Verify(t.Context(), is.token(t, nil))
	require.NoError(t, err)
	require.Equal(t, int32(1), is.jwksHits.Load())

	// A provider publishes a new key well before it signs (the publish
	// lead), so the cooldown never delays a genuine rotation.
	is.clock.Advance(31 * time.Second)
	is.rotate(t)
	_, err = v.Verify(t.Context(), is.token(t, nil))
	require.NoError(t, err, "a new key is fetched on first sight")
	assert.Equal(t, int32(2), is.jwksHits.Load())

	// Forged kids do not make the verifier hammer the provider.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forger, _ := keys.NewStatic(other)
	forged, _ := jwt.NewBuilder().Issuer(is.srv.URL).Subject("x").Audience([]string{audience}).Expiration(is.clock.Now().Add(time.Minute)).Build()
	ft, _ := forger.SignJWT(t.Context(), forged, keys.WithType("at+jwt"))
	for i := 0; i < 20; i++ {
		_, err := v.Verify(t.Context(), string(ft))
		require.Error(t, err)
	}
	assert.Equal(t, int32(2), is.jwksHits.Load(), "at most one fetch per cooldown")
	is.clock.Advance(31 * time.Second)
	_, _ = v.Verify(t.Context(), string(ft))
	assert.Equal(t, int32(3), is.jwksHits.Load())
}

// TestKeySource verifies with keys handed over in process: no discovery,
// no HTTP, the same checks, and a rotated key is asked for again.
func TestKeySource(t *testing.T) {
	is := newIssuer(t)
	var asked atomic.Int32
	v, err := rp.NewVerifier(rp.Config{Issuer: is.srv.URL, Audience: audience, Now: is.clock.Now,
		KeySource: func(ctx context.Context) ([]byte, error) {
			asked.Add(1)
			set, err := is.set.Load().PublicSet(ctx)
			if err != nil {
				return nil, err
			}
			return json.Marshal(set)
		}})
	require.NoError(t, err)
	id, err := v.Verify(t.Context(), is.token(t, nil))
	require.NoError(t, err)
	assert.Equal(t, "citizen-7f3a", id.Subject)
	assert.Equal(t, int32(1), asked.Load())
	assert.Zero(t, is.discovery.Load()+is.jwksHits.Load(), "nothing went over HTTP")

	_, err = v.Verify(t.Context(), is.token(t, claims{"aud": "https://other.example.gr"}))
	assert.Error(t, err, "the audience is still checked")
	is.clock.Advance(31 * time.Second)
	is.rotate(t)
	_, err = v.Verify(t.Context(), is.token(t, nil))
	require.NoError(t, err, "a new key is asked for on first sight")
	assert.Equal(t, int32(2), asked.Load())
}

func TestProviderUnavailable(t *testing.T) {
	is := newIssuer(t)
	is.down.Store(true)
	v := is.verifier(t)
	_, err := v.Verify(t.Context(), is.token(t, nil))
	require.Error(t, err)
	is.down.Store(false)
	_, err = v.Verify(t.Context(), is.token(t, nil))
	require.Error(t, err, "within the cooldown the failure is remembered")
	is.clock.Advance(31 * time.Second)
	_, err = v.Verify(t.Context(), is.token(t, nil))
	require.NoError(t, err, "after it the keys are fetched again")

	// Once keys are known, an outage does not stop verification.
	is.down.Store(true)
	is.clock.Advance(2 * time.Hour)
	_, err = v.Verify(t.Context(), is.token(t, nil))
	assert.NoError(t, err)
}

// TestKeysUnavailableIs503: when the provider's keys cannot be had (its
// JWKS does not answer, or an in-process key source fails on its
// database), a token is not judged: the answer is 503 with Retry-After,
// never 401 invalid_token, and the same token passes once keys return.
func TestKeysUnavailableIs503(t *testing.T) {
	is := newIssuer(t)
	var broken atomic.Bool
	broken.Store(true)
	inProcess, err := rp.NewVerifier(rp.Config{Issuer: is.srv.URL, Audience: audience, Now: is.clock.Now,
		KeySource: func(ctx context.Context) ([]byte, error) {
			if broken.Load() {
				return nil, errors.New("database is closed")
			}
			set, err := is.set.Load().PublicSet(ctx)
			if err != nil {
				return nil, err
			}
			return json.Marshal(set)
		}})
	require.NoError(t, err)
	is.down.Store(true)
	for name, v := range map[string]*rp.Verifier{"key source": inProcess, "JWKS over HTTP": is.verifier(t)} {
		_, err := v.Verify(t.Context(), is.token(t, nil))
		require.ErrorIs(t, err, rp.ErrKeysUnavailable, name)
		var e *rp.Error
		require.ErrorAs(t, err, &e, name)
		assert.Equal(t, rp.CodeTemporarilyUnavailable, e.Code, name)

		h := v.Middleware(rp.RequireScopes("declarations:read"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("ok"))
		}))
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/declarations", nil)
		r.Header.Set("Authorization", "Bearer "+is.token(t, nil))
		h.ServeHTTP(w, r)
		assert.Equal(t, http.StatusServiceUnavailable, w.Code, name)
		assert.Equal(t, "5", w.Header().Get("Retry-After"), name)
		assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"), name)
		assert.Contains(t, w.Body.String(), "unavailable", name)
		assert.NotContains(t, w.Header().Get("WWW-Authenticate"), "invalid_token", name)

		// A forged token is still not let through while keys are missing.
		w = httptest.NewRecorder()
		r.Header.Set("Authorization", "Bearer "+is.token(t, nil)+"x")
		h.ServeHTTP(w, r)
		assert.NotEqual(t, http.StatusOK, w.Code, name)
	}
	broken.Store(false)
	is.down.Store(false)
	is.clock.Advance(31 * time.Second)
	for name, v := range map[string]*rp.Verifier{"key source": inProcess} {
		_, err := v.Verify(t.Context(), is.token(t, nil))
		assert.NoError(t, err, name)
	}
}

func TestMiddleware(t *testing.T) {
	is := newIssuer(t)
	v := is.verifier(t)
	h := v.Middleware(rp.RequireScopes("declarations:read"), rp.RequireACR(rp.LoASubstantial))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, ok := rp.FromContext(r.Context())
			require.True(t, ok)
			w.Write([]byte(id.Subject))
		}))
	call := func(auth ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/declarations", nil)
		for _, a := range auth {
			r.Header.Add("Authorization", a)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	w := call("Bearer " + is.token(t, nil))
	assert.Equal(t, 200, w.Code)
	assert.Equal(t, "citizen-7f3a", w.Body.String())
	w = call("bearer " + is.token(t, nil))
	assert.Equal(t, 200, w.Code, "the scheme is case-insensitive")

	w = call()
	assert.Equal(t, 401, w.Code)
	assert.Equal(t, `Bearer realm="`+audience+`"`, w.Header().Get("WWW-Authenticate"), "no error code without a token (RFC 6750 3.1)")
	assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))

	w = call("Basic dXNlcjpwYXNz")
	assert.Equal(t, 401, w.Code)

	w = call("Bearer a", "Bearer b")
	assert.Equal(t, 400, w.Code)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), `error="invalid_request"`)

	w = call("Bearer " + is.token(t, claims{"exp": is.clock.Now().Add(-time.Hour).Unix()}))
	assert.Equal(t, 401, w.Code)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), `error="invalid_token"`)

	w = call("Bearer " + is.token(t, claims{"scope": "openid"}))
	assert.Equal(t, 403, w.Code)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), `error="insufficient_scope"`)
	assert.Contains(t, w.Header().Get("WWW-Authenticate"), `scope="declarations:read"`)

	w = call("Bearer " + is.token(t, claims{"acr": rp.LoALow}))
	assert.Equal(t, 401, w.Code)
	www := w.Header().Get("WWW-Authenticate")
	assert.Contains(t, www, `error="insufficient_user_authentication"`)
	assert.Contains(t, www, `acr_values="`+rp.LoASubstantial+`"`)

	w = call("Bearer " + is.token(t, claims{"acr": rp.LoAHigh}))
	assert.Equal(t, 200, w.Code, "a higher level satisfies a lower requirement")
	w = call("Bearer " + is.token(t, claims{"acr": "urn:unknown"}))
	assert.Equal(t, 401, w.Code, "an unknown level counts as none")
}

func TestConfig(t *testing.T) {
	_, err := rp.NewVerifier(rp.Config{Audience: "a"})
	assert.Error(t, err)
	_, err = rp.NewVerifier(rp.Config{Issuer: "https://x"})
	assert.Error(t, err)
	_, ok := rp.FromContext(context.Background())
	assert.False(t, ok)
	var e *rp.Error
	assert.False(t, errors.As(nil, &e))
}

func FuzzVerify(f *testing.F) {
	is := &issuer{clock: testclock.New()}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := keys.NewStatic(k)
	is.set.Store(s)
	srv := httptest.NewServer(s.JWKSHandler())
	defer srv.Close()
	v, err := rp.NewVerifier(rp.Config{Issuer: "https://id.example.gr", Audience: audience, JWKSURL: srv.URL, Now: is.clock.Now})
	require.NoError(f, err)
	for _, s := range []string{"", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "..", strings.Repeat("A", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		id, err := v.Verify(context.Background(), raw)
		if err == nil {
			t.Fatalf("random input accepted as %+v", id)
		}
		var e *rp.Error
		if !errors.As(err, &e) {
			t.Fatalf("untyped error %v", err)
		}
	})
}
