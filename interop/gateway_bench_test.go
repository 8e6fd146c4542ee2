package interop_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/exchangelog"
)

// bench is a gateway and a bare httputil.ReverseProxy in front of the
// same upstream, each on its own loopback server.
type bench struct {
	gateway, bare          *httptest.Server
	gwHandler, bareHandler http.Handler
	token                  string
	path                   string
	log                    *exchangelog.Log
}

// upstreamBody is what the upstream answers.
const upstreamBody = `{"person":"123","address":"Οδός Πανεπιστημίου 1, Αθήνα"}`

// memTransport is an upstream in the process, without a network: it
// reads the request's body and answers upstreamBody.
type memTransport struct{}

func (memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, ContentLength: int64(len(upstreamBody)),
		Body: io.NopCloser(strings.NewReader(upstreamBody)), Request: r}, nil
}

// newBench builds the gateway with everything on the hot path: a JWT
// access token checked against the issuer's JWKS (cacheTokens decides
// whether a token seen before skips the signature check), the right from
// the Authorizer's snapshot, a consent check, the Ed25519 signature of
// the forwarded request and the append to an exchange log on SQLite.
// With inMemory, both proxies reach the upstream through memTransport.
// With release, the gateway holds each answer until its entry is
// committed (GatewayConfig.LogBeforeRelease), as examples/portal runs it.
func newBench(tb testing.TB, cacheTokens, inMemory, release bool) *bench {
	ctx := context.Background()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, upstreamBody)
	}))
	tb.Cleanup(upstream.Close)
	var transport http.RoundTripper = &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 256}
	if inMemory {
		transport = memTransport{}
	}

	is := newIssuer(tb)
	db := sqltest.SQLite(tb).DB.DB
	key, err := exchangelog.NewSigningKey(ctx, db, []byte("0123456789abcdef0123456789abcdef"), "gateway.example.gov/exchange-log")
	require.NoError(tb, err)
	// Appends made in the background may wait up to 5 ms to share a
	// commit; those a call waits for, the log's default moment.
	delay := 5 * time.Millisecond
	if release {
		delay = 0
	}
	lg, err := exchangelog.New(ctx, exchangelog.Config{DB: db, Signer: key, MaxDelay: delay})
	require.NoError(tb, err)
	tb.Cleanup(func() { lg.Close() })

	store, err := interop.NewMemoryStore()
	require.NoError(tb, err)
	svc, err := store.CreateService(ctx, interop.Service{
		ID:       interop.ServiceID{Instance: "GR", Class: "GOV", Member: "EL-AADE", Subsystem: "REGISTRY", Service: "address"},
		Title:    interop.Text{El: "Διεύθυνση", En: "Address"},
		Upstream: upstream.URL + "/api", ConsentRequired: true,
		Items: []interop.DataItem{{Code: "residence_address", Type: interop.ItemText, Label: interop.Text{El: "Διεύθυνση", En: "Address"}}},
	})
	require.NoError(tb, err)
	_, err = store.GrantRight(ctx, interop.Right{Consumer: dypa, Service: svc.ID, Method: "GET", Path: "/persons/*/address"})
	require.NoError(tb, err)
	authz, err := interop.New(ctx, interop.Config{Store: store, PollInterval: -1})
	require.NoError(tb, err)
	tb.Cleanup(func() { authz.Close() })

	desk := newConsentDesk()
	desk.give("consent-1", deskConsent{consumer: dypa, service: svc.ID, subject: "GR090000045"})
	// Uses are not kept: the benchmark would only measure a growing slice.
	checker := checkerFunc(func(ctx context.Context, q interop.ConsentQuery) (interop.ConsentDecision, error) {
		d, err := desk.CheckConsent(ctx, q)
		desk.mu.Lock()
		delete(desk.uses, q.ConsentID)
		desk.mu.Unlock()
		return d, err
	})
	cache := 0
	if !cacheTokens {
		cache = -1
	}
	tokens, err := interop.NewJWTVerifier(interop.JWTConfig{Issuer: testIssuer, Audience: testAudience, JWKSURL: is.srv.URL, CacheSize: cache})
	require.NoError(tb, err)
	tb.Cleanup(func() { tokens.Close() })
	_, gwKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(tb, err)
	gw, err := interop.NewGateway(interop.GatewayConfig{
		Authorizer: authz, Tokens: tokens, Consent: checker, Log: lg,
		Key: gwKey, KeyID: "gateway-1", Pseudonym: pseudonym, Counter: &counter{}, Transport: transport,
		LogBeforeRelease: release,
	})
	require.NoError(tb, err)
	tb.Cleanup(func() { gw.Close() })
	target, _ := url.Parse(upstream.URL)
	bare := httputil.NewSingleHostReverseProxy(target)
	bare.Transport = transport
	// The gateway pools its copy buffers; so does the baseline, which
	// would otherwise allocate 32 KB a call.
	bare.BufferPool = &sliceBufferPool{}
	b := &bench{gwHandler: gw, bareHandler: bare, gateway: httptest.NewServer(gw), bare: httptest.NewServer(bare),
		log: lg, token: is.token(tb, dypa.String(), nil), path: addressPath}
	tb.Cleanup(b.gateway.Close)
	tb.Cleanup(b.bare.Close)
	return b
}

