package httpsig_test

import (
	"crypto"
	"crypto/ed25519"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/egovkit/egovkit/interop/httpsig"
)

// The floor of signing and verifying a request is one bare Ed25519
// operation over a message of the size of a signature base; each
// benchmark runs it beside, in the same run.

func benchRequest(b *testing.B) *http.Request {
	r, err := http.NewRequest(http.MethodPost, "https://registry-b.example/r1/GR/GOV/EL-123/registry/persons?year=2026", strings.NewReader(`{"afm":"090000045"}`))
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set(httpsig.HeaderClient, "GR/GOV/EL-123/portal")
	r.Header.Set(httpsig.HeaderMessageID, "4e3c1b1a-1c5d-4a8e-9a55-0a2b7b2f9c10")
	r.Header.Set(httpsig.HeaderConsentID, "c-42")
	r.Header.Set(httpsig.HeaderCitizen, "p-7f3a")
	return r
}

// fresh takes off what signing added, so that each signature is made
// as on a request just received.
func fresh(r *http.Request) {
	r.Header.Del(httpsig.HeaderContentDigest)
	r.Header.Del(httpsig.HeaderSignatureInput)
	r.Header.Del(httpsig.HeaderSignature)
}

func BenchmarkSign(b *testing.B) {
	key := edKey(b)
	s, err := httpsig.NewSigner(httpsig.SignerConfig{Key: key, KeyID: "gw-1", IfPresent: httpsig.GatewayOptionalComponents()})
	if err != nil {
		b.Fatal(err)
	}
	base := make([]byte, 420) // about the size of the signature base signed here
	b.Run("httpsig", func(b *testing.B) {
		r := benchRequest(b)
		b.ReportAllocs()
		for b.Loop() {
			fresh(r)
			if err := s.Sign(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ed25519.Sign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = ed25519.Sign(key, base)
		}
	})
	r := benchRequest(b)
	b.Run("interleaved", func(b *testing.B) {
		interleave(b, func() {
			fresh(r)
			if err := s.Sign(r); err != nil {
				b.Fatal(err)
			}
		}, func() { _ = ed25519.Sign(key, base) })
	})
}

// interleave runs op and its floor in alternating batches, so that both
// meet the same load on a shared machine, and reports each one's time per
// operation and their ratio.
func interleave(b *testing.B, op, floor func()) {
	const batch = 20
	var tOp, tFloor time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		for range batch {
			op()
		}
		mid := time.Now()
		for range batch {
			floor()
		}
		tOp += mid.Sub(start)
		tFloor += time.Since(mid)
		n += batch
	}
	b.ReportMetric(float64(tOp.Nanoseconds())/float64(n), "op-ns")
	b.ReportMetric(float64(tFloor.Nanoseconds())/float64(n), "floor-ns")
	b.ReportMetric(float64(tOp)/float64(tFloor), "ratio")
}

func BenchmarkVerify(b *testing.B) {
	key := edKey(b)
	s, err := httpsig.NewSigner(httpsig.SignerConfig{Key: key, KeyID: "gw-1", IfPresent: httpsig.GatewayOptionalComponents()})
	if err != nil {
		b.Fatal(err)
	}
	v, err := httpsig.NewVerifier(httpsig.VerifierConfig{Keys: httpsig.ResolverFor(map[string]crypto.PublicKey{"gw-1": key.Public()}), IfPresent: httpsig.GatewayOptionalComponents(), RequireNonce: true})
	if err != nil {
		b.Fatal(err)
	}
	r := benchRequest(b)
	if err := s.Sign(r); err != nil {
		b.Fatal(err)
	}
	in := httptest.NewRequest(r.Method, r.URL.RequestURI(), nil)
	in.Host = r.URL.Host
	in.TLS = &tls.ConnectionState{}
	in.Header = r.Header
	const body = `{"afm":"090000045"}`
	base := make([]byte, 420)
	sig := ed25519.Sign(key, base)
	pub := key.Public().(ed25519.PublicKey)
	b.Run("httpsig", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			in.Body = io.NopCloser(strings.NewReader(body))
			if _, err := v.Verify(in); err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, in.Body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ed25519.Verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !ed25519.Verify(pub, base, sig) {
				b.Fatal("no")
			}
		}
	})
	b.Run("interleaved", func(b *testing.B) {
		interleave(b, func() {
			in.Body = io.NopCloser(strings.NewReader(body))
			if _, err := v.Verify(in); err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, in.Body); err != nil {
				b.Fatal(err)
			}
		}, func() {
			if !ed25519.Verify(pub, base, sig) {
				b.Fatal("no")
			}
		})
	})
}
