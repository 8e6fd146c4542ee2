package verify

import (
	"net/url"
	"strings"
	"testing"
)

// queries probe how url.ParseQuery reads a "code" parameter.
var queries = []string{
	"", "code=A", "code=", "code", "=A", "&&code=A&&", "x=1&code=A&code=B", "code=B&x=1;y=2&code=A",
	"code=A;x", "x;code=A&code=B", "code=%zz&code=B", "co%64e=A", "code%=A&code=B", "code=A%2BB+C%20D",
	"CODE=A&Code=B&code=C", "code=2222-2222-2222-2222-2222", "code=2222+2222+2222+2222+2222",
	"code=%E2%82%AC", "code=%00", "code=%", "code=%4", "%63ode=A", "code==A", "code=A=B", " code=A",
	"code =A", "code=A#B", "code=A?B", strings.Repeat("x=1&", 2000) + "code=A",
}

// sameAsURL reports whether queryCode reads query as net/url does.
func sameAsURL(t *testing.T, query string) {
	t.Helper()
	if got, want := queryCode(query), (&url.URL{RawQuery: query}).Query().Get("code"); got != want {
		t.Fatalf("%q: %q, net/url %q", query, got, want)
	}
}

func TestQueryCode(t *testing.T) {
	for _, q := range queries {
		sameAsURL(t, q)
	}
}

func FuzzQueryCode(f *testing.F) {
	for _, q := range queries {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		if len(query) <= 8<<10 {
			sameAsURL(t, query)
		}
	})
}
