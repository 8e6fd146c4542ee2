// Package fold makes text comparable the way people search it: lower
// case, without accents or diaeresis, with final sigma written medial, so
// that «Δηλώσεις», «ΔΗΛΩΣΕΙΣ» and «δηλωσεις» are the same words.
package fold

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// greekBase maps accented and diaeresis Greek letters, lower case, to
// their base letter.
var greekBase = map[rune]rune{
	'ά': 'α', 'έ': 'ε', 'ή': 'η', 'ί': 'ι', 'ό': 'ο', 'ύ': 'υ', 'ώ': 'ω',
	'ϊ': 'ι', 'ϋ': 'υ', 'ΐ': 'ι', 'ΰ': 'υ', 'ς': 'σ',
}

// String lower-cases s, removes accents and diaeresis, and writes final
// sigma as σ: «Δηλώσεις» becomes «δηλωσεισ». Latin letters lose their
// accents too.
func String(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		r = unicode.ToLower(r)
		if base, ok := greekBase[r]; ok {
			b.WriteRune(base)
			continue
		}
		if r < utf8.RuneSelf || unicode.Is(unicode.Greek, r) {
			b.WriteRune(r)
			continue
		}
		// Other letters: decompose and drop the marks.
		for _, d := range norm.NFD.String(string(r)) {
			if !unicode.Is(unicode.Mn, d) {
				b.WriteRune(d)
			}
		}
	}
	return b.String()
}
