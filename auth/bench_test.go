package auth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

const benchIssuer = "https://id.example.gr/auth/citizen"

// benchProvider is a citizen-realm provider on a fresh SQLite database.
func benchProvider(b *testing.B) (*auth.ClientRegistry, *keys.Manager, http.Handler) {
	b.Helper()
	db := sqltest.SQLite(b)
	ctx := context.Background()
	reg, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen")
	require.NoError(b, err)
	kek, _ := keys.GenerateKEK()
	ks, err := keys.New(ctx, db.DB.DB, "auth/citizen", kek)
	require.NoError(b, err)
	p, err := auth.NewProvider(ctx, auth.ProviderConfig{Issuer: benchIssuer, Keys: ks, Clients: reg})
	require.NoError(b, err)
	return reg, ks, p.Handler()
}

// BenchmarkClientCredentials issues access tokens through the token
// endpoint on SQLite: parse the form, verify the client's private_key_jwt
// assertion against its registered key, record its jti, sign an RFC 9068
// access token. Beside it, in the same run, the two signatures alone (the
// client's assertion and the provider's token), which are the floor. The
// assertions are made before the timer starts, as clients make them.
//
//	go test -run '^$' -bench ClientCredentials -benchmem ./auth/
func BenchmarkClientCredentials(b *testing.B) {
	ctx := context.Background()
	reg, ks, h := benchProvider(b)
	jc := newJWTClient(b, "tax-system")
	_, _, err := reg.Create(ctx, jc.client)
	require.NoError(b, err)

	sign := func(i int) string {
		now := time.Now()
		tok, _ := jwt.NewBuilder().Issuer(jc.client.ID).Subject(jc.client.ID).Audience([]string{benchIssuer + "/token"}).
			IssuedAt(now).Expiration(now.Add(time.Minute)).JwtID(fmt.Sprint("bench-", i, "-", now.UnixNano())).Build()
		s, _ := jwt.Sign(tok, jwt.WithKey(jwa.ES256, jc.key))
		return string(s)
	}

	b.Run("token-endpoint/sqlite", func(b *testing.B) {
		bodies := make([]string, b.N)
		for i := range bodies {
			bodies[i] = url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {auth.ClientAssertionType},
				"client_assertion": {sign(i)}}.Encode()
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r := httptest.NewRequest("POST", "/token", strings.NewReader(bodies[i]))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatal(w.Code, w.Body.String())
			}
		}
	})
	b.Run("baseline-verify-assertion+sign-token", func(b *testing.B) {
		assertions := make([]string, b.N)
		for i := range assertions {
			assertions[i] = sign(i)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := jwt.ParseString(assertions[i], jwt.WithKey(jwa.ES256, jc.key.Public())); err != nil {
				b.Fatal(err)
			}
			tok, _ := jwt.NewBuilder().Issuer(benchIssuer).Subject("tax-system").Audience(jc.client.Audience).
				Expiration(time.Now().Add(10 * time.Minute)).Build()
			if _, err := ks.SignJWT(ctx, tok, keys.WithType("at+jwt")); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkIntrospection introspects one valid token through the endpoint
// on SQLite, from parallel callers authenticating with HTTP Basic: client
// lookup, signature and claims check, revocation lookup. Beside it the
// signature check alone, the floor. Target: 20,000 per second on 2 cores.
//
//	go test -run '^$' -bench Introspection -benchmem ./auth/
func BenchmarkIntrospection(b *testing.B) {
	ctx := context.Background()
	reg, ks, h := benchProvider(b)
	_, secret, err := reg.Create(ctx, webClient())
	require.NoError(b, err)
	api := registryAPI()
	api.ResourceServer = "https://agency.example.gr/api"
	_, apiSecret, err := reg.Create(ctx, api)
	require.NoError(b, err)

	r := httptest.NewRequest("POST", "/token", strings.NewReader("grant_type=client_credentials"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("demo-agency", secret)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(b, 200, w.Code)
	var tr auth.TokenResponse
	require.NoError(b, json.Unmarshal(w.Body.Bytes(), &tr))
	body := url.Values{"token": {tr.AccessToken}}.Encode()

	b.Run("introspection-endpoint/sqlite/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r := httptest.NewRequest("POST", "/introspect", strings.NewReader(body))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.SetBasicAuth("registry-api", apiSecret)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 || !strings.Contains(w.Body.String(), `"active":true`) {
					b.Fatal(w.Code, w.Body.String())
				}
			}
		})
	})
	b.Run("baseline-verify-signature/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := ks.Verify(ctx, []byte(tr.AccessToken)); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