// newRequest is one call of the service, with a client's headers, to
// base (the gateway or the bare proxy; empty for a handler called
// directly).
func (b *bench) newRequest(base string) *http.Request {
	req, err := http.NewRequest("GET", base+b.path, nil)
	if err != nil {
		panic(err)
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("X-Road-Client", dypa.String())
	req.Header.Set("X-Road-UserId", "GR090000045")
	req.Header.Set("Egovkit-Consent-Id", "consent-1")
	return req
}

type sliceBufferPool struct{ p sync.Pool }

func (b *sliceBufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *sliceBufferPool) Put(buf []byte) { b.p.Put(&buf) }

type checkerFunc func(context.Context, interop.ConsentQuery) (interop.ConsentDecision, error)

func (f checkerFunc) CheckConsent(ctx context.Context, q interop.ConsentQuery) (interop.ConsentDecision, error) {
	return f(ctx, q)
}

// client is a load generator's HTTP client with enough idle connections.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 256}}
}

// request makes one call of the service, with a client's headers, to
// base (the gateway or the bare proxy).
func (b *bench) request(c *http.Client, base string) error {
	res, err := c.Do(b.newRequest(base))
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

// BenchmarkGateway makes calls through the gateway and through a bare
// httputil.ReverseProxy to the same upstream, in the same run, from 32
// concurrent clients over loopback. The load generator, the proxies and
// the upstream share the machine's cores.
func BenchmarkGateway(b *testing.B) {
	for _, cached := range []bool{true, false} {
		bn := newBench(b, cached, false, false)
		name := "token-cached"
		if !cached {
			name = "token-verified-each-call"
		}
		c := benchClient()
		for _, target := range []struct{ name, url string }{{"bare-proxy", bn.bare.URL}, {"gateway-" + name, bn.gateway.URL}} {
			if !cached && target.name == "bare-proxy" {
				continue
			}
			b.Run(target.name, func(b *testing.B) {
				b.SetParallelism(16) // 32 clients on 2 cores
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := bn.request(c, target.url); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
			})
		}
	}
}

// BenchmarkGatewayHandler calls the gateway's handler and a bare
// httputil.ReverseProxy directly, one call at a time, with the upstream
// in the process (no network): the time a call spends in each proxy,
// which is the latency the gateway adds when a core is free for it. The
// two alternate in batches of 50, so that both meet the same load from
// the machine's other users; the log's commits run in the background.
func BenchmarkGatewayHandler(b *testing.B) {
	bn := newBench(b, true, true, false)
	for _, h := range []http.Handler{bn.gwHandler, bn.bareHandler} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, bn.newRequest("http://gateway.example.gov"))
		require.Equal(b, http.StatusOK, w.Code, w.Body.String())
	}
	var spent [2]time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; {
		for k, h := range []http.Handler{bn.gwHandler, bn.bareHandler} {
			start := time.Now()
			for j := 0; j < 50 && i+j < b.N; j++ {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, bn.newRequest("http://gateway.example.gov"))
				if w.Code != http.StatusOK {
					b.Fatal(w.Code, w.Body.String())
				}
			}
			spent[k] += time.Since(start)
		}
		i += 50
	}
	n := float64(b.N)
	b.ReportMetric(float64(spent[0].Nanoseconds())/n, "gateway-ns/call")
	b.ReportMetric(float64(spent[1].Nanoseconds())/n, "bare-ns/call")
	b.ReportMetric(float64(spent[0])/float64(spent[1]), "gateway/bare")
}

