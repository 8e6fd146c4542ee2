package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
)

// Languages the pages are written in. Greek is the default.
const (
	Greek   = "el"
	English = "en"
)

// Supported lists the languages in the order the switcher shows them.
var supported = []struct{ code, name string }{
	{Greek, "Ελληνικά"},
	{English, "English"},
}

var matcher = language.NewMatcher([]language.Tag{language.Greek, language.English})

// CookieLang remembers a language chosen with ?lang=.
const CookieLang = "lang"

func isSupported(code string) bool { return code == Greek || code == English }

// Lang returns the language of the page to show: ?lang= when it names a
// supported language, then the lang cookie, then the best match of
// Accept-Language, then Greek.
func Lang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); isSupported(l) {
		return l
	}
	if c, err := r.Cookie(CookieLang); err == nil && isSupported(c.Value) {
		return c.Value
	}
	if h := r.Header.Get("Accept-Language"); h != "" {
		tags, _, err := language.ParseAcceptLanguage(h)
		if err == nil && len(tags) > 0 {
			tag, _, conf := matcher.Match(tags...)
			if conf != language.No {
				if base, _ := tag.Base(); isSupported(base.String()) {
					return base.String()
				}
			}
		}
	}
	return Greek
}

// rememberLang sets the lang cookie when the request chose a language with
// ?lang=, so the choice holds on the next pages.
func rememberLang(w http.ResponseWriter, r *http.Request) {
	l := r.URL.Query().Get("lang")
	if !isSupported(l) {
		return
	}
	if c, err := r.Cookie(CookieLang); err == nil && c.Value == l {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieLang, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
}

// catalog maps language → key → message.
type catalog map[string]map[string]message

// message is one entry of a catalogue: a plain text, or texts for the CLDR
// plural forms of a count. In a file a plain text is a JSON string and a
// message with plural forms an object of form names ("zero", "one", "two",
// "few", "many", "other"; "other" is required) and, optionally, "count":
// the name of the argument that chooses the form (default "count").
//
//	"auth.error.throttled": {
//	  "one": "Try again in {minutes} minute.",
//	  "other": "Try again in {minutes} minutes.",
//	  "count": "minutes"
//	}
type message struct {
	text  string
	forms map[plural.Form]string
	count string
}

// pluralForms names the CLDR plural forms as the files write them.
var pluralForms = map[string]plural.Form{
	"zero": plural.Zero, "one": plural.One, "two": plural.Two,
	"few": plural.Few, "many": plural.Many, "other": plural.Other,
}

func formName(f plural.Form) string {
	for n, g := range pluralForms {
		if g == f {
			return n
		}
	}
	return fmt.Sprint(int(f))
}

func (m *message) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &m.text); err == nil {
		return nil
	}
	var obj map[string]string
	if err := json.Unmarshal(b, &obj); err != nil {
		return errors.New("a message is a string or an object of plural forms")
	}
	m.forms = map[plural.Form]string{}
	m.count = "count"
	for k, v := range obj {
		if k == "count" {
			m.count = v
			continue
		}
		f, ok := pluralForms[k]
		if !ok {
			return fmt.Errorf("%q is not a plural form (zero, one, two, few, many, other) nor \"count\"", k)
		}
		m.forms[f] = v
	}
	if _, ok := m.forms[plural.Other]; !ok {
		return errors.New(`a message with plural forms needs the form "other"`)
	}
	return nil
}

