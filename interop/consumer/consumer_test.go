package consumer_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/testclock"
	"github.com/egovkit/egovkit/interop/consumer"
	"github.com/egovkit/egovkit/interop/httpsig"
	"github.com/egovkit/egovkit/problem"
)

type fixture struct {
	clock *testclock.Clock
	op    *opServer
	gw    *gateway
	key   *ecdsa.PrivateKey

	mu     sync.Mutex
	sleeps []time.Duration
}

func (f *fixture) waits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// setup starts the provider with the consumer's client registered, the
// gateway, and a client configured for them (edit changes the Config).
// The client's waits between attempts are recorded, not waited.
func setup(t *testing.T, edit func(*consumer.Config)) (*fixture, *consumer.Client) {
	t.Helper()
	ctx := t.Context()
	f := &fixture{clock: testclock.New()}
	op, err := startProvider(ctx, f.clock.Now)
	require.NoError(t, err)
	t.Cleanup(op.close)
	f.op = op
	key := newP256()
	f.key = key
	require.NoError(t, op.register(ctx, appClientID, appKeyID, key))
	f.gw, err = startGateway(ctx, op, f.clock.Now)
	require.NoError(t, err)
	t.Cleanup(f.gw.srv.Close)
	cfg := consumer.Config{
		Gateway: f.gw.srv.URL, Consumer: dypa, TokenURL: op.tokenURL(), ClientID: appClientID,
		Key: key, KeyID: appKeyID, Scopes: []string{callScope}, Resource: gatewayAudience,
		Now: f.clock.Now, MinBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := consumer.New(cfg)
	require.NoError(t, err)
	consumer.SetSleep(c, func(ctx context.Context, d time.Duration) error {
		f.mu.Lock()
		f.sleeps = append(f.sleeps, d)
		f.mu.Unlock()
		return ctx.Err()
	})
	return f, c
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestCallCarriesTokenHeadersAndDigest(t *testing.T) {
	f, c := setup(t, nil)
	ctx := t.Context()

	resp, err := c.Do(ctx, consumer.Call{Service: address, Path: "/persons/12%2F3?fields=street", UserID: "GR12345",
		Issue: "case-7", ConsentID: "c-42", Citizen: "pz-9f2", Header: http.Header{"Accept": {"application/json"}}})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"method":"GET"}`, readAll(t, resp))

	body := []byte(`{"afm":"123456783"}`)
	resp, err = c.Do(ctx, consumer.Call{Service: address, Method: http.MethodPost, Path: "/persons/find",
		Body: bytes.NewReader(body), Header: http.Header{"Content-Type": {"application/json"}}})
	require.NoError(t, err)
	readAll(t, resp)

	got := f.gw.requests()
	require.Len(t, got, 2)
	get, post := got[0], got[1]
	assert.Equal(t, "/persons/12%2F3", get.Rest)
	assert.Equal(t, "fields=street", get.Query)
	assert.Equal(t, dypa.String(), get.Header.Get(httpsig.HeaderClient))
	assert.Equal(t, "GR12345", get.Header.Get(httpsig.HeaderUserID))
	assert.Equal(t, "case-7", get.Header.Get(httpsig.HeaderIssue))
	assert.Equal(t, "c-42", get.Header.Get(httpsig.HeaderConsentID))
	assert.Equal(t, "pz-9f2", get.Header.Get(httpsig.HeaderCitizen))
	assert.Equal(t, "application/json", get.Header.Get("Accept"))
	assert.Empty(t, get.Header.Get(httpsig.HeaderContentDigest), "no body, no digest")
	assert.Len(t, get.Header.Get(httpsig.HeaderMessageID), 32)
	assert.NotEqual(t, get.Header.Get(httpsig.HeaderMessageID), post.Header.Get(httpsig.HeaderMessageID), "a fresh X-Road-Id per call")

	// The token: the provider's, for the client, the gateway's audience
	// alone (RFC 8707) and the scope asked for.
	assert.Equal(t, appClientID, get.Token.Subject())
	assert.Equal(t, []string{gatewayAudience}, get.Token.Audience())
	scope, _ := get.Token.Get("scope")
	assert.Equal(t, callScope, scope)
	assert.Equal(t, get.Token.JwtID(), post.Token.JwtID(), "one token for both calls")

	// The body and its RFC 9530 digest, which the gateway checked.
	want, err := httpsig.ContentDigest(httpsig.DigestSHA256, body)
	require.NoError(t, err)
	assert.Equal(t, want, post.Header.Get(httpsig.HeaderContentDigest))
	assert.Equal(t, body, post.Body)
	assert.Equal(t, "application/json", post.Header.Get("Content-Type"))
	assert.Empty(t, post.Header.Get(httpsig.HeaderUserID), "headers not given are not sent")
	assert.EqualValues(t, 1, f.op.tokens.Load())
}

func TestHeadersTheClientSetsCannotBeOverridden(t *testing.T) {
	f, c := setup(t, nil)
	resp, err := c.Do(t.Context(), consumer.Call{Service: address, Body: strings.NewReader("x"), Method: http.MethodPut,
		Header: http.Header{"X-Road-Client": {"GR/GOV/OTHER/APP"}, "Authorization": {"Bearer forged"},
			"Content-Digest": {"sha-256=:AAAA:"}, "x-road-userid": {"someone"}}})
	require.NoError(t, err)
	readAll(t, resp)
	got := f.gw.requests()
	require.Len(t, got, 1)
	assert.Equal(t, dypa.String(), got[0].Header.Get(httpsig.HeaderClient))
	assert.Empty(t, got[0].Header.Get(httpsig.HeaderUserID))
	assert.Equal(t, []byte("x"), got[0].Body)
}

func TestTokenEndpointFoundByDiscoveryWithAnEd25519Key(t *testing.T) {
	f, _ := setup(t, nil)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	require.NoError(t, f.op.register(t.Context(), "dypa-edge", "edge-1", key))
	c, err := consumer.New(consumer.Config{Gateway: f.gw.srv.URL, Consumer: dypa, Issuer: f.op.issuer,
		ClientID: "dypa-edge", Key: key, KeyID: "edge-1", Resource: gatewayAudience, Now: f.clock.Now})
	require.NoError(t, err)
	resp, err := c.Do(t.Context(), consumer.Call{Service: address, Path: "/"})
	require.NoError(t, err)
	readAll(t, resp)
	got := f.gw.requests()
	require.Len(t, got, 1)
	assert.Equal(t, "dypa-edge", got[0].Token.Subject())
	scope, _ := got[0].Token.Get("scope")
	assert.Equal(t, "interop:admin "+callScope, scope, "no scope asked: the registered ones")

	// A discovery document that names another issuer is not trusted.
	c, err = consumer.New(consumer.Config{Gateway: f.gw.srv.URL, Consumer: dypa, Issuer: f.op.srv.URL + "/auth/other",
		ClientID: "dypa-edge", Key: key, Now: f.clock.Now})
	require.NoError(t, err)
	_, err = c.Do(t.Context(), consumer.Call{Service: address})
	assert.ErrorIs(t, err, consumer.ErrUnavailable, "no discovery document there")
	c, err = consumer.New(consumer.Config{Gateway: f.gw.srv.URL, Consumer: dypa, Issuer: f.op.issuer + "/",
		ClientID: "dypa-edge", Key: key, Now: f.clock.Now})
	assert.ErrorIs(t, err, consumer.ErrConfig)
	assert.Len(t, f.gw.requests(), 1)
}

func TestTokenCachedAndFetchedOnceUnderConcurrency(t *testing.T) {
	f, c := setup(t, nil)
	ctx := t.Context()
	many := func() {
		var wg sync.WaitGroup
		for range 24 {
			wg.Go(func() {
				resp, err := c.Do(ctx, consumer.Call{Service: address, Path: "/persons"})
				if assert.NoError(t, err) {
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
	}
	many()
	assert.EqualValues(t, 1, f.op.tokens.Load(), "24 calls at once, one token request")

	// The provider's tokens live 10 minutes; the client replaces them a
	// minute before they expire.
	f.clock.Advance(8*time.Minute + 59*time.Second)
	many()
	assert.EqualValues(t, 1, f.op.tokens.Load())
	f.clock.Advance(2 * time.Second)
	many()
	assert.EqualValues(t, 2, f.op.tokens.Load(), "refreshed once, before expiry")
	jtis := map[string]bool{}
	for _, r := range f.gw.requests() {
		jtis[r.Token.JwtID()] = true
	}
	assert.Len(t, jtis, 2)
}

// TestTokenFetchAbandonedByItsCaller: the call that fetches the token
// gives up (its context ends); a call that was waiting for that fetch
// fetches one itself instead of failing with the other's error.
func TestTokenFetchAbandonedByItsCaller(t *testing.T) {
	f, c := setup(t, nil)
	gate := make(chan struct{})
	f.op.gate.Store(&gate)
	ctx1, cancel1 := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() {
		_, err := c.Do(ctx1, consumer.Call{Service: address})
		first <- err
	}()
	for f.op.tokens.Load() == 0 {
		runtime.Gosched()
	}
	second := make(chan error, 1)
	go func() {
		resp, err := c.Do(t.Context(), consumer.Call{Service: address})
		if err == nil {
			resp.Body.Close()
		}
		second <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the second call find the fetch under way
	cancel1()
	err := <-first
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, errkind.Unavailable)
	close(gate)
	require.NoError(t, <-second)
	assert.EqualValues(t, 2, f.op.tokens.Load())
	assert.Len(t, f.gw.requests(), 1)
}

func TestRefusedTokenIsReplacedOnce(t *testing.T) {
	f, c := setup(t, nil)
	ctx := t.Context()
	var first string
	f.gw.mu.Lock()
	f.gw.refuse = func(tok jwt.Token) bool { // called under f.gw.mu
		if first == "" {
			first = tok.JwtID()
		}
		return tok.JwtID() == first // as if revoked
	}
	f.gw.mu.Unlock()
	// A POST without an idempotency key: the refused request was not
	// served, so it is made again with the new token.
	resp, err := c.Do(ctx, consumer.Call{Service: address, Method: http.MethodPost, Body: strings.NewReader("{}")})
	require.NoError(t, err)
	readAll(t, resp)
	got := f.gw.requests()
	require.Len(t, got, 1, "the refused attempt never got past the token check")
	assert.NotEqual(t, first, got[0].Token.JwtID())
	assert.EqualValues(t, 2, f.op.tokens.Load())
	assert.Empty(t, f.waits(), "no wait before the retry with a new token")

	// A token that is always refused: one new token, one more attempt.
	f.gw.mu.Lock()
	f.gw.refuse = func(jwt.Token) bool { return true }
	f.gw.mu.Unlock()
	_, err = c.Do(ctx, consumer.Call{Service: address})
	var e *consumer.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusUnauthorized, e.Status)
	assert.Equal(t, "Server.ClientProxy.InvalidToken", e.XRoadError)
	assert.ErrorIs(t, err, errkind.Unauthorized)
	assert.EqualValues(t, 3, f.op.tokens.Load())
}

// A 401 the gateway relays from the provider carries no X-Road-Error: it
// is about the provider's check (here its replay guard), not the token,
// and is returned without fetching a token or trying again; a challenge
// the provider sent makes no difference.
func TestProviderUnauthorizedKeepsToken(t *testing.T) {
	for name, challenge := range map[string]string{"no challenge": "", "a Bearer challenge": `Bearer error="invalid_token"`} {
		t.Run(name, func(t *testing.T) {
			f, c := setup(t, nil)
			f.gw.setRespond(func(w http.ResponseWriter, r *http.Request, n int) {
				if challenge != "" {
					w.Header().Set("WWW-Authenticate", challenge)
				}
				problem.Write(w, r, problem.New(httpsig.ProblemTypeBase+"replay", http.StatusUnauthorized, "the signature's nonce was seen before"))
			})
			_, err := c.Do(t.Context(), consumer.Call{Service: address, MessageID: "m-401"})
			var e *consumer.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, http.StatusUnauthorized, e.Status)
			assert.Equal(t, httpsig.ProblemTypeBase+"replay", e.Type)
			assert.Empty(t, e.XRoadError)
			assert.ErrorIs(t, err, errkind.Unauthorized)
			assert.Len(t, f.gw.requests(), 1, "no second attempt")
			assert.EqualValues(t, 1, f.op.tokens.Load(), "the token is kept")
		})
	}
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name       string
		call       consumer.Call
		retryAfter string
		statuses   []int
		attempts   int
		kind       error // nil: succeeds
	}{
		{"GET on 503 twice", consumer.Call{}, "", []int{503, 503}, 3, nil},
		{"PUT on 502", consumer.Call{Method: "PUT", Body: strings.NewReader("v")}, "", []int{502}, 2, nil},
		{"DELETE on 504", consumer.Call{Method: "DELETE"}, "", []int{504}, 2, nil},
		{"HEAD on 503", consumer.Call{Method: "HEAD"}, "", []int{503}, 2, nil},
		{"OPTIONS on 503", consumer.Call{Method: "OPTIONS"}, "", []int{503}, 2, nil},
		{"GET on 429", consumer.Call{}, "", []int{429}, 2, nil},
		{"POST with a key on 503", consumer.Call{Method: "POST", IdempotencyKey: "order-17", Body: strings.NewReader("{}")}, "", []int{503, 503}, 3, nil},
		{"GET until attempts run out", consumer.Call{}, "", []int{503, 503, 503, 503, 503}, 4, errkind.Unavailable},
		{"no retry: POST on 503", consumer.Call{Method: "POST", Body: strings.NewReader("{}")}, "", []int{503}, 1, errkind.Unavailable},
		{"no retry: PATCH on 502", consumer.Call{Method: "PATCH", Body: strings.NewReader("{}")}, "", []int{502}, 1, errkind.Unavailable},
		{"no retry: POST on 429", consumer.Call{Method: "POST"}, "1", []int{429}, 1, errkind.RateLimited},
		{"no retry: GET on 404", consumer.Call{}, "", []int{404}, 1, errkind.NotFound},
		{"no retry: GET on 403", consumer.Call{}, "", []int{403}, 1, errkind.Forbidden},
		{"no retry: GET on 500", consumer.Call{}, "", []int{500}, 1, nil},
		{"no retry: GET on 413", consumer.Call{}, "", []int{413}, 1, errkind.Invalid},
		{"no retry: a wait longer than MaxRetryWait", consumer.Call{}, "120", []int{429}, 1, errkind.RateLimited},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, c := setup(t, nil)
			f.gw.setRespond(answers(tc.retryAfter, tc.statuses...))
			tc.call.Service = address
			resp, err := c.Do(t.Context(), tc.call)
			got := f.gw.requests()
			assert.Len(t, got, tc.attempts)
			ids := map[string]bool{}
			for _, r := range got {
				ids[r.Header.Get(httpsig.HeaderMessageID)] = true
				assert.Equal(t, tc.call.IdempotencyKey, r.Header.Get(consumer.HeaderIdempotencyKey))
			}
			assert.Len(t, ids, 1, "one X-Road-Id across the attempts")
			assert.Len(t, f.waits(), tc.attempts-1)
			for i, d := range f.waits() {
				// Doubling from 100 ms, less up to half of it as jitter.
				base := 100 * time.Millisecond << i
				assert.GreaterOrEqual(t, d, base/2, "wait %d", i)
				assert.LessOrEqual(t, d, base, "wait %d", i)
			}
			wantErr := tc.attempts <= len(tc.statuses)
			if !wantErr {
				require.NoError(t, err)
				readAll(t, resp)
				return
			}
			var e *consumer.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.statuses[tc.attempts-1], e.Status)
			if tc.kind != nil {
				assert.ErrorIs(t, err, tc.kind)
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	f, c := setup(t, nil)
	f.gw.setRespond(answers("3", 429, 503))
	resp, err := c.Do(t.Context(), consumer.Call{Service: address})
	require.NoError(t, err)
	readAll(t, resp)
	assert.Equal(t, []time.Duration{3 * time.Second, 3 * time.Second}, f.waits())

	// An HTTP-date: the wait until then, from the client's clock.
	f2, c2 := setup(t, nil)
	f2.gw.setRespond(func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.Header().Set("Retry-After", f2.clock.Now().Add(7*time.Second).Format(http.TimeFormat))
			refusal(w, http.StatusServiceUnavailable, problem.TypeUnavailable, "busy", "Server.ServerProxy.ServiceFailed")
			return
		}
		echo(w, r, n)
	})
	resp, err = c2.Do(t.Context(), consumer.Call{Service: address})
	require.NoError(t, err)
	readAll(t, resp)
	assert.Equal(t, []time.Duration{7 * time.Second}, f2.waits())
}

func TestNoWaitPastTheContext(t *testing.T) {
	f, c := setup(t, nil)
	f.gw.setRespond(answers("10", 429))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := c.Do(ctx, consumer.Call{Service: address})
	var e *consumer.Error
	require.ErrorAs(t, err, &e)
	assert.ErrorIs(t, err, errkind.RateLimited)
	assert.Equal(t, 10*time.Second, e.RetryAfter, "the wait asked for, for the caller")
	assert.Empty(t, f.waits(), "a wait that outlasts the context is not begun")
	assert.Len(t, f.gw.requests(), 1)

	// A context that ends during the wait ends the call with the last
	// refusal.
	f2, c2 := setup(t, nil)
	f2.gw.setRespond(answers("", 503, 503))
	ctx2, cancel2 := context.WithCancel(t.Context())
	consumer.SetSleep(c2, func(context.Context, time.Duration) error { cancel2(); return context.Canceled })
	_, err = c2.Do(ctx2, consumer.Call{Service: address})
	assert.ErrorIs(t, err, errkind.Unavailable)
	assert.Len(t, f2.gw.requests(), 1)
}

func TestConnectionFailures(t *testing.T) {
	f, c := setup(t, nil)
	f.gw.mu.Lock()
	f.gw.hangUp = 2
	f.gw.mu.Unlock()
	resp, err := c.Do(t.Context(), consumer.Call{Service: address, Method: http.MethodPut, Body: strings.NewReader("v1")})
	require.NoError(t, err, "a PUT is retried after the connection failed")
	readAll(t, resp)
	got := f.gw.requests()
	require.Len(t, got, 1)
	assert.Equal(t, []byte("v1"), got[0].Body)
	assert.Len(t, f.waits(), 2)

	// A POST without a key may have been served before the connection
	// broke: it is not made again.
	f.gw.mu.Lock()
	f.gw.hangUp = 1
	f.gw.mu.Unlock()
	_, err = c.Do(t.Context(), consumer.Call{Service: address, Method: http.MethodPost, Path: "/persons?afm=123456783", Body: strings.NewReader("{}")})
	require.ErrorIs(t, err, consumer.ErrUnavailable)
	assert.NotContains(t, err.Error(), "123456783", "the URL, whose query may name a person, is left out")
	assert.ErrorIs(t, err, errkind.Unavailable)
	assert.Len(t, f.gw.requests(), 1)
	assert.Len(t, f.waits(), 2)

	// Nothing listens: every attempt fails.
	c2, err := consumer.New(consumer.Config{Gateway: "http://127.0.0.1:1", Consumer: dypa, TokenURL: f.op.tokenURL(),
		ClientID: appClientID, Key: f.key, KeyID: appKeyID, Resource: gatewayAudience, Now: f.clock.Now,
		MaxAttempts: 2, MinBackoff: time.Millisecond})
	require.NoError(t, err)
	_, err = c2.Do(t.Context(), consumer.Call{Service: address})
	assert.ErrorIs(t, err, consumer.ErrUnavailable)
	assert.ErrorIs(t, err, errkind.Unavailable)
}

func TestBodiesAreReplayedOrNotRetried(t *testing.T) {
	t.Run("a seeker is read again from where it stood", func(t *testing.T) {
		f, c := setup(t, nil)
		f.gw.setRespond(answers("", 503))
		r := strings.NewReader("skip:payload")
		_, err := r.Seek(5, io.SeekStart)
		require.NoError(t, err)
		resp, err := c.Do(t.Context(), consumer.Call{Service: address, Method: http.MethodPut, Body: r})
		require.NoError(t, err)
		readAll(t, resp)
		got := f.gw.requests()
		require.Len(t, got, 2)
		for _, g := range got {
			assert.Equal(t, "payload", string(g.Body))
		}
	})
	t.Run("GetBody gives a copy per attempt", func(t *testing.T) {
		f, c := setup(t, nil)
		f.gw.setRespond(answers("", 503, 502))
		calls := 0
		get := func() (io.ReadCloser, error) {
			calls++
			return io.NopCloser(strings.NewReader("stream")), nil
		}
		resp, err := c.Do(t.Context(), consumer.Call{Service: address, Method: http.MethodPut, GetBody: get})
		require.NoError(t, err)
		readAll(t, resp)
		assert.Len(t, f.gw.requests(), 3)
		assert.Equal(t, 4, calls, "one for the digest, one per attempt")
	})
	t.Run("a body that cannot be had again is not retried", func(t *testing.T) {
		f, c := setup(t, nil)
		f.gw.setRespond(answers("", 503))
		calls := 0
		get := func() (io.ReadCloser, error) {
			calls++
			if calls > 2 {
				return nil, errNoCopy
			}
			return io.NopCloser(strings.NewReader("stream")), nil
		}
		_, err := c.Do(t.Context(), consumer.Call{Service: address, Method: http.MethodPut, GetBody: get})
		require.ErrorIs(t, err, errNoCopy)
		assert.ErrorIs(t, err, consumer.ErrCall)
		assert.Len(t, f.gw.requests(), 1)
	})
	t.Run("a plain reader is held in memory, within a bound", func(t *testing.T) {
		f, c := setup(t, func(cfg *consumer.Config) { cfg.MaxBufferedBody = 8 })
		f.gw.setRespond(answers("", 503))
		resp, err := c.Do(t.Context(), consumer.Call{Service: address, Method: http.MethodPut, Body: io.LimitReader(strings.NewReader("12345678"), 8)})
		require.NoError(t, err)
		readAll(t, resp)
		assert.Len(t, f.gw.requests(), 2)
		_, err = c.Do(t.Context(), consumer.Call{Service: address, Method: http.MethodPut, Body: io.LimitReader(strings.NewReader("123456789"), 9)})
		assert.ErrorIs(t, err, consumer.ErrCall)
		assert.ErrorIs(t, err, errkind.Invalid)
		assert.Len(t, f.gw.requests(), 2, "nothing sent")
	})
	t.Run("an empty body has the digest of nothing", func(t *testing.T) {
		f, c := setup(t, nil)
		resp, err := c.Do(t.Context(), consumer.Call{Service: address, Method: http.MethodPost, Body: bytes.NewReader(nil)})
		require.NoError(t, err)
		readAll(t, resp)
		want, _ := httpsig.ContentDigest(httpsig.DigestSHA256, nil)
		assert.Equal(t, want, f.gw.requests()[0].Header.Get(httpsig.HeaderContentDigest))
	})
}

func TestRefusalsAreTypedErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		kind   error
	}{
		{400, errkind.Invalid}, {401, errkind.Unauthorized}, {403, errkind.Forbidden}, {404, errkind.NotFound},
		{409, errkind.Conflict}, {413, errkind.Invalid}, {422, errkind.Invalid}, {429, errkind.RateLimited},
		{502, errkind.Unavailable}, {503, errkind.Unavailable}, {504, errkind.Unavailable}, {500, nil},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			f, c := setup(t, func(cfg *consumer.Config) { cfg.MaxAttempts = 1 })
			f.gw.setRespond(func(w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Retry-After", "4")
				w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication"`)
				refusal(w, tc.status, "https://egovkit.dev/problems/interop/test", "detail of the refusal", "Server.ServerProxy.Test")
			})
			_, err := c.Do(t.Context(), consumer.Call{Service: address, MessageID: "msg-1"})
			var e *consumer.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.status, e.Status)
			assert.Equal(t, "https://egovkit.dev/problems/interop/test", e.Type)
			assert.Equal(t, http.StatusText(tc.status), e.Title)
			assert.Equal(t, "detail of the refusal", e.Detail)
			assert.Equal(t, "Server.ServerProxy.Test", e.XRoadError)
			assert.Equal(t, 4*time.Second, e.RetryAfter)
			assert.Equal(t, "msg-1", e.MessageID)
			kinds := []error{errkind.NotFound, errkind.Conflict, errkind.Invalid, errkind.Forbidden,
				errkind.Unauthorized, errkind.Unavailable, errkind.RateLimited}
			for _, k := range kinds {
				assert.Equal(t, k == tc.kind, errors.Is(err, k), "%v", k)
			}
			p := e.Problem()
			assert.Equal(t, tc.status, p.Status)
			assert.Equal(t, "Server.ServerProxy.Test", p.Extensions["xroad_error"])
			assert.Equal(t, 4, p.Extensions["retry_after"])
			assert.Len(t, f.gw.requests(), 1, "a 401 naming another error than invalid_token keeps the token")
			assert.Contains(t, e.Error(), "detail of the refusal")
		})
	}
}

