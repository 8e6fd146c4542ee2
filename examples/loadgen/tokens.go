package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// kindToken is the one kind of -mode tokens: a client_credentials token
// taken with a private_key_jwt assertion.
const kindToken = "token"

// tokenClient is an agency's system that authenticates with its own key
// (private_key_jwt) and takes client_credentials tokens: each request
// carries an assertion it has just signed, with an id of its own, as the
// provider refuses an assertion it has seen before.
type tokenClient struct {
	p   *portal
	id  string
	key *ecdsa.PrivateKey
	// endpoint is the token endpoint, also the assertions' audience.
	endpoint string
}

// registerTokenClient registers a client of the citizens' realm that
// takes client_credentials tokens with private_key_jwt, through the client
// administration API, with a key made for the run.
func registerTokenClient(ctx context.Context, p *portal) (*tokenClient, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	pub, err := jwk.FromRaw(key.Public())
	if err != nil {
		return nil, err
	}
	if err := pub.Set(jwk.KeyIDKey, "loadgen-1"); err != nil {
		return nil, err
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return nil, err
	}
	id := "loadgen-system-" + rand.Text()[:8]
	req := p.json("POST", "/auth/citizen/admin/clients", p.admin, map[string]any{
		"client_id": id, "client_name": "Load generator (system)", "token_endpoint_auth_method": "private_key_jwt",
		"grant_types": []string{"client_credentials"}, "jwks": set,
		"scope": []string{"registry:read"}, "audience": []string{"https://registry.example.gr"}})
	if _, _, err := p.do(ctx, p.http, "registering the load's system client (is EGOVKIT_ADMIN_TOKEN the -admin-token?)", req, http.StatusCreated); err != nil {
		return nil, err
	}
	return &tokenClient{p: p, id: id, key: key, endpoint: p.base + "/auth/citizen/token"}, nil
}

// take signs a fresh assertion and exchanges it for an access token.
func (c *tokenClient) take(ctx context.Context) error {
	now := time.Now()
	tok, err := jwt.NewBuilder().Issuer(c.id).Subject(c.id).Audience([]string{c.endpoint}).
		IssuedAt(now).Expiration(now.Add(time.Minute)).JwtID(rand.Text()).Build()
	if err != nil {
		return err
	}
	assertion, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, c.key))
	if err != nil {
		return err
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion": {string(assertion)}}
	req, _ := http.NewRequest("POST", c.endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, body, err := c.p.do(ctx, c.p.http, "token", req, http.StatusOK)
	if err != nil {
		return err
	}
	var answer struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.AccessToken == "" {
		return fmt.Errorf("token: no access token in %.200s", body)
	}
	return nil
}
