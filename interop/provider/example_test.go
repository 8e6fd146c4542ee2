package provider_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/egovkit/egovkit/interop/httpsig"
	"github.com/egovkit/egovkit/interop/provider"
)

// A provider admits what the gateway signed and reads who asks.
func Example() {
	pub, key, _ := ed25519.GenerateKey(nil)
	p, err := provider.New(context.Background(), provider.Config{Keys: map[string]crypto.PublicKey{"gateway-1": pub}})
	if err != nil {
		fmt.Println(err)
		return
	}
	find := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body) // the digest is checked as it is read
		if err != nil {
			http.Error(w, "body changed", http.StatusUnauthorized)
			return
		}
		c, _ := provider.FromContext(r.Context())
		fmt.Fprintf(w, "%s asks, under consent %s, about %s: %s", c.Client, c.ConsentID, c.Citizen, body)
	})
	srv := httptest.NewServer(p.Middleware(find))
	defer srv.Close()

	// What the gateway does for each forwarded call.
	signer, _ := httpsig.NewSigner(httpsig.SignerConfig{Key: key, KeyID: "gateway-1", IfPresent: httpsig.GatewayOptionalComponents()})
	gateway := &http.Client{Transport: signer.Transport(nil)}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/persons/find", strings.NewReader(`{"year":2026}`))
	req.Header.Set(httpsig.HeaderClient, "GR/GOV/EL-123/portal")
	req.Header.Set(httpsig.HeaderMessageID, "3f1c-0001")
	req.Header.Set(httpsig.HeaderConsentID, "consent-42")
	req.Header.Set(httpsig.HeaderCitizen, "p-7f3a9c")
	show(gateway.Do(req))

	// The same call straight to the provider, unsigned.
	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/persons/find", strings.NewReader(`{"year":2026}`))
	req.Header.Set(httpsig.HeaderClient, "GR/GOV/EL-123/portal")
	show(http.DefaultClient.Do(req))
	// Output:
	// 200 text/plain; charset=utf-8 GR/GOV/EL-123/portal asks, under consent consent-42, about p-7f3a9c: {"year":2026}
	// 401 application/problem+json {"type":"https://egovkit.dev/problems/httpsig/unsigned","title":"Unauthorized","status":401,"detail":"httpsig: the request is not signed"}
}

func show(resp *http.Response, err error) {
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), strings.TrimSpace(string(b)))
}
