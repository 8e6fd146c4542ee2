package declaration

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/smallstep/pkcs7"
)

// A PDF is signed the PAdES way (baseline B-B): an incremental update
// appends a signature field on the first page and a signature dictionary
// whose /Contents holds a detached CMS signature (ETSI.CAdES.detached)
// over every byte of the file except that /Contents value itself, as
// /ByteRange says. The CMS carries the signing certificate and the
// ESS signing-certificate-v2 attribute that binds it.

// PDFSigner signs PDFs: the agency's certificate and the key that signs
// with it. The key is any crypto.Signer whose public half is the
// certificate's ECDSA or RSA key: an *ecdsa.PrivateKey or *rsa.PrivateKey
// in memory, or a key that never leaves a hardware security module or a
// smart card (PKCS #11, PIV) behind the same interface. In production the
// certificate is one a PDF reader trusts, such as a qualified certificate
// for electronic seals.
type PDFSigner struct {
	Certificate *x509.Certificate
	// Chain holds the intermediate certificates, if any, to embed.
	Chain []*x509.Certificate
	Key   crypto.Signer
}

// check refuses a signer that cannot sign.
func (p *PDFSigner) check() error {
	if p.Certificate == nil || p.Key == nil {
		return errors.New("declaration: a PDFSigner needs a Certificate and a Key")
	}
	pub := p.Key.Public()
	switch pub.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
	default:
		return fmt.Errorf("declaration: a PDF signing key must be ECDSA or RSA, not %T", pub)
	}
	if k, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(p.Certificate.PublicKey) {
		return errors.New("declaration: the PDF signing key is not the certificate's")
	}
	return nil
}

// signatureSpace is how many bytes the CMS signature may take: a
// certificate chain of a few certificates and one signer.
const signatureSpace = 8 << 10

