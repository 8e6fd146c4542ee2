package main

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
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
// that sign the PDFs of declarations. The key is stored encrypted under
// the key-encryption key (AES-256-GCM, with the certificate as associated
// data), like the signing keys in the database.
const sealFile = "pdf-seal.pem"

// sealedKeyType is the PEM type of the encrypted key in sealFile.
const sealedKeyType = "EGOVKIT ENCRYPTED SEAL KEY"

// loadPDFSigner reads the certificate and key that sign PDFs: from the
// PEM files EGOVKIT_PDF_CERT and EGOVKIT_PDF_KEY when set (the agency's
// certificate for electronic seals), else in demo mode from
// DataDir/pdf-seal.pem, created on first run with a self-signed
// certificate and its key encrypted under kek (a file an earlier version
// wrote with the key in clear is encrypted in place). Outside demo mode
// without files it returns nil: PDFs go out unsigned, their QR code still
// proving them.
func loadPDFSigner(c config, kek []byte) (signer *declaration.PDFSigner, created bool, err error) {
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
	switch {
	case err == nil:
		s, clear, err := openDemoSeal(b, kek)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		if clear {
			if err := writeDemoSeal(path, s, kek); err != nil {
				return nil, false, err
			}
		}
		return s, false, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, false, err
	}
	b, err = newDemoSeal()
	if err != nil {
		return nil, false, err
	}
	s, err := parsePDFSigner(b)
	if err != nil {
		return nil, false, err
	}
	if err := writeDemoSeal(path, s, kek); err != nil {
		return nil, false, err
	}
	return s, true, nil
}

// sealAEAD is the cipher that encrypts the demo seal's key: AES-256-GCM
// under a key derived from the KEK for this use alone.
func sealAEAD(kek []byte) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, kek, nil, "egovkit pdf seal key v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// writeDemoSeal writes the certificate and the key, encrypted under kek,
// to path: to a temporary file first, renamed over path, so that a crash
// leaves the old file or the new one.
func writeDemoSeal(path string, s *declaration.PDFSigner, kek []byte) error {
	der, err := x509.MarshalPKCS8PrivateKey(s.Key)
	if err != nil {
		return fmt.Errorf("PDF seal key: %w", err)
	}
	aead, err := sealAEAD(kek)
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate.Raw})
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: sealedKeyType, Bytes: aead.Seal(nonce, nonce, der, s.Certificate.Raw)})...)
	tmp := path + ".new"
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// openDemoSeal reads the demo seal file: the certificate and the key
// encrypted under kek, or, from an earlier version, the key in clear
// (clear is then true, for the caller to encrypt it).
func openDemoSeal(b, kek []byte) (s *declaration.PDFSigner, clear bool, err error) {
	var plain, sealed []byte
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			plain = append(plain, pem.EncodeToMemory(block)...)
		case sealedKeyType:
			sealed = block.Bytes
		case "PRIVATE KEY", "EC PRIVATE KEY":
			plain, clear = append(plain, pem.EncodeToMemory(block)...), true
		}
	}
	if sealed != nil {
		cert, _ := pem.Decode(plain)
		aead, err := sealAEAD(kek)
		if err != nil {
			return nil, false, err
		}
		if cert == nil || len(sealed) < aead.NonceSize() {
			return nil, false, errors.New("PDF seal: a certificate and an encrypted key are needed")
		}
		der, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], cert.Bytes)
		if err != nil {
			return nil, false, errors.New("PDF seal: the key does not decrypt; the key-encryption key must be the one it was created with")
		}
		plain = append(plain, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...)
	}
	s, err = parsePDFSigner(plain)
	return s, clear, err
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
			signer, ok := k.(crypto.Signer)
			if !ok {
				return nil, fmt.Errorf("PDF seal key: %T cannot sign", k)
			}
			s.Key = signer
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
