package rp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/internal/keys"
)

func Example() {
	// A stand-in for the identity provider: its key set and JWKS.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	provider, _ := keys.NewStatic(key)
	jwks := httptest.NewServer(provider.JWKSHandler())
	defer jwks.Close()

	v, err := rp.NewVerifier(rp.Config{
		Issuer:   "https://id.example.gr/auth/citizen",
		Audience: "https://tax.example.gr/api",
		JWKSURL:  jwks.URL,
	})
	if err != nil {
		panic(err)
	}
	api := v.Middleware(rp.RequireScopes("declarations:read"), rp.RequireACR(rp.LoASubstantial))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, _ := rp.FromContext(r.Context())
			fmt.Fprintf(w, "hello %s via %s", id.Subject, id.ClientID)
		}))

	issue := func(acr string) string {
		tok, _ := jwt.NewBuilder().Issuer("https://id.example.gr/auth/citizen").Subject("c-42").
			Audience([]string{"https://tax.example.gr/api"}).Expiration(time.Now().Add(time.Minute)).
			Claim("client_id", "tax-portal").Claim("scope", "declarations:read").Claim("acr", acr).Build()
		signed, _ := provider.SignJWT(context.Background(), tok, keys.WithType("at+jwt"))
		return string(signed)
	}
	for _, acr := range []string{rp.LoASubstantial, rp.LoALow} {
		r := httptest.NewRequest("GET", "/api/declarations", nil)
		r.Header.Set("Authorization", "Bearer "+issue(acr))
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		if w.Code == http.StatusOK {
			fmt.Println(w.Code, w.Body.String())
		} else {
			fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}
	// Output:
	// 200 hello c-42 via tax-portal
	// 401 Bearer realm="https://tax.example.gr/api", error="insufficient_user_authentication", error_description="a higher level of authentication is required", acr_values="http://eidas.europa.eu/LoA/substantial"
}
