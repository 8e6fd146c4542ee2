package apicheck_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/egovkit/egovkit/"

// blocks are the building blocks: an agency imports one of them alone, so
// none may compile another (a subpackage may use its own parent). They
// share the small vocabulary packages (errkind, problem, sms, sqldb/sqlcheck)
// and internal/ plumbing, and never the driver opener sqldb.
var blocks = map[string]bool{"auth": true, "consent": true, "interop": true, "procedures": true, "declaration": true, "metrics": true}

// TestBuildingBlocksStayIndependent walks every package's dependencies:
// no building block depends on another, and none links the database
// drivers.
func TestBuildingBlocksStayIndependent(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	cmd := exec.CommandContext(t.Context(), gobin, "list", "-json=ImportPath,Deps", "./...")
	cmd.Dir = filepath.Join("..", "..")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	dec := json.NewDecoder(&out)
	checked := 0
	for {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err)
		}
		own := topLevel(p.ImportPath)
		if !blocks[own] {
			continue
		}
		checked++
		for _, d := range p.Deps {
			dep := topLevel(d)
			if blocks[dep] && dep != own {
				t.Errorf("%s depends on %s: building blocks never import one another", p.ImportPath, d)
			}
			if d == module+"sqldb" || strings.HasPrefix(d, "modernc.org/sqlite") || strings.HasPrefix(d, "github.com/jackc/pgx") {
				t.Errorf("%s links %s: the building blocks take a *sql.DB and import no driver", p.ImportPath, d)
			}
		}
	}
	require.Positive(t, checked, "no building block was listed")
}

// topLevel is the first path element of a package of this module, or "".
func topLevel(path string) string {
	rest, ok := strings.CutPrefix(path, module)
	if !ok {
		return ""
	}
	first, _, _ := strings.Cut(rest, "/")
	return first
}
