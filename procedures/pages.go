package procedures

import (
	"embed"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/egovkit/egovkit/internal/fold"
	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/internal/web"
)

//go:embed templates/*.html messages/*.json
var pageAssets embed.FS

// PagesConfig configures the public catalogue pages.
type PagesConfig struct {
	Registry *Registry
	// Index answers the search box, such as the full-text index of
	// procedures/search. Nil leaves the box out: the catalogue lists every
	// published procedure by title, and the filters by category, channel
	// and life event still narrow the list.
	Index Searcher
	// StaticPrefix is the directory the pages link their stylesheet (and
	// the editors' form its script) from. Empty means the handler's own:
	// it serves both at Prefix + "/static/", so the pages need nothing
	// else mounted. A site that serves one shared stylesheet for all its
	// pages (page.Static, which serves the script too) names its directory
	// here, such as "/static/".
	StaticPrefix string
	// HomeURL is where the brand link leads; empty means "/".
	HomeURL string
	// Prefix is the path the pages are mounted at, such as "/procedures";
	// links are made from it.
	Prefix string
	// ClientAddr gives the address suggestions are rate-limited by; nil
	// means the connection's address.
	ClientAddr func(r *http.Request) string
	// Caller identifies editors and approvers (for example from a civil
	// servant's session); with it the editors' pages are served below
	// /edit/. Nil leaves them out.
	Caller func(r *http.Request) (Caller, error)
	// SignOutURL is where the workspace's sign-out button posts, such as
	// the site's logout handler; empty shows no button.
	SignOutURL string
	// Location is where the pages show dates and times (publication, the
	// history of a procedure, suggestions); nil means Europe/Athens. The
	// registry stores instants in UTC.
	Location *time.Location
	Logger   *zap.Logger
}

