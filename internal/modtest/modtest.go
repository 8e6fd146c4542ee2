// Package modtest builds programs the way an agency's own module would:
// in a module of their own that requires egovkit, against a checkout,
// offline from the module cache. Tests use it to prove that what a public
// package promises can be imported from outside this module.
package modtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Module is the path of the module the programs are built in.
const Module = "example.com/agency"

// Build writes files (paths relative to the module's root, such as
// "good/main.go") into a fresh module that requires
// github.com/egovkit/egovkit replaced by the checkout at root, builds every
// main package in it with one go build, offline (GOPROXY=off, the module
// cache of this machine), and returns the directory holding the binaries,
// each named after its package's directory. It skips the test when go is
// not on PATH.
func Build(t testing.TB, root string, files map[string][]byte) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	goEnv := func(name string) string {
		out, err := exec.Command(gobin, "env", name).Output()
		if err != nil {
			t.Fatalf("modtest: go env %s: %v", name, err)
		}
		return strings.TrimSpace(string(out))
	}
	modcache, buildcache := goEnv("GOMODCACHE"), goEnv("GOCACHE")

	mod := t.TempDir()
	write := func(name string, text []byte) {
		p := filepath.Join(mod, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", []byte("module "+Module+"\n\ngo 1.26.0\n\n"+
		"require github.com/egovkit/egovkit v0.0.0\n\n"+
		"replace github.com/egovkit/egovkit => "+root+"\n"))
	// The checkout's sums cover every module it needs.
	sums, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write("go.sum", sums)
	for name, text := range files {
		write(name, text)
	}

	bin := t.TempDir()
	build := exec.Command(gobin, "build", "-o", bin+string(filepath.Separator), "./...")
	build.Dir = mod
	build.Env = append(os.Environ(),
		"GOFLAGS=-mod=mod", "GOPROXY=off", "GOSUMDB=off", "GOWORK=off",
		"GOMODCACHE="+modcache, "GOCACHE="+buildcache)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("modtest: go build in a module of its own: %v\n%s", err, out)
	}
	return bin
}
