// Package page renders a service's own pages in the layout every egovkit
// page shares: one calm, accessible stylesheet, Greek and English text, the
// visitor's language chosen and remembered, and the headers a public
// service's pages carry (a Content-Security-Policy that allows script files
// of the site's own origin only, no inline script, no framing;
// Cache-Control: no-store).
//
// It is not a building block: the packages' page handlers serve their own
// pages and stylesheet without it. It is for the program that wires them
// together and adds pages of its own (a home page, an agency's site),
// which then look like the rest. The example portal's home page and demo
// sites are written with it.
//
// # Wiring
//
//	//go:embed templates messages
//	var assets embed.FS
//
//	pages, err := page.NewRenderer(assets, "templates/*.html",
//		page.WithMessages(assets, "messages/*.json"),
//		page.WithServiceName("home.service"),
//		page.WithLogger(log),
//	)
//	…
//	mux.Handle("GET /static/", page.Static()) // the stylesheet the pages link
//	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
//		pages.Render(w, r, http.StatusOK, "home.html", data)
//	})
//
// # Templates
//
// Each file matching the pattern is one page, named by its file name
// ("home.html"), parsed once by [NewRenderer] inside the shared layout. It
// defines the block "content" (required), and may define "title" (the
// window's title) and "head" (more elements in <head>). Templates are
// html/template; the value they receive (the dot) offers:
//
//	.Data                  the data the handler passed to Render
//	.Lang                  "el" or "en"
//	.Path                  the request's path
//	.RequestID             the id package middleware's RequestID gave the request
//	{{.T "key"}}           the message key in the page's language
//	{{.T "key" "name" v}}  the same with {name} replaced by v
//	{{.Date t}}            a day as 31/01/2027, in Europe/Athens
//	{{.DateTime t}}        an instant as 31/01/2027 14:05, in Europe/Athens
//	{{.CivilDate s}}       a date kept as 1985-03-15 (a date of birth) as 15/03/1985
//
// # Messages
//
// A catalogue is a JSON object of key → message, one file per language,
// el.json and en.json. A message is a text, or, when it takes a count, an
// object of CLDR plural forms and the name of the argument that counts:
//
//	"home.visits": {"one": "{n} visit", "other": "{n} visits", "count": "n"}
//
// A key missing in English falls back to Greek, then to the key itself;
// [Renderer.MissingTranslations] lists the gaps so a test can forbid them.
// The shared catalogue already holds the layout's and the error pages'
// text; prefix your keys with your service's name.
//
// # Languages
//
// Greek is the default. [Lang] chooses, in order: a ?lang= parameter (then
// remembered in a cookie), the lang cookie, the Accept-Language header.
// The layout's switcher links the same page in the other language.
//
// # Stylesheet
//
// The pages link the stylesheet at /static/ under a name that changes with
// its content; [Static] serves it there with a year's caching. Mount it
// at /static/ on the same origin: the pages load nothing from elsewhere.
package page
