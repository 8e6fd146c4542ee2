package declaration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"rsc.io/qr"

	"github.com/egovkit/egovkit/internal/web"
)

// pdfLabels are the fixed texts of a document in one language.
type pdfLabels struct {
	solemn, solemnLaw, authorization, to, declarant, father, mother, born, afm, idCard,
	grantee, validUntil, protocol, issued, code, verifyAt, revoked, fields, grantorText string
}

var labels = map[string]pdfLabels{
	"el": {
		solemn: "ΥΠΕΥΘΥΝΗ ΔΗΛΩΣΗ", solemnLaw: "(άρθρο 8 του Ν. 1599/1986)", authorization: "ΕΞΟΥΣΙΟΔΟΤΗΣΗ",
		to: "Προς", declarant: "Ο/Η δηλών/ούσα", father: "Όνομα πατέρα", mother: "Όνομα μητέρας",
		born: "Ημερομηνία γέννησης", afm: "ΑΦΜ", idCard: "Αριθμός δελτίου ταυτότητας",
		grantee: "Εξουσιοδοτείται", validUntil: "Ισχύει έως", protocol: "Αριθμός πρωτοκόλλου",
		issued: "Εκδόθηκε", code: "Κωδικός επαλήθευσης", verifyAt: "Επαληθεύστε στο",
		revoked: "ΑΝΑΚΛΗΘΗΚΕ", fields: "Στοιχεία", grantorText: "Εξουσιοδοτώ τον/την παραπάνω:",
	},
	"en": {
		solemn: "SOLEMN DECLARATION", solemnLaw: "(article 8 of Law 1599/1986)", authorization: "AUTHORIZATION",
		to: "To", declarant: "Declarant", father: "Father's name", mother: "Mother's name",
		born: "Date of birth", afm: "Tax number (AFM)", idCard: "Identity card number",
		grantee: "Authorized person", validUntil: "Valid until", protocol: "Protocol number",
		issued: "Issued", code: "Verification code", verifyAt: "Verify at",
		revoked: "REVOKED", fields: "Details", grantorText: "I authorize the person above:",
	},
}

