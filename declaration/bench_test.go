package declaration_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/go-pdf/fpdf"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/require"
	"rsc.io/qr"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// BenchmarkIssue issues stored drafts on SQLite: the one-time code used
// up, the protocol number and the status-list index taken, the content
// and the SD-JWT VC signed and the document written, which is everything
// Confirm does after checking the code (the check is internal/otp's). Beside it, raw
// jws.Sign of the same content with an ES256 key: one signature, nothing
// stored. Target on 2 cores: at least 5,000 issues per second where the
// signature alone runs at 37,000 (BENCHMARKS.md says how it is measured).
func BenchmarkIssue(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b, sqltest.SQLite(b).DB.DB, nil)
	payload := []byte(`{"iss":"https://docs.example.gr","jti":"J3V6Q2XKQ5ZP4M7R2N8T6YBW4E","iat":1795000000,"issuer_name":"gov.gr","kind":"solemn_declaration","protocol":"2026/000123","code":"7KQM-2XPA-9RTV-4HWC-8NDF","declarant":{"afm":"123456783","given_name":"Μαρία","family_name":"Παπαδοπούλου"},"content":{"kind":"solemn_declaration","lang":"el","recipient":"Δήμος Αθηναίων","text":"Τα στοιχεία της αίτησής μου είναι αληθή."},"statutory":"Με ατομική μου ευθύνη …","status_url":"https://docs.example.gr/verify?code=7KQM-2XPA-9RTV-4HWC-8NDF"}`)
	b.Run("declaration.Issue", func(b *testing.B) {
		// The drafts are written first: a citizen writes one minutes
		// before confirming it, so storing it is not part of issuing.
		// So is asking for the code.
		drafts := make([]*declaration.Document, b.N)
		challenges := make([]string, b.N)
		for i := range drafts {
			d, err := f.svc.Create(ctx, maria, solemn())
			require.NoError(b, err)
			_, err = f.svc.RequestCode(ctx, maria, d.ID)
			require.NoError(b, err)
			m, _ := f.outbox.Last(maria.Mobile)
			drafts[i], challenges[i] = d, m.ID
		}
		var next atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(16) // many citizens confirming at once, as on a server
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1) - 1
				if err := declaration.IssueDraftWithCode(ctx, f.svc, drafts[i], challenges[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(b, err)
	b.Run("jws.Sign", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := jws.Sign(payload, jws.WithKey(jwa.ES256, key)); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkVerify checks verification codes against the database
// (Service.Verify). The offline verifier's benchmarks, beside the bare
// signature checks, are in offline_bench_test.go.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b, sqltest.SQLite(b).DB.DB, nil)
	var docs []*declaration.Document
	for range 200 {
		d, err := declaration.IssueWithoutCode(ctx, f.svc, maria, solemn())
		require.NoError(b, err)
		docs = append(docs, d)
	}
	b.Run("Service.Verify", func(b *testing.B) {
		b.ReportAllocs()
		var i atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				d := docs[i.Add(1)%int64(len(docs))]
				if r, err := f.svc.Verify(ctx, d.Code); err != nil || r.Status != declaration.StatusValid {
					b.Fatal(fmt.Sprint(r.Status), err)
				}
			}
		})
	})
}

// BenchmarkPDF renders an issued solemn declaration as PDF, as its first
// download does (later ones read the stored bytes: "stored"), beside the
// naive way: the same page from fpdf with the full DejaVu Sans regular
// and bold fonts of the system (when installed; else the package's font
// twice) and the QR code as a PNG image. Target on 2 cores: at least 300 PDFs per second.
func BenchmarkPDF(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b, sqltest.SQLite(b).DB.DB, nil)
	doc, err := declaration.IssueWithoutCode(ctx, f.svc, maria, solemn())
	require.NoError(b, err)
	render := func(svc *declaration.Service, doc *declaration.Document) func(*testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := declaration.RenderPDF(ctx, svc, doc); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	b.Run("declaration.PDF", render(f.svc, doc))
	b.Run("declaration.PDF/stored", func(b *testing.B) {
		_, err := f.svc.PDF(ctx, doc)
		require.NoError(b, err)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := f.svc.PDF(ctx, doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	// The same document sealed with a PAdES signature, as the portal serves it.
	sealed := newFixture(b, sqltest.SQLite(b).DB.DB, nil, func(c *declaration.Config) { c.PDFSigner = testSigner(b) })
	sealedDoc, err := declaration.IssueWithoutCode(ctx, sealed.svc, maria, solemn())
	require.NoError(b, err)
	b.Run("declaration.PDF/PAdES", render(sealed.svc, sealedDoc))
	// Text outside the Greek code page: drawn again with an encoding of its characters.
	other := solemn()
	other.Text = "Δηλώνω ότι η Hélène Müller μένει στη Łódź."
	otherDoc, err := declaration.IssueWithoutCode(ctx, f.svc, maria, other)
	require.NoError(b, err)
	b.Run("declaration.PDF/Unicode", render(f.svc, otherDoc))
	regular, err1 := os.ReadFile("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
	bold, err2 := os.ReadFile("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
	if err1 != nil || err2 != nil {
		regular, bold = declaration.Font(), declaration.Font()
	}
	qrContent, err := f.svc.QRContent(ctx, doc)
	require.NoError(b, err)
	b.Run("naive", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				pdf := fpdf.New("P", "mm", "A4", "")
				pdf.AddUTF8FontFromBytes("dv", "", regular)
				pdf.AddUTF8FontFromBytes("dv", "B", bold)
				pdf.AddPage()
				pdf.SetFont("dv", "B", 16)
				pdf.CellFormat(170, 9, "ΥΠΕΥΘΥΝΗ ΔΗΛΩΣΗ", "", 1, "C", false, 0, "")
				pdf.SetFont("dv", "", 10)
				for _, line := range []string{doc.Draft.Recipient, doc.Declarant.GivenName + " " + doc.Declarant.FamilyName, doc.Declarant.AFM} {
					pdf.CellFormat(170, 6, line, "B", 1, "L", false, 0, "")
				}
				pdf.MultiCell(170, 5.5, declaration.StatutoryWording.EL+" "+doc.Draft.Text, "", "J", false)
				pdf.CellFormat(120, 6, doc.Protocol+"  "+doc.Code, "", 0, "L", false, 0, "")
				code, err := qr.Encode(qrContent, qr.M)
				if err != nil {
					b.Fatal(err)
				}
				pdf.RegisterImageOptionsReader("qr", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(code.PNG()))
				pdf.ImageOptions("qr", 142, 200, 48, 48, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
				var buf bytes.Buffer
				if err := pdf.Output(&buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
