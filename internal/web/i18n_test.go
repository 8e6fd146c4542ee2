package web

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pluralCatalog(t *testing.T, el, en string) catalog {
	t.Helper()
	c := catalog{}
	require.NoError(t, c.load(fstest.MapFS{
		"m/el.json": {Data: []byte(el)},
		"m/en.json": {Data: []byte(en)},
	}, "m/*.json"))
	return c
}

// A message may be an object of CLDR plural forms; the argument it names
// as its count chooses the form by the rules of the language.
func TestPluralForms(t *testing.T) {
	c := pluralCatalog(t,
		`{"wait": {"one": "σε {minutes} λεπτό", "other": "σε {minutes} λεπτά", "count": "minutes"},
		  "found": {"one": "Βρέθηκε {count} διαδικασία", "other": "Βρέθηκαν {count} διαδικασίες"},
		  "plain": "απλό {x}"}`,
		`{"wait": {"one": "in {minutes} minute", "other": "in {minutes} minutes", "count": "minutes"},
		  "found": {"one": "{count} procedure found", "other": "{count} procedures found"},
		  "plain": "plain {x}"}`)
	for _, tt := range []struct {
		lang string
		n    any
		want string
	}{
		{"el", 0, "σε 0 λεπτά"},
		{"el", 1, "σε 1 λεπτό"},
		{"el", 2, "σε 2 λεπτά"},
		{"el", int64(1_000_000), "σε 1000000 λεπτά"},
		{"el", "1", "σε 1 λεπτό"},
		{"en", 0, "in 0 minutes"},
		{"en", 1, "in 1 minute"},
		{"en", uint64(2), "in 2 minutes"},
		{"en", 1001, "in 1001 minutes"},
		{"en", "21", "in 21 minutes"},
		{"en", "1.5", "in 1.5 minutes"},
	} {
		assert.Equal(t, tt.want, c.text(tt.lang, "wait", "minutes", tt.n), "%s %v", tt.lang, tt.n)
	}
	assert.Equal(t, "Βρέθηκε 1 διαδικασία", c.text("el", "found", "count", 1), `the count argument is "count" by default`)
	assert.Equal(t, "Βρέθηκαν 12 διαδικασίες", c.text("el", "found", "count", 12))
	assert.Equal(t, "12 procedures found", c.text("en", "found", "count", 12))
	assert.Equal(t, "in {minutes} minutes", c.text("en", "wait"), `without its count a message takes the form "other"`)
	assert.Equal(t, "plain 1", c.text("en", "plain", "x", 1), "plain strings still work")
	assert.Empty(t, c.missing())
}

// A language missing a form its CLDR rules need, or a message plural in
// one language and plain in the other, is a gap the completeness check
// reports; a form no language needs is no gap.
func TestPluralFormsMissing(t *testing.T) {
	c := pluralCatalog(t,
		`{"a": {"other": "{count} αρχεία"}, "b": {"one": "ένα", "other": "πολλά"}, "c": {"one": "{count} αρχείο", "other": "{count} αρχεία"}}`,
		`{"a": {"one": "{count} file", "other": "{count} files", "few": "{count} files"}, "b": "many", "c": {"one": "{count} file", "other": "{count} files"}}`)
	assert.Equal(t, []string{"el: a: one", "en: b: plural forms"}, c.missing())
	assert.Equal(t, "1 αρχεία", c.text("el", "a", "count", 1), "a missing form falls back to other")
}

func TestPluralFormsBadFiles(t *testing.T) {
	for name, el := range map[string]string{
		"no other":     `{"a": {"one": "ένα"}}`,
		"unknown form": `{"a": {"one": "ένα", "other": "πολλά", "several": "μερικά"}}`,
		"not a string": `{"a": {"one": 1, "other": "πολλά"}}`,
		"number":       `{"a": 3}`,
	} {
		t.Run(name, func(t *testing.T) {
			c := catalog{}
			err := c.load(fstest.MapFS{"m/el.json": {Data: []byte(el)}}, "m/*.json")
			require.Error(t, err)
			assert.Contains(t, err.Error(), `"a"`, "the error names the key")
		})
	}
}

// The plural forms a language needs come from the CLDR rules: Greek and
// English have "one" and "other".
func TestFormsNeeded(t *testing.T) {
	for _, l := range []string{Greek, English} {
		var names []string
		for _, f := range formsNeeded(l) {
			names = append(names, formName(f))
		}
		assert.ElementsMatch(t, []string{"one", "other"}, names, l)
	}
}
