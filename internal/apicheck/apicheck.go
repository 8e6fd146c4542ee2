package apicheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// A Leak is one exported identifier whose type mentions an internal package.
type Leak struct {
	// Pos is where the identifier (field, method, function...) is declared.
	Pos token.Position
	// Ident names the identifier: "declaration.Error.Problem".
	Ident string
	// Internal is the internal type it mentions: "internal/httpx.Problem",
	// relative to the module path.
	Internal string
}

func (l Leak) String() string {
	return fmt.Sprintf("%s: %s mentions %s", l.Pos, l.Ident, l.Internal)
}

// listed is the part of `go list -json` output that Leaks reads.
type listed struct {
	ImportPath string
	Name       string
	Dir        string
	Export     string
	Standard   bool
	Module     *struct {
		Path string
		Main bool
	}
}

// Report is what [Walk] found.
type Report struct {
	// Leaks are the exported identifiers that mention an internal type,
	// sorted by position.
	Leaks []Leak
	// Packages are the import paths of the public packages walked.
	Packages []string
}

// Leaks lists every exported identifier of the public packages of the module
// in dir whose type mentions an internal package: [Walk]'s leaks.
func Leaks(ctx context.Context, dir string) ([]Leak, error) {
	r, err := Walk(ctx, dir)
	return r.Leaks, err
}

// Walk walks the exported API of every public package of the module in
// dir, the module's packages outside any internal/ directory and outside
// examples/, and reports the identifiers whose types mention an internal
// package. It compiles the module with `go list -export`, so the go
// command must be on PATH.
func Walk(ctx context.Context, dir string) (Report, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return Report{}, fmt.Errorf("apicheck: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-export", "-deps", "-json=ImportPath,Name,Dir,Export,Standard,Module", "./...")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Report{}, fmt.Errorf("apicheck: go list: %w: %s", err, stderr.String())
	}
	exports := map[string]string{}
	var targets []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return Report{}, fmt.Errorf("apicheck: decode go list output: %w", err)
		}
		exports[p.ImportPath] = p.Export
		if p.Module == nil || !p.Module.Main || p.Name == "main" {
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, p.Module.Path), "/")
		if isInternal(rel) || rel == "examples" || strings.HasPrefix(rel, "examples/") {
			continue
		}
		targets = append(targets, p)
	}
	if len(targets) == 0 {
		return Report{}, errors.New("apicheck: no public package found")
	}
	modPath := targets[0].Module.Path

	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok || file == "" {
			return nil, fmt.Errorf("no export data for %q", path)
		}
		return os.Open(file)
	})
	w := &walker{fset: fset, modPath: modPath, dir: dir, found: map[string]bool{}}
	var walked []string
	for _, t := range targets {
		walked = append(walked, t.ImportPath)
		pkg, err := imp.Import(t.ImportPath)
		if err != nil {
			return Report{}, fmt.Errorf("apicheck: import %s: %w", t.ImportPath, err)
		}
		w.pkg(pkg)
	}
	sort.Slice(w.leaks, func(i, j int) bool {
		a, b := w.leaks[i], w.leaks[j]
		if a.Pos.Filename != b.Pos.Filename {
			return a.Pos.Filename < b.Pos.Filename
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		return a.Ident+a.Internal < b.Ident+b.Internal
	})
	sort.Strings(walked)
	return Report{Leaks: w.leaks, Packages: walked}, nil
}

// isInternal reports whether an import path has an internal element.
func isInternal(path string) bool {
	for _, el := range strings.Split(path, "/") {
		if el == "internal" {
			return true
		}
	}
	return false
}

type walker struct {
	fset    *token.FileSet
	modPath string
	dir     string
	leaks   []Leak
	found   map[string]bool
}

func (w *walker) pkg(pkg *types.Package) {
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		ident := pkg.Name() + "." + name
		switch obj := obj.(type) {
		case *types.Func, *types.Var, *types.Const:
			w.check(obj, ident, obj.Type())
		case *types.TypeName:
			w.typeName(obj, ident)
		}
	}
}

