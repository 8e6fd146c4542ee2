package declaration_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// tool returns the path of a Debian tool, or skips the part of a test
// that needs it.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian package %s): that check is skipped", name, pkg)
	}
	return p
}

func TestPDF(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, sqltest.SQLite(t).DB.DB, nil)
	en := authorization()
	en.Lang = "en"
	docs := map[string]*declaration.Document{
		"solemn-el":        f.issue(t, maria, solemn()),
		"authorization-en": f.issue(t, maria, en),
		"template": f.issue(t, maria, declaration.Draft{Kind: declaration.KindTemplate, Template: "parking",
			Fields: json.RawMessage(`{"plate":"ΙΚΑ-1234"}`)}),
	}
	// Text outside the Greek code page takes an encoding of its own characters.
	unicode := solemn()
	unicode.Text = "Δηλώνω ότι η Hélène Müller μένει στη Łódź· ἐν τάχει."
	docs["unicode"] = f.issue(t, maria, unicode)
	// More than 128 characters above ASCII: fpdf's Unicode font.
	var many strings.Builder
	for r := rune(0xC0); r <= 0x17F; r++ {
		many.WriteRune(r)
	}
	crowded := solemn()
	crowded.Text = many.String()
	docs["crowded"] = f.issue(t, maria, crowded)
	revoked := f.issue(t, maria, solemn())
	revoked, err := f.revoke(t, maria, revoked.ID, "")
	require.NoError(t, err)
	docs["revoked"] = revoked

	dir := t.TempDir()
	if d := os.Getenv("EGOVKIT_SCREENSHOT_DIR"); d != "" {
		dir = d
	}
	files := map[string]string{}
	for name, d := range docs {
		b, err := f.svc.PDF(ctx, d)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(b), "%PDF-"), name)
		assert.Less(t, len(b), 150<<10, "%s: small enough to send by e-mail", name)
		files[name] = filepath.Join(dir, "declaration-"+name+".pdf")
		require.NoError(t, os.WriteFile(files[name], b, 0o644))
	}
	draft, err := f.svc.Create(ctx, maria, solemn())
	require.NoError(t, err)
	_, err = f.svc.PDF(ctx, draft)
	assert.ErrorIs(t, err, declaration.ErrState, "a draft has no PDF")

	t.Run("text", func(t *testing.T) {
		pdftotext := tool(t, "pdftotext", "poppler-utils")
		text := func(name string) string {
			out, err := exec.Command(pdftotext, "-layout", files[name], "-").CombinedOutput()
			require.NoError(t, err, string(out))
			return string(out)
		}
		el := text("solemn-el")
		for _, want := range []string{"ΥΠΕΥΘΥΝΗ ΔΗΛΩΣΗ", "Δήμος Αθηναίων", "Μαρία Παπαδοπούλου", "Ν. 1599/1986",
			"Τα στοιχεία της αίτησής μου είναι αληθή.", docs["solemn-el"].Protocol, docs["solemn-el"].Code, "https://docs.example.gr/verify"} {
			assert.Contains(t, el, want)
		}
		enText := text("authorization-en")
		for _, want := range []string{"AUTHORIZATION", "Authorized person", "Νίκος Γεωργίου", "Valid until", docs["authorization-en"].Code} {
			assert.Contains(t, enText, want)
		}
		assert.Contains(t, text("template"), "ΙΚΑ-1234")
		assert.Contains(t, text("revoked"), "ΑΝΑΚΛΗΘΗΚΕ")
		for _, want := range []string{"ΥΠΕΥΘΥΝΗ ΔΗΛΩΣΗ", "Hélène Müller", "Łódź", "ἐν τάχει", "Μαρία Παπαδοπούλου"} {
			assert.Contains(t, text("unicode"), want)
		}
		for _, want := range []string{"ΥΠΕΥΘΥΝΗ ΔΗΛΩΣΗ", "ÀÁÂ", "ĀāĂ", "žſ"} {
			assert.Contains(t, strings.ReplaceAll(text("crowded"), "\n", ""), want)
		}
	})

	t.Run("QR", func(t *testing.T) {
		pdftoppm := tool(t, "pdftoppm", "poppler-utils")
		zbarimg := tool(t, "zbarimg", "zbar-tools")
		for _, name := range []string{"solemn-el", "authorization-en", "unicode"} {
			prefix := filepath.Join(t.TempDir(), name)
			out, err := exec.Command(pdftoppm, "-r", "200", "-png", "-singlefile", files[name], prefix).CombinedOutput()
			require.NoError(t, err, string(out))
			out, err = exec.Command(zbarimg, "--quiet", "--raw", prefix+".png").Output() // stderr has D-Bus noise
			require.NoError(t, err)
			got := strings.TrimSpace(string(out))
			assert.True(t, strings.HasPrefix(got, f.svc.VerifyURL(docs[name].Code)+"#"), got)
			s, status, err := offlineVerifier(t, f).VerifyQR(got)
			require.NoError(t, err)
			assert.Equal(t, declaration.StatusValid, status)
			assert.True(t, s.Matches(docs[name].Token))
		}
	})
}
