package apicheck_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/apicheck"
)

// TestNoInternalTypesInPublicAPI fails when an exported identifier of a
// public package of this module names an internal type: an importer outside
// the module could neither name that type nor read its methods.
func TestNoInternalTypesInPublicAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	report, err := apicheck.Walk(ctx, filepath.Join("..", ".."))
	require.NoError(t, err)
	for _, l := range report.Leaks {
		t.Errorf("internal type in the public API: %s", l)
	}
	// The packages a service uses to wire the others are thin faces over
	// internal code: the likeliest place for a leak.
	for _, pkg := range []string{"kek", "middleware", "page", "problem", "sqldb", "auth", "declaration", "interop",
		"interop/exchangelog", "interop/exchangelog/verify", "interop/consumer"} {
		assert.Contains(t, report.Packages, module+pkg, "walked")
	}
}

// TestLeaksFindsEveryKind checks the walker on a small module that leaks an
// internal type in each place an exported API can: so a clean report on the
// real module means something.
func TestLeaksFindsEveryKind(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		path := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	}
	write("go.mod", "module example.test/m\n\ngo 1.24\n")
	write("internal/in/in.go", `package in

type T struct{ N int }

func (T) M() {}

type I interface{ M() }
`)
	write("pub/pub.go", `package pub

import "example.test/m/internal/in"

type Alias = in.T

type Field struct{ F []in.T; ok in.T }

type Method struct{}

func (*Method) Get() map[string]*in.T { return nil }

func (*Method) hidden() in.T { return in.T{} }

type Iface interface{ Get() in.I }

type Embeds struct{ *in.T }

type promoted struct{ P in.T }

type Promotes struct{ promoted }

type Defined in.T

type Generic[X in.I] struct{}

func Func(func(in.T)) {}

var Var chan in.I

const Const in.Kind = 1

type Clean struct{ hidden in.T }

func (Clean) Clean() int { return 0 }
`)
	// The shape of a public face over internal code: a wrapper type, an
	// option type over unexported settings, a sentinel re-exported as an
	// error value. None of it leaks.
	write("pub/wrapper.go", `package pub

import "example.test/m/internal/in"

type Wrapper struct{ w *in.T }

func NewWrapper() *Wrapper { return &Wrapper{w: &in.T{}} }

func (w *Wrapper) M() { w.w.M() }

type Option func(*options)

type options struct{ list []in.T }

func WithT() Option { return func(o *options) { o.list = append(o.list, in.T{}) } }

var ErrSentinel = in.ErrSentinel
`)
	write("internal/in/errors.go", "package in\n\nimport \"errors\"\n\nvar ErrSentinel = errors.New(\"sentinel\")\n")
	write("internal/in/kind.go", "package in\n\ntype Kind int\n")
	// An internal alias of a public type, spelled in a public signature,
	// is what go doc shows: a leak too.
	write("open/open.go", "package open\n\ntype T struct{}\n")
	write("internal/in/alias.go", "package in\n\nimport \"example.test/m/open\"\n\ntype PT = open.T\n")
	write("pub/spelled.go", "package pub\n\nimport \"example.test/m/internal/in\"\n\nfunc Spelled() *in.PT { return nil }\n\nfunc (Clean) Spelled(in.PT) {}\n")
	write("examples/ex/ex.go", "package ex\n\nimport \"example.test/m/internal/in\"\n\nvar Ignored in.T\n")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	leaks, err := apicheck.Leaks(ctx, dir)
	require.NoError(t, err)
	got := map[string]string{}
	for _, l := range leaks {
		got[l.Ident] = l.Internal
		assert.Contains(t, []string{filepath.Join("pub", "pub.go"), filepath.Join("pub", "spelled.go")}, l.Pos.Filename, "%s", l)
		assert.NotZero(t, l.Pos.Line, "%s", l)
	}
	assert.Equal(t, map[string]string{
		"pub.Alias":         "internal/in.T",
		"pub.Field.F":       "internal/in.T",
		"pub.Method.Get":    "internal/in.T",
		"pub.Iface.Get":     "internal/in.I",
		"pub.Embeds.T":      "internal/in.T",
		"pub.Promotes.P":    "internal/in.T",
		"pub.Generic":       "internal/in.I",
		"pub.Func":          "internal/in.T",
		"pub.Var":           "internal/in.I",
		"pub.Spelled":       "internal/in.PT",
		"pub.Clean.Spelled": "internal/in.PT",
		"pub.Const":         "internal/in.Kind",
	}, got)
}
