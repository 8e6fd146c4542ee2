package verify_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDependencies: an office that only verifies builds a small binary.
// This package compiles no PDF, QR-drawing, search, template, SQL or
// logging library, and not its parent package (which compiles them all).
func TestDependencies(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	cmd := exec.CommandContext(t.Context(), gobin, "list", "-deps", ".")
	out, err := cmd.Output()
	require.NoError(t, err)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/egovkit/egovkit/declaration/verify", "the list names the package itself")
	require.Contains(t, deps, "crypto/ecdsa", "the list names what the package compiles")
	refused := []string{
		"pdf", "pkcs7", // go-pdf/fpdf, smallstep/pkcs7, any other PDF library
		"rsc.io/qr", "bleve", "search",
		"database/sql", "sqlite", "pgx", "lib/pq", "go-sql-driver",
		"html/template", "text/template", "go.uber.org/zap",
	}
	for _, d := range deps {
		if d == "github.com/egovkit/egovkit/declaration" {
			t.Errorf("depends on its parent package %s", d)
		}
		for _, r := range refused {
			if strings.Contains(strings.ToLower(d), r) {
				t.Errorf("depends on %s (%q)", d, r)
			}
		}
	}
}
