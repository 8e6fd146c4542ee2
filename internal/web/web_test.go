package web

import (
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type helloData struct{ Name string }

func newTestRenderer(t *testing.T, opts ...Option) *Renderer {
	t.Helper()
	opts = append([]Option{WithMessages(os.DirFS("testdata"), "messages/*.json"), WithServiceName("hello.service")}, opts...)
	r, err := NewRenderer(os.DirFS("testdata"), "pages/*.html", opts...)
	require.NoError(t, err)
	return r
}

func get(t *testing.T, h http.HandlerFunc, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h(w, req)
	return w
}

func TestRenderBothLanguages(t *testing.T) {
	r := newTestRenderer(t, WithRequestID(func(*http.Request) string { return "req-42" }))
	h := func(w http.ResponseWriter, req *http.Request) {
		r.Render(w, req, http.StatusOK, "hello.html", helloData{Name: `<b>Μαρία</b>`})
	}

	w := get(t, h, "/hello?x=1&y=a%26b", nil)
	require.Equal(t, 200, w.Code)
	body := w.Body.String()
	assert.Contains(t, body, `<html lang="el">`)
	assert.Contains(t, body, `<title>Καλημέρα — Υπηρεσία δοκιμής — egovkit</title>`)
	assert.Contains(t, body, `<a class="skip-link" href="#main">Μετάβαση στο κύριο περιεχόμενο</a>`)
	assert.Contains(t, body, `<main id="main" tabindex="-1">`)
	assert.Contains(t, body, "Γεια σου, &lt;b&gt;Μαρία&lt;/b&gt;!", "user data is escaped")
	assert.NotContains(t, body, "<b>Μαρία</b>")
	assert.Contains(t, body, `href="/hello?lang=en&amp;x=1&amp;y=a%26b" hreflang="en" lang="en">English</a>`, "the switcher keeps the query")
	assert.Contains(t, body, `hreflang="el" lang="el" aria-current="true">Ελληνικά</a>`)
	assert.Contains(t, body, "req-42")
	assert.Regexp(t, `<link rel="stylesheet" href="/static/egovkit\.[0-9a-f]{12}\.css">`, body)
	assert.Equal(t, "el", w.Header().Get("Content-Language"))
	assert.Empty(t, w.Result().Cookies(), "no cookie without an explicit choice")

	w = get(t, h, "/hello?lang=en", nil)
	body = w.Body.String()
	assert.Contains(t, body, `<html lang="en">`)
	assert.Contains(t, body, `<title>Good morning — Test service — egovkit</title>`)
	assert.Contains(t, body, "Skip to main content")
	assert.Contains(t, body, `aria-current="true">English</a>`)
	cookies := w.Result().Cookies()
	require.Len(t, cookies, 1)
	assert.Equal(t, "lang", cookies[0].Name)
	assert.Equal(t, "en", cookies[0].Value)
	assert.True(t, cookies[0].HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, cookies[0].SameSite)
}

func TestSwitcherStaysOnThisHost(t *testing.T) {
	r := newTestRenderer(t)
	req := httptest.NewRequest("GET", "/", nil)
	req.URL.Path, req.RequestURI = "//evil.example/x", "//evil.example/x"
	w := httptest.NewRecorder()
	r.Render(w, req, http.StatusOK, "hello.html", helloData{})
	body := w.Body.String()
	assert.NotContains(t, body, `href="//evil.example`, "no protocol-relative link to another host")
	assert.Contains(t, body, `href="/evil.example/x?lang=en"`)

	w = httptest.NewRecorder()
	r.Render(w, httptest.NewRequest("GET", "/", nil), 42, "hello.html", helloData{})
	assert.Equal(t, http.StatusInternalServerError, w.Code, "an impossible status is a 500, not a panic")
}

func TestSwitcherKeepsMountedPath(t *testing.T) {
	r := newTestRenderer(t)
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.Render(w, req, http.StatusOK, "hello.html", helloData{})
	})
	h = http.StripPrefix("/auth/citizen", h)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/auth/citizen/login?tx=abc", nil))
	assert.Contains(t, w.Body.String(), `href="/auth/citizen/login?lang=en&amp;tx=abc"`, "the path the browser asked for, not the stripped one")
}

