package httpsig_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/testclock"
	"github.com/egovkit/egovkit/interop/httpsig"
	"github.com/egovkit/egovkit/problem"
)

type fixture struct {
	clock    *testclock.Clock
	key      crypto.Signer
	signer   *httpsig.Signer
	verifier *httpsig.Verifier
}

func newFixture(t *testing.T, key crypto.Signer, mod func(*httpsig.SignerConfig, *httpsig.VerifierConfig)) *fixture {
	t.Helper()
	f := &fixture{clock: testclock.New(), key: key}
	sc := httpsig.SignerConfig{Key: key, KeyID: "gw-1", Now: f.clock.Now, IfPresent: httpsig.GatewayOptionalComponents()}
	vc := httpsig.VerifierConfig{
		Keys: func(_ context.Context, id string) (crypto.PublicKey, error) {
			if id == "gw-1" {
				return key.Public(), nil
			}
			return nil, errors.New("no such key")
		},
		IfPresent:    httpsig.GatewayOptionalComponents(),
		RequireNonce: true,
		Now:          f.clock.Now,
	}
	if mod != nil {
		mod(&sc, &vc)
	}
	var err error
	f.signer, err = httpsig.NewSigner(sc)
	require.NoError(t, err)
	f.verifier, err = httpsig.NewVerifier(vc)
	require.NoError(t, err)
	return f
}

func edKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return k
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

// gatewayRequest is a request as the gateway forwards it, with a body
// the signer can read twice.
func gatewayRequest(t testing.TB, body string) *http.Request {
	r, err := http.NewRequest(http.MethodPost, "https://registry-b.example:443/r1/persons/find?year=2026", strings.NewReader(body))
	require.NoError(t, err)
	r.Header.Set(httpsig.HeaderClient, "GR/GOV/EL-123/portal")
	r.Header.Set(httpsig.HeaderMessageID, "4e3c1b1a-1c5d-4a8e-9a55-0a2b7b2f9c10")
	r.Header.Set(httpsig.HeaderConsentID, "c-42")
	r.Header.Set("Content-Type", "application/json")
	return r
}

// asReceived turns a signed client request into what the provider's
// server sees.
func asReceived(r *http.Request) *http.Request {
	var body io.Reader
	if r.GetBody != nil {
		b, _ := r.GetBody()
		body = b
	}
	in := httptest.NewRequest(r.Method, r.URL.RequestURI(), body)
	in.Host = r.URL.Host
	in.Header = r.Header.Clone()
	if r.URL.Scheme == "https" {
		in.TLS = &tls.ConnectionState{} // served over TLS: the default port 443 is dropped
	}
	return in
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for name, key := range map[string]crypto.Signer{"ed25519": edKey(t), "ecdsa-p256": ecKey(t)} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, key, nil)
			r := gatewayRequest(t, `{"afm":"090000045"}`)
			require.NoError(t, f.signer.Sign(r))
			assert.Contains(t, r.Header.Get("Signature-Input"), `"egovkit-consent-id"`)
			assert.NotContains(t, r.Header.Get("Signature-Input"), `"x-road-userid"`, "absent headers are not covered")
			assert.True(t, strings.HasPrefix(r.Header.Get("Content-Digest"), "sha-256=:"))

			in := asReceived(r)
			got, err := f.verifier.Verify(in)
			require.NoError(t, err)
			assert.Equal(t, "gw-1", got.KeyID)
			assert.Equal(t, "sig1", got.Label)
			assert.NotEmpty(t, got.Nonce)
			assert.Equal(t, testclock.Start.Unix(), got.Created.Unix())
			body, err := io.ReadAll(in.Body)
			require.NoError(t, err)
			assert.Equal(t, `{"afm":"090000045"}`, string(body))
			assert.True(t, in.Body.(*httpsig.VerifyingBody).Verified())
		})
	}
}

