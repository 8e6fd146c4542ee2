package httpsig_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/egovkit/egovkit/interop/httpsig"
)

// The gateway signs what it forwards; the provider verifies it, and reads
// the body, which checks itself against Content-Digest.
func Example() {
	pub, key, _ := ed25519.GenerateKey(nil)
	now := func() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) }

	verifier, _ := httpsig.NewVerifier(httpsig.VerifierConfig{
		Keys: func(_ context.Context, keyID string) (crypto.PublicKey, error) {
			if keyID != "gateway-1" {
				return nil, errors.New("unknown key")
			}
			return pub, nil
		},
		IfPresent:    httpsig.GatewayOptionalComponents(),
		RequireNonce: true,
		Now:          now,
	})
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, err := verifier.Verify(r)
		if err != nil {
			http.Error(w, httpsig.Code(err), http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, httpsig.Code(err), http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%s from %s signed by %s: %s", r.Method, r.Header.Get(httpsig.HeaderClient), got.KeyID, body)
	}))
	defer provider.Close()

	signer, _ := httpsig.NewSigner(httpsig.SignerConfig{
		Key:       key,
		KeyID:     "gateway-1",
		IfPresent: httpsig.GatewayOptionalComponents(),
		Now:       now,
	})
	client := &http.Client{Transport: signer.Transport(nil)}

	req, _ := http.NewRequest(http.MethodPost, provider.URL+"/persons/find", strings.NewReader(`{"year":2026}`))
	req.Header.Set(httpsig.HeaderClient, "GR/GOV/EL-123/portal")
	req.Header.Set(httpsig.HeaderMessageID, "m-1")
	resp, err := client.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(b))

	// The same request, unsigned, is refused.
	req, _ = http.NewRequest(http.MethodPost, provider.URL+"/persons/find", strings.NewReader(`{"year":2026}`))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	b, _ = io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, strings.TrimSpace(string(b)))
	// Output:
	// 200 POST from GR/GOV/EL-123/portal signed by gateway-1: {"year":2026}
	// 401 unsigned
}

// A body's Content-Digest, computed as it streams by.
func ExampleNewDigestReader() {
	d, _ := httpsig.NewDigestReader(strings.NewReader(`{"hello": "world"}`), httpsig.DigestSHA512)
	_, _ = io.Copy(io.Discard, d)
	v, complete := d.Value()
	fmt.Println(v, complete)
	// Output:
	// sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==: true
}
