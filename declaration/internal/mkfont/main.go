// Command mkfont prepares the fonts of declaration PDFs once, so that no
// document parses a font file:
//
//   - from fonts/DejaVuSans-Greek.ttf, the font of text that fits the
//     Windows-1253 code page: fonts/DejaVuSans-Greek.json (metrics and
//     encoding, in fpdf's form) and fonts/DejaVuSans-Greek.z (the font
//     file, compressed, embedded in every PDF as it is);
//   - from fonts/DejaVuSans.ttf, the font of any other text:
//     fonts/DejaVuSans.z and fonts/DejaVuSans-Unicode.json (fpdf's metrics
//     and the width of every character the font draws), from which a
//     document builds an encoding of the characters it uses.
//
// Run it from the declaration directory through go generate.
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-pdf/fpdf"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mkfont:", err)
		os.Exit(1)
	}
}

func run() error {
	// The code page comes with fpdf's sources.
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/go-pdf/fpdf").Output()
	if err != nil {
		return fmt.Errorf("locating fpdf: %w", err)
	}
	maps := filepath.Join(strings.TrimSpace(string(out)), "font")
	cp, err := os.ReadFile(filepath.Join(maps, "cp1253.map"))
	if err != nil {
		return err
	}
	// fpdf describes an encoding by its differences from Windows-1252,
	// which it looks for beside the encoding.
	ref, err := os.ReadFile(filepath.Join(maps, "cp1252.map"))
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "mkfont")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	encoding := filepath.Join(dir, "greek.map")
	if err := os.WriteFile(encoding, uniNames(cp), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "cp1252.map"), ref, 0o644); err != nil {
		return err
	}
	if err := fpdf.MakeFont(filepath.Join("fonts", "DejaVuSans-Greek.ttf"), encoding, "fonts", os.Stdout, true); err != nil {
		return err
	}
	return unicodeForm(dir, encoding)
}

// unicodeForm writes the Unicode font's compressed file and its metrics:
// fpdf's definition (its widths and encoding left for each document to
// fill in) and the width of every character, in thousandths of an em.
func unicodeForm(dir, encoding string) error {
	ttf := filepath.Join("fonts", "DejaVuSans.ttf")
	if err := fpdf.MakeFont(ttf, encoding, dir, os.Stdout, true); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(dir, "DejaVuSans.json"))
	if err != nil {
		return err
	}
	var def map[string]any
	if err := json.Unmarshal(b, &def); err != nil {
		return err
	}
	for _, k := range []string{"Cw", "Enc", "Diff"} {
		delete(def, k)
	}
	parsed, err := fpdf.TtfParse(ttf)
	if err != nil {
		return err
	}
	k := 1000 / float64(parsed.UnitsPerEm)
	widths := map[string]int{}
	for r, glyph := range parsed.Chars {
		if r >= 0x20 && int(glyph) < len(parsed.Widths) {
			widths[strconv.Itoa(int(r))] = int(math.Floor(k*float64(parsed.Widths[glyph]) + 0.5))
		}
	}
	out, err := json.Marshal(map[string]any{"font": def, "widths": widths})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join("fonts", "DejaVuSans-Unicode.json"), append(out, '\n'), 0o644); err != nil {
		return err
	}
	z, err := os.ReadFile(filepath.Join(dir, "DejaVuSans.z"))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join("fonts", "DejaVuSans.z"), z, 0o644)
}

// uniNames renames the glyphs of the code page's upper half uniXXXX. The
// traditional names are ambiguous: readers that extract text take
// "Delta" for the increment sign and "mu" for the micro sign, so that
// «Δήμος» would be copied out of a PDF as «∆ήµος».
func uniNames(cp []byte) []byte {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(string(cp)), "\n") {
		var code, u int
		var name string
		if _, err := fmt.Sscanf(line, "!%2X U+%4X %s", &code, &u, &name); err == nil && code >= 0x80 && name != ".notdef" {
			line = fmt.Sprintf("!%02X U+%04X uni%04X", code, u, u)
		}
		b.WriteString(line + "\n")
	}
	return []byte(b.String())
}
