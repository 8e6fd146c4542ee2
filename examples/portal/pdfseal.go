package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/egovkit/egovkit/declaration"
)

// sealFile is where demo mode keeps the self-signed certificate and key
// that sign the PDFs of declarations.
const sealFile = "pdf-seal.pem"

// loadPDFSigner reads the certificate and key that sign PDFs: from the
// PEM files EGOVKIT_PDF_CERT and EGOVKIT_PDF_KEY when set (the agency's
// certificate for electronic seals), else in demo mode from
// DataDir/pdf-seal.pem, created on first run with a self-signed
// certificate. Outside demo mode without files it returns nil: PDFs go
// out unsigned, their QR code still proving them.
func loadPDFSigner(c config) (signer *declaration.PDFSigner, created bool, err error) {
	switch {
	case c.PDFCert != "" || c.PDFKey != "":
		if c.PDFCert == "" || c.PDFKey == "" {
			return nil, false, errors.New("EGOVKIT_PDF_CERT and EGOVKIT_PDF_KEY go together")
		}
		certPEM, err := os.ReadFile(c.PDFCert)
		if err != nil {
			return nil, false, err
		}
		keyPEM, err := os.ReadFile(c.PDFKey)
		if err != nil {
			return nil, false, err
		}
		s, err := parsePDFSigner(append(certPEM, keyPEM...))
		return s, false, err
	case !c.Demo:
		return nil, false, nil
	}
	path := filepath.Join(c.DataDir, sealFile)
	b, err := os.ReadFile(path)
	if err == nil {
		s, err := parsePDFSigner(b)
		return s, false, err
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	b, err = newDemoSeal()
	if err != nil {
		return nil, false, err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, false, err
	}
	s, err := parsePDFSigner(b)
	return s, true, err
}

// parsePDFSigner reads a certificate (with any intermediates after it)
// and a PKCS #8 or EC private key from PEM.
func parsePDFSigner(b []byte) (*declaration.PDFSigner, error) {
	s := &declaration.PDFSigner{}
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("PDF seal certificate: %w", err)
			}
			if s.Certificate == nil {
				s.Certificate = cert
			} else {
				s.Chain = append(s.Chain, cert)
			}
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("PDF seal key: %w", err)
			}
			s.Key = k
		case "EC PRIVATE KEY":
			k, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("PDF seal key: %w", err)
			}
			s.Key = k
		}
	}
	if s.Certificate == nil || s.Key == nil {
		return nil, errors.New("PDF seal: a certificate and a private key are needed")
	}
	return s, nil
}

// newDemoSeal makes a self-signed certificate for electronic seals, valid
// three years, with its key, as PEM.
func newDemoSeal() ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial,
		Subject:   pkix.Name{CommonName: "egovkit demonstration seal", Organization: []string{"egovkit (demonstration, not trusted)"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(3, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})...), nil
}