func TestProviderAnswersAreReturned(t *testing.T) {
	f, c := setup(t, nil)
	f.gw.setRespond(func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"found":false}`)
	})
	resp, err := c.Do(t.Context(), consumer.Call{Service: address, Path: "/persons/1"})
	require.NoError(t, err, "a provider's own 404 is its answer, not a refusal")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"found":false}`, readAll(t, resp))

	// The gateway's refusal of an unknown service, by contrast.
	other := address
	other.Service = "nothing"
	_, err = c.Do(t.Context(), consumer.Call{Service: other})
	var e *consumer.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "Server.ServerProxy.UnknownService", e.XRoadError)
	assert.ErrorIs(t, err, errkind.NotFound)
}

func TestInvalidCallsAreNotSent(t *testing.T) {
	f, c := setup(t, nil)
	for _, call := range []consumer.Call{
		{},
		{Service: address, Path: "persons"},
		{Service: address, Path: "/a/../b"},
		{Service: address, Path: "/a//b"},
		{Service: address, Path: "/a?b c"},
		{Service: address, Method: "GET\n"},
		{Service: address, UserID: "GR1\r\nX-Evil: 1"},
		{Service: address, Header: http.Header{"Bad Name": {"v"}}},
		{Service: address, Header: http.Header{"Accept": {"a\nb"}}},
		{Service: address, GetBody: func() (io.ReadCloser, error) { return nil, errNoCopy }},
	} {
		_, err := c.Do(t.Context(), call)
		assert.ErrorIs(t, err, consumer.ErrCall, "%+v", call)
		assert.ErrorIs(t, err, errkind.Invalid)
	}
	assert.Empty(t, f.gw.requests())
}

