package interop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/exchangelog"
	"github.com/egovkit/egovkit/interop/exchangelog/verify"
	"github.com/egovkit/egovkit/interop/httpsig"
	"github.com/egovkit/egovkit/interop/provider"
)

const (
	testIssuer   = "https://login.example.gov"
	testAudience = "https://gateway.example.gov"
)

var (
	dypa  = interop.ClientID{Instance: "GR", Class: "GOV", Member: "DYPA", Subsystem: "APP"}
	other = interop.ClientID{Instance: "GR", Class: "GOV", Member: "OTHER", Subsystem: "APP"}
)

// issuer is an access-token issuer with a JWK set served over HTTP.
type issuer struct {
	key jwk.Key
	srv *httptest.Server
}

func newIssuer(t testing.TB) *issuer {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	k, err := jwk.FromRaw(raw)
	require.NoError(t, err)
	require.NoError(t, k.Set(jwk.KeyIDKey, "issuer-1"))
	require.NoError(t, k.Set(jwk.AlgorithmKey, jwa.ES256))
	pub, err := k.PublicKey()
	require.NoError(t, err)
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(pub))
	body, err := json.Marshal(set)
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return &issuer{key: k, srv: srv}
}

// token issues an access token for client; change alters the claims.
func (is *issuer) token(t testing.TB, client string, change func(b *jwt.Builder)) string {
	t.Helper()
	b := jwt.NewBuilder().Issuer(testIssuer).Audience([]string{testAudience}).Subject(client).
		Claim("client_id", client).IssuedAt(time.Now()).Expiration(time.Now().Add(5 * time.Minute))
	if change != nil {
		change(b)
	}
	tok, err := b.Build()
	require.NoError(t, err)
	h := jws.NewHeaders()
	require.NoError(t, h.Set(jws.TypeKey, "at+jwt"))
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, is.key, jws.WithProtectedHeaders(h)))
	require.NoError(t, err)
	return string(signed)
}

// consentDesk is a ConsentChecker with real state: consents given to a
// consumer for a citizen and a service, which the citizen can withdraw,
// and the uses made of each, with the exchange id.
type consentDesk struct {
	mu       sync.Mutex
	consents map[string]deskConsent
	uses     map[string][]string // consent id → exchange ids
	down     bool
}

type deskConsent struct {
	consumer  interop.ClientID
	service   interop.ServiceID
	subject   string
	withdrawn bool
}

func newConsentDesk() *consentDesk {
	return &consentDesk{consents: map[string]deskConsent{}, uses: map[string][]string{}}
}

func (d *consentDesk) give(id string, c deskConsent) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.consents[id] = c
}

func (d *consentDesk) withdraw(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.consents[id]
	c.withdrawn = true
	d.consents[id] = c
}

func (d *consentDesk) usesOf(id string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.uses[id]...)
}

func (d *consentDesk) CheckConsent(_ context.Context, q interop.ConsentQuery) (interop.ConsentDecision, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down {
		return interop.ConsentDecision{}, errors.New("consent store unreachable")
	}
	if q.ConsentID == "" {
		return interop.ConsentDecision{Reason: interop.ConsentMissing}, nil
	}
	c, ok := d.consents[q.ConsentID]
	switch {
	case !ok:
		return interop.ConsentDecision{Reason: interop.ConsentUnknown}, nil
	case c.withdrawn:
		return interop.ConsentDecision{Reason: interop.ConsentWithdrawn}, nil
	case c.consumer != q.Consumer || c.service != q.Service || c.subject != q.Subject:
		return interop.ConsentDecision{Reason: interop.ConsentOutOfScope}, nil
	}
	d.uses[q.ConsentID] = append(d.uses[q.ConsentID], q.ExchangeID)
	return interop.ConsentDecision{Allowed: true, ConsentID: q.ConsentID}, nil
}

// counter records counts and observations.
type counter struct {
	mu     sync.Mutex
	counts map[string]int
	seen   int
}

func (c *counter) Count(kind string, labels ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[kind+" "+strings.Join(labels, " ")]++
}

func (c *counter) Observe(kind string, v float64, labels ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if kind == interop.KindCallSeconds && v >= 0 && len(labels) == 3 {
		c.seen++
	}
}

func (c *counter) get(labels ...string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[interop.KindCall+" "+strings.Join(labels, " ")]
}

// rig is a gateway between consumers and a provider behind
// interop/provider, with a registry, a token issuer, a consent desk and
// an exchange log on a real database.
type rig struct {
	gw       *interop.Gateway
	srv      *httptest.Server // the gateway: /r1/… and /keys
	store    *interop.MemoryStore
	authz    *interop.Authorizer
	issuer   *issuer
	desk     *consentDesk
	log      *exchangelog.Log
	count    *counter
	seen     chan provider.Caller
	token    string
	services map[string]interop.ServiceID
}

func pseudonym(userID string) string {
	m := hmac.New(sha256.New, []byte("pseudonym key of the tests"))
	m.Write([]byte(userID))
	return "psn-" + hex.EncodeToString(m.Sum(nil)[:12])
}

