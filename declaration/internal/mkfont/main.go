// Command mkfont writes the single-byte Greek font that declaration PDFs
// use when their text fits the Windows-1253 code page, from
// fonts/DejaVuSans-Greek.ttf: fonts/DejaVuSans-Greek.json (metrics and
// encoding, read by fpdf for each document) and fonts/DejaVuSans-Greek.z
// (the font file, compressed once and embedded in every PDF as it is).
// Run it from the declaration directory through go generate.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	return fpdf.MakeFont(filepath.Join("fonts", "DejaVuSans-Greek.ttf"), encoding, "fonts", os.Stdout, true)
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
