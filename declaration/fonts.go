package declaration

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
	"golang.org/x/text/encoding/charmap"
)

// Documents are set in DejaVu Sans reduced to the characters documents use
// (see fonts/LICENSE), prepared once by internal/mkfont so that no
// document parses a font file. fpdf's own Unicode fonts are parsed,
// subset and compressed for every document, and named by serialising
// 65,536 widths, which took most of a PDF's time; its single-byte fonts
// are copied into the PDF as they are. A PDF therefore uses a single-byte
// font: for text that fits the Greek code page Windows-1253 (nearly
// every document), a font reduced further to that code page; for any
// other text, the whole reduced font with an encoding of the 128 or fewer
// characters above ASCII that the document uses.
//
//go:generate go run ./internal/mkfont
var (
	//go:embed fonts/DejaVuSans.ttf
	fontRegular []byte
	//go:embed fonts/DejaVuSans-Greek.json
	fontGreekDef []byte
	//go:embed fonts/DejaVuSans-Greek.z
	fontGreekFile []byte
	//go:embed fonts/DejaVuSans-Unicode.json
	fontUnicodeMetrics []byte
	//go:embed fonts/DejaVuSans.z
	fontUnicodeFile []byte
)

const fontFamily = "dejavu"

// face is the font a PDF's text is set in and the conversion of the text
// to its encoding.
type face struct {
	def, file []byte        // fpdf's definition and the compressed font; nil: fpdf's Unicode font
	codes     map[rune]byte // the encoding's characters above ASCII
	// keep collects the texts with characters above ASCII, for a second
	// face should missed tell that some are not in codes.
	keep   bool
	texts  []string
	missed bool
}

// greekCode maps the runes of Windows-1253 above ASCII that the font
// draws to their byte in the code page.
var greekCode = func() map[rune]byte {
	m := make(map[rune]byte, 128)
	for b := 0x80; b <= 0xFF; b++ {
		if r := charmap.Windows1253.DecodeByte(byte(b)); r != utf8.RuneError && printable(r) {
			m[r] = byte(b)
		}
	}
	return m
}()

// greekFace is the Greek code page's font, collecting the characters of
// the text in case some do not fit it.
func greekFace() *face {
	return &face{def: fontGreekDef, file: fontGreekFile, codes: greekCode, keep: true}
}

// unicodeMetrics is the whole font's definition, without widths or
// encoding, the width of each character it draws and the width of those
// it does not.
var unicodeMetrics = func() (m struct {
	Font    map[string]any `json:"font"`
	Widths  map[rune]int   `json:"widths"`
	missing int
}) {
	if err := json.Unmarshal(fontUnicodeMetrics, &m); err != nil {
		panic("declaration: font metrics: " + err.Error())
	}
	m.missing = 600
	if d, ok := m.Font["Desc"].(map[string]any); ok {
		if w, ok := d["MissingWidth"].(float64); ok {
			m.missing = int(w)
		}
	}
	return m
}()

// documentFace encodes the characters of texts with the whole font: ASCII
// as itself, the rest as codes 128 and up, named uniXXXX so that readers
// map them to the font's glyphs and text copied out of the PDF is the
// text. More than 128 such characters take fpdf's Unicode font.
func documentFace(texts []string) *face {
	var list []rune
	for _, t := range texts {
		for _, r := range t {
			if r >= utf8.RuneSelf {
				list = append(list, r)
			}
		}
	}
	slices.Sort(list)
	list = slices.Compact(list)
	if len(list) > 128 {
		return &face{}
	}
	missing := unicodeMetrics.missing
	width := func(r rune) int {
		if w, ok := unicodeMetrics.Widths[r]; ok {
			return w
		}
		return missing
	}
	cw := make([]int, 256)
	for c := range 128 {
		cw[c] = width(rune(c))
	}
	codes := make(map[rune]byte, len(list))
	var diff strings.Builder
	diff.WriteString("128")
	for i, r := range list {
		codes[r] = byte(128 + i)
		cw[128+i] = width(r)
		fmt.Fprintf(&diff, " /uni%04X", r)
	}
	for c := 128 + len(list); c < 256; c++ {
		cw[c] = missing
	}
	def := make(map[string]any, len(unicodeMetrics.Font)+3)
	for k, v := range unicodeMetrics.Font {
		def[k] = v
	}
	def["Cw"], def["Enc"], def["Diff"] = cw, "egovkit-document", diff.String()
	b, err := json.Marshal(def)
	if err != nil {
		return &face{}
	}
	return &face{def: b, file: fontUnicodeFile, codes: codes}
}

// add registers the face's font with a new PDF.
func (f *face) add(pdf *fpdf.Fpdf) {
	if f.def == nil {
		pdf.AddUTF8FontFromBytes(fontFamily, "", fontRegular)
		return
	}
	pdf.AddFontFromBytes(fontFamily, "", f.def, f.file)
}

// text converts s to the face's encoding.
func (f *face) text(s string) string {
	if f.def == nil {
		return s
	}
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return s
	}
	if f.keep {
		f.texts = append(f.texts, s)
	}
	b := make([]byte, i, len(s))
	copy(b, s)
	for _, r := range s[i:] {
		if r < utf8.RuneSelf {
			b = append(b, byte(r))
			continue
		}
		c, ok := f.codes[r]
		if !ok {
			f.missed, c = true, '?'
		}
		b = append(b, c)
	}
	return string(b)
}