func TestLangPrecedence(t *testing.T) {
	tests := []struct {
		name, query, cookie, accept, want string
	}{
		{"default", "", "", "", "el"},
		{"accept english", "", "", "en-GB,en;q=0.9", "en"},
		{"accept greek over english", "", "", "el-GR,en;q=0.5", "el"},
		{"accept unsupported falls back to greek", "", "", "fr-FR,de", "el"},
		{"accept garbage", "", "", ";;;=", "el"},
		{"cookie beats accept", "", "el", "en", "el"},
		{"query beats cookie", "en", "el", "el", "en"},
		{"unsupported query ignored", "fr", "en", "", "en"},
		{"unsupported cookie ignored", "", "de", "en", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "/"
			if tt.query != "" {
				target += "?lang=" + tt.query
			}
			req := httptest.NewRequest("GET", target, nil)
			if tt.cookie != "" {
				req.AddCookie(&http.Cookie{Name: CookieLang, Value: tt.cookie})
			}
			if tt.accept != "" {
				req.Header.Set("Accept-Language", tt.accept)
			}
			assert.Equal(t, tt.want, Lang(req))
		})
	}
}

func TestTranslationFallbackAndCheck(t *testing.T) {
	r := newTestRenderer(t)
	assert.Equal(t, "μόνο ελληνικά", r.cat.text("en", "hello.only_greek"), "missing English falls back to Greek")
	assert.Equal(t, "no.such.key", r.cat.text("en", "no.such.key"), "then to the key")
	assert.Equal(t, "Hello, Νίκος!", r.cat.text("en", "hello.greeting", "name", "Νίκος"))
	assert.Equal(t, []string{"en: hello.only_greek"}, r.MissingTranslations())

	shared, err := NewRenderer(nil, "")
	require.NoError(t, err)
	assert.Empty(t, shared.MissingTranslations(), "the shared catalogues are complete")
}

func TestSecurityHeaders(t *testing.T) {
	r := newTestRenderer(t)
	w := get(t, func(w http.ResponseWriter, req *http.Request) {
		r.Render(w, req, 200, "hello.html", helloData{})
	}, "/", nil)
	h := w.Header()
	assert.Contains(t, h.Get("Content-Security-Policy"), "default-src 'none'")
	assert.Contains(t, h.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	// Scripts come as files of this origin only: no inline script, no eval.
	csp := h.Get("Content-Security-Policy")
	var scripts []string
	for _, d := range strings.Split(csp, ";") {
		if f := strings.Fields(d); len(f) > 0 && f[0] == "script-src" {
			scripts = append(scripts, strings.Join(f[1:], " "))
		}
	}
	assert.Equal(t, []string{"'self'"}, scripts, csp)
	assert.NotContains(t, csp, "'unsafe-inline'")
	assert.NotContains(t, csp, "'unsafe-eval'")
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	assert.Equal(t, "DENY", h.Get("X-Frame-Options"))
	assert.Equal(t, "same-origin", h.Get("Referrer-Policy"))
	assert.Equal(t, "no-store", h.Get("Cache-Control"))
	assert.Equal(t, "text/html; charset=utf-8", h.Get("Content-Type"))

	// A handler's own caching policy is kept.
	w = get(t, func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		r.Render(w, req, 200, "hello.html", helloData{})
	}, "/", nil)
	assert.Equal(t, "public, max-age=60", w.Header().Get("Cache-Control"))
}

func TestTemplateErrorGivesCleanPage(t *testing.T) {
	r := newTestRenderer(t)
	w := get(t, func(w http.ResponseWriter, req *http.Request) {
		r.Render(w, req, 200, "broken.html", helloData{Name: "x"})
	}, "/?lang=en", nil)
	assert.Equal(t, 500, w.Code)
	assert.Contains(t, w.Body.String(), "Sorry, there is a problem with the service")
	assert.NotContains(t, w.Body.String(), "egovkit.css", "no half-rendered layout")

	w = get(t, func(w http.ResponseWriter, req *http.Request) {
		r.Render(w, req, 200, "nope.html", nil)
	}, "/", nil)
	assert.Equal(t, 500, w.Code)
	assert.Contains(t, w.Body.String(), "Παρουσιάστηκε πρόβλημα")
}

