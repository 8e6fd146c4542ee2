package consumer_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/consumer"
	"github.com/egovkit/egovkit/interop/httpsig"
	"github.com/egovkit/egovkit/kek"
	"github.com/egovkit/egovkit/problem"
	"github.com/egovkit/egovkit/sqldb"
)

// The agencies' OpenID provider of the tests, a client registered with it
// for private_key_jwt and the client_credentials grant, and the audience
// its tokens are issued for: the gateway.
const (
	realm           = "agencies"
	appClientID     = "dypa-app"
	appKeyID        = "dypa-app-1"
	gatewayAudience = "https://gateway.example.gov/r1"
	callScope       = "interop:call"
)

var (
	dypa    = interop.ClientID{Instance: "GR", Class: "GOV", Member: "DYPA", Subsystem: "APP"}
	address = interop.ServiceID{Instance: "GR", Class: "GOV", Member: "EL-AADE", Subsystem: "REGISTRY", Service: "address"}
)

// opServer is an auth provider over HTTP, built from auth's public API as
// an agency runs one, counting the requests to its token endpoint.
type opServer struct {
	issuer  string
	clients *auth.ClientRegistry
	srv     *httptest.Server
	db      *sql.DB
	tokens  atomic.Int64
	// gate, when set, holds token requests until it is closed.
	gate atomic.Pointer[chan struct{}]
}

func startProvider(ctx context.Context, now func() time.Time) (*opServer, error) {
	db, err := sqldb.Open(ctx, "sqlite::memory:", nil)
	if err != nil {
		return nil, err
	}
	op := &opServer{db: db}
	fail := func(err error) (*opServer, error) { op.close(); return nil, err }
	key, err := kek.Generate()
	if err != nil {
		return fail(err)
	}
	signing, err := auth.NewSigningKeys(ctx, db, "auth/"+realm, key, auth.WithClock(now))
	if err != nil {
		return fail(err)
	}
	op.clients, err = auth.NewClientRegistry(ctx, db, realm, auth.WithClock(now))
	if err != nil {
		return fail(err)
	}
	mux := http.NewServeMux()
	op.srv = httptest.NewServer(mux)
	op.issuer = op.srv.URL + "/auth/" + realm
	p, err := auth.NewProvider(ctx, auth.ProviderConfig{Issuer: op.issuer, Realm: realm, Keys: signing,
		Clients: op.clients, Now: now})
	if err != nil {
		return fail(err)
	}
	h := http.StripPrefix("/auth/"+realm, p.Handler())
	mux.Handle("/auth/"+realm+"/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, auth.PathToken) {
			op.tokens.Add(1)
			if gate := op.gate.Load(); gate != nil {
				<-*gate
			}
		}
		h.ServeHTTP(w, r)
	}))
	return op, nil
}

func (op *opServer) close() {
	if op.srv != nil {
		op.srv.Close()
	}
	op.db.Close()
}

func (op *opServer) tokenURL() string { return op.issuer + auth.PathToken }

// register registers a private_key_jwt client whose public key is
// signer's, allowed the client_credentials grant for the gateway.
func (op *opServer) register(ctx context.Context, id, kid string, signer crypto.Signer) error {
	pub, err := jwk.FromRaw(signer.Public())
	if err != nil {
		return err
	}
	if err := pub.Set(jwk.KeyIDKey, kid); err != nil {
		return err
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return err
	}
	raw, err := json.Marshal(set)
	if err != nil {
		return err
	}
	_, _, err = op.clients.Create(ctx, auth.Client{ID: id, Name: id, AuthMethod: auth.AuthPrivateKeyJWT,
		GrantTypes: []string{auth.GrantClientCredentials}, Scopes: []string{callScope, "interop:admin"},
		Audience: []string{gatewayAudience, "https://other.example.gov"}, JWKS: raw})
	return err
}

// seen is a request as the gateway of the tests received it.
type seen struct {
	Method, Rest, Query string
	Header              http.Header
	Body                []byte
	Token               jwt.Token
}

// gateway stands in for the interop gateway: it admits a request only
// with a token of the provider for the gateway's audience and the X-Road
// headers of the consumer, reads the body against its Content-Digest,
// records the request, and answers as the test's respond says.
type gateway struct {
	srv  *httptest.Server
	keys jwk.Set
	iss  string
	now  func() time.Time

	mu      sync.Mutex
	seen    []seen
	refuse  func(tok jwt.Token) bool // tokens answered 401 invalid_token
	respond func(w http.ResponseWriter, r *http.Request, n int)
	// hangUp closes the connection without an answer to the first
	// hangUp requests.
	hangUp int
}

