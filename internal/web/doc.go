// Package web gives every egovkit page the same calm, accessible look: one
// layout, one stylesheet, Greek and English text, and the headers a public
// service's pages should carry.
//
// # Pages
//
// A package keeps its page templates and its catalogues in embedded files
// and builds one [Renderer] at start-up; templates are parsed then, never
// per request:
//
//	//go:embed templates messages
//	var assets embed.FS
//
//	pages, err := web.NewRenderer(assets, "templates/*.html",
//		web.WithMessages(assets, "messages/*.json"),
//		web.WithServiceName("declaration.service"),
//		web.WithRequestID(func(r *http.Request) string { return httpx.RequestIDFromContext(r.Context()) }),
//	)
//	…
//	pages.Render(w, r, http.StatusOK, "new.html", form)
//
// A page template defines "content" (and optionally "title" and "head") and
// receives a [Page]: {{.T "key"}} translates, {{.T "key" "name" .Data.Name}}
// fills {name}, .Data is the handler's value, .Lang the language.
//
// A catalogue is a JSON object of key → message, one file per language
// (el.json, en.json). A message is a string, or, when it takes a count, an
// object of CLDR plural forms and the name of the argument that counts:
//
//	"auth.error.throttled": {"one": "Try again in {minutes} minute.",
//	  "other": "Try again in {minutes} minutes.", "count": "minutes"}
//
// The form is chosen by the CLDR plural rules of golang.org/x/text for the
// page's language ("one" and "other" in Greek and English; 0 is "other").
//
// # Languages
//
// Greek is the default. [Lang] chooses, in order: a ?lang= parameter (then
// remembered in a cookie), the lang cookie, the Accept-Language header. A
// key missing in English falls back to Greek, then to the key itself;
// [Renderer.MissingTranslations] lists such gaps, and plural forms a
// language needs and a message lacks, so a test can forbid them.
//
// # Dates and times
//
// One rule holds on every page and in every document a package prints:
// instants are stored in UTC and shown in one location, Europe/Athens
// unless a package is configured with another ([WithLocation]); a day is
// written 31/01/2027 ([FormatDate]) and an instant 31/01/2027 14:05
// ([FormatDateTime]). Templates write {{.Date t}}, {{.DateTime t}} and
// {{.Until t}}. An end of validity entered as a last day is stored as the
// midnight that follows it ([ParseUntil]) and shown as that same day
// ([FormatUntil]), whatever the season or the change of the clocks.
//
// # Accessibility
//
// The layout sets the page language, starts with a skip link to the main
// content, marks the current language in the switcher, and the stylesheet
// keeps text contrast at 4.5:1 or more (a test computes it), shows a thick
// focus outline, and styles labelled fields, hints and error summaries. No
// page needs JavaScript: the one script, groups.js ([Page.GroupsScriptURL]),
// only spares a form's repeatable groups a round trip, and their buttons
// post the form to the server when it does not run.
//
// # Security headers
//
// Every rendered page carries a Content-Security-Policy that allows
// scripts only as files from the page's own origin (script-src 'self': no
// inline script, no eval) and no framing, nosniff, a same-origin referrer policy and, unless
// the handler set its own, Cache-Control: no-store.
//
// # Assets
//
// [Static] serves the stylesheet, the favicon and groups.js under
// content-addressed names, cached for a year, as text/css, image/svg+xml
// and text/javascript. Every package's page handler serves it itself in the
// static directory below its own mount point ([StaticDir], [StaticPrefixAt],
// [IsStatic]) and links it from there with [WithStaticPrefix], so a page
// handler mounted alone, by a module that cannot import this package, still
// shows styled pages. A site that prefers one shared copy mounts [Static]
// at /static/ and points the packages there (their StaticPrefix options).
// Nothing is loaded from another origin.
package web