// loadCatalog reads files named <lang>.json (an object of key → message)
// matching pattern in fsys and merges them into c; later files win.
func (c catalog) load(fsys fs.FS, pattern string) error {
	files, err := fs.Glob(fsys, pattern)
	if err != nil {
		return fmt.Errorf("web: messages %q: %w", pattern, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("web: messages %q: no files", pattern)
	}
	for _, f := range files {
		lang := strings.TrimSuffix(path.Base(f), ".json")
		if !isSupported(lang) {
			return fmt.Errorf("web: messages %s: file name must be a supported language (el.json, en.json)", f)
		}
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return fmt.Errorf("web: messages %s: %w", f, err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("web: messages %s: %w", f, err)
		}
		if c[lang] == nil {
			c[lang] = map[string]message{}
		}
		for k, raw := range m {
			var msg message
			if err := json.Unmarshal(raw, &msg); err != nil {
				return fmt.Errorf("web: messages %s: %q: %w", f, k, err)
			}
			c[lang][k] = msg
		}
	}
	return nil
}

// text returns the message for key in lang, falling back to Greek and then
// to the key itself. args are name/value pairs that replace {name}; for a
// message with plural forms, the argument the message names as its count
// chooses the form by the CLDR rules of the language the text is in.
func (c catalog) text(lang, key string, args ...any) string {
	m, ok := c[lang][key]
	if !ok {
		if m, ok = c[Greek][key]; !ok {
			return key
		}
		lang = Greek
	}
	s := m.text
	if m.forms != nil {
		s = m.forms[plural.Other]
		for i := 0; i+1 < len(args); i += 2 {
			if fmt.Sprint(args[i]) != m.count {
				continue
			}
			if f, ok := m.forms[pluralForm(lang, args[i+1])]; ok {
				s = f
			}
			break
		}
	}
	if len(args) < 2 || !strings.Contains(s, "{") {
		return s
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// pluralForm is the CLDR cardinal plural form of the count n in lang. n is
// an integer of any type or its decimal digits as a string; anything else
// takes the form "other".
func pluralForm(lang string, n any) plural.Form {
	var digits string
	switch v := n.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		digits = fmt.Sprint(v)
	case string:
		digits = v
	default:
		return plural.Other
	}
	digits = strings.TrimPrefix(digits, "-")
	if digits == "" {
		return plural.Other
	}
	b := make([]byte, len(digits))
	for i := range len(digits) {
		if digits[i] < '0' || digits[i] > '9' {
			return plural.Other
		}
		b[i] = digits[i] - '0'
	}
	return plural.Cardinal.MatchDigits(language.Make(lang), b, len(b), 0)
}

// formsNeeded lists the plural forms that whole numbers take in lang, by
// the CLDR rules: the forms a message with plural forms must give.
func formsNeeded(lang string) []plural.Form {
	seen := map[plural.Form]bool{}
	var out []plural.Form
	for n := range 1001 {
		f := pluralForm(lang, n)
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	for _, n := range []int{1_000_000, 1_000_001} {
		if f := pluralForm(lang, n); !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// missing lists "lang: key" for every key some language has and another
// lacks, and "lang: key: form" for every plural form a language needs and
// a message with plural forms lacks, or "lang: key: plural forms" when a
// key has plural forms in one language and a plain text in another; sorted.
func (c catalog) missing() []string {
	all := map[string]bool{}
	plurals := map[string]bool{}
	for _, m := range c {
		for k, msg := range m {
			all[k] = true
			if msg.forms != nil {
				plurals[k] = true
			}
		}
	}
	var out []string
	for _, l := range supported {
		needed := formsNeeded(l.code)
		for k := range all {
			msg, ok := c[l.code][k]
			switch {
			case !ok:
				out = append(out, l.code+": "+k)
			case plurals[k] && msg.forms == nil:
				out = append(out, l.code+": "+k+": plural forms")
			case msg.forms != nil:
				for _, f := range needed {
					if _, ok := msg.forms[f]; !ok {
						out = append(out, l.code+": "+k+": "+formName(f))
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// Catalog is a catalogue of messages read alone, for texts that are not
// pages (an SMS, a mail): the same files, plural forms and fallbacks as
// the pages' catalogues, without the shared layout's messages.
type Catalog struct{ cat catalog }

// NewCatalog reads the files matching pattern in fsys (el.json, en.json).
func NewCatalog(fsys fs.FS, pattern string) (*Catalog, error) {
	c := catalog{}
	if err := c.load(fsys, pattern); err != nil {
		return nil, err
	}
	return &Catalog{cat: c}, nil
}

// Text returns the message for key in lang, as [Renderer.Text] does: args
// are name/value pairs that replace {name}, and the count chooses the
// plural form; an unsupported lang means Greek.
func (c *Catalog) Text(lang, key string, args ...any) string {
	if !isSupported(lang) {
		lang = Greek
	}
	return c.cat.text(lang, key, args...)
}

// Missing lists the keys and plural forms a language lacks, as
// [Renderer.MissingTranslations] does.
func (c *Catalog) Missing() []string { return c.cat.missing() }
