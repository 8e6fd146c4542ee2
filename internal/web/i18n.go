package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"

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

// catalog maps language → key → text.
type catalog map[string]map[string]string

// loadCatalog reads files named <lang>.json (a flat object of key → text)
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
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("web: messages %s: %w", f, err)
		}
		if c[lang] == nil {
			c[lang] = map[string]string{}
		}
		for k, v := range m {
			c[lang][k] = v
		}
	}
	return nil
}

// text returns the message for key in lang, falling back to Greek and then
// to the key itself. args are name/value pairs that replace {name}.
func (c catalog) text(lang, key string, args ...any) string {
	s, ok := c[lang][key]
	if !ok {
		if s, ok = c[Greek][key]; !ok {
			s = key
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

// missing lists "lang: key" for every key some language has and another
// lacks, sorted.
func (c catalog) missing() []string {
	all := map[string]bool{}
	for _, m := range c {
		for k := range m {
			all[k] = true
		}
	}
	var out []string
	for _, l := range supported {
		for k := range all {
			if _, ok := c[l.code][k]; !ok {
				out = append(out, l.code+": "+k)
			}
		}
	}
	sort.Strings(out)
	return out
}
