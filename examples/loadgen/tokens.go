package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// tokenAudience is the resource server the system client's tokens are
// for: the one -mode introspect registers.
const tokenAudience = "https://registry.example.gr"

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
		"scope": []string{"registry:read"}, "audience": []string{tokenAudience}})
	if _, _, err := p.do(ctx, p.http, "registering the load's system client (is EGOVKIT_ADMIN_TOKEN the -admin-token?)", req, http.StatusCreated); err != nil {
		return nil, err
	}
	return &tokenClient{p: p, id: id, key: key, endpoint: p.base + "/auth/citizen/token"}, nil
}

// take signs a fresh assertion and exchanges it for an access token.
func (c *tokenClient) take(ctx context.Context) error {
	_, err := c.token(ctx)
	return err
}

// token signs a fresh assertion and returns the access token it is
// exchanged for.
func (c *tokenClient) token(ctx context.Context) (string, error) {
	now := time.Now()
	tok, err := jwt.NewBuilder().Issuer(c.id).Subject(c.id).Audience([]string{c.endpoint}).
		IssuedAt(now).Expiration(now.Add(time.Minute)).JwtID(rand.Text()).Build()
	if err != nil {
		return "", err
	}
	assertion, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, c.key))
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion": {string(assertion)}}
	req, _ := http.NewRequest("POST", c.endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, body, err := c.p.do(ctx, c.p.http, "token", req, http.StatusOK)
	if err != nil {
		return "", err
	}
	var answer struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.AccessToken == "" {
		return "", fmt.Errorf("token: no access token in %.200s", body)
	}
	return answer.AccessToken, nil
}

// kindIntrospect is the one kind of -mode introspect: a resource server
// asking whether a token it was handed is active.
const kindIntrospect = "introspect"

// introspector is a resource server (the civil registry's API in the
// demo's words) that authenticates with its secret and asks the portal
// about the tokens its callers present. Each token is asked about once, as
// when every request carries another caller's token: the provider has not
// verified it before.
type introspector struct {
	p          *portal
	id, secret string
	tokens     []string
	next       atomic.Int64
	endpoint   string
}

// newIntrospector registers the resource server and takes n fresh tokens
// for it with the system client c, from 16 workers, before the load starts.
func newIntrospector(ctx context.Context, p *portal, c *tokenClient, n int, stderr io.Writer) (*introspector, error) {
	id := "loadgen-registry-" + rand.Text()[:8]
	req := p.json("POST", "/auth/citizen/admin/clients", p.admin, map[string]any{
		"client_id": id, "client_name": "Load generator (resource server)", "token_endpoint_auth_method": "client_secret_basic",
		"grant_types": []string{"client_credentials"}, "audience": []string{"https://other.example.gr"},
		"resource_server": tokenAudience})
	_, body, err := p.do(ctx, p.http, "registering the load's resource server", req, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	var created struct {
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal(body, &created); err != nil || created.Secret == "" {
		return nil, fmt.Errorf("registering the load's resource server: no secret in %.200s", body)
	}
	in := &introspector{p: p, id: id, secret: created.Secret, tokens: make([]string, n),
		endpoint: p.base + "/auth/citizen/introspect"}
	fmt.Fprintf(stderr, "taking %d tokens to introspect…\n", n)
	var (
		taken  atomic.Int64
		failed atomic.Pointer[error]
		wg     sync.WaitGroup
	)
	for range 16 {
		wg.Go(func() {
			for failed.Load() == nil {
				i := taken.Add(1) - 1
				if i >= int64(n) {
					return
				}
				tok, err := c.token(ctx)
				if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				in.tokens[i] = tok
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		return nil, *err
	}
	return in, nil
}

// ask introspects the next token, which must be active.
func (in *introspector) ask(ctx context.Context) error {
	i := in.next.Add(1) - 1
	if i >= int64(len(in.tokens)) {
		// Nothing left to ask about: this worker stops until the run ends,
		// and says why once.
		<-ctx.Done()
		return errors.New("introspect: every token taken beforehand was used; give a larger -tokens")
	}
	req, _ := http.NewRequest("POST", in.endpoint, strings.NewReader(url.Values{"token": {in.tokens[i]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(in.id, in.secret)
	_, body, err := in.p.do(ctx, in.p.http, "introspect", req, http.StatusOK)
	if err != nil {
		return err
	}
	var answer struct {
		Active bool `json:"active"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || !answer.Active {
		return fmt.Errorf("introspect: the token is not active: %.200s", body)
	}
	return nil
}
