package httpsig

import (
	"bufio"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The RFC 9421 Appendix B vectors (see testdata/README.md for their
// source and licence).

// created is the "created" parameter of every vector.
var vectorCreated = time.Unix(1618884473, 0)

func readPEM(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	blk, _ := pem.Decode(b)
	require.NotNil(t, blk, name)
	return blk.Bytes
}

func testPublicKey(t testing.TB, name string) crypto.PublicKey {
	t.Helper()
	k, err := x509.ParsePKIXPublicKey(readPEM(t, name))
	require.NoError(t, err)
	return k
}

func testPrivateKey(t testing.TB, name string) crypto.Signer {
	t.Helper()
	der := readPEM(t, name)
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k.(crypto.Signer)
	}
	k, err := x509.ParseECPrivateKey(der)
	require.NoError(t, err)
	return k
}

func vectorRequest(t testing.TB) *http.Request {
	t.Helper()
	f, err := os.Open("testdata/rfc9421-request.http")
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	r, err := http.ReadRequest(bufio.NewReader(f))
	require.NoError(t, err)
	return r
}

func resolverFor(keys map[string]crypto.PublicKey) KeyResolver {
	return func(_ context.Context, id string) (crypto.PublicKey, error) {
		if k, ok := keys[id]; ok {
			return k, nil
		}
		return nil, ErrUnknownKey
	}
}

const b26Base = `"date": Tue, 20 Apr 2021 02:07:55 GMT
"@method": POST
"@path": /foo
"@authority": example.com
"content-type": application/json
"content-length": 18
"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`

const (
	b26Input     = `sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
	b26Signature = `sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:`
)

// B.2.6: Ed25519 is deterministic, so signing the test request gives the
// RFC's signature byte for byte, and the RFC's signature verifies.
func TestRFC9421B26Ed25519(t *testing.T) {
	s, err := NewSigner(SignerConfig{
		Key:        testPrivateKey(t, "test-key-ed25519.pem"),
		KeyID:      "test-key-ed25519",
		Label:      "sig-b26",
		Components: []string{"date", "@method", "@path", "@authority", "content-type", "content-length"},
		Nonce:      func() string { return "" },
		OmitAlg:    true,
		Now:        func() time.Time { return vectorCreated },
	})
	require.NoError(t, err)
	r := vectorRequest(t)
	require.NoError(t, s.Sign(r))
	assert.Equal(t, b26Input, r.Header.Get("Signature-Input"))
	assert.Equal(t, b26Signature, r.Header.Get("Signature"))

	in, err := parseDictionary(b26Input)
	require.NoError(t, err)
	msg := requestMessage(r)
	base, _, err := signatureBase(&msg, in[0].inner, in[0].params)
	require.NoError(t, err)
	assert.Equal(t, b26Base, string(base))

	r = vectorRequest(t)
	r.Header.Set("Signature-Input", b26Input)
	r.Header.Set("Signature", b26Signature)
	v, err := NewVerifier(VerifierConfig{
		Keys:     resolverFor(map[string]crypto.PublicKey{"test-key-ed25519": testPublicKey(t, "test-key-ed25519.pub.pem")}),
		Required: []string{"@method", "@path", "@authority"},
		Now:      func() time.Time { return vectorCreated.Add(time.Minute) },
	})
	require.NoError(t, err)
	got, err := v.Verify(r)
	require.NoError(t, err)
	assert.Equal(t, "sig-b26", got.Label)
	assert.Equal(t, Ed25519, got.Algorithm)

	// One changed covered header and it no longer verifies.
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	_, err = v.Verify(r)
	assert.ErrorIs(t, err, ErrBadSignature)
}

const clientCert = `:MIIBqDCCAU6gAwIBAgIBBzAKBggqhkjOPQQDAjA6MRswGQYDVQQKDBJMZXQncyBBdXRoZW50aWNhdGUxGzAZBgNVBAMMEkxBIEludGVybWVkaWF0ZSBDQTAeFw0yMDAxMTQyMjU1MzNaFw0yMTAxMjMyMjU1MzNaMA0xCzAJBgNVBAMMAkJDMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8YnXXfaUgmnMtOXU/IncWalRhebrXmckC8vdgJ1p5Be5F/3YC8OthxM4+k1M6aEAEFcGzkJiNy6J84y7uzo9M6NyMHAwCQYDVR0TBAIwADAfBgNVHSMEGDAWgBRm3WjLa38lbEYCuiCPct0ZaSED2DAOBgNVHQ8BAf8EBAMCBsAwEwYDVR0lBAwwCgYIKwYBBQUHAwIwHQYDVR0RAQH/BBMwEYEPYmRjQGV4YW1wbGUuY29tMAoGCCqGSM49BAMCA0gAMEUCIBHda/r1vaL6G3VliL4/Di6YK0Q6bMjeSkC3dFCOOB8TAiEAx/kHSB4urmiZ0NX5r5XarmPk0wmuydBVoU4hBVZ1yhk=:`

// B.3: a TLS-terminating proxy signs with ECDSA P-256 what it forwards to
// the internal service.
func TestRFC9421B3ECDSAProxy(t *testing.T) {
	r := vectorRequest(t)
	r.Host = "service.internal.example"
	r.Header = http.Header{}
	r.Header.Set("Client-Cert", clientCert)
	r.Header.Set("Signature-Input", `ttrp=("@path" "@query" "@method" "@authority" "client-cert");created=1618884473;keyid="test-key-ecc-p256"`)
	r.Header.Set("Signature", `ttrp=:xVMHVpawaAC/0SbHrKRs9i8I3eOs5RtTMGCWXm/9nvZzoHsIg6Mce9315T6xoklyy0yzhD9ah4JHRwMLOgmizw==:`)

	in, err := parseDictionary(r.Header.Get("Signature-Input"))
	require.NoError(t, err)
	msg := requestMessage(r)
	base, _, err := signatureBase(&msg, in[0].inner, in[0].params)
	require.NoError(t, err)
	assert.Equal(t, strings.Join([]string{
		`"@path": /foo`,
		`"@query": ?param=Value&Pet=dog`,
		`"@method": POST`,
		`"@authority": service.internal.example`,
		`"client-cert": ` + clientCert,
		`"@signature-params": ("@path" "@query" "@method" "@authority" "client-cert");created=1618884473;keyid="test-key-ecc-p256"`,
	}, "\n"), string(base))

	v, err := NewVerifier(VerifierConfig{
		Keys:     resolverFor(map[string]crypto.PublicKey{"test-key-ecc-p256": testPublicKey(t, "test-key-ecc-p256.pub.pem")}),
		Required: []string{"@method", "@path", "@query", "@authority", "client-cert"},
		Now:      func() time.Time { return vectorCreated },
	})
	require.NoError(t, err)
	got, err := v.Verify(r)
	require.NoError(t, err)
	assert.Equal(t, ECDSAP256SHA256, got.Algorithm)

	r.URL.RawQuery = "param=Value&Pet=cat"
	_, err = v.Verify(r)
	assert.ErrorIs(t, err, ErrBadSignature)
}

// B.2.4: the ECDSA P-256 signature of the test response verifies over the
// base this package builds for it.
func TestRFC9421B24ECDSAResponse(t *testing.T) {
	m := &message{response: true, status: 200, header: http.Header{
		"Date":           {"Tue, 20 Apr 2021 02:07:56 GMT"},
		"Content-Type":   {"application/json"},
		"Content-Digest": {"sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:"},
		"Content-Length": {"23"},
	}}
	in, err := parseDictionary(`sig-b24=("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256"`)
	require.NoError(t, err)
	sig, err := parseDictionary(`sig-b24=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==:`)
	require.NoError(t, err)
	base, _, err := signatureBase(m, in[0].inner, in[0].params)
	require.NoError(t, err)
	assert.Equal(t, `"@status": 200
"content-type": application/json
"content-digest": sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:
"content-length": 23
"@signature-params": ("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256"`, string(base))
	pub := testPublicKey(t, "test-key-ecc-p256.pub.pem")
	assert.True(t, verifySignature(pub, base, sig[0].item.val.([]byte)))
	assert.False(t, verifySignature(pub, append(base, ' '), sig[0].item.val.([]byte)))

	// The response's Content-Digest is the RFC 9530 sha-512 of its body.
	d, err := ContentDigest(DigestSHA512, []byte(`{"message": "good dog"}`))
	require.NoError(t, err)
	assert.Equal(t, m.header.Get("Content-Digest"), d)
}

// The request's Content-Digest (Appendix B.2) is the sha-512 of its body,
// and the body verifies against it as it is read.
func TestRFC9421RequestDigest(t *testing.T) {
	r := vectorRequest(t)
	d, err := ContentDigest(DigestSHA512, []byte(`{"hello": "world"}`))
	require.NoError(t, err)
	assert.Equal(t, r.Header.Get("Content-Digest"), d)
}
