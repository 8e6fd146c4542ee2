package page_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/egovkit/egovkit/page"
)

func renderer(t *testing.T, opts ...page.Option) *page.Renderer {
	t.Helper()
	opts = append([]page.Option{page.WithMessages(assets, "testdata/messages/*.json"), page.WithServiceName("hello.service")}, opts...)
	pages, err := page.NewRenderer(assets, "testdata/templates/*.html", opts...)
	require.NoError(t, err)
	return pages
}

func get(h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestPagesLinkTheStylesheetStaticServes(t *testing.T) {
	pages := renderer(t)
	mux := http.NewServeMux()
	mux.Handle("GET /static/", page.Static())
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		pages.Render(w, r, http.StatusOK, "hello.html", map[string]any{"Name": "Νίκος", "Visits": 3})
	})

	w := get(mux, "/hello")
	require.Equal(t, http.StatusOK, w.Code)
	h := w.Header()
	assert.Equal(t, "text/html; charset=utf-8", h.Get("Content-Type"))
	assert.Equal(t, "no-store", h.Get("Cache-Control"))
	assert.Contains(t, h.Get("Content-Security-Policy"), "default-src 'none'")
	assert.Equal(t, "DENY", h.Get("X-Frame-Options"))
	assert.Contains(t, w.Body.String(), "3 επισκέψεις", "plural form of the page's language")

	link := regexp.MustCompile(`<link rel="stylesheet" href="(/static/[^"]+)">`).FindStringSubmatch(w.Body.String())
	require.Len(t, link, 2, "the page links the stylesheet")
	css := get(mux, link[1])
	assert.Equal(t, http.StatusOK, css.Code)
	assert.Equal(t, "text/css; charset=utf-8", css.Header().Get("Content-Type"))
	assert.Contains(t, css.Header().Get("Cache-Control"), "immutable")
	assert.NotEmpty(t, css.Body.String())
	assert.Equal(t, http.StatusNotModified, get(mux, link[1], "If-None-Match", css.Header().Get("ETag")).Code)
	assert.Equal(t, http.StatusNotFound, get(mux, "/static/other.css").Code)
}

func TestLanguageChosenAndRemembered(t *testing.T) {
	pages := renderer(t)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Lang", page.Lang(r))
		pages.Render(w, r, http.StatusOK, "hello.html", map[string]any{"Name": "Maria", "Visits": 1})
	})
	for _, c := range []struct {
		target, header, value, want string
	}{
		{"/", "", "", "el"},
		{"/", "Accept-Language", "en-GB,en;q=0.9", "en"},
		{"/", "Accept-Language", "fr", "el"},
		{"/?lang=en", "Accept-Language", "el", "en"},
		{"/", "Cookie", "lang=en", "en"},
		{"/?lang=de", "Cookie", "lang=en", "en"},
	} {
		w := get(h, c.target, c.header, c.value)
		assert.Equal(t, c.want, w.Header().Get("X-Lang"), "%s %s: %s", c.target, c.header, c.value)
		assert.Equal(t, c.want, w.Header().Get("Content-Language"), "%s %s: %s", c.target, c.header, c.value)
	}
	w := get(h, "/?lang=en")
	assert.Contains(t, w.Body.String(), "1 visit<")
	assert.Contains(t, w.Header().Get("Set-Cookie"), "lang=en", "a choice with ?lang= is remembered")
	assert.Equal(t, "Hello, Ada.", pages.Text("en", "hello.greeting", "name", "Ada"))
	assert.Equal(t, "Γεια σας, Ada.", pages.Text("fr", "hello.greeting", "name", "Ada"), "Greek for a language without a catalogue")
}

func TestErrorPages(t *testing.T) {
	core, logs := observer.New(zapcore.ErrorLevel)
	pages := renderer(t, page.WithLogger(zap.New(core)))

	w := httptest.NewRecorder()
	pages.RenderError(w, httptest.NewRequest("GET", "/?lang=en", nil), http.StatusServiceUnavailable, "")
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.NotEmpty(t, w.Header().Get("Retry-After"))
	assert.Contains(t, w.Body.String(), "<h1")

	w = httptest.NewRecorder()
	pages.RenderError(w, httptest.NewRequest("GET", "/?lang=en", nil), http.StatusBadRequest, "The link has expired.")
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Contains(t, w.Body.String(), "The link has expired.")

	w = httptest.NewRecorder()
	pages.Render(w, httptest.NewRequest("GET", "/", nil), http.StatusOK, "broken.html", 42)
	assert.Equal(t, http.StatusInternalServerError, w.Code, "a failing template gives a clean 500 page")
	assert.NotContains(t, w.Body.String(), "Missing")
	assert.Equal(t, 1, logs.Len(), "and is logged")
}

func TestMissingTranslations(t *testing.T) {
	assert.Empty(t, renderer(t).MissingTranslations())
	gaps := fstest.MapFS{
		"el.json": {Data: []byte(`{"hello.extra": "μόνο ελληνικά", "hello.n": {"one": "{n} φορά", "other": "{n} φορές", "count": "n"}}`)},
		"en.json": {Data: []byte(`{"hello.n": {"other": "{n} times", "count": "n"}}`)},
	}
	assert.ElementsMatch(t, []string{"en: hello.extra", "en: hello.n: one"},
		renderer(t, page.WithMessages(gaps, "*.json")).MissingTranslations())
}

func TestNewRendererRefusesBadPages(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no files":         {},
		"no content block": {"p.html": {Data: []byte(`{{define "title"}}x{{end}}`)}},
		"does not parse":   {"p.html": {Data: []byte(`{{define "content"}}{{.T}`)}},
	} {
		_, err := page.NewRenderer(fsys, "*.html")
		assert.Error(t, err, name)
	}
	_, err := page.NewRenderer(assets, "testdata/templates/*.html", page.WithMessages(fstest.MapFS{"fr.json": {Data: []byte(`{}`)}}, "*.json"))
	assert.Error(t, err, "a catalogue of an unsupported language")
}
