package rp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/internal/keys"
)

// BenchmarkVerify runs the relying-party verification (key lookup by kid,
// algorithm and type checks, iss, aud, exp, nbf, claims read into an
// Identity) beside a bare jwt.Parse with the same key and token, in the same
// run. The target is within 15% of the baseline.
//
//	go test -run '^$' -bench . -benchmem ./auth/rp/
func BenchmarkVerify(b *testing.B) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(b, err)
	set, err := keys.NewStatic(k)
	require.NoError(b, err)
	srv := httptest.NewServer(set.JWKSHandler())
	defer srv.Close()
	const iss = "https://id.example.gr/citizen"
	tok, err := jwt.NewBuilder().Issuer(iss).Subject("citizen-7f3a").Audience([]string{audience}).
		IssuedAt(time.Now()).Expiration(time.Now().Add(time.Hour)).
		Claim("client_id", "demo-agency").Claim("scope", "openid declarations:read").
		Claim("acr", rp.LoASubstantial).Build()
	require.NoError(b, err)
	signed, err := set.SignJWT(context.Background(), tok, keys.WithType("at+jwt"))
	require.NoError(b, err)
	raw := string(signed)

	v, err := rp.NewVerifier(rp.Config{Issuer: iss, Audience: audience, JWKSURL: srv.URL})
	require.NoError(b, err)
	_, err = v.Verify(context.Background(), raw) // warm the key cache
	require.NoError(b, err)

	b.Run("rp.Verify", func(b *testing.B) {
		b.ReportAllocs()
		ctx := context.Background()
		for b.Loop() {
			if _, err := v.Verify(ctx, raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rp.Middleware", func(b *testing.B) {
		h := v.Middleware(rp.RequireScopes("declarations:read"), rp.RequireACR(rp.LoASubstantial))(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+raw)
		w := httptest.NewRecorder()
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, r)
		}
	})
	b.Run("jwx-jwt.Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jwt.ParseString(raw, jwt.WithKey(jwa.ES256, k.Public()), jwt.WithValidate(true)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