var (
	reXrefStart = regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`)
	reSize      = regexp.MustCompile(`/Size (\d+)`)
	reRoot      = regexp.MustCompile(`/Root (\d+) 0 R`)
	reInfo      = regexp.MustCompile(`/Info (\d+) 0 R`)
	rePages     = regexp.MustCompile(`/Pages (\d+) 0 R`)
	reFirstKid  = regexp.MustCompile(`/Kids \[\s*(\d+) 0 R`)
)

// xrefTable reads the classic cross-reference table at offset at: where
// each object starts.
func xrefTable(pdf []byte, at int) (map[int]int, error) {
	if at < 0 || at >= len(pdf) || !bytes.HasPrefix(pdf[at:], []byte("xref")) {
		return nil, errors.New("no cross-reference table at startxref")
	}
	rest := pdf[at+len("xref"):]
	offsets := map[int]int{}
	for {
		rest = bytes.TrimLeft(rest, " \r\n")
		line, after, ok := bytes.Cut(rest, []byte("\n"))
		var first, count int
		if !ok || bytes.HasPrefix(line, []byte("trailer")) {
			return offsets, nil
		}
		if _, err := fmt.Sscanf(string(bytes.TrimSpace(line)), "%d %d", &first, &count); err != nil || first < 0 || count < 0 || count > len(after)/20 {
			return nil, errors.New("malformed cross-reference table")
		}
		for i := range count {
			e := after[20*i : 20*i+20]
			if e[17] == 'n' {
				off, err := strconv.Atoi(string(e[:10]))
				if err != nil {
					return nil, errors.New("malformed cross-reference entry")
				}
				offsets[first+i] = off
			}
		}
		rest = after[20*count:]
	}
}

// object returns the dictionary text of object n ("<<...>>") as written,
// found through the cross-reference table.
func object(pdf []byte, xref map[int]int, n int) ([]byte, error) {
	at, ok := xref[n]
	head := []byte(strconv.Itoa(n) + " 0 obj")
	if !ok || at < 0 || at > len(pdf) || !bytes.HasPrefix(pdf[at:], head) {
		return nil, fmt.Errorf("no object %d", n)
	}
	body := pdf[at+len(head):]
	end := bytes.Index(body, []byte("endobj"))
	if end < 0 {
		return nil, fmt.Errorf("object %d has no end", n)
	}
	dict := bytes.TrimSpace(body[:end])
	if !bytes.HasPrefix(dict, []byte("<<")) || !bytes.HasSuffix(dict, []byte(">>")) {
		return nil, fmt.Errorf("object %d is not a dictionary", n)
	}
	return dict, nil
}

// firstPage finds the object number of the first page: the first kid of
// the page tree.
func firstPage(pdf []byte, xref map[int]int, catalog []byte) (int, error) {
	m := rePages.FindSubmatch(catalog)
	if m == nil {
		return 0, errors.New("the catalog has no page tree")
	}
	n, _ := strconv.Atoi(string(m[1]))
	pages, err := object(pdf, xref, n)
	if err != nil {
		return 0, err
	}
	k := reFirstKid.FindSubmatch(pages)
	if k == nil {
		return 0, errors.New("the page tree has no page")
	}
	return strconv.Atoi(string(k[1]))
}

// withEntry adds "entry" to a dictionary, before its closing ">>".
func withEntry(dict []byte, entry string) []byte {
	out := append([]byte{}, dict[:len(dict)-2]...)
	out = append(out, '\n')
	out = append(out, entry...)
	return append(out, []byte("\n>>")...)
}

// pdfString writes s as a PDF text string (UTF-16BE with a byte-order
// mark, hex-encoded), which holds any character.
func pdfString(s string) string {
	var b bytes.Buffer
	b.WriteString("<FEFF")
	for _, r := range s {
		if r > 0xFFFF {
			r = '?'
		}
		fmt.Fprintf(&b, "%04X", r)
	}
	b.WriteString(">")
	return b.String()
}

// signPDF appends a PAdES B-B signature to a PDF written by fpdf (one
// classic cross-reference table, no signature yet).
func signPDF(pdf []byte, signer *PDFSigner, name, reason string, at time.Time) ([]byte, error) {
	m := reXrefStart.FindSubmatch(pdf)
	t := bytes.LastIndex(pdf, []byte("trailer"))
	if m == nil || t < 0 {
		return nil, errors.New("declaration: the PDF has no trailer")
	}
	trailer := pdf[t:]
	size, root := reSize.FindSubmatch(trailer), reRoot.FindSubmatch(trailer)
	if size == nil || root == nil {
		return nil, errors.New("declaration: the PDF trailer has no /Size or /Root")
	}
	prevXref := string(m[1])
	n, _ := strconv.Atoi(string(size[1]))
	rootN, _ := strconv.Atoi(string(root[1]))
	prevAt, _ := strconv.Atoi(prevXref)
	table, err := xrefTable(pdf, prevAt)
	if err != nil {
		return nil, fmt.Errorf("declaration: PDF: %w", err)
	}
	catalog, err := object(pdf, table, rootN)
	if err != nil {
		return nil, fmt.Errorf("declaration: PDF: %w", err)
	}
	pageN, err := firstPage(pdf, table, catalog)
	if err != nil {
		return nil, fmt.Errorf("declaration: PDF: %w", err)
	}
	page, err := object(pdf, table, pageN)
	if err != nil {
		return nil, fmt.Errorf("declaration: PDF: %w", err)
	}
	if bytes.Contains(page, []byte("/Annots")) || bytes.Contains(catalog, []byte("/AcroForm")) {
		return nil, errors.New("declaration: the PDF already has annotations or a form")
	}
	sigN, fieldN := n, n+1

	var out bytes.Buffer
	out.Write(pdf)
	if pdf[len(pdf)-1] != '\n' {
		out.WriteByte('\n')
	}
	offsets := map[int]int{}
	write := func(num int, body []byte) {
		offsets[num] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n", num)
		out.Write(body)
		out.WriteString("\nendobj\n")
	}
	// The signature dictionary, with room for the CMS and a /ByteRange
	// filled in once the offsets are known.
	offsets[sigN] = out.Len()
	fmt.Fprintf(&out, "%d 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached\n", sigN)
	out.WriteString("/ByteRange ")
	byteRangeAt := out.Len()
	out.WriteString(fmt.Sprintf("[%-60s]", "0 0 0 0"))
	fmt.Fprintf(&out, "\n/M (D:%s)\n/Name %s\n/Reason %s\n/Contents ", at.UTC().Format("20060102150405Z"), pdfString(name), pdfString(reason))
	contentsAt := out.Len()
	out.WriteByte('<')
	out.Write(bytes.Repeat([]byte("0"), 2*signatureSpace))
	out.WriteByte('>')
	contentsEnd := out.Len()
	out.WriteString("\n>>\nendobj\n")
	// The invisible signature field on the first page.
	write(fieldN, []byte(fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Sig /T %s /V %d 0 R /P %d 0 R /Rect [0 0 0 0] /F 132 >>",
		pdfString("Signature1"), sigN, pageN)))
	write(pageN, withEntry(page, fmt.Sprintf("/Annots [%d 0 R]", fieldN)))
	write(rootN, withEntry(catalog, fmt.Sprintf("/AcroForm << /Fields [%d 0 R] /SigFlags 3 >>", fieldN)))

	xref := out.Len()
	out.WriteString("xref\n")
	for _, num := range []int{rootN, pageN, sigN, fieldN} {
		fmt.Fprintf(&out, "%d 1\n%010d 00000 n \n", num, offsets[num])
	}
	info := ""
	if i := reInfo.FindSubmatch(trailer); i != nil {
		info = fmt.Sprintf(" /Info %s 0 R", i[1])
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root %d 0 R%s /Prev %s >>\nstartxref\n%d\n%%%%EOF\n", fieldN+1, rootN, info, prevXref, xref)

	b := out.Bytes()
	br := fmt.Sprintf("0 %d %d %d", contentsAt, contentsEnd, len(b)-contentsEnd)
	copy(b[byteRangeAt:], fmt.Sprintf("[%-60s]", br))
	signed := make([]byte, 0, contentsAt+len(b)-contentsEnd)
	signed = append(signed, b[:contentsAt]...)
	signed = append(signed, b[contentsEnd:]...)
	cms, err := cmsDetached(signed, signer)
	if err != nil {
		return nil, err
	}
	if 2*len(cms) > 2*signatureSpace {
		return nil, fmt.Errorf("declaration: the signature (%d bytes) does not fit", len(cms))
	}
	hex.Encode(b[contentsAt+1:], cms)
	for i := contentsAt + 1 + 2*len(cms); i < contentsEnd-1; i++ {
		b[i] = '0'
	}
	return b, nil
}

var oidSigningCertificateV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}

// essCertIDv2 and signingCertificateV2 are RFC 5035's, with SHA-256 (the
// default, so the algorithm is left out).
type essCertIDv2 struct {
	CertHash []byte
}

type signingCertificateV2 struct {
	Certs []essCertIDv2
}

// cmsDetached signs data as a detached CMS SignedData with SHA-256 and the
// signing-certificate-v2 attribute.
func cmsDetached(data []byte, s *PDFSigner) ([]byte, error) {
	sd, err := pkcs7.NewSignedData(data)
	if err != nil {
		return nil, fmt.Errorf("declaration: CMS: %w", err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	sum := sha256.Sum256(s.Certificate.Raw)
	attr := pkcs7.Attribute{Type: oidSigningCertificateV2, Value: signingCertificateV2{Certs: []essCertIDv2{{CertHash: sum[:]}}}}
	if err := sd.AddSignerChain(s.Certificate, s.Key, s.Chain, pkcs7.SignerInfoConfig{ExtraSignedAttributes: []pkcs7.Attribute{attr}}); err != nil {
		return nil, fmt.Errorf("declaration: CMS: %w", err)
	}
	sd.Detach()
	out, err := sd.Finish()
	if err != nil {
		return nil, fmt.Errorf("declaration: CMS: %w", err)
	}
	return out, nil
}
