package rp

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

const site = "https://permits.example.gr/start"

// browserTarget resolves a Location the way browsers do (the WHATWG URL
// parser's forgiveness: tabs and line breaks dropped anywhere, leading and
// trailing spaces and control characters trimmed, a backslash read as a
// slash) and returns the host it leads to.
func browserTarget(t *testing.T, loc string) string {
	t.Helper()
	loc = strings.TrimFunc(loc, func(r rune) bool { return r <= 0x20 })
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(loc)
	base, _ := url.Parse(site)
	ref, err := url.Parse(loc)
	if err != nil {
		return "unparsable"
	}
	return base.ResolveReference(ref).Host
}

func TestSafeReturn(t *testing.T) {
	kept := []string{
		"/", "/private", "/permits/2026/17?tab=documents", "/a/b/../c", "/search?q=%2F%2Fevil.example",
		"/άδειες?γλώσσα=el", "/path#section", "/a:b", "/a@b",
	}
	for _, p := range kept {
		assert.Equal(t, p, safeReturn(p), "%q is a path on this site", p)
		assert.Equal(t, "permits.example.gr", browserTarget(t, safeReturn(p)), p)
	}
	refused := []string{
		"", "private", "//evil.example", "///evil.example", "/\t/evil.example", "/\n/evil.example",
		"/\r\n/evil.example", "/\\evil.example", "/\\\\evil.example", "\\\\evil.example", "/\t\\evil.example",
		"https://evil.example/", "http:/evil.example", "javascript:alert(1)", " /private", "\t//evil.example",
		"/private\x00", "/private\x7f", "/\u0085/evil.example", "/a\\b", "/%zz", "/\xff",
		"/" + strings.Repeat("a", 3000),
		// Harmless to a browser, but a server or proxy on the way that
		// decodes the path would see "//".
		"/%2F%2Fevil.example", "/%2f/evil.example",
	}
	for _, p := range refused {
		assert.Equal(t, "/", safeReturn(p), "%q is refused", p)
	}
	// Each refused one but the harmless would lead a browser elsewhere
	// without the check: the test cases are the attacks they look like.
	for _, p := range []string{"/\t/evil.example", "/\\evil.example", "//evil.example", "/\n/evil.example"} {
		assert.Equal(t, "evil.example", browserTarget(t, p), p)
	}
}

// FuzzSafeReturn holds that whatever comes in, what comes out is the
// input or "/", and that a browser resolving it stays on the site.
func FuzzSafeReturn(f *testing.F) {
	for _, s := range []string{"/", "/private?x=1", "//evil.example", "/\t/evil.example", "/\\evil.example",
		"https://evil.example", "/%2F%2Fevil", "/a/../..//evil.example", "/.//evil.example", "/@evil.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := safeReturn(in)
		if out != "/" && out != in {
			t.Fatalf("safeReturn(%q) = %q: neither the input nor /", in, out)
		}
		if !utf8.ValidString(out) || strings.ContainsAny(out, "\\\t\r\n") {
			t.Fatalf("safeReturn(%q) = %q keeps what browsers rewrite", in, out)
		}
		if host := browserTarget(t, out); host != "permits.example.gr" {
			t.Fatalf("safeReturn(%q) = %q leads a browser to %q", in, out, host)
		}
	})
}