func TestTokenRefusals(t *testing.T) {
	f, _ := setup(t, nil)
	key := newP256()
	for _, tc := range []struct {
		name string
		edit func(*consumer.Config)
		code string
		kind error
	}{
		{"unknown client", func(c *consumer.Config) { c.ClientID = "nobody" }, "invalid_client", errkind.Unauthorized},
		{"a key not registered", func(c *consumer.Config) { c.Key = key }, "invalid_client", errkind.Unauthorized},
		{"a scope not allowed", func(c *consumer.Config) { c.Scopes = []string{"everything"} }, "invalid_scope", errkind.Invalid},
		{"a resource not allowed", func(c *consumer.Config) { c.Resource = "https://elsewhere.example" }, "invalid_target", errkind.Invalid},
		{"an assertion for another audience", func(c *consumer.Config) { c.AssertionAudience = "https://elsewhere.example" }, "invalid_client", errkind.Unauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := consumer.Config{Gateway: f.gw.srv.URL, Consumer: dypa, TokenURL: f.op.tokenURL(), ClientID: appClientID,
				Key: f.key, KeyID: appKeyID, Resource: gatewayAudience, Now: f.clock.Now}
			tc.edit(&cfg)
			c, err := consumer.New(cfg)
			require.NoError(t, err)
			_, err = c.Do(t.Context(), consumer.Call{Service: address})
			var te *consumer.TokenError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, tc.code, te.Code)
			assert.ErrorIs(t, err, tc.kind)
		})
	}
	assert.Empty(t, f.gw.requests())
}

