package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

//go:embed templates/*.html messages/*.json assets/*
var files embed.FS

// Renderer renders a package's pages inside the shared layout. Templates are
// parsed once, by NewRenderer; rendering only executes them. It is safe for
// concurrent use.
type Renderer struct {
	pages       map[string]*template.Template
	cat         catalog
	serviceKey  string
	staticURL   string // the stylesheet's
	iconURL     string // the favicon's
	groupsURL   string // the script of forms' repeatable groups
	homeURL     string
	requestID   func(*http.Request) string
	log         *zap.Logger
	contentType string
	loc         *time.Location
}

// Option configures a Renderer.
type Option func(*Renderer) error

// WithMessages adds the catalogues matching pattern in fsys: files named
// el.json and en.json holding an object of key → message, a message being
// a text or an object of plural forms (see the package documentation). A
// package's keys are best prefixed with its name ("declaration.new.title").
func WithMessages(fsys fs.FS, pattern string) Option {
	return func(r *Renderer) error { return r.cat.load(fsys, pattern) }
}

// WithServiceName names the service in the header and the title, as a
// catalogue key so it follows the language.
func WithServiceName(key string) Option {
	return func(r *Renderer) error { r.serviceKey = key; return nil }
}

// WithStaticPrefix says where [Static] answers, the directory the pages
// link the stylesheet from; the default is [StaticDir] ("/static/"). A
// package whose pages are mounted below a path passes
// [StaticPrefixAt](that path) and serves [Static] there itself.
func WithStaticPrefix(prefix string) Option {
	return func(r *Renderer) error {
		if !strings.HasPrefix(prefix, "/") || !strings.HasSuffix(prefix, "/") {
			return fmt.Errorf("web: static prefix %q must start and end with /", prefix)
		}
		r.staticURL, r.iconURL, r.groupsURL = prefix+stylesheet.hashedName, prefix+favicon.hashedName, prefix+groups.hashedName
		return nil
	}
}

// WithHomeURL sets where the brand link and error pages lead; the default is
// "/".
func WithHomeURL(u string) Option { return func(r *Renderer) error { r.homeURL = u; return nil } }

// WithRequestID gives pages the request id to quote in the footer (for
// example httpx.RequestIDFromContext applied to the request's context).
func WithRequestID(f func(*http.Request) string) Option {
	return func(r *Renderer) error { r.requestID = f; return nil }
}

// WithLocation sets where the pages show dates and times (see
// [FormatDateTime]); nil, like the default, means [DefaultLocation].
func WithLocation(loc *time.Location) Option {
	return func(r *Renderer) error { r.loc = LocationOr(loc); return nil }
}

// WithLogger logs template failures.
func WithLogger(l *zap.Logger) Option { return func(r *Renderer) error { r.log = l; return nil } }