func TestSignWithoutBody(t *testing.T) {
	f := newFixture(t, edKey(t), nil)
	r, err := http.NewRequest(http.MethodGet, "http://registry-b.example/r1/persons/090000045", nil)
	require.NoError(t, err)
	r.Header.Set(httpsig.HeaderClient, "GR/GOV/EL-123/portal")
	r.Header.Set(httpsig.HeaderMessageID, "m-1")
	require.NoError(t, f.signer.Sign(r))
	in := asReceived(r)
	_, err = f.verifier.Verify(in)
	require.NoError(t, err)

	// A body smuggled into a request signed as empty fails at once.
	in = asReceived(r)
	in.Body = io.NopCloser(strings.NewReader("x"))
	_, err = f.verifier.Verify(in)
	require.NoError(t, err, "the digest of a streamed body is checked as it is read")
	_, err = io.ReadAll(in.Body)
	assert.ErrorIs(t, err, httpsig.ErrDigest)
}

func TestSignStreamedBodyNeedsDigest(t *testing.T) {
	f := newFixture(t, edKey(t), nil)
	r := gatewayRequest(t, "")
	r.Body = io.NopCloser(strings.NewReader(`{"a":1}`))
	r.GetBody = nil
	err := f.signer.Sign(r)
	assert.ErrorIs(t, err, httpsig.ErrConfig)
	assert.ErrorIs(t, err, errkind.Invalid)

	// With the digest computed as the body streamed by, it signs.
	d, err := httpsig.NewDigestReader(strings.NewReader(`{"a":1}`), httpsig.DigestSHA512)
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, d)
	require.NoError(t, err)
	v, done := d.Value()
	require.True(t, done)
	want, err := httpsig.ContentDigest(httpsig.DigestSHA512, []byte(`{"a":1}`))
	require.NoError(t, err)
	assert.Equal(t, want, v)
	r.Header.Set("Content-Digest", v)
	require.NoError(t, f.signer.Sign(r))
}

func TestVerifyRefusals(t *testing.T) {
	key := edKey(t)
	cases := []struct {
		name   string
		tamper func(f *fixture, r *http.Request)
		reason error
	}{
		{"unsigned", func(_ *fixture, r *http.Request) { r.Header.Del("Signature"); r.Header.Del("Signature-Input") }, httpsig.ErrUnsigned},
		{"malformed input", func(_ *fixture, r *http.Request) { r.Header.Set("Signature-Input", `sig1=("@method"`) }, httpsig.ErrMalformed},
		{"malformed signature", func(_ *fixture, r *http.Request) { r.Header.Set("Signature", "sig1=:not base64!:") }, httpsig.ErrMalformed},
		{"signature missing for label", func(_ *fixture, r *http.Request) { r.Header.Set("Signature", "other=:AAAA:") }, httpsig.ErrMalformed},
		{"too old", func(f *fixture, _ *http.Request) { f.clock.Advance(6 * time.Minute) }, httpsig.ErrStale},
		{"from the future", func(f *fixture, _ *http.Request) { f.clock.Set(testclock.Start.Add(-time.Minute)) }, httpsig.ErrStale},
		{"method changed", func(_ *fixture, r *http.Request) { r.Method = http.MethodPut }, httpsig.ErrBadSignature},
		{"path changed", func(_ *fixture, r *http.Request) { r.URL.Path = "/r1/persons/all" }, httpsig.ErrBadSignature},
		{"host changed", func(_ *fixture, r *http.Request) { r.Host = "registry-c.example" }, httpsig.ErrBadSignature},
		{"client changed", func(_ *fixture, r *http.Request) { r.Header.Set(httpsig.HeaderClient, "GR/GOV/EL-999/x") }, httpsig.ErrBadSignature},
		{"covered header removed", func(_ *fixture, r *http.Request) { r.Header.Del(httpsig.HeaderMessageID) }, httpsig.ErrMissingComponent},
		{"optional header added", func(_ *fixture, r *http.Request) { r.Header.Set(httpsig.HeaderUserID, "GR12345") }, httpsig.ErrMissingComponent},
		{"digest removed", func(_ *fixture, r *http.Request) { r.Header.Del("Content-Digest") }, httpsig.ErrMissingComponent},
		{"unknown key", func(_ *fixture, r *http.Request) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), `keyid="gw-1"`, `keyid="gw-2"`, 1))
		}, httpsig.ErrUnknownKey},
		{"algorithm not the key's", func(_ *fixture, r *http.Request) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), `alg="ed25519"`, `alg="ecdsa-p256-sha256"`, 1))
		}, httpsig.ErrAlgorithm},
		{"component with parameters", func(_ *fixture, r *http.Request) {
			r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), `"@query"`, `"@query";bs`, 1))
		}, httpsig.ErrMalformed},
		{"no created", func(_ *fixture, r *http.Request) {
			in := r.Header.Get("Signature-Input")
			i := strings.Index(in, ";created=")
			j := strings.Index(in, ";keyid=")
			r.Header.Set("Signature-Input", in[:i]+in[j:])
		}, httpsig.ErrStale},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, key, nil)
			r := gatewayRequest(t, `{}`)
			require.NoError(t, f.signer.Sign(r))
			in := asReceived(r)
			c.tamper(f, in)
			_, err := f.verifier.Verify(in)
			require.Error(t, err)
			assert.ErrorIs(t, err, c.reason)
			assert.ErrorIs(t, err, errkind.Unauthorized)
			var pe problem.Problemer
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, http.StatusUnauthorized, pe.Problem().Status)
			assert.Equal(t, httpsig.ProblemTypeBase+httpsig.Code(err), pe.Problem().Type)
		})
	}
}