func newRig(t testing.TB, db *sql.DB) *rig { return newRigWith(t, db, nil) }

// newRigWith makes a rig whose gateway's configuration change alters
// (the consent desk answers when it sets no other checker).
func newRigWith(t testing.TB, db *sql.DB, change func(*interop.GatewayConfig)) *rig {
	t.Helper()
	ctx := context.Background()
	rg := &rig{issuer: newIssuer(t), desk: newConsentDesk(), count: &counter{}, seen: make(chan provider.Caller, 64),
		services: map[string]interop.ServiceID{}}

	if db == nil {
		db = sqltest.SQLite(t).DB.DB
	}
	key, err := exchangelog.NewSigningKey(ctx, db, []byte("0123456789abcdef0123456789abcdef"), "gateway.example.gov/exchange-log")
	require.NoError(t, err)
	rg.log, err = exchangelog.New(ctx, exchangelog.Config{DB: db, Signer: key, CheckpointEvery: time.Nanosecond})
	require.NoError(t, err)
	t.Cleanup(func() { rg.log.Close() })

	_, gwKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	tokens, err := interop.NewJWTVerifier(interop.JWTConfig{Issuer: testIssuer, Audience: testAudience, JWKSURL: rg.issuer.srv.URL})
	require.NoError(t, err)
	t.Cleanup(func() { tokens.Close() })

	mux := http.NewServeMux()
	rg.srv = httptest.NewServer(mux)
	t.Cleanup(rg.srv.Close)
	// The provider starts last, once the gateway publishes its keys.
	up := httptest.NewUnstartedServer(nil)
	t.Cleanup(up.Close)
	upURL := "http://" + up.Listener.Addr().String()

	rg.store, err = interop.NewMemoryStore()
	require.NoError(t, err)
	dead := deadURL(t)
	for _, s := range []struct {
		name, upstream string
		consent        bool
		limits         interop.Limits
		rights         []interop.Right
	}{
		{"address", upURL + "/api", true, interop.Limits{},
			[]interop.Right{{Method: "GET", Path: "/persons/*/address"}}},
		{"open", upURL + "/api", false, interop.Limits{MaxRequestBytes: 1 << 10, MaxResponseBytes: 1 << 16, Timeout: 300 * time.Millisecond},
			[]interop.Right{{Method: interop.AnyMethod, Path: "/**"}}},
		{"limited", upURL + "/api", false, interop.Limits{RatePerSecond: 0.001, Burst: 2},
			[]interop.Right{{Method: "GET", Path: "/**"}}},
		{"down", dead, false, interop.Limits{}, []interop.Right{{Method: "GET", Path: "/**"}}},
		{"off", upURL + "/api", false, interop.Limits{}, []interop.Right{{Method: "GET", Path: "/**"}}},
	} {
		svc := interop.Service{
			ID:       interop.ServiceID{Instance: "GR", Class: "GOV", Member: "EL-AADE", Subsystem: "REGISTRY", Service: s.name},
			Title:    interop.Text{El: "Υπηρεσία " + s.name, En: "Service " + s.name},
			Upstream: s.upstream, ConsentRequired: s.consent, Limits: s.limits,
			Items: []interop.DataItem{{Code: "residence_address", Type: interop.ItemText, Label: interop.Text{El: "Διεύθυνση", En: "Address"}}},
		}
		if !s.consent {
			svc.LegalBasis = "law 4727/2020 art. 84"
		}
		created, err := rg.store.CreateService(ctx, svc)
		require.NoError(t, err)
		rg.services[s.name] = created.ID
		for _, r := range s.rights {
			r.Consumer, r.Service = dypa, created.ID
			_, err := rg.store.GrantRight(ctx, r)
			require.NoError(t, err)
		}
		if s.name == "off" {
			created.Disabled = true
			_, err := rg.store.UpdateService(ctx, created)
			require.NoError(t, err)
		}
	}
	rg.authz, err = interop.New(ctx, interop.Config{Store: rg.store, PollInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { rg.authz.Close() })

	cfg := interop.GatewayConfig{
		Authorizer: rg.authz, Tokens: tokens, Consent: rg.desk, Log: rg.log,
		Key: gwKey, KeyID: "gateway-1", Name: "gw-test", Pseudonym: pseudonym,
		Counter: rg.count, Observer: rg.count,
	}
	if change != nil {
		change(&cfg)
	}
	rg.gw, err = interop.NewGateway(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { rg.gw.Close() })
	mux.Handle("/r1/", rg.gw)
	mux.Handle("/keys", rg.gw.KeysHandler())
	prov, err := provider.New(ctx, provider.Config{JWKSURL: rg.srv.URL + "/keys"})
	require.NoError(t, err)
	up.Config.Handler = prov.Middleware(rg.upstream())
	up.Start()
	rg.token = rg.issuer.token(t, dypa.String(), nil)
	return rg
}

// deadURL is an address nothing listens on.
func deadURL(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/api"
}

// upstream is the provider's service, behind provider.Middleware.
func (rg *rig) upstream() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/persons/{id}/address", func(w http.ResponseWriter, r *http.Request) {
		c, _ := provider.FromContext(r.Context())
		select {
		case rg.seen <- c:
		default:
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Road-Request-Hash", "set by the provider, replaced by the gateway")
		w.Header().Set("Server", "provider-software/1.0")
		fmt.Fprintf(w, `{"person":%q,"address":"Οδός Πανεπιστημίου 1"}`, r.PathValue("id"))
	})
	mux.HandleFunc("POST /api/echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "body refused: "+err.Error(), http.StatusBadRequest)
			return
		}
		w.Write(body)
	})
	mux.HandleFunc("GET /api/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	var slowOnce sync.Map // message ids answered late once
	mux.HandleFunc("GET /api/slow-once", func(w http.ResponseWriter, r *http.Request) {
		c, _ := provider.FromContext(r.Context())
		if _, late := slowOnce.LoadOrStore(c.MessageID, true); !late {
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
			}
			return
		}
		io.WriteString(w, c.MessageID)
	})
	mux.HandleFunc("GET /api/big", func(w http.ResponseWriter, r *http.Request) {
		chunk := strings.Repeat("x", 4096)
		for range 64 { // 256 KiB, streamed without a Content-Length
			io.WriteString(w, chunk)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("GET /api/biglen", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "262144")
		w.Write(make([]byte, 262144))
	})
	mux.HandleFunc("GET /api/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("GET /api/trailer", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		io.WriteString(w, "counted")
		w.(http.Flusher).Flush()
		w.Header().Set("X-Checksum", "7")
	})
	return mux
}