func TestNewRendererErrors(t *testing.T) {
	_, err := NewRenderer(os.DirFS("testdata"), "nothing/*.html")
	assert.ErrorContains(t, err, "no files")
	_, err = NewRenderer(os.DirFS("testdata"), "pages/*.html", WithMessages(os.DirFS("testdata"), "none/*.json"))
	assert.ErrorContains(t, err, "no files")
	_, err = NewRenderer(nil, "", WithStaticPrefix("static"))
	assert.ErrorContains(t, err, "must start and end with /")
	_, err = NewRenderer(os.DirFS("."), "web.go")
	assert.ErrorContains(t, err, "no \"content\" block")
}

func TestErrorPages(t *testing.T) {
	for _, tt := range []struct {
		status       int
		query, title string
	}{
		{404, "", "Η σελίδα δεν βρέθηκε"},
		{404, "?lang=en", "Page not found"},
		{429, "?lang=en", "Too many attempts"},
		{418, "?lang=en", "The request is not valid"},
		{502, "?lang=en", "Sorry, there is a problem with the service"},
	} {
		w := get(t, func(w http.ResponseWriter, req *http.Request) {
			RenderError(w, req, tt.status, "")
		}, "/x"+tt.query, nil)
		assert.Equal(t, tt.status, w.Code)
		assert.Contains(t, w.Body.String(), "<h1>"+tt.title+"</h1>")
	}
	for _, tt := range []struct{ query, title string }{
		{"", "Η υπηρεσία είναι προσωρινά μη διαθέσιμη"},
		{"?lang=en", "The service is temporarily unavailable"},
	} {
		w := get(t, func(w http.ResponseWriter, req *http.Request) {
			RenderError(w, req, http.StatusServiceUnavailable, "")
		}, "/x"+tt.query, nil)
		assert.Equal(t, http.StatusServiceUnavailable, w.Code)
		assert.Contains(t, w.Body.String(), "<h1>"+tt.title+"</h1>")
		assert.Equal(t, "5", w.Header().Get("Retry-After"), "a 503 page says when to come back")
	}
	w := get(t, func(w http.ResponseWriter, req *http.Request) {
		RenderError(w, req, 400, "Ο ΑΦΜ δεν είναι έγκυρος <script>")
	}, "/", nil)
	assert.Contains(t, w.Body.String(), "Ο ΑΦΜ δεν είναι έγκυρος &lt;script&gt;")
}

func TestStatic(t *testing.T) {
	h := Static()
	w := get(t, h.ServeHTTP, "/static/"+stylesheet.hashedName, nil)
	require.Equal(t, 200, w.Code)
	assert.Equal(t, "text/css; charset=utf-8", w.Header().Get("Content-Type"))
	assert.Equal(t, "public, max-age=31536000, immutable", w.Header().Get("Cache-Control"))
	etag := w.Header().Get("ETag")
	assert.NotEmpty(t, etag)
	assert.Contains(t, w.Body.String(), "--color-text")

	w = get(t, h.ServeHTTP, "/static/"+stylesheet.hashedName, map[string]string{"If-None-Match": etag})
	assert.Equal(t, 304, w.Code)
	assert.Empty(t, w.Body.String())

	w = get(t, h.ServeHTTP, "/static/egovkit.css", nil)
	assert.Equal(t, 200, w.Code)
	assert.Equal(t, "public, max-age=300", w.Header().Get("Cache-Control"))

	w = get(t, h.ServeHTTP, "/static/../../etc/passwd", nil)
	assert.Equal(t, 404, w.Code)
}

