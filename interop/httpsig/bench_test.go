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
			r.Header.Del(httpsig.HeaderContentDigest)
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
}
