package apicheck_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/egovkit/egovkit/"

// The module's public packages, by role. Every public package has one
// role; the test fails on a package that has none, so that a new one is
// placed deliberately.
var (
	// blocks are the building blocks: an agency imports one of them
	// alone, so none may compile another (a subpackage may use its own
	// parent), nor the driver opener sqldb, nor a service package.
	blocks = map[string]bool{"auth": true, "consent": true, "interop": true, "procedures": true, "declaration": true, "metrics": true}
	// vocabulary packages are the words the building blocks share: they
	// import no building block, no service package and no driver, so any
	// block may import them.
	vocabulary = map[string]bool{"errkind": true, "problem": true, "sms": true, "sqldb/sqlcheck": true}
	// service packages serve the program that wires the blocks together:
	// its key-encryption key, the middleware around its mux, its own
	// pages. They import no building block and no driver, so a service
	// uses one without compiling the blocks; and no block imports them,
	// so what a service chooses for its own HTTP layer and pages never
	// changes what a block asks of it.
	service = map[string]bool{"kek": true, "middleware": true, "page": true}
	// opener is the one package that imports the database drivers.
	opener = map[string]bool{"sqldb": true}
)

// TestBuildingBlocksStayIndependent walks every package's dependencies:
// no building block depends on another, on a service package or on the
// database drivers; vocabulary and service packages depend on no block
// and no driver; and every public package has a role.
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
	checked := map[string]int{}
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
		own, role := roleOf(p.ImportPath)
		if role == "" {
			t.Errorf("%s has no role: add it to blocks, vocabulary, service or opener in this test, and to the README's Independence section", p.ImportPath)
			continue
		}
		checked[role]++
		if role == "opener" || role == "internal" || role == "example" {
			continue
		}
		for _, d := range p.Deps {
			dep, depRole := roleOf(d)
			switch {
			case depRole == "block" && dep != own:
				t.Errorf("%s (%s) depends on %s: only examples/ wire building blocks together", p.ImportPath, role, d)
			case depRole == "service" && role != "service":
				t.Errorf("%s (%s) depends on %s: service packages are for the program that wires the blocks", p.ImportPath, role, d)
			case depRole == "opener" || strings.HasPrefix(d, "modernc.org/sqlite") || strings.HasPrefix(d, "github.com/jackc/pgx"):
				t.Errorf("%s (%s) links %s: only sqldb imports the database drivers; the others take a *sql.DB", p.ImportPath, role, d)
			}
		}
	}
	for _, role := range []string{"block", "vocabulary", "service", "opener"} {
		assert.Positive(t, checked[role], "no %s package was listed", role)
	}
}

// roleOf returns the top-level package of a package of this module (its
// first path element, or "sqldb/sqlcheck") and its role: "block",
// "vocabulary", "service", "opener", "internal", "example", or "" for a
// public package without one. Packages outside the module have no
// top-level package and the role "outside".
func roleOf(path string) (top, role string) {
	rest, ok := strings.CutPrefix(path, module)
	if !ok {
		return "", "outside"
	}
	top, _, _ = strings.Cut(rest, "/")
	switch {
	case rest == "sqldb/sqlcheck" || strings.HasPrefix(rest, "sqldb/sqlcheck/"):
		return "sqldb/sqlcheck", "vocabulary"
	case top == "internal":
		return top, "internal"
	case top == "examples":
		return top, "example"
	case blocks[top]:
		return top, "block"
	case vocabulary[top]:
		return top, "vocabulary"
	case service[top]:
		return top, "service"
	case opener[top]:
		return top, "opener"
	}
	return top, ""
}

// TestExamplesImportOnlyPublicPackages: what an example does, an agency
// can copy into its own module, which cannot import this module's
// internal packages. Tests of the examples may use the internal test
// helpers; the programs themselves may not.
func TestExamplesImportOnlyPublicPackages(t *testing.T) {
	root := filepath.Join("..", "..", "examples")
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			// The go command ignores these directories too.
			if path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			if strings.HasPrefix(p+"/", module+"internal/") {
				t.Errorf("%s imports %s: examples use only public packages", fset.Position(imp.Pos()), p)
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.Positive(t, files, "no example program found")
}
