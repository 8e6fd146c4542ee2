package provider_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/testclock"
	"github.com/egovkit/egovkit/interop/httpsig"
	"github.com/egovkit/egovkit/interop/provider"
	"github.com/egovkit/egovkit/problem"
)

// registryB is a provider's handler: it reads the body to its end before
// acting, and answers with who asked.
func registryB(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var pe problem.Problemer
			if errors.As(err, &pe) {
				problem.Write(w, r, pe.Problem())
				return
			}
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c, ok := provider.FromContext(r.Context())
		if !assert.True(t, ok) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"client": c.Client, "id": c.MessageID, "user": c.UserID, "issue": c.Issue,
			"consent": c.ConsentID, "citizen": c.Citizen, "key": c.KeyID, "body": string(body),
		})
	})
}

type env struct {
	clock  *testclock.Clock
	key    ed25519.PrivateKey
	signer *httpsig.Signer
	srv    *httptest.Server
	client *http.Client
}

func newEnv(t *testing.T, cfg provider.Config) *env {
	t.Helper()
	e := &env{clock: testclock.New()}
	_, e.key, _ = ed25519.GenerateKey(rand.Reader)
	if cfg.Keys == nil && cfg.JWKSURL == "" {
		cfg.Keys = map[string]crypto.PublicKey{"gw-1": e.key.Public()}
	}
	cfg.Now = e.clock.Now
	p, err := provider.New(t.Context(), cfg)
	require.NoError(t, err)
	e.srv = httptest.NewServer(p.Middleware(registryB(t)))
	t.Cleanup(e.srv.Close)
	e.signer = e.newSigner(t, e.key, "gw-1")
	e.client = &http.Client{Transport: e.signer.Transport(e.srv.Client().Transport)}
	return e
}

func (e *env) newSigner(t *testing.T, key crypto.Signer, id string) *httpsig.Signer {
	s, err := httpsig.NewSigner(httpsig.SignerConfig{Key: key, KeyID: id, IfPresent: httpsig.GatewayOptionalComponents(), Now: e.clock.Now})
	require.NoError(t, err)
	return s
}

func (e *env) request(t *testing.T, id, body string) *http.Request {
	r, err := http.NewRequest(http.MethodPost, e.srv.URL+"/persons/find?year=2026", strings.NewReader(body))
	require.NoError(t, err)
	r.Header.Set(httpsig.HeaderClient, "GR/GOV/EL-123/portal")
	r.Header.Set(httpsig.HeaderMessageID, id)
	r.Header.Set(httpsig.HeaderUserID, "GR-090000045")
	r.Header.Set(httpsig.HeaderIssue, "case-2026-17")
	r.Header.Set(httpsig.HeaderConsentID, "consent-42")
	r.Header.Set(httpsig.HeaderCitizen, "p-7f3a9c")
	return r
}

type answer struct {
	status  int
	ctype   string
	problem map[string]any
	body    map[string]string
	header  http.Header
}

func do(t *testing.T, c *http.Client, r *http.Request) answer {
	t.Helper()
	resp, err := c.Do(r)
	require.NoError(t, err)
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), header: resp.Header}
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if a.ctype == problem.ContentType {
		require.NoError(t, json.Unmarshal(b, &a.problem), "%s", b)
	} else if resp.StatusCode == http.StatusOK {
		require.NoError(t, json.Unmarshal(b, &a.body), "%s", b)
	}
	return a
}

func assertRefused(t *testing.T, a answer, status int, code string) {
	t.Helper()
	assert.Equal(t, status, a.status)
	assert.Equal(t, problem.ContentType, a.ctype)
	if code != "" {
		assert.Equal(t, httpsig.ProblemTypeBase+code, a.problem["type"])
	}
}

func TestSignedRequestReachesHandler(t *testing.T) {
	e := newEnv(t, provider.Config{})
	a := do(t, e.client, e.request(t, "m-1", `{"afm":"090000045"}`))
	require.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, map[string]string{
		"client": "GR/GOV/EL-123/portal", "id": "m-1", "user": "GR-090000045", "issue": "case-2026-17",
		"consent": "consent-42", "citizen": "p-7f3a9c", "key": "gw-1", "body": `{"afm":"090000045"}`,
	}, a.body)

	// A GET without a body is signed with the empty body's digest.
	r, err := http.NewRequest(http.MethodGet, e.srv.URL+"/persons/090000045", nil)
	require.NoError(t, err)
	r.Header.Set(httpsig.HeaderClient, "GR/GOV/EL-123/portal")
	r.Header.Set(httpsig.HeaderMessageID, "m-2")
	a = do(t, e.client, r)
	require.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "", a.body["consent"])
}

