package page

import (
	"io/fs"
	"net/http"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/reqid"
	"github.com/egovkit/egovkit/internal/web"
)

// Renderer renders a service's pages inside the shared layout. Templates
// are parsed once, by NewRenderer; rendering only executes them. It is
// safe for concurrent use.
type Renderer struct{ r *web.Renderer }

// Option configures a Renderer.
type Option func(*options)

type options struct{ web []web.Option }

// WithMessages adds the message catalogues matching pattern in fsys:
// el.json and en.json (see the package documentation). Several may be
// given; a later catalogue's key replaces an earlier one's.
func WithMessages(fsys fs.FS, pattern string) Option {
	return func(o *options) { o.web = append(o.web, web.WithMessages(fsys, pattern)) }
}

// WithServiceName names the service in every page's header and title, as
// a message key, so the name follows the language.
func WithServiceName(key string) Option {
	return func(o *options) { o.web = append(o.web, web.WithServiceName(key)) }
}

// WithLogger is where a template that fails to execute is reported (the
// visitor then gets a plain error page); nil, like the default, reports
// nothing.
func WithLogger(log *zap.Logger) Option {
	return func(o *options) {
		if log != nil {
			o.web = append(o.web, web.WithLogger(log))
		}
	}
}

// NewRenderer parses the page templates matching pattern in fsys, each
// inside the shared layout (see the package documentation for what a
// template defines and receives). It fails when the pattern matches no
// file, a template does not parse or defines no "content" block, or a
// catalogue is malformed.
func NewRenderer(fsys fs.FS, pattern string, opts ...Option) (*Renderer, error) {
	o := options{web: []web.Option{web.WithRequestID(requestID)}}
	for _, opt := range opts {
		opt(&o)
	}
	r, err := web.NewRenderer(fsys, pattern, o.web...)
	if err != nil {
		return nil, err
	}
	return &Renderer{r: r}, nil
}

// requestID is the id package middleware gave the request, which the
// layout quotes in the footer.
func requestID(r *http.Request) string { return reqid.FromContext(r.Context()) }

// Render writes the page named name (its file name, such as "home.html")
// with data as .Data and the given status, in the language [Lang] chooses
// (a ?lang= choice is remembered in a cookie). The page is rendered in
// full before anything is written, so a template that fails gives a clean
// 500 page, never half a page. Unless the handler set Cache-Control
// first, the page is not cached: it may show personal data.
func (r *Renderer) Render(w http.ResponseWriter, req *http.Request, status int, name string, data any) {
	r.r.Render(w, req, status, name, data)
}

// RenderError writes the error page of the layout with the given status,
// its title in the visitor's language, and message, or the standard text
// for the status when message is empty. A 503 carries Retry-After.
func (r *Renderer) RenderError(w http.ResponseWriter, req *http.Request, status int, message string) {
	r.r.RenderError(w, req, status, message)
}

// Text translates key into lang ("el" or "en") outside a page, for text
// such as an error page's message or an e-mail's subject; args are
// name/value pairs replacing {name}.
func (r *Renderer) Text(lang, key string, args ...any) string { return r.r.Text(lang, key, args...) }

// MissingTranslations lists "lang: key" for every message key present in
// one language and absent from the other, across the shared catalogue and
// the service's, and "lang: key: form" for every plural form a language
// needs and a message lacks. A service's test asserts that it is empty.
func (r *Renderer) MissingTranslations() []string { return r.r.MissingTranslations() }

// Lang returns the language to answer r in, "el" or "en": a ?lang=
// parameter, else the lang cookie, else the best match of
// Accept-Language, else Greek.
func Lang(r *http.Request) string { return web.Lang(r) }

// Static serves the shared stylesheet the pages link, wherever it is
// mounted (the last element of the path names the file), with the favicon
// and the script of forms' repeatable groups beside it: under their
// content-addressed names, cached for a year, and under their plain names
// (egovkit.css) for five minutes, all with a strong ETag. Mount it at
// /static/, where the pages look for it.
func Static() http.Handler { return web.Static() }
