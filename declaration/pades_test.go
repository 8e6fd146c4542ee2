package declaration_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