func TestRefusals(t *testing.T) {
	e := newEnv(t, provider.Config{})
	plain := e.srv.Client()

	t.Run("unsigned", func(t *testing.T) {
		assertRefused(t, do(t, plain, e.request(t, "u-1", "{}")), http.StatusUnauthorized, "unsigned")
	})
	t.Run("stale", func(t *testing.T) {
		r := e.request(t, "s-1", "{}")
		require.NoError(t, e.signer.Sign(r))
		e.clock.Advance(6 * time.Minute)
		defer e.clock.Set(testclock.Start)
		assertRefused(t, do(t, plain, r), http.StatusUnauthorized, "stale")
	})
	t.Run("replayed as is", func(t *testing.T) {
		r := e.request(t, "r-1", "{}")
		require.NoError(t, e.signer.Sign(r))
		again := r.Clone(t.Context())
		again.Body, _ = r.GetBody()
		assert.Equal(t, http.StatusOK, do(t, plain, r).status)
		assertRefused(t, do(t, plain, again), http.StatusUnauthorized, "replay")
	})
	t.Run("replayed under another message id", func(t *testing.T) {
		// X-Road-Id is signed: a copy cannot pass for a new message.
		r := e.request(t, "r-3", "{}")
		require.NoError(t, e.signer.Sign(r))
		again := r.Clone(t.Context())
		again.Body, _ = r.GetBody()
		again.Header.Set(httpsig.HeaderMessageID, "r-4")
		assert.Equal(t, http.StatusOK, do(t, plain, r).status)
		assertRefused(t, do(t, plain, again), http.StatusUnauthorized, "bad-signature")
	})
	t.Run("body changed", func(t *testing.T) {
		r := e.request(t, "b-1", `{"amount":10}`)
		require.NoError(t, e.signer.Sign(r))
		r.Body = io.NopCloser(strings.NewReader(`{"amount":99}`))
		r.ContentLength = int64(len(`{"amount":99}`))
		assertRefused(t, do(t, plain, r), http.StatusUnauthorized, "digest")
	})
	t.Run("header changed", func(t *testing.T) {
		r := e.request(t, "h-1", "{}")
		require.NoError(t, e.signer.Sign(r))
		r.Header.Set(httpsig.HeaderConsentID, "consent-43")
		assertRefused(t, do(t, plain, r), http.StatusUnauthorized, "bad-signature")
	})
	t.Run("optional header added", func(t *testing.T) {
		r := e.request(t, "h-2", "{}")
		r.Header.Del(httpsig.HeaderCitizen)
		require.NoError(t, e.signer.Sign(r))
		r.Header.Set(httpsig.HeaderCitizen, "p-someone-else")
		assertRefused(t, do(t, plain, r), http.StatusUnauthorized, "missing-component")
	})
	t.Run("another key", func(t *testing.T) {
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		s := e.newSigner(t, other, "gw-1")
		c := &http.Client{Transport: s.Transport(plain.Transport)}
		assertRefused(t, do(t, c, e.request(t, "k-1", "{}")), http.StatusUnauthorized, "bad-signature")
		s = e.newSigner(t, other, "gw-9")
		c = &http.Client{Transport: s.Transport(plain.Transport)}
		assertRefused(t, do(t, c, e.request(t, "k-2", "{}")), http.StatusUnauthorized, "unknown-key")
	})
	t.Run("without nonce", func(t *testing.T) {
		s, err := httpsig.NewSigner(httpsig.SignerConfig{Key: e.key, KeyID: "gw-1", Now: e.clock.Now, Nonce: func() string { return "" }, IfPresent: httpsig.GatewayOptionalComponents()})
		require.NoError(t, err)
		c := &http.Client{Transport: s.Transport(plain.Transport)}
		assertRefused(t, do(t, c, e.request(t, "n-1", "{}")), http.StatusUnauthorized, "missing-component")
	})
}