func TestVerifyExpiresAndSkew(t *testing.T) {
	f := newFixture(t, edKey(t), func(sc *httpsig.SignerConfig, vc *httpsig.VerifierConfig) {
		sc.Expires = time.Minute
		vc.Skew = 5 * time.Second
	})
	r := gatewayRequest(t, "")
	require.NoError(t, f.signer.Sign(r))
	f.clock.Advance(time.Minute + 5*time.Second)
	got, err := f.verifier.Verify(asReceived(r))
	require.NoError(t, err, "within the skew after expiry")
	assert.Equal(t, testclock.Start.Add(time.Minute).Unix(), got.Expires.Unix())
	f.clock.Advance(time.Second)
	_, err = f.verifier.Verify(asReceived(r))
	assert.ErrorIs(t, err, httpsig.ErrStale)
}

func TestVerifyTamperedBody(t *testing.T) {
	f := newFixture(t, ecKey(t), nil)
	r := gatewayRequest(t, `{"amount":10}`)
	require.NoError(t, f.signer.Sign(r))
	in := asReceived(r)
	in.Body = io.NopCloser(strings.NewReader(`{"amount":99}`))
	_, err := f.verifier.Verify(in)
	require.NoError(t, err)
	_, err = io.ReadAll(in.Body)
	assert.ErrorIs(t, err, httpsig.ErrDigest)
	assert.False(t, in.Body.(*httpsig.VerifyingBody).Verified())

	in = asReceived(r)
	in.Header.Set("Content-Digest", "md5=:AAAA:")
	_, err = f.verifier.Verify(in)
	assert.ErrorIs(t, err, httpsig.ErrBadSignature, "the digest field is covered")
}

func TestSeveralSignatures(t *testing.T) {
	key := edKey(t)
	f := newFixture(t, key, nil)
	other, err := httpsig.NewSigner(httpsig.SignerConfig{Key: edKey(t), KeyID: "consumer", Label: "consumer", Now: f.clock.Now})
	require.NoError(t, err)
	r := gatewayRequest(t, "{}")
	require.NoError(t, other.Sign(r))
	require.NoError(t, f.signer.Sign(r))
	require.NoError(t, f.signer.Sign(r), "signing again replaces the signature of the same label")
	assert.Equal(t, 1, strings.Count(r.Header.Get("Signature"), ", "), "two signatures: consumer and sig1")

	got, err := f.verifier.Verify(asReceived(r))
	require.NoError(t, err, "the verifier finds the signature it can verify")
	assert.Equal(t, "sig1", got.Label)

	only, err := httpsig.NewVerifier(httpsig.VerifierConfig{Label: "nope", Keys: func(context.Context, string) (crypto.PublicKey, error) { return key.Public(), nil }, Now: f.clock.Now})
	require.NoError(t, err)
	_, err = only.Verify(asReceived(r))
	assert.ErrorIs(t, err, httpsig.ErrUnsigned)
}