// call makes a request to the gateway with the rig's token and client.
func (rg *rig) call(t testing.TB, method, path string, body io.Reader, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, rg.srv.URL+path, body)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+rg.token)
	req.Header.Set("X-Road-Client", dypa.String())
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// logged waits for the exchange's entry in the log: it is committed just
// after the answer is sent.
func (rg *rig) logged(t testing.TB, exchangeID string) exchangelog.Record {
	t.Helper()
	var rec exchangelog.Record
	require.Eventually(t, func() bool {
		var err error
		rec, err = rg.log.EntryByExchangeID(context.Background(), exchangeID)
		return err == nil
	}, 5*time.Second, 5*time.Millisecond, "exchange %s not logged", exchangeID)
	return rec
}

// proves checks the entry's inclusion offline, from a signed checkpoint
// and the log's public key only.
func (rg *rig) proves(t testing.TB, rec exchangelog.Record) verify.Entry {
	t.Helper()
	ctx := context.Background()
	cp, err := rg.log.Checkpoint(ctx)
	require.NoError(t, err)
	opened, err := verify.OpenCheckpoint(cp.Note, rg.log.VerifierKey())
	require.NoError(t, err)
	proof, err := rg.log.InclusionProof(ctx, rec.Index, opened.Size)
	require.NoError(t, err)
	e, err := opened.Entry(rec.Index, rec.Leaf, proof)
	require.NoError(t, err)
	return e
}

const addressPath = "/r1/GR/GOV/EL-AADE/REGISTRY/address/persons/123/address"

// TestGatewayForwardsSignedCall runs with the exchange log on SQLite, and
// on PostgreSQL when EGOVKIT_TEST_POSTGRES_DSN is set.
func TestGatewayForwardsSignedCall(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) { testForwardsSignedCall(t, db.DB.DB) })
}