// jwksServer publishes keys as a JWK set and counts the fetches.
type jwksServer struct {
	mu      sync.Mutex
	keys    map[string]crypto.PublicKey
	down    atomic.Bool
	fetches atomic.Int64
	srv     *httptest.Server
}

func newJWKS(t *testing.T) *jwksServer {
	j := &jwksServer{keys: map[string]crypto.PublicKey{}}
	j.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.fetches.Add(1)
		if j.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		set := jwk.NewSet()
		for id, k := range j.keys {
			jk, err := jwk.FromRaw(k)
			require.NoError(t, err)
			require.NoError(t, jk.Set(jwk.KeyIDKey, id))
			require.NoError(t, set.AddKey(jk))
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		require.NoError(t, json.NewEncoder(w).Encode(set))
	}))
	t.Cleanup(j.srv.Close)
	return j
}

func (j *jwksServer) set(id string, k crypto.PublicKey) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.keys[id] = k
}

func TestKeysFromJWKS(t *testing.T) {
	j := newJWKS(t)
	j.down.Store(true)
	e := newEnv(t, provider.Config{JWKSURL: j.srv.URL, KeysCooldown: 10 * time.Second})
	assert.EqualValues(t, 1, j.fetches.Load(), "fetched once at start")

	// The set cannot be had: 503 with Retry-After, not a credential error.
	a := do(t, e.client, e.request(t, "j-1", "{}"))
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.Equal(t, "5", a.header.Get("Retry-After"))
	assert.EqualValues(t, 1, j.fetches.Load(), "not again within the cooldown")

	j.down.Store(false)
	j.set("gw-1", e.key.Public())
	e.clock.Advance(11 * time.Second)
	assert.Equal(t, http.StatusOK, do(t, e.client, e.request(t, "j-2", "{}")).status)
	assert.Equal(t, http.StatusOK, do(t, e.client, e.request(t, "j-3", "{}")).status)
	assert.EqualValues(t, 2, j.fetches.Load(), "cached")

	// The gateway rotates to an ECDSA key: the unknown key id fetches the
	// set again, at most once per cooldown.
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	j.set("gw-2", ec.Public())
	c := &http.Client{Transport: e.newSigner(t, ec, "gw-2").Transport(e.srv.Client().Transport)}
	e.clock.Advance(11 * time.Second)
	assert.Equal(t, http.StatusOK, do(t, c, e.request(t, "j-4", "{}")).status)
	assert.EqualValues(t, 3, j.fetches.Load())
	c = &http.Client{Transport: e.newSigner(t, ec, "gw-3").Transport(e.srv.Client().Transport)}
	assertRefused(t, do(t, c, e.request(t, "j-5", "{}")), http.StatusUnauthorized, "unknown-key")
	assertRefused(t, do(t, c, e.request(t, "j-6", "{}")), http.StatusUnauthorized, "unknown-key")
	assert.EqualValues(t, 3, j.fetches.Load(), "an unknown key does not fetch again within the cooldown")

	// Once the set is down again, the keys known keep working.
	j.down.Store(true)
	e.clock.Advance(11 * time.Minute)
	assert.Equal(t, http.StatusOK, do(t, e.client, e.request(t, "j-7", "{}")).status)
}

// sharedGuard is a guard shared by two instances, as a database would be.
type sharedGuard struct {
	mu   sync.Mutex
	seen map[string]bool
	err  error
}

func (g *sharedGuard) Seen(_ context.Context, key string, _ time.Time) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return false, g.err
	}
	s := g.seen[key]
	g.seen[key] = true
	return s, nil
}