func startGateway(ctx context.Context, op *opServer, now func() time.Time) (*gateway, error) {
	keys, err := jwk.Fetch(ctx, op.issuer+auth.PathJWKS)
	if err != nil {
		return nil, err
	}
	g := &gateway{keys: keys, iss: op.issuer, now: now}
	g.srv = httptest.NewServer(g)
	return g, nil
}

func (g *gateway) setRespond(f func(w http.ResponseWriter, r *http.Request, n int)) {
	g.mu.Lock()
	g.respond = f
	g.mu.Unlock()
}

func (g *gateway) requests() []seen {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]seen(nil), g.seen...)
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	if g.hangUp > 0 {
		g.hangUp--
		g.mu.Unlock()
		io.Copy(io.Discard, r.Body)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	g.mu.Unlock()
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		refusal(w, http.StatusUnauthorized, problem.TypeUnauthorized, "no access token", "Server.ClientProxy.MissingToken")
		return
	}
	tok, err := jwt.ParseString(raw, jwt.WithKeySet(g.keys), jwt.WithValidate(true), jwt.WithClock(jwt.ClockFunc(g.now)),
		jwt.WithIssuer(g.iss), jwt.WithAudience(gatewayAudience))
	g.mu.Lock()
	refused := err == nil && g.refuse != nil && g.refuse(tok)
	g.mu.Unlock()
	if err != nil || refused {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		refusal(w, http.StatusUnauthorized, problem.TypeUnauthorized, "the access token is not accepted", "Server.ClientProxy.InvalidToken")
		return
	}
	client, err := interop.ParseClientID(r.Header.Get(httpsig.HeaderClient))
	if err != nil || r.Header.Get(httpsig.HeaderMessageID) == "" {
		refusal(w, http.StatusBadRequest, problem.TypeBadRequest, "X-Road-Client and X-Road-Id are required", "Server.ClientProxy.InvalidRequest")
		return
	}
	if sub, _ := tok.Get("client_id"); client != dypa || !strings.HasPrefix(fmt.Sprint(sub), "dypa-") {
		refusal(w, http.StatusForbidden, problem.TypeForbidden, "the token is not the X-Road client's", "Server.ClientProxy.AccessDenied")
		return
	}
	svc, rest, err := interop.ParsePath(r.URL.EscapedPath())
	if err != nil || svc != address {
		refusal(w, http.StatusNotFound, "https://egovkit.dev/problems/interop/service-not-found", "no such service", "Server.ServerProxy.UnknownService")
		return
	}
	var body []byte
	if d := r.Header.Get(httpsig.HeaderContentDigest); d != "" {
		vb, err := httpsig.NewVerifyingBody(r.Body, d)
		if err == nil {
			body, err = io.ReadAll(vb)
		}
		if err != nil {
			refusal(w, http.StatusBadRequest, problem.TypeBadRequest, "the body does not match Content-Digest", "Server.ClientProxy.InvalidDigest")
			return
		}
	} else if r.ContentLength != 0 && r.Method != http.MethodGet {
		refusal(w, http.StatusBadRequest, problem.TypeBadRequest, "a body needs Content-Digest", "Server.ClientProxy.InvalidDigest")
		return
	}
	g.mu.Lock()
	g.seen = append(g.seen, seen{Method: r.Method, Rest: rest, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body, Token: tok})
	n := len(g.seen)
	respond := g.respond
	g.mu.Unlock()
	if respond == nil {
		respond = echo
	}
	respond(w, r, n)
}

// echo answers 200 with what was asked.
func echo(w http.ResponseWriter, r *http.Request, _ int) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"method":%q}`, r.Method)
}

// refusal answers as the gateway refuses: problem+json with X-Road-Error.
func refusal(w http.ResponseWriter, status int, typ, detail, code string) {
	w.Header().Set(consumer.HeaderXRoadError, code)
	p := problem.New(typ, status, detail)
	p.Extensions = map[string]any{"xroad_error": code}
	w.Header().Set("Content-Type", problem.ContentType)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}

// answers returns a respond that answers the n-th request with
// statuses[n-1] (as a refusal, with Retry-After when retryAfter is set)
// and 200 once they are used up.
func answers(retryAfter string, statuses ...int) func(w http.ResponseWriter, r *http.Request, n int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		if n > len(statuses) {
			echo(w, r, n)
			return
		}
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		refusal(w, statuses[n-1], problem.TypeUnavailable, http.StatusText(statuses[n-1]), "Server.ServerProxy.ServiceFailed")
	}
}

func newP256() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

var errNoCopy = errors.New("the stream cannot be produced again")
