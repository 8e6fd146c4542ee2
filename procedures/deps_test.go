package procedures_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImportedAloneStaysSmall lists what a program importing the registry
// alone compiles: no search engine (the index lives in procedures/search),
// nor what bleve would bring with it, nor the PDF and signature packages
// of the declarations.
func TestImportedAloneStaysSmall(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.CommandContext(t.Context(), goTool, "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/egovkit/egovkit/procedures", "the listing is of this package")
	heavy := []string{
		"github.com/blevesearch/",
		"github.com/RoaringBitmap/",
		"go.etcd.io/bbolt",
		"github.com/go-pdf/fpdf",
		"github.com/smallstep/pkcs7",
	}
	for _, d := range deps {
		for _, h := range heavy {
			if strings.HasPrefix(d, h) {
				t.Errorf("github.com/egovkit/egovkit/procedures depends on %s", d)
			}
		}
	}
}