func TestStaticBelowAMountPoint(t *testing.T) {
	assert.Equal(t, "/static/", StaticPrefixAt(""))
	assert.Equal(t, "/static/", StaticPrefixAt("/"))
	assert.Equal(t, "/stats/static/", StaticPrefixAt("/stats"))
	assert.Equal(t, "/a/verify/static/", StaticPrefixAt("/a/verify/"))

	r := newTestRenderer(t, WithStaticPrefix(StaticPrefixAt("/hello")))
	w := get(t, func(w http.ResponseWriter, req *http.Request) {
		r.Render(w, req, 200, "hello.html", helloData{Name: "Μαρία"})
	}, "/", nil)
	m := regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)">`).FindStringSubmatch(w.Body.String())
	require.NotNil(t, m)
	assert.Equal(t, "/hello/static/"+stylesheet.hashedName, m[1])
	assert.True(t, IsStatic(m[1]))
	assert.True(t, IsStatic("/static/"+stylesheet.hashedName))
	assert.True(t, IsStatic("/verify/static/egovkit.css"))
	for _, p := range []string{"/", "/static/", "/static", "/egovkit.css", "/" + stylesheet.hashedName,
		"/static/other.css", "/staticx/egovkit.css", "/static/egovkit.css/x"} {
		assert.False(t, IsStatic(p), p)
	}
}

// TestColourContrast checks the colour pairs the stylesheet uses for text
// against WCAG 2.1's 4.5:1 minimum for normal text, reading the values from
// the stylesheet itself.
func TestColourContrast(t *testing.T) {
	css, err := files.ReadFile("assets/egovkit.css")
	require.NoError(t, err)
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`--(color-[a-z-]+):\s*(#[0-9a-fA-F]{6})`).FindAllStringSubmatch(string(css), -1) {
		vars[m[1]] = m[2]
	}
	pairs := [][2]string{
		{"color-text", "color-bg"}, {"color-muted", "color-bg"}, {"color-text", "color-panel"},
		{"color-muted", "color-panel"}, {"color-link", "color-bg"}, {"color-link-visited", "color-bg"},
		{"color-link", "color-notice-bg"}, {"color-text", "color-notice-bg"},
		{"color-header-text", "color-header-bg"}, {"color-button-text", "color-button-bg"},
		{"color-error", "color-bg"}, {"color-success-text", "color-success-bg"},
		{"color-focus-text", "color-focus"}, {"color-text", "color-panel"},
	}
	for _, p := range pairs {
		fg, bg := vars[p[0]], vars[p[1]]
		require.NotEmpty(t, fg, p[0])
		require.NotEmpty(t, bg, p[1])
		ratio := contrast(fg, bg)
		assert.GreaterOrEqual(t, ratio, 4.5, "%s %s on %s %s: %.2f:1", p[0], fg, p[1], bg, ratio)
	}
	// Non-text contrast (WCAG 1.4.11): input borders against the page.
	assert.GreaterOrEqual(t, contrast(vars["color-border"], vars["color-bg"]), 3.0)
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	ch := func(i int) float64 {
		v, _ := strconv.ParseUint(hex[i:i+2], 16, 8)
		c := float64(v) / 255
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(1) + 0.7152*ch(3) + 0.0722*ch(5)
}

func TestStylesheetIsSmallAndSelfContained(t *testing.T) {
	css, err := files.ReadFile("assets/egovkit.css")
	require.NoError(t, err)
	assert.Less(t, len(css), 10*1024)
	assert.NotContains(t, string(css), "@import")
	assert.NotContains(t, strings.ToLower(string(css)), "url(http")
}

func BenchmarkRender(b *testing.B) {
	r, err := NewRenderer(os.DirFS("testdata"), "pages/*.html", WithMessages(os.DirFS("testdata"), "messages/*.json"))
	require.NoError(b, err)
	req := httptest.NewRequest("GET", "/hello?lang=en", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		r.Render(w, req, 200, "hello.html", helloData{Name: "Μαρία"})
	}
}