func testForwardsSignedCall(t *testing.T, db *sql.DB) {
	rg := newRig(t, db)
	rg.desk.give("consent-1", deskConsent{consumer: dypa, service: rg.services["address"], subject: "GR090000045"})

	res := rg.call(t, "GET", addressPath+"?fields=all", nil,
		"X-Road-UserId", "GR090000045", "X-Road-Issue", "case-77", "Egovkit-Consent-Id", "consent-1",
		"X-Road-Id", "msg-0001", "Egovkit-Citizen-Pseudonym", "forged-by-the-consumer")
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, string(body))
	assert.JSONEq(t, `{"person":"123","address":"Οδός Πανεπιστημίου 1"}`, string(body))

	// X-Road's response headers.
	id := res.Header.Get("X-Road-Request-Id")
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, id)
	assert.Equal(t, "msg-0001", res.Header.Get("X-Road-Id"))
	assert.Equal(t, dypa.String(), res.Header.Get("X-Road-Client"))
	assert.Equal(t, rg.services["address"].String(), res.Header.Get("X-Road-Service"))
	assert.Empty(t, res.Header.Get("X-Road-Error"))
	assert.Empty(t, res.Header.Get("Server"))
	head := "GET " + addressPath + "?fields=all\r\nx-road-client: GR/GOV/DYPA/APP\r\nx-road-id: msg-0001\r\n" +
		"x-road-userid: GR090000045\r\nx-road-issue: case-77\r\n"
	sum := sha512Sum([]byte(head))
	assert.Equal(t, base64.StdEncoding.EncodeToString(sum), res.Header.Get("X-Road-Request-Hash"))

	// What the provider saw, signed by the gateway.
	c := <-rg.seen
	assert.Equal(t, dypa.String(), c.Client)
	assert.Equal(t, "msg-0001", c.MessageID)
	assert.Equal(t, "consent-1", c.ConsentID)
	assert.Equal(t, pseudonym("GR090000045"), c.Citizen, "the gateway's pseudonym, not the consumer's")
	assert.Equal(t, "case-77", c.Issue)

	// The consent's use names the exchange; the exchange is in the log,
	// provably.
	assert.Equal(t, []string{id}, rg.desk.usesOf("consent-1"))
	e := rg.proves(t, rg.logged(t, id))
	assert.Equal(t, dypa.String(), e.Consumer)
	assert.Equal(t, rg.services["address"].String(), e.Service)
	assert.Equal(t, "consent-1", e.ConsentID)
	assert.Equal(t, pseudonym("GR090000045"), e.Subject)
	assert.Equal(t, 200, e.Status)
	assert.Equal(t, int64(len(body)), e.ResponseSize)
	assert.Equal(t, verify.Hash(sha256.Sum256(body)), e.ResponseSHA256)
	assert.Equal(t, verify.Hash(sha256.Sum256(nil)), e.RequestSHA256)
	assert.Equal(t, "gw-test", e.Gateway)
	assert.Positive(t, e.UpstreamDuration)
	assert.GreaterOrEqual(t, e.Duration, e.UpstreamDuration)
	assert.NotContains(t, string(rg.logged(t, id).Leaf), "090000045", "the user id is never logged")
	assert.Equal(t, 1, rg.count.get(dypa.String(), rg.services["address"].String(), interop.OutcomeOK))
}

func sha512Sum(b []byte) []byte {
	h := sha512.New()
	h.Write(b)
	return h.Sum(nil)
}

// TestGatewayBodies: a body without Content-Digest is digested by the
// gateway; one with it streams and is checked on the way.
func TestGatewayBodies(t *testing.T) {
	rg := newRig(t, nil)
	const path = "/r1/GR/GOV/EL-AADE/REGISTRY/open/echo"
	payload := `{"query":"τι ώρα είναι"}`

	res := rg.call(t, "POST", path, strings.NewReader(payload), "Content-Type", "application/json")
	got, _ := io.ReadAll(res.Body)
	require.Equal(t, http.StatusOK, res.StatusCode, string(got))
	assert.Equal(t, payload, string(got))
	e := rg.proves(t, rg.logged(t, res.Header.Get("X-Road-Request-Id")))
	assert.Equal(t, verify.Hash(sha256.Sum256([]byte(payload))), e.RequestSHA256)
	assert.Equal(t, int64(len(payload)), e.RequestSize)
	bodyHash := sha512Sum([]byte(payload))
	head := "POST " + path + "\r\nx-road-client: GR/GOV/DYPA/APP\r\nx-road-id: " + res.Header.Get("X-Road-Id") + "\r\n"
	headHash := sha512Sum([]byte(head))
	assert.Equal(t, base64.StdEncoding.EncodeToString(sha512Sum(append(headHash, bodyHash...))), res.Header.Get("X-Road-Request-Hash"))

	// Streamed with the consumer's digest (chunked: no Content-Length).
	digest, err := httpsig.ContentDigest(httpsig.DigestSHA512, []byte(payload))
	require.NoError(t, err)
	res = rg.call(t, "POST", path, io.MultiReader(strings.NewReader(payload)), "Content-Digest", digest)
	got, _ = io.ReadAll(res.Body)
	require.Equal(t, http.StatusOK, res.StatusCode, string(got))
	assert.Equal(t, payload, string(got))

	// A digest that does not match: the gateway refuses, the provider
	// never acts on the body.
	wrong, _ := httpsig.ContentDigest(httpsig.DigestSHA256, []byte("something else"))
	res = rg.call(t, "POST", path, io.MultiReader(strings.NewReader(payload)), "Content-Digest", wrong)
	checkProblem(t, res, http.StatusBadRequest, interop.TypeDigestMismatch, "Client.DigestMismatch")
	rg.logged(t, res.Header.Get("X-Road-Request-Id"))
}

// checkProblem asserts a refusal's status, problem type and X-Road-Error,
// and returns the problem's members.
func checkProblem(t *testing.T, res *http.Response, status int, typ, xroadError string) map[string]any {
	t.Helper()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, status, res.StatusCode, string(body))
	assert.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	assert.Equal(t, xroadError, res.Header.Get("X-Road-Error"))
	assert.NotEmpty(t, res.Header.Get("X-Road-Request-Id"))
	var p map[string]any
	require.NoError(t, json.Unmarshal(body, &p))
	assert.Equal(t, typ, p["type"])
	assert.Equal(t, xroadError, p["xroad_error"])
	assert.Equal(t, "urn:uuid:"+res.Header.Get("X-Road-Request-Id"), p["instance"])
	return p
}

