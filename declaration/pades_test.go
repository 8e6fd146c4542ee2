package declaration_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// testSigner is a self-signed certificate for electronic seals.
func testSigner(t testing.TB) *declaration.PDFSigner {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Δήμος Δοκιμών", Organization: []string{"egovkit tests"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &declaration.PDFSigner{Certificate: cert, Key: key}
}

func TestSignedPDF(t *testing.T) {
	ctx := t.Context()
	signer := testSigner(t)
	f := newFixture(t, sqltest.SQLite(t).DB.DB, nil, func(c *declaration.Config) { c.PDFSigner = signer })
	doc := f.issue(t, maria, solemn())
	pdf, err := f.svc.PDF(ctx, doc)
	require.NoError(t, err)
	assert.Contains(t, string(pdf), "/SubFilter /ETSI.CAdES.detached")
	dir := t.TempDir()
	file := filepath.Join(dir, "signed.pdf")
	require.NoError(t, os.WriteFile(file, pdf, 0o644))

	// A key that is not the certificate's is refused at start.
	other := testSigner(t)
	_, err = declaration.New(ctx, declaration.Config{DB: sqltest.SQLite(t).DB.DB, Issuer: "x", BaseURL: "https://x", Keys: f.keys,
		CodeSecret: secret, SMS: f.outbox, PDFSigner: &declaration.PDFSigner{Certificate: signer.Certificate, Key: other.Key}})
	assert.Error(t, err)

	pdfsig := tool(t, "pdfsig", "poppler-utils")
	out, err := exec.Command(pdfsig, file).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "Signature is Valid", string(out))
	assert.Contains(t, string(out), "ETSI.CAdES.detached")
	assert.Contains(t, string(out), "Total document signed")

	// One changed byte inside the signed range breaks the signature.
	i := bytes.Index(pdf, []byte("/Title"))
	require.Positive(t, i)
	tampered := append([]byte{}, pdf...)
	tampered[i+1] = 'X'
	bad := filepath.Join(dir, "tampered.pdf")
	require.NoError(t, os.WriteFile(bad, tampered, 0o644))
	out, _ = exec.Command(pdfsig, bad).CombinedOutput()
	assert.False(t, strings.Contains(string(out), "Signature is Valid"), string(out))

	// The signed PDF still reads and scans.
	pdftotext := tool(t, "pdftotext", "poppler-utils")
	text, err := exec.Command(pdftotext, file, "-").Output()
	require.NoError(t, err)
	assert.Contains(t, string(text), doc.Code)
}

// opaqueSigner stands for a key held in a hardware security module or on
// a smart card: it signs through crypto.Signer and is no key type of the
// standard library.
type opaqueSigner struct {
	key   crypto.Signer
	signs int
}

func (o *opaqueSigner) Public() crypto.PublicKey { return o.key.Public() }

func (o *opaqueSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	o.signs++
	return o.key.Sign(r, digest, opts)
}

// verifyPAdES checks the CMS signature of a signed PDF over its byte
// range, with no tool outside Go.
func verifyPAdES(t *testing.T, pdf []byte) *x509.Certificate {
	t.Helper()
	m := regexp.MustCompile(`/ByteRange \[0 (\d+) (\d+) (\d+)\s*\]`).FindSubmatch(pdf)
	require.NotNil(t, m, "a byte range")
	at, _ := strconv.Atoi(string(m[1]))
	end, _ := strconv.Atoi(string(m[2]))
	rest, _ := strconv.Atoi(string(m[3]))
	require.Equal(t, len(pdf), end+rest, "the signature covers the whole file")
	padded, err := hex.DecodeString(string(pdf[at+1 : end-1]))
	require.NoError(t, err)
	var cms asn1.RawValue // the signature, without the zeros that pad its space
	_, err = asn1.Unmarshal(padded, &cms)
	require.NoError(t, err)
	p7, err := pkcs7.Parse(cms.FullBytes)
	require.NoError(t, err)
	p7.Content = append(append([]byte{}, pdf[:at]...), pdf[end:]...)
	require.NoError(t, p7.Verify(), "the CMS signature verifies over the byte range")
	return p7.GetOnlySigner()
}

// TestPDFSignerAnyCryptoSigner: a key behind crypto.Signer that is not an
// *ecdsa.PrivateKey or *rsa.PrivateKey seals PDFs as well, ECDSA or RSA;
// keys of other algorithms, or not the certificate's, are refused.
func TestPDFSignerAnyCryptoSigner(t *testing.T) {
	ctx := t.Context()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	for name, key := range map[string]crypto.Signer{"ECDSA": ecKey, "RSA": rsaKey} {
		t.Run(name, func(t *testing.T) {
			hsm := &opaqueSigner{key: key}
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "Δήμος Δοκιμών (HSM)"},
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
				KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, hsm.Public(), hsm)
			require.NoError(t, err)
			cert, err := x509.ParseCertificate(der)
			require.NoError(t, err)
			hsm.signs = 0
			f := newFixture(t, sqltest.SQLite(t).DB.DB, nil, func(c *declaration.Config) {
				c.PDFSigner = &declaration.PDFSigner{Certificate: cert, Key: hsm}
			})
			doc := f.issue(t, maria, solemn())
			pdf, err := f.svc.PDF(ctx, doc)
			require.NoError(t, err)
			assert.Equal(t, 1, hsm.signs, "the seal was made through crypto.Signer")
			assert.True(t, verifyPAdES(t, pdf).Equal(cert))

			if pdfsig, err := exec.LookPath("pdfsig"); err == nil {
				file := filepath.Join(t.TempDir(), "hsm.pdf")
				require.NoError(t, os.WriteFile(file, pdf, 0o644))
				out, err := exec.Command(pdfsig, file).CombinedOutput()
				require.NoError(t, err, string(out))
				assert.Contains(t, string(out), "Signature is Valid", string(out))
			}
		})
	}

	f := newFixture(t, sqltest.SQLite(t).DB.DB, nil)
	cfg := func(s *declaration.PDFSigner) declaration.Config {
		return declaration.Config{DB: sqltest.SQLite(t).DB.DB, Issuer: "x", BaseURL: "https://x", Keys: f.keys, CodeSecret: secret,
			SMS: f.outbox, PDFSigner: s}
	}
	signer := testSigner(t)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	for name, s := range map[string]*declaration.PDFSigner{
		"no key":              {Certificate: signer.Certificate},
		"no certificate":      {Key: signer.Key},
		"another key":         {Certificate: signer.Certificate, Key: &opaqueSigner{key: ecKey}},
		"Ed25519 behind HSM":  {Certificate: signer.Certificate, Key: &opaqueSigner{key: edKey}},
		"RSA, not the cert's": {Certificate: signer.Certificate, Key: rsaKey},
	} {
		_, err := declaration.New(ctx, cfg(s))
		assert.Error(t, err, name)
	}
}
