package httpsig

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func serialize(members []sfMember) string {
	var b strings.Builder
	writeDictionary(&b, members)
	return b.String()
}

func TestParseDictionary(t *testing.T) {
	good := map[string]string{
		`sig1=("@method" "@path");created=1618884473;keyid="k"`: `sig1=("@method" "@path");created=1618884473;keyid="k"`,
		`a=1,   b=?0 ,c`:                         `a=1, b=?0, c`,
		`a=(1 2.5 tok/en :AQID:);x="q\"\\"`:      `a=(1 2.5 tok/en :AQID:);x="q\"\\"`,
		`a=-999999999999999, b=-12.125, c=0.100`: `a=-999999999999999, b=-12.125, c=0.1`,
		`a=1, a=2`:                               `a=2`,
		`a=:AQI=:`:                               `a=:AQI=:`,
		`a=:AQI:`:                                `a=:AQI=:`,
		`k;p;q=1`:                                `k;p;q=1`,
		`a=()`:                                   `a=()`,
		`a=( 1  2 )`:                             `a=(1 2)`,
		"a=1,\tb=2":                              `a=1, b=2`,
		`sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:`: `sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:`,
		`  leading=1`: `leading=1`,
		`*star=*tok`:  `*star=*tok`,
		`a=1;p=?1`:    `a=1;p`,
		`ttrp=("@path");nonce="a b";tag="t";alg="ecdsa-p256-sha256"`: `ttrp=("@path");nonce="a b";tag="t";alg="ecdsa-p256-sha256"`,
	}
	for in, want := range good {
		m, err := parseDictionary(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, serialize(m), in)
	}
	bad := []string{
		`A=1`, `a=1,`, `a=1 b=2`, `a=(1`, `a=(1)x`, `a="unterminated`, `a="bad\n"`, `a=:bad*:`,
		`a=:AQI`, `a=1234567890123456`, `a=1.2345`, `a=1234567890123.1`, `a=1.`, `a=-`, `a=?2`,
		`a=@`, `a="é"`, `a=("x"("y"))`, `a=1;`, `a=1;P=1`, "a=1 ,\nb=2",
	}
	for _, in := range bad {
		_, err := parseDictionary(in)
		assert.Error(t, err, in)
	}
}

// FuzzParseDictionary: any input either fails or parses to a dictionary
// whose serialization parses back to the same thing and serializes
// unchanged.
func FuzzParseDictionary(f *testing.F) {
	for _, s := range []string{
		`sig1=("@method" "@authority" "@path" "content-digest");created=1618884475;keyid="test-key-ecc-p256";nonce="x"`,
		`sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:`,
		`a=1, b=?0, c;p=2.5, d=(tok "s" :AQ==:);q`, `sha-512=:AA==:, sha-256=:AA==:`, ``, `a=-1.001`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseDictionary(s)
		if err != nil {
			return
		}
		out := serialize(m)
		again, err := parseDictionary(out)
		if err != nil {
			t.Fatalf("%q serialized as %q, which does not parse: %v", s, out, err)
		}
		if !reflect.DeepEqual(normalize(m), normalize(again)) {
			t.Fatalf("%q: %#v became %#v", s, m, again)
		}
		if out2 := serialize(again); out2 != out {
			t.Fatalf("%q serialized as %q then %q", s, out, out2)
		}
	})
}

// normalize makes empty and nil byte sequences and lists compare equal.
func normalize(ms []sfMember) []sfMember {
	out := make([]sfMember, len(ms))
	for i, m := range ms {
		if len(m.inner) == 0 {
			m.inner = nil
		}
		if len(m.params) == 0 {
			m.params = nil
		}
		m.item = normItem(m.item)
		for j := range m.inner {
			m.inner[j] = normItem(m.inner[j])
		}
		out[i] = m
	}
	return out
}

func normItem(it sfItem) sfItem {
	if b, ok := it.val.([]byte); ok && len(b) == 0 {
		it.val = []byte{}
	}
	if len(it.params) == 0 {
		it.params = nil
	}
	for i, p := range it.params {
		if b, ok := p.val.([]byte); ok && len(b) == 0 {
			it.params[i].val = []byte{}
		}
	}
	return it
}

// A field of many members or parameters, as a hostile client may send up
// to the server's header limit, parses in linear time.
func TestParseLargeFields(t *testing.T) {
	var b strings.Builder
	for i := range 100000 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("k")
		b.WriteString(strings.Repeat("a", i%7))
		b.WriteString("=1;p;q")
	}
	m, err := parseDictionary(b.String())
	require.NoError(t, err)
	assert.Len(t, m, 7, "repeated keys keep their last value")

	b.Reset()
	b.WriteString("sig1=()")
	for i := range 100000 {
		b.WriteString(";p")
		b.WriteString(strings.Repeat("x", i%50))
	}
	m, err = parseDictionary(b.String())
	require.NoError(t, err)
	assert.Len(t, m[0].params, 50)
}
