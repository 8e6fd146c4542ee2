package keys_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// The payload of a typical access token or signed document.
var benchPayload = []byte(`{"iss":"https://id.example.gr/citizen","sub":"a1b2c3","aud":"agency","exp":1795000000,"iat":1794996400,"acr":"http://eidas.europa.eu/LoA/substantial","scope":"openid profile"}`)

// benchSets returns, for one algorithm, the database-backed Manager, a
// Static set, and a raw key of the same type for the jwx baseline.
func benchSets(b *testing.B, alg keys.Alg) (*keys.Manager, *keys.Static, crypto.Signer) {
	b.Helper()
	db := sqltest.SQLite(b)
	m, err := keys.New(context.Background(), db.DB.DB, "bench", kek(b), keys.WithAlgorithm(alg))
	require.NoError(b, err)
	var raw crypto.Signer
	if alg == keys.EdDSA {
		_, raw, err = ed25519.GenerateKey(rand.Reader)
	} else {
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	require.NoError(b, err)
	s, err := keys.NewStatic(raw)
	require.NoError(b, err)
	return m, s, raw
}

// BenchmarkSign runs the key sets beside raw jws.Sign with a key of the same
// type and the same kid header, in the same run; the ratio is the cost of
// key management (snapshot lookup, header building).
//
//	go test -run '^$' -bench 'Sign|Verify' -benchmem ./internal/keys/
func BenchmarkSign(b *testing.B) {
	ctx := context.Background()
	for _, alg := range []keys.Alg{keys.ES256, keys.EdDSA} {
		m, s, raw := benchSets(b, alg)
		b.Run(alg.String()+"/manager", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Sign(ctx, benchPayload); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg.String()+"/static", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Sign(ctx, benchPayload); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg.String()+"/jwx", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h := jws.NewHeaders()
				_ = h.Set(jws.KeyIDKey, "bench-kid")
				if _, err := jws.Sign(benchPayload, jws.WithKey(alg, raw, jws.WithProtectedHeaders(h))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSignJWT signs an access token's claims built with jwx, as the
// provider does, through the key set beside jwt.Sign with a raw key of the
// same type and the same kid, in the same run.
//
//	go test -run '^$' -bench SignJWT -benchmem -count 5 ./internal/keys/
func BenchmarkSignJWT(b *testing.B) {
	ctx := context.Background()
	now := time.Now()
	tok, err := jwt.NewBuilder().Issuer("https://id.example.gr/citizen").Subject("a1b2c3").Audience([]string{"agency"}).
		IssuedAt(now).Expiration(now.Add(time.Hour)).JwtID("0123456789abcdef").
		Claim("scope", "openid profile").Claim("client_id", "agency").Build()
	require.NoError(b, err)
	for _, alg := range []keys.Alg{keys.ES256, keys.EdDSA} {
		m, _, raw := benchSets(b, alg)
		b.Run(alg.String()+"/manager", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.SignJWT(ctx, tok, keys.WithType("at+jwt")); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg.String()+"/jwx", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h := jws.NewHeaders()
				_ = h.Set(jws.KeyIDKey, "bench-kid")
				_ = h.Set(jws.TypeKey, "at+jwt")
				if _, err := jwt.Sign(tok, jwt.WithKey(alg, raw, jws.WithProtectedHeaders(h))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify runs the key sets beside raw jws.Verify given the public
// key directly.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	for _, alg := range []keys.Alg{keys.ES256, keys.EdDSA} {
		m, _, raw := benchSets(b, alg)
		tok, err := m.Sign(ctx, benchPayload)
		require.NoError(b, err)
		h := jws.NewHeaders()
		_ = h.Set(jws.KeyIDKey, "bench-kid")
		rawTok, err := jws.Sign(benchPayload, jws.WithKey(alg, raw, jws.WithProtectedHeaders(h)))
		require.NoError(b, err)
		b.Run(alg.String()+"/manager", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg.String()+"/jwx", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := jws.Verify(rawTok, jws.WithKey(alg, raw.Public())); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