func TestKeysUnavailable(t *testing.T) {
	down := errkind.New(errkind.Unavailable, "key set unavailable")
	f := newFixture(t, edKey(t), func(_ *httpsig.SignerConfig, vc *httpsig.VerifierConfig) {
		vc.Keys = func(context.Context, string) (crypto.PublicKey, error) { return nil, down }
	})
	r := gatewayRequest(t, "")
	require.NoError(t, f.signer.Sign(r))
	_, err := f.verifier.Verify(asReceived(r))
	assert.ErrorIs(t, err, down)
	assert.ErrorIs(t, err, errkind.Unavailable)
}

func TestTransportSignsACopy(t *testing.T) {
	f := newFixture(t, edKey(t), nil)
	var verr error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, verr = f.verifier.Verify(r); verr == nil {
			_, verr = io.ReadAll(r.Body)
		}
	}))
	defer srv.Close()
	client := &http.Client{Transport: f.signer.Transport(srv.Client().Transport)}
	r, err := http.NewRequest(http.MethodPost, srv.URL+"/r1/x?y=1", strings.NewReader("payload"))
	require.NoError(t, err)
	r.Header.Set(httpsig.HeaderClient, "GR/GOV/EL-1/a")
	r.Header.Set(httpsig.HeaderMessageID, "m-2")
	resp, err := client.Do(r)
	require.NoError(t, err)
	resp.Body.Close()
	require.NoError(t, verr)
	assert.Empty(t, r.Header.Get("Signature"), "the caller's request is unchanged")
}

func TestSignerConfigRefused(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	for name, cfg := range map[string]httpsig.SignerConfig{
		"no key":        {KeyID: "k"},
		"no key id":     {Key: edKey(t)},
		"rsa":           {Key: rsaKey, KeyID: "k"},
		"p-384":         {Key: p384, KeyID: "k"},
		"bad label":     {Key: edKey(t), KeyID: "k", Label: "Sig"},
		"bad derived":   {Key: edKey(t), KeyID: "k", Components: []string{"@nope"}},
		"repeated":      {Key: edKey(t), KeyID: "k", Components: []string{"@method", "@method"}},
		"bad digest":    {Key: edKey(t), KeyID: "k", Digest: "md5"},
		"derived if":    {Key: edKey(t), KeyID: "k", IfPresent: []string{"@path"}},
		"non-ascii tag": {Key: edKey(t), KeyID: "k", Tag: "ψ"},
	} {
		_, err := httpsig.NewSigner(cfg)
		assert.ErrorIs(t, err, httpsig.ErrConfig, name)
	}
	_, err = httpsig.NewVerifier(httpsig.VerifierConfig{})
	assert.ErrorIs(t, err, httpsig.ErrConfig)
}

func TestSignMissingCoveredHeader(t *testing.T) {
	f := newFixture(t, edKey(t), nil)
	r := gatewayRequest(t, "")
	r.Header.Del(httpsig.HeaderMessageID)
	assert.ErrorIs(t, f.signer.Sign(r), httpsig.ErrConfig)
}

func TestVerifyLimits(t *testing.T) {
	f := newFixture(t, edKey(t), nil)
	r := gatewayRequest(t, "{}")
	require.NoError(t, f.signer.Sign(r))
	in := asReceived(r)
	var inputs, sigs []string
	for i := range 9 {
		l := "s" + strings.Repeat("x", i)
		inputs = append(inputs, l+`=("@method");created=1`)
		sigs = append(sigs, l+"=:AAAA:")
	}
	in.Header.Set("Signature-Input", strings.Join(inputs, ", "))
	in.Header.Set("Signature", strings.Join(sigs, ", "))
	_, err := f.verifier.Verify(in)
	assert.ErrorIs(t, err, httpsig.ErrMalformed)

	in = asReceived(r)
	in.Header.Set("Signature-Input", `sig1=(`+strings.Repeat(`"@method" `, 65)+`);created=1`)
	_, err = f.verifier.Verify(in)
	assert.ErrorIs(t, err, httpsig.ErrMalformed)
}