func TestNewRefusesWhatCannotWork(t *testing.T) {
	ok := consumer.Config{Gateway: "https://gw.example.gov", Consumer: dypa, TokenURL: "https://op.example.gov/token",
		ClientID: "app", Key: newP256()}
	_, err := consumer.New(ok)
	require.NoError(t, err)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for name, edit := range map[string]func(*consumer.Config){
		"no gateway":          func(c *consumer.Config) { c.Gateway = "" },
		"relative gateway":    func(c *consumer.Config) { c.Gateway = "/gw" },
		"no consumer":         func(c *consumer.Config) { c.Consumer.Instance = "" },
		"bad consumer":        func(c *consumer.Config) { c.Consumer.Member = "A/B" },
		"no token endpoint":   func(c *consumer.Config) { c.TokenURL = "" },
		"issuer ends with /":  func(c *consumer.Config) { c.TokenURL, c.Issuer = "", "https://op.example.gov/" },
		"no client id":        func(c *consumer.Config) { c.ClientID = "" },
		"no key":              func(c *consumer.Config) { c.Key = nil },
		"a P-384 key":         func(c *consumer.Config) { c.Key = p384(t) },
		"a bad scope":         func(c *consumer.Config) { c.Scopes = []string{"a b"} },
		"negative attempts":   func(c *consumer.Config) { c.MaxAttempts = -1 },
		"token URL with user": func(c *consumer.Config) { c.TokenURL = "https://u:p@op.example.gov/token" },
	} {
		cfg := ok
		edit(&cfg)
		_, err := consumer.New(cfg)
		assert.ErrorIs(t, err, consumer.ErrConfig, name)
		assert.ErrorIs(t, err, errkind.Invalid, name)
	}
	ok.Key = edKey
	_, err = consumer.New(ok)
	assert.NoError(t, err, "Ed25519")
}