func TestGatewayRefusals(t *testing.T) {
	rg := newRig(t, nil)
	otherToken := rg.issuer.token(t, other.String(), nil)
	expired := rg.issuer.token(t, dypa.String(), func(b *jwt.Builder) {
		b.IssuedAt(time.Now().Add(-time.Hour)).Expiration(time.Now().Add(-10 * time.Minute))
	})
	wrongAudience := rg.issuer.token(t, dypa.String(), func(b *jwt.Builder) { b.Audience([]string{"https://elsewhere.example"}) })
	stranger := newIssuer(t).token(t, dypa.String(), nil)
	big := strings.Repeat("x", 2<<10)
	open := "/r1/GR/GOV/EL-AADE/REGISTRY/open"

	for _, tc := range []struct {
		name     string
		method   string
		path     string
		body     io.Reader
		headers  []string
		status   int
		typ      string
		xroad    string
		outcome  string
		consumer string
	}{
		{"no token", "GET", addressPath, nil, []string{"Authorization", ""}, 401, interop.TypeUnauthenticated, "Client.InvalidToken", interop.OutcomeUnauthenticated, "-"},
		{"not a bearer token", "GET", addressPath, nil, []string{"Authorization", "Basic dXNlcjpwYXNz"}, 401, interop.TypeUnauthenticated, "Client.InvalidToken", interop.OutcomeUnauthenticated, "-"},
		{"expired token", "GET", addressPath, nil, []string{"Authorization", "Bearer " + expired}, 401, interop.TypeUnauthenticated, "Client.InvalidToken", interop.OutcomeUnauthenticated, "-"},
		{"token for another audience", "GET", addressPath, nil, []string{"Authorization", "Bearer " + wrongAudience}, 401, interop.TypeUnauthenticated, "Client.InvalidToken", interop.OutcomeUnauthenticated, "-"},
		{"token of another issuer's key", "GET", addressPath, nil, []string{"Authorization", "Bearer " + stranger}, 401, interop.TypeUnauthenticated, "Client.InvalidToken", interop.OutcomeUnauthenticated, "-"},
		{"garbage token", "GET", addressPath, nil, []string{"Authorization", "Bearer not.a.jwt"}, 401, interop.TypeUnauthenticated, "Client.InvalidToken", interop.OutcomeUnauthenticated, "-"},
		{"impersonation", "GET", addressPath, nil, []string{"X-Road-Client", other.String()}, 403, interop.TypeClientMismatch, "Client.ClientMismatch", interop.OutcomeForbidden, dypa.String()},
		{"no client header", "GET", addressPath, nil, []string{"X-Road-Client", ""}, 400, interop.TypeInvalidRequest, "Client.InvalidRequest", interop.OutcomeInvalid, dypa.String()},
		{"not an X-Road path", "GET", "/r1/GR/GOV", nil, nil, 400, interop.TypeInvalidRequest, "Client.InvalidRequest", interop.OutcomeInvalid, "-"},
		{"dot segment", "GET", "/r1/GR/GOV/EL-AADE/REGISTRY/open/a/%2e%2e/b", nil, nil, 400, interop.TypeInvalidRequest, "Client.InvalidRequest", interop.OutcomeInvalid, "-"},
		{"unknown service", "GET", "/r1/GR/GOV/EL-AADE/REGISTRY/nothing/x", nil, nil, 404, interop.TypeServiceNotFound, "Server.ServerProxy.UnknownService", interop.OutcomeNotFound, dypa.String()},
		{"no right", "GET", addressPath, nil, []string{"Authorization", "Bearer " + otherToken, "X-Road-Client", other.String()}, 403, interop.TypeAccessDenied, "Server.ServerProxy.AccessDenied", interop.OutcomeForbidden, other.String()},
		{"no right for the method", "DELETE", addressPath, nil, nil, 403, interop.TypeAccessDenied, "Server.ServerProxy.AccessDenied", interop.OutcomeForbidden, dypa.String()},
		{"disabled service", "GET", "/r1/GR/GOV/EL-AADE/REGISTRY/off/x", nil, nil, 503, interop.TypeServiceDisabled, "Server.ServerProxy.ServiceDisabled", interop.OutcomeDisabled, dypa.String()},
		{"no consent", "GET", addressPath, nil, []string{"X-Road-UserId", "GR090000045"}, 403, interop.TypeConsentRefused, "Server.ServerProxy.ConsentRefused", interop.OutcomeConsentRefused, dypa.String()},
		{"unknown consent", "GET", addressPath, nil, []string{"X-Road-UserId", "GR090000045", "Egovkit-Consent-Id", "nope"}, 403, interop.TypeConsentRefused, "Server.ServerProxy.ConsentRefused", interop.OutcomeConsentRefused, dypa.String()},
		{"body over the limit by Content-Length", "POST", open + "/echo", strings.NewReader(big), nil, 413, interop.TypeRequestTooLarge, "Client.RequestTooLarge", interop.OutcomeTooLarge, dypa.String()},
		{"body over the limit while read", "POST", open + "/echo", io.MultiReader(strings.NewReader(big)), nil, 413, interop.TypeRequestTooLarge, "Client.RequestTooLarge", interop.OutcomeTooLarge, dypa.String()},
		{"streamed body over the limit", "POST", open + "/echo", io.MultiReader(strings.NewReader(big)), []string{"Content-Digest", mustDigest(big)}, 413, interop.TypeRequestTooLarge, "Client.RequestTooLarge", interop.OutcomeTooLarge, dypa.String()},
		{"malformed digest", "POST", open + "/echo", strings.NewReader("{}"), []string{"Content-Digest", "md5=:abc:"}, 400, interop.TypeDigestMismatch, "Client.DigestMismatch", interop.OutcomeInvalid, dypa.String()},
		{"protocol upgrade", "GET", open + "/ok", nil, []string{"Connection", "Upgrade", "Upgrade", "websocket"}, 400, interop.TypeInvalidRequest, "Client.InvalidRequest", interop.OutcomeInvalid, "-"},
		{"upstream down", "GET", "/r1/GR/GOV/EL-AADE/REGISTRY/down/x", nil, nil, 502, interop.TypeUpstreamUnavailable, "Server.ServerProxy.ServiceFailed", interop.OutcomeUpstream, dypa.String()},
		{"upstream slow", "GET", open + "/slow", nil, nil, 504, interop.TypeUpstreamTimeout, "Server.ServerProxy.ServiceTimeout", interop.OutcomeTimeout, dypa.String()},
		{"response over the limit by Content-Length", "GET", open + "/biglen", nil, nil, 502, interop.TypeResponseTooLarge, "Server.ServerProxy.ResponseTooLarge", interop.OutcomeTooLarge, dypa.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := rg.call(t, tc.method, tc.path, tc.body, tc.headers...)
			checkProblem(t, res, tc.status, tc.typ, tc.xroad)
			if tc.status == 401 {
				assert.Contains(t, res.Header.Get("WWW-Authenticate"), "Bearer")
			}
			rec := rg.logged(t, res.Header.Get("X-Road-Request-Id"))
			assert.Equal(t, tc.status, rec.Entry.Status)
			assert.Equal(t, tc.xroad, rec.Entry.Error)
			assert.Equal(t, tc.consumer, rec.Entry.Consumer)
			assert.Positive(t, rg.count.get(tc.consumer, rec.Entry.Service, tc.outcome), "counted %s %s %s", tc.consumer, rec.Entry.Service, tc.outcome)
		})
	}
	// The provider never saw a refused call: only the slow one reached it.
	assert.Empty(t, rg.seen)
	// Once Close returns, every exchange is in the log.
	require.NoError(t, rg.gw.Close())
	size, err := rg.log.Size(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(24), size)
	assert.Equal(t, 24, rg.count.seen, "each call's duration observed")
}

