package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/lang/el"
	unicodetok "github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/registry"

	"github.com/egovkit/egovkit/internal/fold"
)

// The Greek analyzer: Unicode word tokens, folded (lower case, accents
// and diaeresis removed, final sigma made medial), Lucene's Greek stop
// words (written folded), and a light stemmer that strips inflectional
// endings, so that «δήλωση», «δηλώσεις», «ΔΗΛΩΣΗ» and «δηλωση» meet.
const (
	greekAnalyzer = "egovkit_greek"
	greekFold     = "egovkit_greek_fold"
	greekStem     = "egovkit_greek_stem"
)

func init() {
	registry.RegisterTokenFilter(greekFold, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
		return foldFilter{}, nil
	})
	registry.RegisterTokenFilter(greekStem, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
		return stemFilter{}, nil
	})
}

// greekAnalyzerConfig is the custom analyzer's definition for a mapping.
func greekAnalyzerConfig() map[string]any {
	return map[string]any{
		"type":          custom.Name,
		"tokenizer":     unicodetok.Name,
		"token_filters": []string{greekFold, el.StopName, greekStem},
	}
}

// FoldGreek lower-cases s, removes accents and diaeresis, and writes final
// sigma as σ: «Δηλώσεις» becomes «δηλωσεισ». Latin letters lose their
// accents too.
func FoldGreek(s string) string { return fold.String(s) }

type foldFilter struct{}

func (foldFilter) Filter(in analysis.TokenStream) analysis.TokenStream {
	for _, t := range in {
		t.Term = []byte(FoldGreek(string(t.Term)))
	}
	return in
}

// greekSuffixes are inflectional endings of nouns, adjectives and common
// verb forms, folded, longest first.
var greekSuffixes = []string{
	"ουμενοσ", "ομενοσ", "ουμενη", "ομενη",
	"ιαμε", "ιατε", "ουμε", "ουνε", "αδεσ", "αδων",
	"εωσ", "ουσ", "εισ", "εων", "ειο", "εια", "ιου", "ιων", "ιεσ", "ατα", "ατοσ", "ατων",
	"ησ", "εσ", "οσ", "ου", "ων", "οι", "ασ", "ια", "ιο", "ει", "ειν", "αν", "ον",
	"η", "α", "ο", "ε", "ι", "υ", "ω", "σ",
}

// StemGreek strips one inflectional ending from a folded Greek word,
// keeping a stem of at least three letters; other words are returned as
// they are.
func StemGreek(w string) string {
	if w == "" {
		return w
	}
	if r, _ := utf8.DecodeRuneInString(w); !unicode.Is(unicode.Greek, r) {
		return w
	}
	n := utf8.RuneCountInString(w)
	for _, suf := range greekSuffixes {
		if strings.HasSuffix(w, suf) && n-utf8.RuneCountInString(suf) >= 3 {
			return w[:len(w)-len(suf)]
		}
	}
	return w
}

type stemFilter struct{}

func (stemFilter) Filter(in analysis.TokenStream) analysis.TokenStream {
	for _, t := range in {
		t.Term = []byte(StemGreek(string(t.Term)))
	}
	return in
}