// PagesHandler serves the public catalogue in Greek and English, without
// JavaScript: the search page with filters by category, life event and
// channel (without an Index, the list of every published procedure with
// the same filters), and a page per published procedure that says what a citizen
// needs, the steps, where and how, the cost, the time and the legal basis,
// with a form to suggest a correction or a simplification. Mount it at
// Prefix with http.StripPrefix. It serves the pages' stylesheet itself, at
// Prefix + "/static/egovkit.<hash>.css" (text/css, cached for a year since
// its name changes with its content).
func PagesHandler(cfg PagesConfig) (http.Handler, error) {
	if cfg.Registry == nil {
		return nil, errors.New("procedures: the pages need a Registry")
	}
	cfg.Prefix = strings.TrimSuffix(cfg.Prefix, "/")
	if cfg.StaticPrefix == "" {
		cfg.StaticPrefix = web.StaticPrefixAt(cfg.Prefix)
	}
	if cfg.HomeURL == "" {
		cfg.HomeURL = "/"
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.ClientAddr == nil {
		cfg.ClientAddr = httpx.RemoteHost
	}
	pages, err := web.NewRenderer(pageAssets, "templates/*.html",
		web.WithMessages(pageAssets, "messages/*.json"),
		web.WithServiceName("procedures.service"),
		web.WithStaticPrefix(cfg.StaticPrefix),
		web.WithHomeURL(cfg.HomeURL),
		web.WithRequestID(func(r *http.Request) string { return httpx.RequestIDFromContext(r.Context()) }),
		web.WithLogger(cfg.Logger),
		web.WithLocation(cfg.Location),
	)
	if err != nil {
		return nil, err
	}
	p := &catalogue{cfg: cfg, pages: pages}
	mux := http.NewServeMux()
	mux.Handle("GET "+web.StaticDir, web.Static())
	mux.HandleFunc("GET /{$}", p.search)
	mux.HandleFunc("GET /{id}", p.procedure)
	mux.HandleFunc("POST /{id}/suggestions", p.suggest)
	if cfg.Caller != nil {
		p.mountEditor(mux)
	}
	return httpx.Fallbacks(mux, func(w http.ResponseWriter, r *http.Request, status int) {
		pages.RenderError(w, r, status, "")
	}), nil
}

type catalogue struct {
	cfg   PagesConfig
	pages *web.Renderer
}

// facet is one choice of a filter, with whether it is selected.
type facet struct {
	Value, Label string
	Selected     bool
}

type searchPage struct {
	Prefix string
	// TextSearch shows the search box: the pages have an index.
	TextSearch bool
	Q          string
	Categories []facet
	Channels   []facet
	LifeEvents []facet
	Searched   bool
	Total      uint64
	Hits       []hitView
	Error      string
	// Editors links the catalogue to the editors' workspace.
	Editors bool
}

type hitView struct {
	URL, Title, Authority string
}

func (c *catalogue) text(r *http.Request, key string, args ...any) string {
	return c.pages.Text(web.Lang(r), key, args...)
}

func (c *catalogue) search(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := web.Lang(r)
	q := r.URL.Query()
	d := searchPage{Prefix: c.cfg.Prefix, TextSearch: c.cfg.Index != nil, Q: q.Get("q"), Editors: c.cfg.Caller != nil}
	published, err := c.cfg.Registry.ListPublished(ctx)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	cats, events := map[string]bool{}, map[string]bool{}
	for _, v := range published {
		for _, x := range v.Procedure.Categories {
			cats[x] = true
		}
		for _, x := range v.Procedure.LifeEvents {
			events[x] = true
		}
	}
	for _, x := range sortedKeys(cats) {
		d.Categories = append(d.Categories, facet{Value: x, Label: c.label(lang, "procedures.category."+x, x), Selected: q.Get("category") == x})
	}
	for _, x := range sortedKeys(events) {
		d.LifeEvents = append(d.LifeEvents, facet{Value: x, Label: c.label(lang, "procedures.life_event."+eventName(x), eventTitle(x).In(lang)), Selected: q.Get("life_event") == x})
	}
	for _, x := range []string{ChannelDigital, ChannelInPerson, ChannelVideoCall, ChannelPhone, ChannelPost} {
		d.Channels = append(d.Channels, facet{Value: x, Label: c.text(r, "procedures.channel."+x), Selected: q.Get("channel") == x})
	}
	query := Query{Text: d.Q, Category: q.Get("category"), LifeEvent: q.Get("life_event"), Channel: q.Get("channel"), Limit: 50}
	if c.cfg.Index == nil {
		// No index: no words to search by. The list of the published
		// procedures, narrowed by the filters, is what is left to find one.
		d.Q, query.Text = "", ""
		d.Searched = query.Category != "" || query.LifeEvent != "" || query.Channel != ""
		for _, v := range published {
			if matches(v.Procedure, query) {
				d.Hits = append(d.Hits, hitView{URL: c.cfg.Prefix + "/" + v.Procedure.ID, Title: v.Procedure.Title.In(lang), Authority: v.Procedure.Authority.Name.In(lang)})
			}
		}
		slices.SortStableFunc(d.Hits, func(a, b hitView) int { return strings.Compare(fold.String(a.Title), fold.String(b.Title)) })
		d.Total = uint64(len(d.Hits))
		w.Header().Set("Cache-Control", "public, max-age=30")
		c.pages.Render(w, r, http.StatusOK, "catalogue.html", d)
		return
	}
	d.Searched = query.Text != "" || query.Category != "" || query.LifeEvent != "" || query.Channel != ""
	res, err := c.cfg.Index.Search(ctx, query)
	var qe *QueryError
	switch {
	case errors.As(err, &qe):
		d.Error = c.text(r, "procedures.search.too_long")
	case err != nil:
		c.fail(w, r, err)
		return
	default:
		d.Total = res.Total
		for _, h := range res.Hits {
			d.Hits = append(d.Hits, hitView{URL: c.cfg.Prefix + "/" + h.ID, Title: h.Title.In(lang), Authority: h.Authority.In(lang)})
		}
	}
	w.Header().Set("Cache-Control", "public, max-age=30")
	c.pages.Render(w, r, http.StatusOK, "catalogue.html", d)
}

// matches says whether p passes the query's filters (its text aside).
func matches(p *Procedure, q Query) bool {
	if q.Category != "" && !slices.Contains(p.Categories, q.Category) {
		return false
	}
	if q.LifeEvent != "" && !slices.Contains(p.LifeEvents, q.LifeEvent) {
		return false
	}
	if q.Authority != "" && p.Authority.ID != q.Authority {
		return false
	}
	if q.Channel != "" && !slices.ContainsFunc(p.Channels, func(c Channel) bool { return c.Type == q.Channel }) {
		return false
	}
	return true
}

// label translates key, or gives fallback when the catalogue has none.
func (c *catalogue) label(lang, key, fallback string) string {
	if t := c.pages.Text(lang, key); t != key {
		return t
	}
	return fallback
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

type stepView struct {
	Title, Description, Who, Channel, Duration, URL string
}

type evidenceView struct {
	Title, IssuedBy string
	OnceOnly        bool
}

type procedurePage struct {
	Prefix, ID                 string
	Title, Description         string
	Authority, AuthorityURL    string
	Conditions                 []string
	Evidence                   []evidenceView
	Steps                      []stepView
	Costs                      []string
	Time                       string
	Channels                   []string
	Legal                      []linkView
	FAQ                        [][2]string
	Links                      []linkView
	Outputs                    []string
	Version                    int
	Updated                    string
	SuggestionSent             bool
	SuggestionError            string
	SuggestionKind, Suggestion string
	Contact                    string
	Kinds                      []string
	// Preview is set when an editor previews a version not published.
	Preview *previewView
	// ReviseURL is where a signed-in editor starts a revision.
	ReviseURL string
}

// previewView is the banner of a preview: the version's own page in the
// workspace, its state and the actions the caller may take on it.
type previewView struct {
	URL, State string
	Actions    []string
}

type linkView struct{ Title, URL string }

func (c *catalogue) procedure(w http.ResponseWriter, r *http.Request) {
	v, err := c.cfg.Registry.Published(r.Context(), r.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		c.pages.RenderError(w, r, http.StatusNotFound, c.text(r, "procedures.not_found"))
		return
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d := c.view(r, v)
	d.SuggestionSent = r.URL.Query().Get("sent") == "1"
	if c.editorSignedIn(r) {
		// The page differs for this reader: no shared cache keeps it.
		d.ReviseURL = c.cfg.Prefix + "/edit/" + v.Procedure.ID + "/revise"
		w.Header().Set("Cache-Control", "private, no-store")
	} else {
		w.Header().Set("ETag", v.ETag())
	}
	c.pages.Render(w, r, http.StatusOK, "procedure.html", d)
}

// editorSignedIn says whether the reader is an editor signed in to the
// workspace. A reader who is not signed in, or whose identity cannot be
// looked up now, reads the public page.
func (c *catalogue) editorSignedIn(r *http.Request) bool {
	if c.cfg.Caller == nil {
		return false
	}
	caller, err := c.cfg.Caller(r)
	return err == nil && caller.ID != "" && caller.Has(RoleEditor)
}

func (c *catalogue) view(r *http.Request, v *Version) procedurePage {
	lang := web.Lang(r)
	p := v.Procedure
	d := procedurePage{Prefix: c.cfg.Prefix, ID: p.ID, Title: p.Title.In(lang), Description: p.Description.In(lang),
		Authority: p.Authority.Name.In(lang), AuthorityURL: p.Authority.URL, Version: v.Version,
		Updated: web.FormatDate(v.PublishedAt, c.pages.Location()),
		Kinds:   []string{SuggestionWrongInformation, SuggestionSimplification, SuggestionOther}}
	for _, cond := range p.Conditions {
		d.Conditions = append(d.Conditions, cond.In(lang))
	}
	for _, e := range p.Evidence {
		ev := evidenceView{Title: e.Title.In(lang), OnceOnly: e.InteropService != ""}
		if e.IssuedBy != nil {
			ev.IssuedBy = e.IssuedBy.In(lang)
		}
		d.Evidence = append(d.Evidence, ev)
	}
	for _, s := range p.Steps {
		sv := stepView{Title: s.Title.In(lang), Who: c.text(r, "procedures.actor."+s.Actor), Channel: c.text(r, "procedures.channel."+s.Channel), URL: s.URL}
		if s.Description != nil {
			sv.Description = s.Description.In(lang)
		}
		if s.MaxDuration != "" {
			sv.Duration = c.humanDuration(lang, s.MaxDuration)
		}
		d.Steps = append(d.Steps, sv)
	}
	pr := message.NewPrinter(language.English)
	if lang == "el" {
		pr = message.NewPrinter(language.Greek)
	}
	for _, cost := range p.Costs {
		amount := c.text(r, "procedures.free")
		title := cost.Title.In(lang)
		if cost.Max <= 0 && (title == "" || strings.EqualFold(title, amount)) {
			// A free cost titled "free of charge" is said once.
			d.Costs = append(d.Costs, amount)
			continue
		}
		if cost.Max > 0 {
			amount = pr.Sprintf("%.2f %s", cost.Max, cost.Currency)
			if cost.Min != cost.Max {
				amount = pr.Sprintf("%.2f–%.2f %s", cost.Min, cost.Max, cost.Currency)
			}
		}
		d.Costs = append(d.Costs, title+": "+amount)
	}
	if p.ProcessingTime != "" {
		d.Time = c.humanDuration(lang, p.ProcessingTime)
	}
	for _, ch := range p.Channels {
		s := c.text(r, "procedures.channel."+ch.Type)
		if ch.Title != nil {
			s += " — " + ch.Title.In(lang)
		}
		d.Channels = append(d.Channels, s)
	}
	for _, l := range p.LegalBasis {
		u := l.ELI
		if u == "" {
			u = l.URL
		}
		d.Legal = append(d.Legal, linkView{Title: l.Title.In(lang), URL: u})
	}
	for _, f := range p.FAQ {
		d.FAQ = append(d.FAQ, [2]string{f.Question.In(lang), f.Answer.In(lang)})
	}
	for _, l := range p.Links {
		d.Links = append(d.Links, linkView{Title: l.Title.In(lang), URL: l.URL})
	}
	for _, o := range p.Outputs {
		d.Outputs = append(d.Outputs, o.Title.In(lang))
	}
	return d
}

// humanDuration writes an ISO 8601 duration in words in lang, as whole
// days, hours or minutes, with the plural form the count takes.
func (c *catalogue) humanDuration(lang, iso string) string {
	d, err := ParseDuration(iso)
	if err != nil {
		return iso
	}
	switch {
	case d >= 24*time.Hour:
		return c.pages.Text(lang, "procedures.duration.days", "count", int(d.Hours()/24+0.5))
	case d >= time.Hour:
		return c.pages.Text(lang, "procedures.duration.hours", "count", int(d.Hours()+0.5))
	default:
		return c.pages.Text(lang, "procedures.duration.minutes", "count", max(1, int(d.Minutes()+0.5)))
	}
}

func (c *catalogue) suggest(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 32<<10)
	if err := r.ParseForm(); err != nil {
		c.pages.RenderError(w, r, http.StatusBadRequest, "")
		return
	}
	id := r.PathValue("id")
	s := Suggestion{Kind: r.PostForm.Get("kind"), Text: r.PostForm.Get("text"), Contact: r.PostForm.Get("contact")}
	_, err := c.cfg.Registry.Suggest(r.Context(), id, s, c.cfg.ClientAddr(r))
	if err == nil {
		http.Redirect(w, r, c.cfg.Prefix+"/"+id+"?sent=1#suggest", http.StatusSeeOther)
		return
	}
	v, perr := c.cfg.Registry.Published(r.Context(), id)
	if perr != nil {
		c.pages.RenderError(w, r, http.StatusNotFound, c.text(r, "procedures.not_found"))
		return
	}
	d := c.view(r, v)
	d.SuggestionKind, d.Suggestion, d.Contact = s.Kind, s.Text, s.Contact
	status := http.StatusUnprocessableEntity
	var se *SuggestionError
	var rl *RateLimitError
	switch {
	case errors.As(err, &se):
		d.SuggestionError = c.text(r, "procedures.suggest.error."+se.Field)
	case errors.As(err, &rl):
		status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", fmt.Sprint(int(rl.RetryAfter.Seconds())+1))
		d.SuggestionError = c.text(r, "procedures.suggest.error.rate")
	default:
		c.fail(w, r, err)
		return
	}
	c.pages.Render(w, r, status, "procedure.html", d)
}

func (c *catalogue) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := httpx.ServerErrorStatus(err) // 503 when the database is unavailable
	c.cfg.Logger.Error("procedures page", zap.String("request_id", httpx.RequestIDFromContext(r.Context())), zap.Int("status", status), zap.Error(err))
	c.pages.RenderError(w, r, status, "")
}