func mustDigest(s string) string {
	d, err := httpsig.ContentDigest(httpsig.DigestSHA256, []byte(s))
	if err != nil {
		panic(err)
	}
	return d
}

// TestGatewayRateLimit: a consumer's calls of a service beyond its bucket
// are refused with Retry-After; the bucket is the consumer's own.
func TestGatewayRateLimit(t *testing.T) {
	rg := newRig(t, nil)
	path := "/r1/GR/GOV/EL-AADE/REGISTRY/limited/ok"
	for range 2 {
		res := rg.call(t, "GET", path, nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
	}
	res := rg.call(t, "GET", path, nil)
	p := checkProblem(t, res, http.StatusTooManyRequests, interop.TypeRateLimited, "Client.RateLimited")
	assert.NotEmpty(t, res.Header.Get("Retry-After"))
	assert.Equal(t, res.Header.Get("Retry-After"), fmt.Sprint(p["retry_after"]))
	rg.logged(t, res.Header.Get("X-Road-Request-Id"))

	// Another consumer's bucket is its own.
	ctx := context.Background()
	_, err := rg.store.GrantRight(ctx, interop.Right{Consumer: other, Service: rg.services["limited"], Method: "GET", Path: "/**"})
	require.NoError(t, err)
	require.NoError(t, rg.authz.Maintain(ctx))
	res = rg.call(t, "GET", path, nil, "Authorization", "Bearer "+rg.issuer.token(t, other.String(), nil), "X-Road-Client", other.String())
	assert.Equal(t, http.StatusOK, res.StatusCode)

	// The operators raise the rate: it holds at once, without a restart.
	svc, err := rg.store.Service(ctx, rg.services["limited"])
	require.NoError(t, err)
	svc.Limits.RatePerSecond, svc.Limits.Burst = 1000, 1000
	_, err = rg.store.UpdateService(ctx, svc)
	require.NoError(t, err)
	require.NoError(t, rg.authz.Maintain(ctx))
	res = rg.call(t, "GET", path, nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
}

// TestGatewayTokenKeysUnavailable: when the issuer's keys cannot be
// fetched, a token is not judged: 503 with Retry-After, not 401.
func TestGatewayTokenKeysUnavailable(t *testing.T) {
	tokens, err := interop.NewJWTVerifier(interop.JWTConfig{Issuer: testIssuer, Audience: testAudience, JWKSURL: deadURL(t)})
	require.NoError(t, err)
	defer tokens.Close()
	rg := newRigWith(t, nil, func(cfg *interop.GatewayConfig) { cfg.Tokens = tokens })
	res := rg.call(t, "GET", addressPath, nil)
	checkProblem(t, res, http.StatusServiceUnavailable, interop.TypeGatewayUnavailable, "Server.ClientProxy.TokenKeysUnavailable")
	assert.NotEmpty(t, res.Header.Get("Retry-After"))
}

// TestJWTVerifier: only access tokens (typ at+jwt) are taken, and a
// token remembered as verified is refused once it expires.
func TestJWTVerifier(t *testing.T) {
	is := newIssuer(t)
	now := time.Now()
	clock := func() time.Time { return now }
	v, err := interop.NewJWTVerifier(interop.JWTConfig{Issuer: testIssuer, Audience: testAudience, JWKSURL: is.srv.URL, Now: clock})
	require.NoError(t, err)
	defer v.Close()
	ctx := context.Background()

	tok := is.token(t, dypa.String(), func(b *jwt.Builder) { b.Expiration(now.Add(90 * time.Second)) })
	got, err := v.VerifyToken(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, dypa, got)
	now = now.Add(45 * time.Second)
	_, err = v.VerifyToken(ctx, tok)
	assert.NoError(t, err)
	now = now.Add(2 * time.Minute)
	_, err = v.VerifyToken(ctx, tok)
	assert.ErrorIs(t, err, interop.ErrToken, "expired, even though it was verified before")

	// An ID token (typ JWT) is no access token.
	built, err := jwt.NewBuilder().Issuer(testIssuer).Audience([]string{testAudience}).Claim("client_id", dypa.String()).
		Expiration(now.Add(time.Minute)).Build()
	require.NoError(t, err)
	idToken, err := jwt.Sign(built, jwt.WithKey(jwa.ES256, is.key))
	require.NoError(t, err)
	_, err = v.VerifyToken(ctx, string(idToken))
	assert.ErrorIs(t, err, interop.ErrToken)

	// A token without a client, or with one that is no X-Road client.
	_, err = v.VerifyToken(ctx, is.token(t, "not an x-road client", func(b *jwt.Builder) { b.Expiration(now.Add(time.Minute)) }))
	assert.ErrorIs(t, err, interop.ErrToken)
	_, err = v.VerifyToken(ctx, "")
	assert.ErrorIs(t, err, interop.ErrToken)
}

// TestGatewayResponseCutOff: a response streamed past the service's
// limit is cut off (its status is already sent), and logged as a failure.
func TestGatewayResponseCutOff(t *testing.T) {
	rg := newRig(t, nil)
	res := rg.call(t, "GET", "/r1/GR/GOV/EL-AADE/REGISTRY/open/big", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	n, err := io.Copy(io.Discard, res.Body)
	require.Error(t, err, "the consumer must see a broken response, not a complete one")
	assert.LessOrEqual(t, n, int64(1<<16))
	rec := rg.logged(t, res.Header.Get("X-Road-Request-Id"))
	assert.Equal(t, http.StatusBadGateway, rec.Entry.Status)
	assert.Equal(t, "Server.ServerProxy.ResponseTooLarge", rec.Entry.Error)
	assert.Equal(t, int64(1<<16), rec.Entry.ResponseSize)
}

// TestGatewayConsentWithdrawnBetweenCalls: the citizen withdraws; the
// next call is refused, and the earlier use stays provable.
func TestGatewayConsentWithdrawnBetweenCalls(t *testing.T) {
	rg := newRig(t, nil)
	rg.desk.give("consent-9", deskConsent{consumer: dypa, service: rg.services["address"], subject: "GR090000045"})
	headers := []string{"X-Road-UserId", "GR090000045", "Egovkit-Consent-Id", "consent-9"}

	res := rg.call(t, "GET", addressPath, nil, headers...)
	require.Equal(t, http.StatusOK, res.StatusCode)
	first := res.Header.Get("X-Road-Request-Id")

	rg.desk.withdraw("consent-9")
	res = rg.call(t, "GET", addressPath, nil, headers...)
	p := checkProblem(t, res, http.StatusForbidden, interop.TypeConsentRefused, "Server.ServerProxy.ConsentRefused")
	assert.Equal(t, "withdrawn", p["consent_reason"])

	uses := rg.desk.usesOf("consent-9")
	require.Equal(t, []string{first}, uses, "one use, carrying the exchange id")
	e := rg.proves(t, rg.logged(t, uses[0]))
	assert.Equal(t, "consent-9", e.ConsentID)
	assert.Equal(t, 200, e.Status)
	refused := rg.logged(t, res.Header.Get("X-Road-Request-Id")).Entry
	assert.Equal(t, 403, refused.Status)
	assert.Empty(t, refused.ConsentID)

	// A checker that cannot answer refuses the call without forwarding.
	rg.desk.mu.Lock()
	rg.desk.down = true
	rg.desk.mu.Unlock()
	res = rg.call(t, "GET", addressPath, nil, headers...)
	checkProblem(t, res, http.StatusServiceUnavailable, interop.TypeGatewayUnavailable, "Server.ClientProxy.ConsentUnavailable")
	assert.NotEmpty(t, res.Header.Get("Retry-After"))
}

// TestGatewayKeys: the published key set is what the provider verifies
// with.
func TestGatewayKeys(t *testing.T) {
	rg := newRig(t, nil)
	res, err := http.Get(rg.srv.URL + "/keys")
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, "application/jwk-set+json", res.Header.Get("Content-Type"))
	set, err := jwk.ParseReader(res.Body)
	require.NoError(t, err)
	k, ok := set.LookupKeyID("gateway-1")
	require.True(t, ok)
	assert.Equal(t, jwa.EdDSA.String(), k.Algorithm().String())
	var raw any
	require.NoError(t, k.Raw(&raw))
	assert.IsType(t, ed25519.PublicKey{}, raw)

	res, err = http.Post(rg.srv.URL+"/keys", "text/plain", nil)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
}

func TestNewGatewayNeedsItsParts(t *testing.T) {
	_, err := interop.NewGateway(interop.GatewayConfig{})
	assert.Error(t, err)
	_, err = interop.NewJWTVerifier(interop.JWTConfig{Issuer: testIssuer})
	assert.Error(t, err)
}

// TestJWTVerifierKeysUnavailable: a key set that cannot be fetched is no
// verdict on the token.
func TestJWTVerifierKeysUnavailable(t *testing.T) {
	is := newIssuer(t)
	v, err := interop.NewJWTVerifier(interop.JWTConfig{Issuer: testIssuer, Audience: testAudience, JWKSURL: deadURL(t)})
	require.NoError(t, err)
	defer v.Close()
	_, err = v.VerifyToken(context.Background(), is.token(t, dypa.String(), nil))
	assert.ErrorIs(t, err, interop.ErrTokenKeys)

	v2, err := interop.NewJWTVerifier(interop.JWTConfig{Issuer: testIssuer, Audience: testAudience, JWKSURL: is.srv.URL,
		MapClient: func(s string) (interop.ClientID, error) {
			if s == "dypa-app" {
				return dypa, nil
			}
			return interop.ClientID{}, errors.New("unknown client")
		}})
	require.NoError(t, err)
	defer v2.Close()
	got, err := v2.VerifyToken(context.Background(), is.token(t, "dypa-app", nil))
	require.NoError(t, err)
	assert.Equal(t, dypa, got)
	_, err = v2.VerifyToken(context.Background(), is.token(t, "someone", nil))
	assert.ErrorIs(t, err, interop.ErrToken)
}

// FuzzGateway sends requests with arbitrary paths, methods and X-Road
// headers: the gateway answers each without a panic and without a 500,
// and its own refusals are problem+json with X-Road-Error.
func FuzzGateway(f *testing.F) {
	rg := newRig(f, nil)
	rg.desk.give("consent-1", deskConsent{consumer: dypa, service: rg.services["address"], subject: "GR090000045"})
	f.Add("GET", "/r1/GR/GOV/EL-AADE/REGISTRY/open/ok", dypa.String(), "msg-1", "", "")
	f.Add("GET", addressPath, dypa.String(), "", "consent-1", "GR090000045")
	f.Add("DELETE", "/r1/GR/GOV/EL-AADE/REGISTRY/open/%2e%2e/x?q=%00", "GR/%2F/x", "\x00", "a b", "ü")
	f.Add("GET", "/r1/GR/GOV/EL-AADE/REGISTRY/address/persons/%2F/address", "GR/GOV/DYPA/APP/", "", "c\r\n", "")
	f.Fuzz(func(t *testing.T, method, target, client, msgID, consentID, userID string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !validMethod(method) {
			return
		}
		r := &http.Request{Method: method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Host: "gateway.example.gov",
			Header: http.Header{"Authorization": {"Bearer " + rg.token}}, Body: http.NoBody, RequestURI: target}
		r = r.WithContext(context.Background())
		for name, v := range map[string]string{"X-Road-Client": client, "X-Road-Id": msgID, "Egovkit-Consent-Id": consentID, "X-Road-UserId": userID} {
			if v != "" {
				r.Header[name] = []string{v}
			}
		}
		w := httptest.NewRecorder()
		rg.gw.ServeHTTP(w, r)
		assert.NotEqual(t, http.StatusInternalServerError, w.Code, w.Body.String())
		if w.Header().Get("X-Road-Error") != "" {
			assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
		}
		assert.NotEmpty(t, w.Header().Get("X-Road-Request-Id"))
	})
}

func validMethod(m string) bool {
	if m == "" || len(m) > 16 {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