func p384(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	return k
}

// FuzzParseRefusal: whatever a server answers, reading it as a refusal
// neither panics nor loses the status, and keeps what it copies short.
func FuzzParseRefusal(f *testing.F) {
	f.Add(503, "application/problem+json", "5", []byte(`{"type":"t","title":"x","status":503,"retry_after":3,"xroad_error":"Server.X"}`))
	f.Add(429, "application/json; charset=utf-8", "Wed, 21 Oct 2026 07:28:00 GMT", []byte(`{"detail":7,"retry_after":"x"}`))
	f.Add(401, "text/plain", "-1", []byte(`no`))
	f.Add(400, "application/problem+json", "", []byte(`[1,2`))
	f.Fuzz(func(t *testing.T, status int, contentType, retryAfter string, body []byte) {
		h := http.Header{"Content-Type": {contentType}, "Retry-After": {retryAfter}}
		e := consumer.ParseRefusal(status, h, body, testclock.Start)
		if e.Status != status {
			t.Fatalf("status %d became %d", status, e.Status)
		}
		for _, s := range []string{e.Type, e.Title, e.Detail, e.Instance, e.XRoadError} {
			if len(s) > 1100 {
				t.Fatalf("a member of %d bytes was kept", len(s))
			}
		}
		if e.RetryAfter < 0 || e.RetryAfter > 24*time.Hour {
			t.Fatalf("wait %v", e.RetryAfter)
		}
		_ = e.Error()
		_ = e.Problem()
	})
}