func (w *walker) typeName(obj *types.TypeName, ident string) {
	if alias, ok := obj.Type().(*types.Alias); ok {
		w.check(obj, ident, alias.Rhs())
		return
	}
	named, ok := obj.Type().(*types.Named)
	if !ok {
		w.check(obj, ident, obj.Type())
		return
	}
	for i := 0; i < named.TypeParams().Len(); i++ {
		w.check(obj, ident, named.TypeParams().At(i).Constraint())
	}
	switch u := named.Underlying().(type) {
	case *types.Struct:
		w.fields(u, ident, map[*types.Struct]bool{})
	case *types.Interface:
		for i := 0; i < u.NumMethods(); i++ {
			m := u.Method(i)
			if m.Exported() {
				w.check(m, ident+"."+m.Name(), m.Type())
			}
		}
		for i := 0; i < u.NumEmbeddeds(); i++ {
			w.check(obj, ident, u.EmbeddedType(i))
		}
	default:
		w.check(obj, ident, u)
	}
	// The method set of *T holds the methods of T and those promoted from
	// embedded fields, exported or not.
	mset := types.NewMethodSet(types.NewPointer(named))
	for i := 0; i < mset.Len(); i++ {
		m := mset.At(i).Obj()
		if m.Exported() {
			w.check(m, ident+"."+m.Name(), m.Type())
		}
	}
}

// fields checks the exported fields of a struct, and those promoted
// through embedded unexported fields.
func (w *walker) fields(s *types.Struct, ident string, seen map[*types.Struct]bool) {
	if seen[s] {
		return
	}
	seen[s] = true
	for i := 0; i < s.NumFields(); i++ {
		f := s.Field(i)
		if f.Exported() {
			w.check(f, ident+"."+f.Name(), f.Type())
			continue
		}
		if !f.Embedded() {
			continue
		}
		t := f.Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if inner, ok := t.Underlying().(*types.Struct); ok {
			w.fields(inner, ident, seen)
		}
	}
}

// check reports every internal type that t mentions, declared at obj.
func (w *walker) check(obj types.Object, ident string, t types.Type) {
	for _, name := range w.mentions(t, map[types.Type]bool{}) {
		key := ident + "\x00" + name
		if w.found[key] {
			continue
		}
		w.found[key] = true
		pos := w.fset.Position(obj.Pos())
		if rel, err := filepath.Rel(w.dir, pos.Filename); err == nil && !strings.HasPrefix(rel, "..") {
			pos.Filename = rel
		}
		w.leaks = append(w.leaks, Leak{Pos: pos, Ident: ident, Internal: name})
	}
}

// mentions lists the internal named types that t is built from. It does not
// look into the underlying types of named types: a public named type is
// checked where it is declared.
func (w *walker) mentions(t types.Type, seen map[types.Type]bool) []string {
	if t == nil || seen[t] {
		return nil
	}
	seen[t] = true
	var out []string
	add := func(ts ...types.Type) {
		for _, t := range ts {
			out = append(out, w.mentions(t, seen)...)
		}
	}
	switch t := t.(type) {
	case *types.Named:
		out = append(out, w.internalName(t.Obj())...)
		for i := 0; i < t.TypeArgs().Len(); i++ {
			add(t.TypeArgs().At(i))
		}
	case *types.Alias:
		out = append(out, w.internalName(t.Obj())...)
		for i := 0; i < t.TypeArgs().Len(); i++ {
			add(t.TypeArgs().At(i))
		}
		add(t.Rhs())
	case *types.Pointer:
		add(t.Elem())
	case *types.Slice:
		add(t.Elem())
	case *types.Array:
		add(t.Elem())
	case *types.Map:
		add(t.Key(), t.Elem())
	case *types.Chan:
		add(t.Elem())
	case *types.Tuple:
		for i := 0; i < t.Len(); i++ {
			add(t.At(i).Type())
		}
	case *types.Signature:
		for i := 0; i < t.TypeParams().Len(); i++ {
			add(t.TypeParams().At(i).Constraint())
		}
		add(t.Params(), t.Results())
	case *types.Struct:
		for i := 0; i < t.NumFields(); i++ {
			if f := t.Field(i); f.Exported() {
				add(f.Type())
			}
		}
	case *types.Interface:
		for i := 0; i < t.NumMethods(); i++ {
			add(t.Method(i).Type())
		}
		for i := 0; i < t.NumEmbeddeds(); i++ {
			add(t.EmbeddedType(i))
		}
	case *types.Union:
		for i := 0; i < t.Len(); i++ {
			add(t.Term(i).Type())
		}
	case *types.TypeParam:
		add(t.Constraint())
	}
	return out
}

func (w *walker) internalName(obj *types.TypeName) []string {
	if obj.Pkg() == nil || !isInternal(obj.Pkg().Path()) {
		return nil
	}
	path := strings.TrimPrefix(strings.TrimPrefix(obj.Pkg().Path(), w.modPath), "/")
	return []string{path + "." + obj.Name()}
}