// NewRenderer parses the page templates matching pattern in fsys, each
// inside the shared layout. A page template defines the blocks "content"
// (required), "title" and "head"; it reads the [Page] it is given: .T for
// translations, .Data for the handler's data, .Lang, .Path.
func NewRenderer(fsys fs.FS, pattern string, opts ...Option) (*Renderer, error) {
	r := &Renderer{
		pages:     map[string]*template.Template{},
		cat:       catalog{},
		staticURL: StaticDir + stylesheet.hashedName,
		iconURL:   StaticDir + favicon.hashedName,
		groupsURL: StaticDir + groups.hashedName,
		homeURL:   "/",
		log:       zap.NewNop(),
		loc:       defaultLocation,
	}
	if err := r.cat.load(files, "messages/*.json"); err != nil {
		return nil, err
	}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, err
		}
	}
	base, err := template.New("layout.html").ParseFS(files, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: layout: %w", err)
	}
	add := func(fsys fs.FS, names ...string) error {
		for _, name := range names {
			t, err := base.Clone()
			if err != nil {
				return err
			}
			if _, err := t.ParseFS(fsys, name); err != nil {
				return fmt.Errorf("web: page %s: %w", name, err)
			}
			if t.Lookup("content") == nil {
				return fmt.Errorf("web: page %s defines no \"content\" block", name)
			}
			r.pages[path.Base(name)] = t
		}
		return nil
	}
	if err := add(files, "templates/error.html"); err != nil {
		return nil, err
	}
	if fsys != nil && pattern != "" {
		names, err := fs.Glob(fsys, pattern)
		if err != nil {
			return nil, fmt.Errorf("web: pages %q: %w", pattern, err)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("web: pages %q: no files", pattern)
		}
		if err := add(fsys, names...); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Page is what a page template receives.
type Page struct {
	Lang      string // "el" or "en"
	Path      string // the request path
	RequestID string
	Data      any // the handler's data
	r         *Renderer
	req       *http.Request
	tmpl      *template.Template
}

// T translates key into the page's language; args are name/value pairs
// replacing {name} in the text.
func (p *Page) T(key string, args ...any) string { return p.r.cat.text(p.Lang, key, args...) }

// ServiceName is the translated service name, or "".
func (p *Page) ServiceName() string {
	if p.r.serviceKey == "" {
		return ""
	}
	return p.T(p.r.serviceKey)
}

// PageTitle is the page's "title" block. The block is executed by
// html/template, so what it returns is HTML whose text is already escaped;
// it is typed as such, so that the layout's <title> does not escape it a
// second time (which showed "&amp;" for "&").
func (p *Page) PageTitle() (template.HTML, error) {
	var b strings.Builder
	if t := p.tmpl.Lookup("title"); t != nil {
		if err := t.Execute(&b, p); err != nil {
			return "", err
		}
	}
	return template.HTML(strings.TrimSpace(b.String())), nil
}

// Date writes the day t falls on where the pages show dates, as
// [FormatDate] does: {{.Date .Data.Published}}.
func (p *Page) Date(t time.Time) string { return FormatDate(t, p.r.loc) }

// DateTime writes the instant t where the pages show dates, as
// [FormatDateTime] does: {{$.DateTime .At}}.
func (p *Page) DateTime(t time.Time) string { return FormatDateTime(t, p.r.loc) }

// Until writes an end of validity, as [FormatUntil] does.
func (p *Page) Until(t time.Time) string { return FormatUntil(t, p.r.loc) }

// CivilDate writes a calendar date kept as YYYY-MM-DD (a date of birth)
// as a day is written, as [FormatCivilDate] does; anything else comes
// back as it is.
func (p *Page) CivilDate(s string) string {
	if d, ok := FormatCivilDate(s); ok {
		return d
	}
	return s
}

// Location is where the renderer's pages show dates and times.
func (r *Renderer) Location() *time.Location { return r.loc }

// StylesheetURL is the content-addressed URL of the shared stylesheet.
func (p *Page) StylesheetURL() string { return p.r.staticURL }

// IconURL is the URL of the favicon (SVG), beside the stylesheet.
func (p *Page) IconURL() string { return p.r.iconURL }

// GroupsScriptURL is the URL of the script, beside the stylesheet, that
// adds, removes and moves the items of a form's repeatable groups in the
// page (assets/groups.js says what markup it expects). A page that
// wants it links it in its "head" block with defer; the form works
// without it.
func (p *Page) GroupsScriptURL() string { return p.r.groupsURL }

// HomeURL is where the brand link leads.
func (p *Page) HomeURL() string { return p.r.homeURL }

// LangLink is one entry of the language switcher.
type LangLink struct {
	Code, Name, URL string
	Current         bool
}

// originalPath is the path the browser asked for, before any
// http.StripPrefix in front of the handler.
func (p *Page) originalPath() string {
	if p.req != nil {
		raw, _, _ := strings.Cut(p.req.RequestURI, "?")
		if strings.HasPrefix(raw, "/") {
			if path, err := url.PathUnescape(raw); err == nil {
				return path
			}
		}
	}
	return p.Path
}

// Languages returns the switcher's links: the current page with lang= set,
// every other query parameter kept.
func (p *Page) Languages() []LangLink {
	out := make([]LangLink, 0, len(supported))
	for _, l := range supported {
		q := url.Values{}
		if p.req != nil {
			q = p.req.URL.Query()
		}
		q.Set("lang", l.code)
		// A path of "//host/x" would make a link to another host: keep
		// one leading slash.
		path := "/" + strings.TrimLeft(p.originalPath(), "/")
		u := url.URL{Path: path, RawQuery: q.Encode()}
		out = append(out, LangLink{Code: l.code, Name: l.name, URL: u.String(), Current: l.code == p.Lang})
	}
	return out
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Render writes the named page with the given status. The page is rendered
// into a buffer first, so a template failure gives a clean error page rather
// than half a page. The language is chosen by [Lang]; a ?lang= choice is
// remembered in a cookie. Security headers are set by [SetSecurityHeaders],
// and Cache-Control defaults to no-store because pages may show personal
// data (a handler that sets Cache-Control first keeps its own).
func (r *Renderer) Render(w http.ResponseWriter, req *http.Request, status int, name string, data any) {
	if status < 200 || status > 599 {
		r.log.Error("web: invalid status", zap.Int("status", status), zap.String("page", name))
		status = http.StatusInternalServerError
	}
	t := r.pages[name]
	if t == nil {
		r.log.Error("web: unknown page", zap.String("page", name))
		r.writeFallback(w, req)
		return
	}
	p := &Page{Lang: Lang(req), Path: req.URL.Path, Data: data, r: r, req: req, tmpl: t}
	if r.requestID != nil {
		p.RequestID = r.requestID(req)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := t.ExecuteTemplate(buf, "layout.html", p); err != nil {
		r.log.Error("web: render", zap.String("page", name), zap.Error(err))
		r.writeFallback(w, req)
		return
	}
	rememberLang(w, req)
	SetSecurityHeaders(w)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	h.Set("Content-Language", p.Lang)
	h.Add("Vary", "Accept-Language, Cookie")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// Text translates key into lang outside a page, for text that leaves the
// server some other way (an SMS, an e-mail subject); args are name/value
// pairs replacing {name}.
func (r *Renderer) Text(lang, key string, args ...any) string { return r.cat.text(lang, key, args...) }

// ErrorData is what the error page shows.
type ErrorData struct {
	Status         int
	Title, Message string
}

// RetryAfterUnavailable is the Retry-After, in seconds, that [RenderError]
// sends with a 503 page when the handler set none.
const RetryAfterUnavailable = 5

// RenderError writes a readable error page in the visitor's language. An
// empty message means the standard text for the status. A 503 page (the
// service's database is unavailable) carries Retry-After.
func (r *Renderer) RenderError(w http.ResponseWriter, req *http.Request, status int, message string) {
	lang := Lang(req)
	key := fmt.Sprintf("error.%d", status)
	if _, ok := r.cat[Greek][key+".title"]; !ok {
		key = "error.500"
		if status < 500 {
			key = "error.400"
		}
	}
	if message == "" {
		message = r.cat.text(lang, key+".text")
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterUnavailable))
	}
	r.Render(w, req, status, "error.html", ErrorData{Status: status, Title: r.cat.text(lang, key+".title"), Message: message})
}

// writeFallback answers 500 with a fixed page when rendering itself failed.
func (r *Renderer) writeFallback(w http.ResponseWriter, req *http.Request) {
	SetSecurityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusInternalServerError)
	lang := Lang(req)
	fmt.Fprintf(w, "<!doctype html><html lang=%q><meta charset=utf-8><title>%s</title><h1>%s</h1><p>%s</p></html>",
		lang, template.HTMLEscapeString(r.cat.text(lang, "error.500.title")),
		template.HTMLEscapeString(r.cat.text(lang, "error.500.title")),
		template.HTMLEscapeString(r.cat.text(lang, "error.500.text")))
}

// MissingTranslations lists "lang: key" for every key present in one
// language and absent from another, across the shared and the package's
// catalogues, and "lang: key: form" for every plural form the language's
// CLDR rules need and a message with plural forms lacks. Packages assert
// in a test that it is empty.
func (r *Renderer) MissingTranslations() []string { return r.cat.missing() }

// defaultRenderer renders error pages for callers without a renderer.
var defaultRenderer = sync.OnceValues(func() (*Renderer, error) { return NewRenderer(nil, "") })

// RenderError writes an error page with the shared layout and no service
// name; see [Renderer.RenderError].
func RenderError(w http.ResponseWriter, req *http.Request, status int, message string) {
	r, err := defaultRenderer()
	if err != nil { // the embedded templates are tested; this cannot happen in a built binary
		http.Error(w, http.StatusText(status), status)
		return
	}
	r.RenderError(w, req, status, message)
}

// ContentSecurityPolicy is sent with every page: nothing but this origin's
// own stylesheet, images and script files (no inline script, no eval), no
// framing. Form targets are not restricted, because sign-in forms end in
// a redirect to the relying party.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"base-uri 'none'; frame-ancestors 'none'"

// SetSecurityHeaders sets the headers every page carries.
func SetSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

type asset struct {
	name, hashedName, contentType string
	body                          []byte
	etag                          string
}

var (
	stylesheet = mustAsset("egovkit.css", "text/css; charset=utf-8")
	favicon    = mustAsset("favicon.svg", "image/svg+xml")
	groups     = mustAsset("groups.js", "text/javascript; charset=utf-8")
	assets     = []asset{stylesheet, favicon, groups}
)

func mustAsset(name, ctype string) asset {
	b, err := files.ReadFile("assets/" + name)
	if err != nil {
		panic(err) // embedded at build time
	}
	sum := sha256.Sum256(b)
	h := hex.EncodeToString(sum[:])[:12]
	ext := path.Ext(name)
	return asset{
		name: name, hashedName: strings.TrimSuffix(name, ext) + "." + h + ext,
		contentType: ctype, body: b, etag: `"` + h + `"`,
	}
}

// StaticDir is the directory, below the path a package's page handler is
// mounted at, where that handler serves the shared assets itself: pages
// mounted at /stats link /stats/static/egovkit.<hash>.css, and pages at the
// root link /static/egovkit.<hash>.css. A package's handler therefore needs
// nothing else mounted beside it.
const StaticDir = "/static/"

// StaticPrefixAt is the static prefix of pages mounted at mount (a path
// such as "/declarations", or "" for the root): mount + [StaticDir].
func StaticPrefixAt(mount string) string { return strings.TrimSuffix(mount, "/") + StaticDir }

// IsStatic reports whether p names one of the shared assets in a static
// directory, such as "/static/egovkit.<hash>.css" or
// "/verify/static/egovkit.css": the requests a page handler hands to
// [Static].
func IsStatic(p string) bool {
	dir, name := path.Split(p)
	if !strings.HasSuffix(dir, StaticDir) {
		return false
	}
	a, _ := findAsset(name)
	return a.name != ""
}

// findAsset returns the asset name names, by its plain or its
// content-addressed name (the zero asset when none), and whether name is
// the content-addressed one.
func findAsset(name string) (a asset, hashed bool) {
	for _, a := range assets {
		if name == a.hashedName || name == a.name {
			return a, name == a.hashedName
		}
	}
	return asset{}, false
}

// Static serves the shared assets wherever it is mounted (the last path
// element names the file). The content-addressed name that pages link to is
// cached for a year; the plain name for five minutes. Both carry a strong
// ETag and answer If-None-Match with 304.
func Static() http.Handler {
	modTime := time.Time{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := path.Base(r.URL.Path)
		a, hashed := findAsset(name)
		switch {
		case a.name == "":
			http.NotFound(w, r)
			return
		case hashed:
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		default:
			w.Header().Set("Cache-Control", "public, max-age=300")
		}
		w.Header().Set("Content-Type", a.contentType)
		w.Header().Set("ETag", a.etag)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, a.name, modTime, bytes.NewReader(a.body))
	})
}