// FuzzVerify: whatever the signature fields say, Verify answers with a
// typed refusal (or, by chance, a verified signature), never a panic.
func FuzzVerify(f *testing.F) {
	key := edKey(f)
	s, err := httpsig.NewSigner(httpsig.SignerConfig{Key: key, KeyID: "gw-1", Now: func() time.Time { return testclock.Start }})
	require.NoError(f, err)
	r := gatewayRequest(f, "{}")
	require.NoError(f, s.Sign(r))
	f.Add(r.Header.Get("Signature-Input"), r.Header.Get("Signature"), r.Header.Get("Content-Digest"))
	f.Add(`sig1=("@method" "@query-param";name="x");created=1;keyid="gw-1"`, "sig1=:AAAA:", "sha-512=:AA==:")
	f.Add(`a=(), b=("x");keyid="gw-1";created=1700000000;expires=1`, "a=:AA==:, b=?1", "")
	v, err := httpsig.NewVerifier(httpsig.VerifierConfig{
		Keys:     httpsig.ResolverFor(map[string]crypto.PublicKey{"gw-1": key.Public()}),
		Required: []string{},
		Now:      func() time.Time { return testclock.Start },
	})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, input, sig, digest string) {
		in := asReceived(r)
		in.Header.Set("Signature-Input", input)
		in.Header.Set("Signature", sig)
		in.Header.Set("Content-Digest", digest)
		_, err := v.Verify(in)
		if err != nil {
			var e *httpsig.Error
			if !errors.As(err, &e) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		_, _ = io.ReadAll(in.Body)
	})
}

// One signer used by many goroutines at once builds each signature base
// in a buffer it reuses: every request still carries a signature over its
// own components, never over another request's.
func TestSignConcurrentRequestsStayApart(t *testing.T) {
	for name, key := range map[string]crypto.Signer{"ed25519": edKey(t), "ecdsa-p256": ecKey(t)} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, key, nil)
			const workers, each = 8, 40
			errs := make(chan error, workers*each)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						id := fmt.Sprintf("msg-%d-%d", w, i)
						// Paths and bodies of different lengths, so that a
						// base left over from a longer one would show.
						body := strings.Repeat("x", (w*each+i)%97)
						path := "/r1/persons/" + strings.Repeat("p", i%13) + "?n=" + id
						r, err := http.NewRequest(http.MethodPost, "https://registry-b.example"+path, strings.NewReader(body))
						if err != nil {
							errs <- err
							return
						}
						r.Header.Set(httpsig.HeaderClient, "GR/GOV/EL-123/portal")
						r.Header.Set(httpsig.HeaderMessageID, id)
						if i%2 == 0 {
							r.Header.Set(httpsig.HeaderConsentID, "c-"+id)
						}
						if err := f.signer.Sign(r); err != nil {
							errs <- err
							return
						}
						in := asReceived(r)
						got, err := f.verifier.Verify(in)
						if err != nil {
							errs <- fmt.Errorf("%s: %w", id, err)
							return
						}
						if (i%2 == 0) != slices.Contains(got.Components, "egovkit-consent-id") {
							errs <- fmt.Errorf("%s: consent id covered is %v", id, got.Components)
							return
						}
						if b, err := io.ReadAll(in.Body); err != nil || string(b) != body {
							errs <- fmt.Errorf("%s: body %q, %v", id, b, err)
							return
						}
						// The same fields on another request do not verify.
						other := asReceived(r)
						other.Header.Set(httpsig.HeaderMessageID, id+"-other")
						if _, err := f.verifier.Verify(other); !errors.Is(err, httpsig.ErrBadSignature) {
							errs <- fmt.Errorf("%s: another message id verified: %v", id, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}