// PDF returns an issued (or revoked) document as an A4 PDF in its
// language: the document, its protocol number and verification code, and
// a QR code, drawn as vector squares, holding QRContent; sealed when
// Config.PDFSigner is set. It is drawn and signed once, on the first
// call, and stored: every later call, on every instance, returns the same
// bytes. Two instances drawing it at once store one form, which both
// return. A revoked document has a form of its own, marked revoked, with
// the same QR code.
func (s *Service) PDF(ctx context.Context, d *Document) ([]byte, error) {
	if d.State == StateDraft || d.Code == "" {
		return nil, fail(ErrState, "a draft has no PDF; confirm it first")
	}
	if b, err := s.storedPDF(ctx, d.ID, d.State); err != nil || b != nil {
		return b, err
	}
	// The QR code another form of the document carries, or a new one.
	var content string
	err := s.db.QueryRowContext(ctx, `SELECT qr FROM declaration_pdfs WHERE id = $1 LIMIT 1`, d.ID).Scan(&content)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if content, err = s.QRContent(ctx, d); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("declaration: PDF: %w", err)
	}
	b, err := s.renderPDF(d, content)
	if err != nil {
		return nil, err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO declaration_pdfs (id, state, qr, pdf, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id, state) DO NOTHING`, d.ID, d.State, content, b, s.now().UnixMicro()); err != nil {
		return nil, fmt.Errorf("declaration: store PDF: %w", err)
	}
	// Whichever form was stored first is the document's.
	stored, err := s.storedPDF(ctx, d.ID, d.State)
	if err == nil && stored == nil {
		err = errors.New("declaration: the stored PDF is missing")
	}
	return stored, err
}

// storedPDF returns the PDF stored for the document in state, or nil.
func (s *Service) storedPDF(ctx context.Context, id, state string) ([]byte, error) {
	var b []byte
	err := s.db.QueryRowContext(ctx, `SELECT pdf FROM declaration_pdfs WHERE id = $1 AND state = $2`, id, state).Scan(&b)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("declaration: PDF: %w", err)
	}
	return b, nil
}

// renderPDF draws the document with content in its QR code, and seals it
// when Config.PDFSigner is set.
func (s *Service) renderPDF(d *Document, content string) ([]byte, error) {
	lang := d.Draft.Lang
	l, ok := labels[lang]
	if !ok {
		lang, l = "el", labels["el"]
	}
	code, err := qr.Encode(content, qr.M)
	if err != nil {
		return nil, fmt.Errorf("declaration: QR code: %w", err)
	}
	// Most documents fit the Greek code page; the others are drawn again
	// with an encoding of their own characters.
	f := greekFace()
	pdf := s.draw(d, l, lang, code, f)
	if f.missed {
		f = documentFace(f.texts)
		pdf = s.draw(d, l, lang, code, f)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("declaration: PDF: %w", err)
	}
	if s.cfg.PDFSigner == nil {
		return buf.Bytes(), nil
	}
	return signPDF(buf.Bytes(), s.cfg.PDFSigner, d.Issuer, l.protocol+" "+d.Protocol, d.IssuedAt)
}

// draw lays out the document's page in face f; f.missed tells whether
// some text was beyond the face's characters.
func (s *Service) draw(d *Document, l pdfLabels, lang string, code *qr.Code, f *face) *fpdf.Fpdf {
	tx := f.text
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreator("egovkit declaration", true)
	pdf.SetTitle(titleOf(d, l, s)+" "+d.Protocol, true)
	pdf.SetAuthor(d.Issuer, true)
	pdf.SetCreationDate(d.IssuedAt)
	pdf.SetModificationDate(d.IssuedAt)
	pdf.SetLang(lang)
	f.add(pdf)
	pdf.SetMargins(20, 18, 20)
	pdf.SetAutoPageBreak(true, 20)
	pdf.AddPage()
	const width = 170.0

	setFont(pdf, 9, false)
	pdf.SetTextColor(80, 80, 80)
	pdf.CellFormat(width, 5, tx(d.Issuer), "", 1, "L", false, 0, "")
	pdf.SetTextColor(0, 0, 0)
	pdf.Ln(4)
	setFont(pdf, 16, true)
	pdf.CellFormat(width, 9, tx(titleOf(d, l, s)), "", 1, "C", false, 0, "")
	if d.Draft.Kind == KindSolemn {
		setFont(pdf, 9, false)
		pdf.CellFormat(width, 5, tx(l.solemnLaw), "", 1, "C", false, 0, "")
	}
	if d.State == StateRevoked {
		pdf.Ln(2)
		setFont(pdf, 12, true)
		pdf.SetTextColor(170, 0, 0)
		pdf.SetDrawColor(170, 0, 0)
		text := l.revoked + " " + web.FormatDateTime(d.RevokedAt, s.cfg.Location)
		pdf.CellFormat(width, 8, tx(text), "1", 1, "C", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
		pdf.SetDrawColor(0, 0, 0)
	}
	pdf.Ln(5)

	row := func(label, value string) {
		if value == "" {
			return
		}
		setFont(pdf, 9, false)
		pdf.SetTextColor(80, 80, 80)
		pdf.CellFormat(55, 6, tx(label), "B", 0, "L", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
		setFont(pdf, 10, false)
		pdf.MultiCell(width-55, 6, tx(value), "B", "L", false)
	}
	row(l.to, d.Draft.Recipient)
	p := d.Declarant
	row(l.declarant, p.GivenName+" "+p.FamilyName)
	row(l.father, p.FatherName)
	row(l.mother, p.MotherName)
	if born, ok := web.FormatCivilDate(p.BirthDate); ok {
		row(l.born, born)
	}
	row(l.afm, p.AFM)
	row(l.idCard, p.IDCard)
	if g := d.Draft.Grantee; g != nil {
		row(l.grantee, g.Name+" ("+l.afm+" "+g.AFM+")")
	}
	if !d.Draft.ValidUntil.IsZero() {
		row(l.validUntil, web.FormatUntil(d.Draft.ValidUntil, s.cfg.Location))
	}
	pdf.Ln(6)

	setFont(pdf, 10.5, false)
	switch d.Draft.Kind {
	case KindSolemn:
		pdf.MultiCell(width, 5.5, tx(StatutoryWording.In(lang)), "", "J", false)
		pdf.Ln(2)
	case KindAuthorization:
		pdf.MultiCell(width, 5.5, tx(l.grantorText), "", "L", false)
		pdf.Ln(2)
	}
	if d.Draft.Text != "" {
		pdf.MultiCell(width, 5.5, tx(d.Draft.Text), "", "L", false)
	}
	if d.Draft.Kind == KindTemplate && len(d.Draft.Fields) > 0 {
		pdf.Ln(3)
		setFont(pdf, 10, true)
		pdf.CellFormat(width, 6, tx(l.fields), "", 1, "L", false, 0, "")
		for _, kv := range flatFields(d.Draft.Fields) {
			row(kv[0], kv[1])
		}
	}

	// The verification block: numbers on the left, the QR code on the right.
	const qrSize = 48.0
	if pdf.GetY()+qrSize+12 > 297-20 {
		pdf.AddPage()
	}
	pdf.Ln(10)
	top := pdf.GetY()
	pdf.SetDrawColor(120, 120, 120)
	pdf.Line(20, top-3, 20+width, top-3)
	pdf.SetDrawColor(0, 0, 0)
	info := func(label, value string, size float64) {
		setFont(pdf, 8.5, false)
		pdf.SetTextColor(80, 80, 80)
		pdf.CellFormat(width-qrSize-6, 4.5, tx(label), "", 1, "L", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
		setFont(pdf, size, true)
		pdf.MultiCell(width-qrSize-6, size*0.5, tx(value), "", "L", false)
		pdf.Ln(1.5)
	}
	info(l.protocol, d.Protocol, 12)
	info(l.issued, web.FormatDateTime(d.IssuedAt, s.cfg.Location), 10)
	info(l.code, d.Code, 13)
	info(l.verifyAt, s.cfg.BaseURL+"/verify", 9)
	drawQR(pdf, code, 20+width-qrSize, top, qrSize)
	return pdf
}

// setFont sets the size and weight of the text. Bold is drawn by
// stroking the regular glyphs' outlines as well as filling them, so that
// each PDF embeds one font rather than two.
func setFont(pdf *fpdf.Fpdf, size float64, bold bool) {
	pdf.SetFont(fontFamily, "", size)
	if bold {
		pdf.SetTextRenderingMode(2)    // fill, then stroke
		pdf.SetLineWidth(size * 0.012) // a thirtieth of the size, in mm
		return
	}
	pdf.SetTextRenderingMode(0)
	pdf.SetLineWidth(0.2)
}

func titleOf(d *Document, l pdfLabels, s *Service) string {
	switch d.Draft.Kind {
	case KindSolemn:
		return l.solemn
	case KindAuthorization:
		return l.authorization
	}
	if t, ok := s.templates[d.Draft.Template]; ok {
		return t.Title.In(d.Draft.Lang)
	}
	return d.Draft.Template
}

// drawQR draws the code's dark modules as one filled path of rectangles,
// one per run of dark modules in a row, inside a quiet zone of four
// modules. A transformation matrix makes a module the unit, so every
// rectangle is four small integers, and the path is written straight into
// the page: one fill for all rather than an operation per module keeps the
// page small and quick to write and compress.
func drawQR(pdf *fpdf.Fpdf, c *qr.Code, x, y, size float64) {
	m := size / float64(c.Size+8)
	k := pdf.GetConversionRatio()
	_, pageH := pdf.GetPageSize()
	b := make([]byte, 0, 64+8*c.Size*c.Size/3)
	b = fmt.Appendf(b, "q 0 g %.4f 0 0 %.4f %.3f %.3f cm\n", m*k, -m*k, (x+4*m)*k, (pageH-y-4*m)*k)
	for row := range c.Size {
		for col := 0; col < c.Size; {
			if !c.Black(col, row) {
				col++
				continue
			}
			start := col
			for col < c.Size && c.Black(col, row) {
				col++
			}
			b = strconv.AppendInt(b, int64(start), 10)
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(row), 10)
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(col-start), 10)
			b = append(b, " 1 re\n"...)
		}
	}
	b = append(b, "f Q\n"...)
	pdf.RawWriteBuf(bytes.NewReader(b))
}

// flatFields lists a template's fields as label and text, in order of
// their names; nested values are written as compact JSON.
func flatFields(raw json.RawMessage) [][2]string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([][2]string, 0, len(keys))
	for _, k := range keys {
		var v string
		switch x := m[k].(type) {
		case string:
			v = x
		default:
			b, _ := json.Marshal(x)
			v = string(b)
		}
		out = append(out, [2]string{k, v})
	}
	return out
}

// servePDF answers with the PDF of the document in the path, as get finds
// it for person (their own with Get, one given to them with Granted), as a
// download named after its kind and protocol number; fail answers errors
// the way of the page or API that serves it. The bytes are the same on
// every download, so they carry a strong ETag (their SHA-256), and a
// client that has them already (If-None-Match) is answered 304.
func servePDF(w http.ResponseWriter, r *http.Request, s *Service, person Person,
	get func(context.Context, Person, string) (*Document, error), fail func(http.ResponseWriter, *http.Request, error)) {
	d, err := get(r.Context(), person, r.PathValue("id"))
	if err != nil {
		fail(w, r, err)
		return
	}
	b, err := s.PDF(r.Context(), d)
	if err != nil {
		fail(w, r, err)
		return
	}
	sum := sha256.Sum256(b)
	w.Header().Set("ETag", `"`+base64.RawURLEncoding.EncodeToString(sum[:])+`"`)
	// Kept by the person's own client only, and checked before reuse: a
	// revocation changes the PDF.
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="`+d.Draft.Kind+"-"+strings.ReplaceAll(d.Protocol, "/", "-")+`.pdf"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}