func TestSharedReplayGuard(t *testing.T) {
	g := &sharedGuard{seen: map[string]bool{}}
	e := newEnv(t, provider.Config{Replay: g})
	p2, err := provider.New(t.Context(), provider.Config{Keys: map[string]crypto.PublicKey{"gw-1": e.key.Public()}, Replay: g, Now: e.clock.Now})
	require.NoError(t, err)
	second := httptest.NewServer(p2.Middleware(registryB(t)))
	defer second.Close()

	r := e.request(t, "g-1", "{}")
	require.NoError(t, e.signer.Sign(r))
	again, err := http.NewRequest(r.Method, second.URL+r.URL.RequestURI(), strings.NewReader("{}"))
	require.NoError(t, err)
	again.Header = r.Header.Clone()
	again.Host = r.URL.Host // the same authority, reached through another instance
	assert.Equal(t, http.StatusOK, do(t, e.srv.Client(), r).status)
	assertRefused(t, do(t, second.Client(), again), http.StatusUnauthorized, "replay")

	g.err = errors.New("database down")
	a := do(t, e.client, e.request(t, "g-2", "{}"))
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
}

func TestConfigRefused(t *testing.T) {
	_, err := provider.New(t.Context(), provider.Config{})
	assert.ErrorIs(t, err, provider.ErrConfig)
	assert.ErrorIs(t, err, errkind.Invalid)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	_, err = provider.New(t.Context(), provider.Config{Keys: map[string]crypto.PublicKey{"k": p384.Public()}})
	assert.ErrorIs(t, err, provider.ErrConfig)
}

func TestVerifyDirectly(t *testing.T) {
	clock := testclock.New()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	p, err := provider.New(t.Context(), provider.Config{Keys: map[string]crypto.PublicKey{"gw-1": key.Public()}, Now: clock.Now})
	require.NoError(t, err)
	s, err := httpsig.NewSigner(httpsig.SignerConfig{Key: key, KeyID: "gw-1", Now: clock.Now})
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodGet, "http://registry-b.example/x", nil)
	r.Header.Set(httpsig.HeaderClient, "GR/GOV/EL-1/a")
	r.Header.Set(httpsig.HeaderMessageID, "d-1")
	require.NoError(t, s.Sign(r))
	c, err := p.Verify(r)
	require.NoError(t, err)
	assert.Equal(t, "d-1", c.MessageID)
	assert.Equal(t, testclock.Start.Unix(), c.Signed.Unix())
	_, err = p.Verify(r)
	assert.ErrorIs(t, err, httpsig.ErrReplay)
	assert.ErrorIs(t, err, errkind.Unauthorized)
}

// A consumer retries a call with the same X-Road-Id and the gateway signs
// each attempt afresh: every attempt reaches the handler, which sees the
// one message id, while a copy of an attempt is still refused.
func TestRetriedMessageIsServed(t *testing.T) {
	e := newEnv(t, provider.Config{})
	for range 3 {
		a := do(t, e.client, e.request(t, "retry-1", "{}"))
		require.Equal(t, http.StatusOK, a.status)
		assert.Equal(t, "retry-1", a.body["id"])
	}
	r, err := http.NewRequest(http.MethodGet, e.srv.URL+"/persons/090000045", nil)
	require.NoError(t, err)
	r.Header.Set(httpsig.HeaderClient, "GR/GOV/EL-123/portal")
	r.Header.Set(httpsig.HeaderMessageID, "retry-2")
	require.NoError(t, e.signer.Sign(r))
	copied := r.Clone(t.Context())
	assert.Equal(t, http.StatusOK, do(t, e.srv.Client(), r).status)
	assertRefused(t, do(t, e.srv.Client(), copied), http.StatusUnauthorized, "replay")
}

// The in-memory guard forgets a nonce once its signature would be stale
// anyway (MaxAge plus twice the skew); by then the copy is refused as
// stale instead.
func TestMemoryGuardForgets(t *testing.T) {
	e := newEnv(t, provider.Config{MaxAge: time.Minute, Skew: 10 * time.Second})
	r := e.request(t, "f-1", "{}")
	require.NoError(t, e.signer.Sign(r))
	again := func() *http.Request {
		c := r.Clone(t.Context())
		c.Body, _ = r.GetBody()
		return c
	}
	assert.Equal(t, http.StatusOK, do(t, e.srv.Client(), again()).status)
	e.clock.Advance(time.Minute)
	assertRefused(t, do(t, e.srv.Client(), again()), http.StatusUnauthorized, "replay")
	e.clock.Advance(21 * time.Second)
	assertRefused(t, do(t, e.srv.Client(), again()), http.StatusUnauthorized, "stale")
}
