package httpsig_test

import (
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/interop/httpsig"
)

type nodeRequest struct {
	Method  string         `json:"method"`
	URL     string         `json:"url"`
	Headers map[string]any `json:"headers"`
	Body    string         `json:"body"`
}

// runNode runs testdata/interop.mjs, or skips when Node.js or the npm
// modules are missing (EGOVKIT_NODE_MODULES names the node_modules
// directory that has http-message-signatures and structured-headers).
func runNode(t *testing.T, input map[string]any, out any) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("cross-check skipped: node is not installed")
	}
	modules := os.Getenv("EGOVKIT_NODE_MODULES")
	for _, m := range []string{"http-message-signatures", "structured-headers"} {
		if _, err := os.Stat(filepath.Join(modules, m)); modules == "" || err != nil {
			t.Skipf("cross-check skipped: EGOVKIT_NODE_MODULES has no %s", m)
		}
	}
	b, err := json.Marshal(input)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "input.json")
	require.NoError(t, os.WriteFile(file, b, 0o600))
	script, err := filepath.Abs("testdata/interop.mjs")
	require.NoError(t, err)
	cmd := exec.Command(node, script, file)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	res, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("node: %v: %s", err, ee.Stderr)
	}
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(res, out), "%s", res)
}

func toNode(t *testing.T, r *http.Request) nodeRequest {
	t.Helper()
	// Field lines stay apart, so that the library joins them itself.
	h := map[string]any{}
	for k, v := range r.Header {
		if len(v) == 1 {
			h[strings.ToLower(k)] = v[0]
		} else {
			h[strings.ToLower(k)] = v
		}
	}
	var body []byte
	if r.GetBody != nil {
		rc, err := r.GetBody()
		require.NoError(t, err)
		body, err = io.ReadAll(rc)
		require.NoError(t, err)
	}
	// The library reads @target-uri from the URL string as given, so it
	// is given normalized, as a WHATWG URL object would print it.
	u := strings.Replace(r.URL.String(), ":443/", "/", 1)
	return nodeRequest{Method: r.Method, URL: u, Headers: h, Body: string(body)}
}

func publicPEM(t *testing.T, k crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(k)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// What the gateway signs, http-message-signatures verifies, with either
// algorithm; a changed header fails there too.
func TestNodeVerifiesGatewaySignatures(t *testing.T) {
	for name, key := range map[string]crypto.Signer{"ed25519": edKey(t), "ecdsa-p256-sha256": ecKey(t)} {
		t.Run(name, func(t *testing.T) {
			s, err := httpsig.NewSigner(httpsig.SignerConfig{Key: key, KeyID: "gw-1", IfPresent: httpsig.GatewayOptionalComponents(), Expires: time.Minute})
			require.NoError(t, err)
			r := gatewayRequest(t, `{"query":"Καλημέρα"}`)
			r.Header.Set(httpsig.HeaderUserID, "GR-user-7")
			r.Header.Add("Accept", "application/json")
			r.Header.Add("Accept", " text/plain ")
			s2, err := httpsig.NewSigner(httpsig.SignerConfig{Key: key, KeyID: "gw-1", Label: "full",
				Components: append(httpsig.GatewayComponents(), "@target-uri", "@scheme", "@request-target", "accept", "content-type")})
			require.NoError(t, err)
			require.NoError(t, s.Sign(r))
			require.NoError(t, s2.Sign(r))
			keys := map[string]any{"gw-1": map[string]string{"pem": publicPEM(t, key.Public()), "alg": name}}

			var out struct {
				Verified bool   `json:"verified"`
				Error    string `json:"error"`
				Digest   bool   `json:"digest"`
			}
			runNode(t, map[string]any{"mode": "verify", "request": toNode(t, r), "keys": keys,
				"required": httpsig.GatewayComponents()}, &out)
			assert.True(t, out.Verified, out.Error)
			assert.True(t, out.Digest)

			bad := toNode(t, r)
			bad.Headers["x-road-client"] = "GR/GOV/EL-999/other" // covered by both signatures
			bad.Body = `{"query":"other"}`
			out.Verified, out.Digest, out.Error = true, true, ""
			runNode(t, map[string]any{"mode": "verify", "request": bad, "keys": keys}, &out)
			assert.False(t, out.Verified)
			assert.False(t, out.Digest)
		})
	}
}

// What http-message-signatures signs, this package verifies.
func TestVerifyNodeSignatures(t *testing.T) {
	key := edKey(t)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	r := gatewayRequest(t, `{"x":1}`)
	d, err := httpsig.ContentDigest(httpsig.DigestSHA512, []byte(`{"x":1}`))
	require.NoError(t, err)
	r.Header.Set("Content-Digest", d)
	var out struct {
		Headers map[string]string `json:"headers"`
	}
	runNode(t, map[string]any{"mode": "sign", "request": toNode(t, r), "alg": "ed25519", "keyid": "consumer-1",
		"pem":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"fields": []string{"@method", "@authority", "@path", "@query", "content-digest", "x-road-client", "x-road-id", "egovkit-consent-id"}}, &out)
	require.NotEmpty(t, out.Headers["Signature"], "%v", out.Headers)
	r.Header.Set("Signature", out.Headers["Signature"])
	r.Header.Set("Signature-Input", out.Headers["Signature-Input"])

	v, err := httpsig.NewVerifier(httpsig.VerifierConfig{
		Keys:      httpsig.ResolverFor(map[string]crypto.PublicKey{"consumer-1": key.Public()}),
		IfPresent: httpsig.GatewayOptionalComponents(),
	})
	require.NoError(t, err)
	in := asReceived(r)
	got, err := v.Verify(in)
	require.NoError(t, err, "Signature-Input: %s", out.Headers["Signature-Input"])
	assert.Equal(t, "node", got.Label)
	_, err = io.ReadAll(in.Body)
	assert.NoError(t, err)
}