// A title is escaped once: the title block is already HTML, and the layout
// must not escape it a second time.
func TestTitleEscapedOnce(t *testing.T) {
	r := newTestRenderer(t, WithServiceName("hello.amp"))
	w := get(t, func(w http.ResponseWriter, req *http.Request) {
		r.Render(w, req, http.StatusOK, "titled.html", helloData{Name: `Δήλωση & <b>"ένορκη"</b> 'Α'`})
	}, "/", nil)
	require.Equal(t, http.StatusOK, w.Code)
	body := w.Body.String()
	assert.Contains(t, body, `<title>Δήλωση &amp; &lt;b&gt;&#34;ένορκη&#34;&lt;/b&gt; &#39;Α&#39; — Δοκιμή &amp; έλεγχος — egovkit</title>`)
	assert.NotContains(t, body, "&amp;amp;")
	assert.NotContains(t, body, "&amp;lt;")
	assert.NotContains(t, body, "&amp;#34;")
	assert.Contains(t, body, `<h1>Δήλωση &amp; &lt;b&gt;&#34;ένορκη&#34;&lt;/b&gt; &#39;Α&#39;</h1>`)

	// A translated title with an ampersand, and the error page's title.
	w = get(t, func(w http.ResponseWriter, req *http.Request) {
		r.RenderError(w, req, http.StatusBadRequest, "")
	}, "/", nil)
	assert.NotContains(t, w.Body.String(), "&amp;amp;")
	assert.Regexp(t, `<title>[^<&]+ — Δοκιμή &amp; έλεγχος — egovkit</title>`, w.Body.String())

	page := &Page{r: r, tmpl: r.pages["titled.html"], Data: helloData{Name: `a & b`}}
	title, err := page.PageTitle()
	require.NoError(t, err)
	assert.Equal(t, "a &amp; b", string(title), "the title block is HTML, escaped once")
}

// TestFavicon checks that every page links the SVG favicon beside its
// stylesheet, and that Static serves it wherever the stylesheet is.
func TestFavicon(t *testing.T) {
	r := newTestRenderer(t, WithStaticPrefix(StaticPrefixAt("/hello")))
	w := get(t, func(w http.ResponseWriter, req *http.Request) {
		r.Render(w, req, 200, "hello.html", helloData{Name: "Μαρία"})
	}, "/", nil)
	m := regexp.MustCompile(`<link rel="icon" href="([^"]+)" type="image/svg\+xml">`).FindStringSubmatch(w.Body.String())
	require.NotNil(t, m)
	assert.Equal(t, "/hello/static/"+favicon.hashedName, m[1])
	assert.True(t, IsStatic(m[1]))
	for _, p := range []string{m[1], "/static/favicon.svg"} {
		w = get(t, Static().ServeHTTP, p, nil)
		assert.Equal(t, 200, w.Code, p)
		assert.Equal(t, "image/svg+xml", w.Header().Get("Content-Type"))
		assert.Contains(t, w.Body.String(), "<svg")
	}
	assert.Equal(t, "public, max-age=31536000, immutable", get(t, Static().ServeHTTP, m[1], nil).Header().Get("Cache-Control"))
}

// TestGroupsScript checks that the script of forms' repeatable groups is
// served beside the stylesheet, wherever that is, as JavaScript that the
// pages' policy lets run, and stays small.
func TestGroupsScript(t *testing.T) {
	r := newTestRenderer(t, WithStaticPrefix(StaticPrefixAt("/hello")))
	p := &Page{r: r}
	assert.Equal(t, "/hello/static/"+groups.hashedName, p.GroupsScriptURL())
	assert.True(t, IsStatic(p.GroupsScriptURL()))
	assert.Equal(t, StaticDir+groups.hashedName, (&Page{r: newTestRenderer(t)}).GroupsScriptURL())
	for _, u := range []string{p.GroupsScriptURL(), "/static/groups.js"} {
		w := get(t, Static().ServeHTTP, u, nil)
		require.Equal(t, 200, w.Code, u)
		assert.Equal(t, "text/javascript; charset=utf-8", w.Header().Get("Content-Type"))
		assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
		assert.Contains(t, w.Body.String(), "'use strict'")
	}
	assert.Less(t, strings.Count(string(groups.body), "\n"), 200, "the script stays small")
	for _, s := range []string{"eval(", "new Function", "innerHTML", "http:", "https:", "setAttribute('style'"} {
		assert.NotContains(t, string(groups.body), s, "the script needs nothing the policy forbids, nor another origin")
	}
}