// TestGatewayLoad is the load test of BENCHMARKS.md. It runs only when
// EGOVKIT_LOAD is set (it takes about a minute and both cores):
//
//	EGOVKIT_LOAD=1 go test -run TestGatewayLoad -v -count=1 ./interop/
//
// First the highest rate, closed loop, of the gateway and of the bare
// proxy, alternating rounds so that both meet the same load from the
// machine's other users, with the process's CPU time per call; then both
// at fixed rates (1,000 and 250 calls per second), open loop, alternating
// again, with the latency percentiles of each. With EGOVKIT_LOAD_RELEASE=1
// the gateway holds each answer until its entry is committed
// (LogBeforeRelease), as examples/portal runs it.
func TestGatewayLoad(t *testing.T) {
	if os.Getenv("EGOVKIT_LOAD") == "" {
		t.Skip("set EGOVKIT_LOAD=1 to run the load test")
	}
	release := os.Getenv("EGOVKIT_LOAD_RELEASE") != ""
	t.Logf("gateway with LogBeforeRelease: %v", release)
	bn := newBench(t, true, false, release)
	c := benchClient()
	rounds := 3
	if s := os.Getenv("EGOVKIT_LOAD_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	const window = 5 * time.Second
	for range 200 { // warm the connections and the token cache
		require.NoError(t, bn.request(c, bn.gateway.URL))
		require.NoError(t, bn.request(c, bn.bare.URL))
	}
	size0, err := bn.log.Size(context.Background())
	require.NoError(t, err)
	var gwRates, bareRates, gwCPU, bareCPU []float64
	for r := range rounds {
		rate, cpu := closedLoop(t, bn, c, bn.bare.URL, 32, window)
		bareRates, bareCPU = append(bareRates, rate), append(bareCPU, cpu)
		rate, cpu = closedLoop(t, bn, c, bn.gateway.URL, 32, window)
		gwRates, gwCPU = append(gwRates, rate), append(gwCPU, cpu)
		t.Logf("round %d: bare proxy %.0f calls/s (%.0f µs CPU a call), gateway %.0f calls/s (%.0f µs CPU a call); ratio %.2f",
			r+1, bareRates[r], bareCPU[r], gwRates[r], gwCPU[r], gwRates[r]/bareRates[r])
	}
	t.Logf("highest rate, median of %d rounds: bare proxy %.0f calls/s, gateway %.0f calls/s, ratio %.2f",
		rounds, median(bareRates), median(gwRates), median(gwRates)/median(bareRates))
	t.Logf("CPU a call (load generator, proxy and upstream together), median: bare proxy %.0f µs, gateway %.0f µs; "+
		"2 cores given to this process alone would serve about %.0f and %.0f calls/s",
		median(bareCPU), median(gwCPU), 2e6/median(bareCPU), 2e6/median(gwCPU))

	for _, rate := range []int{1000, 250} {
		var gwP99, bareP99, gwP50, bareP50 []time.Duration
		for r := range rounds {
			b50, b99 := openLoop(t, bn, c, bn.bare.URL, rate, window)
			g50, g99 := openLoop(t, bn, c, bn.gateway.URL, rate, window)
			bareP50, bareP99 = append(bareP50, b50), append(bareP99, b99)
			gwP50, gwP99 = append(gwP50, g50), append(gwP99, g99)
			t.Logf("round %d at %d calls/s: bare p50 %v p99 %v; gateway p50 %v p99 %v; added p99 %v",
				r+1, rate, b50, b99, g50, g99, g99-b99)
		}
		t.Logf("at %d calls/s, medians of %d rounds: bare p50 %v p99 %v; gateway p50 %v p99 %v; added p50 %v, p99 %v",
			rate, rounds, medianD(bareP50), medianD(bareP99), medianD(gwP50), medianD(gwP99),
			medianD(gwP50)-medianD(bareP50), medianD(gwP99)-medianD(bareP99))
	}
	size1, err := bn.log.Size(context.Background())
	require.NoError(t, err)
	t.Logf("exchanges logged during the test: %d", size1-size0)
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		t.Logf("load average at the end: %s", load)
	}
}

// closedLoop runs n clients calling as fast as answers come for d, and
// returns the rate of successful calls and the process's CPU time per
// call in microseconds (the load generator, the proxy and the upstream
// all run in this process).
func closedLoop(t *testing.T, bn *bench, c *http.Client, base string, n int, d time.Duration) (rate, cpuMicros float64) {
	cpu0 := cpuTime()
	var ok, failed atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		wg.Go(func() {
			for time.Now().Before(stop) {
				if err := bn.request(c, base); err != nil {
					failed.Add(1)
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	used := cpuTime() - cpu0
	require.Zero(t, failed.Load(), "failed calls")
	return float64(ok.Load()) / elapsed.Seconds(), float64(used.Microseconds()) / float64(ok.Load())
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// openLoop sends calls at rate per second for d whatever the answers, and
// returns the 50th and 99th percentiles of their latency, measured from
// when each call was due (so that a stall is not hidden).
func openLoop(t *testing.T, bn *bench, c *http.Client, base string, rate int, d time.Duration) (p50, p99 time.Duration) {
	interval := time.Second / time.Duration(rate)
	total := int(d / interval)
	lat := make([]time.Duration, total)
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		wg.Go(func() {
			if err := bn.request(c, base); err != nil {
				failed.Add(1)
			}
			lat[i] = time.Since(due)
		})
	}
	wg.Wait()
	require.Zero(t, failed.Load(), "failed calls")
	slices.Sort(lat)
	return lat[total/2], lat[total*99/100]
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianD(v []time.Duration) time.Duration {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
